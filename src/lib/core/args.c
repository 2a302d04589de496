/* args.c: shell-like word splitting of SSH_ORIGINAL_COMMAND; see args.h.
 * Only quoting is understood: $, `, *, ;, | and friends are plain bytes,
 * because no shell ever sees the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/args.h"
#include "core/xmalloc.h"

void
args_free(char **argv)
{
	char **p;

	if (argv == NULL)
		return;
	for (p = argv; *p != NULL; p++)
		free(*p);
	free(argv);
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

int
args_split(const char *line, char ***argvp, int *argcp, char *err,
    size_t errlen)
{
	char **argv;
	char *word = NULL;
	size_t len = strlen(line), wlen = 0;
	const char *p;
	int argc = 0, in_word = 0;
	char quote = 0;

	*argvp = NULL;
	*argcp = 0;
	if (len > ARGS_MAX_LINE) {
		snprintf(err, errlen, "command is longer than %d bytes",
		    ARGS_MAX_LINE);
		return -1;
	}
	for (p = line; *p != '\0'; p++) {
		if (*p != '\t' && *p != '\n' &&
		    ((unsigned char)*p < 0x20 || *p == 0x7f)) {
			snprintf(err, errlen, "control character in command");
			return -1;
		}
	}
	argv = xcalloc(ARGS_MAX_WORDS + 1, sizeof(*argv));
	word = xmalloc(len + 1);
	for (p = line;; p++) {
		char c = *p;

		if (quote == '\'') {
			if (c == '\0')
				goto unterminated;
			if (c == '\'')
				quote = 0;
			else
				word[wlen++] = c;
			continue;
		}
		if (quote == '"') {
			if (c == '\0')
				goto unterminated;
			if (c == '"')
				quote = 0;
			else if (c == '\\' && (p[1] == '"' || p[1] == '\\' ||
			    p[1] == '$' || p[1] == '`'))
				word[wlen++] = *++p;
			else
				word[wlen++] = c;
			continue;
		}
		if (c == '\0' || is_blank(c)) {
			if (in_word) {
				if (argc == ARGS_MAX_WORDS) {
					snprintf(err, errlen,
					    "more than %d words in command",
					    ARGS_MAX_WORDS);
					goto fail;
				}
				word[wlen] = '\0';
				/* A tab or newline that was quoted or escaped
				 * is inside the word: a control character. */
				if (strpbrk(word, "\t\n") != NULL) {
					snprintf(err, errlen,
					    "control character in command");
					goto fail;
				}
				argv[argc++] = xstrdup(word);
				wlen = 0;
				in_word = 0;
			}
			if (c == '\0')
				break;
			continue;
		}
		in_word = 1;
		if (c == '\'' || c == '"')
			quote = c;
		else if (c == '\\') {
			if (p[1] == '\0') {
				snprintf(err, errlen,
				    "command ends with a backslash");
				goto fail;
			}
			word[wlen++] = *++p;
		} else
			word[wlen++] = c;
	}
	free(word);
	*argvp = argv;
	*argcp = argc;
	return 0;

unterminated:
	snprintf(err, errlen, "unterminated %s quote in command",
	    quote == '"' ? "double" : "single");
fail:
	free(word);
	args_free(argv);
	return -1;
}

const char *
args_opt(const char *arg, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, name, n) != 0)
		return NULL;
	if (arg[2 + n] == '\0')
		return "";
	if (arg[2 + n] == '=')
		return arg + 3 + n;
	return NULL;
}

int
args_set_once(char **slot, const char *value, const char *what,
    bool nonempty, char *err, size_t errlen)
{
	if (*slot != NULL) {
		snprintf(err, errlen, "%s given twice", what);
		return -1;
	}
	if (nonempty && value[0] == '\0') {
		snprintf(err, errlen, "%s is empty", what);
		return -1;
	}
	*slot = xstrdup(value);
	return 0;
}

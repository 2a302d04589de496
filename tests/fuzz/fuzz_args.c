/* fuzz_args.c: libFuzzer target of args_split (src/lib/core/args.c), the
 * splitter of every SSH_ORIGINAL_COMMAND. Beyond "no crash, no leak": the
 * words it returns hold no control character, and quoting them again
 * (single quotes) and splitting that gives the same words back. And the
 * other end of the wire: whatever the proxy quotes with dial_quote
 * (src/lib/proxy/dial.c) for the host's command line, the host's splitter
 * reads back as exactly that one word (no injection of a second word). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/args.h"
#include "proxy/dial.h"
#include "fuzz.h"

/* 'word' with every ' written as '\'' ; appended at line + *len. */
static void
quote(char *line, size_t *len, const char *w)
{
	line[(*len)++] = '\'';
	for (; *w != '\0'; w++) {
		if (*w == '\'') {
			memcpy(line + *len, "'\\''", 4);
			*len += 4;
		} else
			line[(*len)++] = *w;
	}
	line[(*len)++] = '\'';
	line[(*len)++] = ' ';
	line[*len] = '\0';
}

static void
check_roundtrip(char **argv, int argc)
{
	char *line, **again = NULL, err[128];
	size_t need = 1, len = 0;
	int i, n = 0;

	for (i = 0; i < argc; i++)
		need += strlen(argv[i]) * 4 + 3;
	if ((line = malloc(need)) == NULL)
		abort();
	line[0] = '\0';
	for (i = 0; i < argc; i++)
		quote(line, &len, argv[i]);
	if (len > 0)
		line[--len] = '\0';           /* the last blank */
	if (len < ARGS_MAX_LINE) {
		if (args_split(line, &again, &n, err, sizeof(err)) != 0 ||
		    n != argc)
			abort();
		for (i = 0; i < argc; i++)
			if (strcmp(argv[i], again[i]) != 0)
				abort();
		if (again[argc] != NULL)
			abort();
		args_free(again);
	}
	free(line);
}

/* dial_quote(s), split on the host, is the one word s. */
static void
check_dial_quote(const char *s)
{
	char *q = dial_quote(s), **argv = NULL, err[128];
	const unsigned char *p;
	int argc = 0;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			goto out;       /* refused before quoting matters */
	if (strlen(q) > ARGS_MAX_LINE)
		goto out;
	if (args_split(q, &argv, &argc, err, sizeof(err)) != 0 ||
	    argc != 1 || strcmp(argv[0], s) != 0)
		abort();
	args_free(argv);
out:
	free(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_cstr(data, size), **argv = NULL, err[128];
	const unsigned char *p;
	int argc = -1, i;

	if (args_split(line, &argv, &argc, err, sizeof(err)) == 0) {
		if (argc < 0 || argc > ARGS_MAX_WORDS || argv[argc] != NULL)
			abort();
		for (i = 0; i < argc; i++) {
			for (p = (const unsigned char *)argv[i]; *p; p++)
				if (*p < 0x20 || *p == 0x7f)
					abort();
			(void)args_opt(argv[i], "console");
			(void)args_opt(argv[i], "");
		}
		check_roundtrip(argv, argc);
		args_free(argv);
	} else if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0') {
		abort();                        /* a reason is always given */
	}
	check_dial_quote(line);
	free(line);
	return 0;
}

/* sercon-login-shell: the sercon account's login shell. sshd runs every
 * forced command through the account's shell as `SHELL -c COMMAND`: with
 * /bin/sh (dash), that shell forks the command and stays resident for the
 * whole session, waiting for it. This program is the whole shell the
 * account needs: it splits COMMAND into words (quoting only, no expansion:
 * core/args) and execs it in place when, and only when, its program is one
 * of sercon's own two forced commands. Anything else (an interactive
 * login, a subsystem, another program) is refused with one line, so an
 * sshd configured without a forced command gives nothing away.
 * Exit status: only on refusal, 126 (not run) or 127 (exec failed). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/args.h"
#include "core/escape.h"

#define NAME "sercon-login-shell"

static const char *const allowed[] = {
	SERCON_LIBEXECDIR "/sercon-proxy-shell",
	SERCON_LIBEXECDIR "/sercon-host-shell",
};

static int
refuse(const char *why, const char *what)
{
	char safe[160];

	if (what != NULL)
		fprintf(stderr, "%s: %s: %s\n", NAME, why,
		    escape_buf(safe, sizeof(safe), what));
	else
		fprintf(stderr, "%s: %s\n", NAME, why);
	return 126;
}

int
main(int argc, char **argv)
{
	char **words, err[128];
	size_t i;
	int n;

	if (argc != 3 || strcmp(argv[1], "-c") != 0)
		return refuse("this account runs only sercon's forced commands",
		    NULL);
	if (args_split(argv[2], &words, &n, err, sizeof(err)) != 0)
		return refuse(err, NULL);
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if (n > 0 && strcmp(words[0], allowed[i]) == 0) {
			execv(words[0], words);
			fprintf(stderr, "%s: cannot run %s: %s\n", NAME,
			    words[0], strerror(errno));
			args_free(words);
			return 127;
		}
	}
	n = refuse("not a sercon command", n > 0 ? words[0] : "(empty)");
	args_free(words);
	return n;
}

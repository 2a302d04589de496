/* dial.c: fork + exec of ssh to a hypervisor host, and what its exit
 * status means; see dial.h. The host command carries only percent-encoded
 * or quoted words, so that the host shell's splitter reads back exactly
 * what was meant. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "core/args.h"
#include "core/xmalloc.h"
#include "proxy/dial.h"
#include "core/log.h"
#include "core/text.h"

#define DIAL_MAX_ARGS 24

static int
safe_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' ||
	    c == '+' || c == '-' || c == '%' || c == ':' || c == ',';
}

char *
dial_quote(const char *s)
{
	const char *p;
	char *out, *o;
	int plain = *s != '\0';

	for (p = s; *p != '\0'; p++)
		if (!safe_char((unsigned char)*p))
			plain = 0;
	if (plain)
		return xstrdup(s);
	/* 'it'\''s': each quote closes, is escaped, and reopens */
	out = xmalloc(strlen(s) * 4 + 3);
	o = out;
	*o++ = '\'';
	for (p = s; *p != '\0'; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return out;
}

/* "--NAME=VALUE", the value percent-encoded, as one word. */
static char *
word_pct(const char *name, const char *value)
{
	char *enc = text_pct_encode(value), *w;

	w = xasprintf("--%s=%s", name, enc);
	free(enc);
	return w;
}

int
dial_argv(const struct sercon_config *cfg, const struct mgr_console *c,
    const char *entity_id, const char *entity, bool tty, char ***argvp,
    char *err, size_t errlen)
{
	char **argv, port[16], *q;
	int n = 0;

	*argvp = NULL;
	if (!text_valid_host(c->host)) {
		snprintf(err, errlen, "host is not a host name or address");
		return -1;
	}
	if (!text_valid_console(c->console)) {
		snprintf(err, errlen, "console is not a plain file name");
		return -1;
	}
	if (cfg->host_user == NULL || cfg->host_user[0] == '-' ||
	    cfg->ssh_config == NULL) {
		snprintf(err, errlen, "host_user or ssh_config is not set");
		return -1;
	}
	argv = xcalloc(DIAL_MAX_ARGS + 1, sizeof(*argv));
	snprintf(port, sizeof(port), "%d", cfg->host_port);
	argv[n++] = xstrdup(SSH_PATH);
	argv[n++] = xstrdup("-F");
	argv[n++] = xstrdup(cfg->ssh_config);
	argv[n++] = xstrdup("-p");
	argv[n++] = xstrdup(port);
	argv[n++] = xstrdup("-l");
	argv[n++] = xstrdup(cfg->host_user);
	argv[n++] = xstrdup(tty ? "-tt" : "-T");
	argv[n++] = xstrdup(c->host);
	argv[n++] = xstrdup("--");
	argv[n++] = word_pct(HOST_OPT_ENTITY_ID, entity_id);
	argv[n++] = word_pct(HOST_OPT_ENTITY, entity);
	argv[n++] = xstrdup(HOST_CMD_WORD_CONNECT);
	q = dial_quote(c->console);
	argv[n++] = xasprintf("--%s=%s", HOST_OPT_CONSOLE, q);
	free(q);
	*argvp = argv;
	return 0;
}

static volatile sig_atomic_t dial_child = 0;

static void
forward_signal(int sig)
{
	if (dial_child > 0)
		kill(dial_child, sig);
}

int
dial_spawn(const struct sercon_config *cfg, const struct mgr_console *c,
    const char *entity_id, const char *entity, bool tty, pid_t *pidp,
    char *err, size_t errlen)
{
	struct sigaction sa;
	char **argv;
	sigset_t all, old_mask;
	pid_t pid;

	if (dial_argv(cfg, c, entity_id, entity, tty, &argv, err, errlen) != 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sigfillset(&all);
	/* no handler may run half-set across the fork */
	sigprocmask(SIG_BLOCK, &all, &old_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		args_free(argv);
		return -1;
	}
	if (pid == 0) {
		sa.sa_handler = SIG_DFL;
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGQUIT, &sa, NULL);
		sigaction(SIGPIPE, &sa, NULL);
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		execv(argv[0], argv);
		dprintf(STDERR_FILENO, "ERROR: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(HOST_EXIT_SSH);
	}
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	args_free(argv);
	*pidp = pid;
	return 0;
}

int
dial_wait(pid_t pid, int *status)
{
	struct sigaction sa, old_hup, old_term;
	int ws, rc = 0, saved = 0;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = forward_signal;
	dial_child = pid;
	sigaction(SIGHUP, &sa, &old_hup);
	sigaction(SIGTERM, &sa, &old_term);
	while (waitpid(pid, &ws, 0) < 0) {
		if (errno != EINTR) {
			saved = errno;
			rc = -1;
			break;
		}
	}
	dial_child = 0;
	sigaction(SIGHUP, &old_hup, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (rc != 0) {
		errno = saved;
		return -1;
	}
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) :
	    WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : HOST_EXIT_SSH;
	return 0;
}

const char *
dial_status_message(int status)
{
	switch (status) {
	case 0:
		return NULL;
	case HOST_EXIT_USAGE:
		return "the host refused the request (version mismatch?)";
	case HOST_EXIT_UNAVAILABLE:
		return "the console is not available on its host (is the VM "
		    "running?)";
	case HOST_EXIT_BUSY:
		return "the console is busy: someone else is connected to it";
	case HOST_EXIT_VM_CLOSED:
		return "the VM closed the console (was it shut down or "
		    "migrated?)";
	case HOST_EXIT_SSH:
		return "could not reach or verify the VM's host";
	default:
		return "the connection to the VM's host ended unexpectedly";
	}
}

const char *
dial_status_outcome(int status)
{
	switch (status) {
	case 0:
		return "closed";
	case HOST_EXIT_USAGE:
		return "refused";
	case HOST_EXIT_UNAVAILABLE:
		return "unavailable";
	case HOST_EXIT_BUSY:
		return "busy";
	case HOST_EXIT_VM_CLOSED:
		return "vm-closed";
	case HOST_EXIT_SSH:
		return "unreachable";
	default:
		return "failed";
	}
}

void
dial_report(int status, const char *entity_id, const char *vm_name,
    const char *vm_id, const char *host)
{
	const char *msg = dial_status_message(status);

	log_info("connect entity=%s vm=%s vmid=%s host=%s outcome=%s "
	    "status=%d", entity_id, vm_name, vm_id, host,
	    dial_status_outcome(status), status);
	if (msg != NULL)
		log_user_error("%s", msg);
}

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

#include <fcntl.h>
#include <time.h>
#include <sys/stat.h>

#include "core/args.h"
#include "core/child.h"
#include "core/sproto.h"
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

bool
dial_replay_valid(const char *v)
{
	char *end;
	unsigned long n;

	if (!strcmp(v, "all"))
		return true;
	if (*v < '0' || *v > '9' || strlen(v) > 6)
		return false;
	n = strtoul(v, &end, 10);
	return *end == '\0' && n <= WAIT_REPLAY_MAX;
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
		return strdup(s);
	/* 'it'\''s': each quote closes, is escaped, and reopens */
	if ((out = malloc(strlen(s) * 4 + 3)) == NULL)
		return NULL;
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

/* Appends one word, or fails the whole argv. */
static int
push(char **argv, int *n, char *w)
{
	if (w == NULL || *n >= DIAL_MAX_ARGS) {
		free(w);
		return -1;
	}
	argv[(*n)++] = w;
	return 0;
}

int
dial_argv(const struct sercon_config *cfg, const struct mgr_console *c,
    const char *entity_id, const char *entity, const struct dial_opts *o,
    char ***argvp, char *err, size_t errlen)
{
	char **argv, port[16], *q;
	int n = 0, bad = 0;

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
	if (o->replay != NULL && (o->proto != DIAL_FRAMED ||
	    strspn(o->replay, "abcdefghijklmnopqrstuvwxyz0123456789") !=
	    strlen(o->replay))) {
		snprintf(err, errlen, "bad replay request");
		return -1;
	}
	if ((o->read_only || o->takeover) && (o->proto != DIAL_FRAMED ||
	    (o->read_only && o->takeover))) {
		snprintf(err, errlen, "bad mode request");
		return -1;
	}
	argv = xcalloc(DIAL_MAX_ARGS + 1, sizeof(*argv));
	snprintf(port, sizeof(port), "%d", cfg->host_port);
	bad |= push(argv, &n, xstrdup(SSH_PATH));
	bad |= push(argv, &n, xstrdup("-F"));
	bad |= push(argv, &n, xstrdup(cfg->ssh_config));
	bad |= push(argv, &n, xstrdup("-p"));
	bad |= push(argv, &n, xstrdup(port));
	bad |= push(argv, &n, xstrdup("-l"));
	bad |= push(argv, &n, xstrdup(cfg->host_user));
	/* The user's commands are the proxy's (escape.h): this ssh passes
	 * every byte on. Framed sessions are 8-bit clean without a pty. */
	bad |= push(argv, &n, xstrdup("-e"));
	bad |= push(argv, &n, xstrdup("none"));
	bad |= push(argv, &n, xstrdup(o->proto == DIAL_FRAMED ? "-T" :
	    o->tty ? "-tt" : "-T"));
	bad |= push(argv, &n, xstrdup(c->host));
	bad |= push(argv, &n, xstrdup("--"));
	/* the spellings ovirt-vmconsole-host-shell accepts too */
	bad |= push(argv, &n, word_pct(HOST_OPT_ENTITYID, entity_id));
	bad |= push(argv, &n, word_pct(HOST_OPT_ENTITY, entity));
	bad |= push(argv, &n, xstrdup(HOST_CMD_WORD_CONNECT));
	q = dial_quote(c->console);
	bad |= push(argv, &n, xasprintf("--%s=%s", HOST_OPT_CONSOLE, q));
	free(q);
	if (o->proto == DIAL_FRAMED) {
		bad |= push(argv, &n, xasprintf("--%s=%d", HOST_OPT_PROTO,
		    SPROTO_VERSION));
		if (o->replay != NULL)
			bad |= push(argv, &n, xasprintf("--%s=%s",
			    HOST_OPT_REPLAY, o->replay));
		if (o->read_only)
			bad |= push(argv, &n, xstrdup("--" HOST_OPT_READ_ONLY));
		if (o->takeover)
			bad |= push(argv, &n, xstrdup("--" HOST_OPT_TAKEOVER));
	}
	if (bad) {
		args_free(argv);
		snprintf(err, errlen, "ssh command line too long");
		return -1;
	}
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

static void
close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

/* The child's end of three pipes (in, out, err); ours are close-on-exec. */
static int
make_pipes(int p[3][2])
{
	int i;

	for (i = 0; i < 3; i++) {
		if (pipe2(p[i], O_CLOEXEC) != 0) {
			while (i-- > 0)
				close_pair(p[i]);
			return -1;
		}
	}
	return 0;
}

static void
child_stdio(int p[3][2])
{
	dup2(p[0][0], STDIN_FILENO);
	dup2(p[1][1], STDOUT_FILENO);
	dup2(p[2][1], STDERR_FILENO);
}

int
dial_spawn(const struct sercon_config *cfg, const struct mgr_console *c,
    const char *entity_id, const char *entity, const struct dial_opts *o,
    struct dial_child *ch, char *err, size_t errlen)
{
	struct sigaction sa;
	char **argv;
	sigset_t all, old_mask;
	int p[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } }, i;
	pid_t pid;

	ch->pid = -1;
	ch->in = ch->out = ch->err = -1;
	if (dial_argv(cfg, c, entity_id, entity, o, &argv, err, errlen) != 0)
		return -1;
	if (o->pipes && make_pipes(p) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		args_free(argv);
		return -1;
	}
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
		for (i = 0; i < 3; i++)
			close_pair(p[i]);
		args_free(argv);
		return -1;
	}
	if (pid == 0) {
		if (o->pipes)
			child_stdio(p);
		sa.sa_handler = SIG_DFL;
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGQUIT, &sa, NULL);
		sigaction(SIGPIPE, &sa, NULL);
		sigaction(SIGCHLD, &sa, NULL);
		sigaction(SIGWINCH, &sa, NULL);
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		execv(argv[0], argv);
		dprintf(STDERR_FILENO, "ERROR: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(HOST_EXIT_SSH);
	}
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	args_free(argv);
	ch->pid = pid;
	if (o->pipes) {
		close(p[0][0]);
		close(p[1][1]);
		close(p[2][1]);
		ch->in = p[0][1];
		ch->out = p[1][0];
		ch->err = p[2][0];
	}
	return 0;
}

void
dial_close(struct dial_child *ch)
{
	if (ch->in >= 0)
		close(ch->in);
	if (ch->out >= 0)
		close(ch->out);
	if (ch->err >= 0)
		close(ch->err);
	ch->in = ch->out = ch->err = -1;
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

/* ---- what a host speaks ------------------------------------------------ */

enum dial_proto
dial_info_proto(const char *info)
{
	const char *p = info, *v, *nl;
	size_t len;

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (len > 10 && !strncmp(p, "protocols=", 10)) {
			/* a comma list of versions: look for "1" */
			for (v = p + 10; v < p + len; ) {
				size_t w = strcspn(v, ",\n");

				if (w == 1 && *v == '1')
					return DIAL_FRAMED;
				v += w + (v[w] == ',');
			}
		}
		p = nl != NULL ? nl + 1 : NULL;
	}
	return DIAL_RAW;
}

/* cache_dir/proto-<host>-<port>: "1" or "0", its age the answer's age.
 * (Allocated: a session's stack stays shallow, see session.c.) */
static char *
probe_path(const struct sercon_config *cfg, const char *host)
{
	return xasprintf("%s/proto-%s-%d", cfg->cache_dir, host,
	    cfg->host_port);
}

static int
probe_cached(const struct sercon_config *cfg, const char *path,
    enum dial_proto *p)
{
	struct stat st;
	char c;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_uid == geteuid() && st.st_size == 1 &&
	    time(NULL) - st.st_mtime < cfg->host_probe_ttl &&
	    time(NULL) >= st.st_mtime && read(fd, &c, 1) == 1 &&
	    (c == '0' || c == '1')) {
		*p = c == '1' ? DIAL_FRAMED : DIAL_RAW;
		rc = 0;
	}
	close(fd);
	return rc;
}

static void
probe_remember(const char *path, enum dial_proto p)
{
	char *tmp = xasprintf("%s.%ld", path, (long)getpid());
	int fd;

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) >= 0 &&
	    (write(fd, p == DIAL_FRAMED ? "1" : "0", 1) != 1 ||
	    close(fd) != 0 || rename(tmp, path) != 0))
		unlink(tmp);
	free(tmp);
}

enum dial_proto
dial_host_proto(const struct sercon_config *cfg, const char *host)
{
	struct child_result res;
	char *path, port[16], err[256];
	enum dial_proto p;

	if (cfg->host_protocol != NULL && !strcmp(cfg->host_protocol, "raw"))
		return DIAL_RAW;
	if (cfg->host_protocol != NULL &&
	    !strcmp(cfg->host_protocol, "sercon"))
		return DIAL_FRAMED;
	if (!text_valid_host(host) || cfg->ssh_config == NULL ||
	    cfg->host_user == NULL || cfg->host_user[0] == '-')
		return DIAL_RAW;
	path = probe_path(cfg, host);
	if (cfg->host_probe_ttl > 0 && probe_cached(cfg, path, &p) == 0) {
		log_debug("host %s speaks %s (remembered)", host,
		    p == DIAL_FRAMED ? "sercon 1" : "raw");
		goto out;
	}
	p = DIAL_RAW;
	snprintf(port, sizeof(port), "%d", cfg->host_port);
	{
		char *argv[] = { SSH_PATH, "-F", cfg->ssh_config, "-p", port,
		    "-l", cfg->host_user, "-T", (char *)host, "--", "info",
		    NULL };

		if (child_run(argv, NULL, cfg->timeout * 1000,
		    16384, 1, &res, err, sizeof(err)) != 0) {
			log_warn("cannot ask host %s what it speaks: %s", host,
			    err);
			goto out;
		}
	}
	if (res.status != 0 && res.out_len == 0) {
		/* not reached: nothing learnt, nothing remembered */
		log_info("host %s did not answer 'info' (status %d): raw",
		    host, res.status);
		child_result_free(&res);
		goto out;
	}
	p = dial_info_proto(res.out);
	child_result_free(&res);
	log_info("host %s speaks %s", host, p == DIAL_FRAMED ? "sercon 1" :
	    "raw");
	if (cfg->host_probe_ttl > 0)
		probe_remember(path, p);
out:
	free(path);
	return p;
}

bool
dial_refused(const char *e)
{
	/* what ssh says when sshd drops a connection before the key
	 * exchange (MaxStartups) or resets it */
	static const char *const said[] = {
		"kex_exchange_identification",
		"Connection reset by peer",
		"Connection closed by remote host",
		NULL,
	};
	size_t i;

	for (i = 0; said[i] != NULL; i++)
		if (strstr(e, said[i]) != NULL)
			return true;
	return false;
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
dial_report(int status, const char *outcome, const char *message,
    const char *entity_id, const char *vm_name, const char *vm_id,
    const char *host)
{
	const char *msg = message != NULL ? message :
	    dial_status_message(status);

	log_info("connect entity=%s vm=%s vmid=%s host=%s outcome=%s "
	    "status=%d", entity_id, vm_name, vm_id, host,
	    outcome != NULL ? outcome : dial_status_outcome(status), status);
	if (msg != NULL)
		log_user_error("%s", msg);
}

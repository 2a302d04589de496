/* host_shell.c: sercon-host-shell's connect and info. connect takes the
 * console's lock, dials its unix socket, puts the user's terminal in raw
 * mode and hands both sides to the relay; the audit log gets one line when
 * the session opens and one when it closes, with the bytes each way. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "core/file.h"
#include "core/mtime.h"
#include "core/sproto.h"
#include "core/xmalloc.h"
#include "host/attach.h"
#include "host/conlock.h"
#include "host/host_shell.h"
#include "core/log.h"
#include "host/relay.h"
#include "core/term.h"
#include "core/text.h"

#define HOST_FILE_MAX (16 * 1024)

/* The self-pipe that turns SIGHUP/SIGTERM into the end of the relay. */
static int host_sig_pipe[2] = { -1, -1 };

struct host_session {
	const struct host_args *args;
	const char *console;
	char *log_id, *log_entity;   /* percent-encoded: one token each */
	char peer[TEXT_NAME_MAX + 1];
	char label[TEXT_NAME_MAX + 1];   /* the console without ".sock" */
	long long start_ms;          /* mtime_ms() when the session began */
	int sock;
	struct conlock lock;
};

/* An audit field: "-" when absent, else percent-encoded so that a name
 * with blanks stays one token of the line. */
static char *
audit_field(const char *s)
{
	return s != NULL ? text_pct_encode(s) : xstrdup("-");
}

/* "ADDR:PORT" of the client from SSH_CONNECTION, or "unknown". */
static void
host_peer(char *buf, size_t len)
{
	const char *env = getenv("SSH_CONNECTION");
	char addr[200], port[16];

	snprintf(buf, len, "unknown");
	if (env == NULL || sscanf(env, "%199s %15s", addr, port) != 2)
		return;
	if (!text_valid_host(addr) || strspn(port, "0123456789") !=
	    strlen(port))
		return;
	snprintf(buf, len, "%s:%s", addr, port);
}

static void
host_sig_handler(int sig)
{
	int saved = errno;
	char c = (char)sig;

	(void)!write(host_sig_pipe[1], &c, 1);
	errno = saved;
}

static int
host_signals_catch(void)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGQUIT };
	struct sigaction sa;
	size_t i;

	if (pipe2(host_sig_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = host_sig_handler;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) == -1)
			return -1;
	return 0;
}

static void
host_signals_release(void)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (host_sig_pipe[i] != -1)
			close(host_sig_pipe[i]);
		host_sig_pipe[i] = -1;
	}
}

/* Checks the name and that a socket is there; fills sa. Returns 0 or an
 * exit status. */
static int
host_socket_addr(const struct sercon_config *cfg, const char *console,
    struct sockaddr_un *sa)
{
	struct stat st;
	int n;

	if (!text_valid_console(console)) {
		log_user_error("invalid console name '%s'", console);
		return HOST_EXIT_UNAVAILABLE;
	}
	if (cfg->console_dir == NULL || cfg->lock_dir == NULL) {
		log_user_error("[host] console_dir and lock_dir must be set");
		return HOST_EXIT_FAIL;
	}
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s",
	    cfg->console_dir, console);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path)) {
		log_user_error("console name '%s' is too long", console);
		return HOST_EXIT_UNAVAILABLE;
	}
	if (lstat(sa->sun_path, &st) == -1) {
		log_user_error("console %s is not available: %s", console,
		    strerror(errno));
		return HOST_EXIT_UNAVAILABLE;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_user_error("console %s is not available: not a socket",
		    console);
		return HOST_EXIT_UNAVAILABLE;
	}
	return 0;
}

static int
host_dial(const struct sockaddr_un *sa, const char *console, int *sockp)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1) {
		log_user_error("cannot create a socket: %s", strerror(errno));
		return HOST_EXIT_FAIL;
	}
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == -1) {
		log_user_error("console %s is not available: %s", console,
		    strerror(errno));
		close(fd);
		return HOST_EXIT_UNAVAILABLE;
	}
	*sockp = fd;
	return 0;
}

static int
host_lock(const struct sercon_config *cfg, struct host_session *s)
{
	struct conlock_holder holder;
	char err[512];

	switch (conlock_acquire(&s->lock, cfg->lock_dir, s->console,
	    s->args->entity_id, s->args->entity, time(NULL), &holder, err,
	    sizeof(err))) {
	case CONLOCK_OK:
		return 0;
	case CONLOCK_BUSY:
		log_user_error("console %s is in use by %s since %s",
		    s->console, holder.entity, holder.since);
		return HOST_EXIT_BUSY;
	case CONLOCK_ERROR:
		break;
	}
	log_user_error("cannot lock console %s: %s", s->console, err);
	return HOST_EXIT_FAIL;
}

/* Which side closed, from how the relay ended. */
static int
host_end_status(enum relay_why why, int who, int user_ep, int con_ep,
    const struct relay *r, const char **reason)
{
	const struct relay_stats *user = relay_stats(r, user_ep);

	switch (why) {
	case RELAY_EP_EOF:
	case RELAY_DONE:
		if (who == con_ep && user->rd == RELAY_OPEN) {
			*reason = "console-closed";
			return HOST_EXIT_VM_CLOSED;
		}
		*reason = "user-closed";
		return HOST_EXIT_OK;
	case RELAY_EP_GONE:
		*reason = "user-closed";
		return HOST_EXIT_OK;
	case RELAY_STOPPED:
		*reason = "signal";
		return HOST_EXIT_OK;
	case RELAY_ERROR:
		break;
	}
	*reason = "error";
	return HOST_EXIT_FAIL;
}

static void
host_audit_end(const struct host_session *s, unsigned long long to,
    unsigned long long from, int status, const char *reason, const char *via)
{
	double secs = (double)(mtime_ms() - s->start_ms) / 1e3;

	log_info("console close: console=%s entityid=%s entity=%s peer=%s "
	    "to_console=%llu from_console=%llu duration=%.3fs status=%d "
	    "reason=%s%s", s->console, s->log_id, s->log_entity, s->peer,
	    to, from, secs, status, reason, via);
}

static void
host_audit_close(const struct host_session *s, const struct relay *r,
    int con_ep, int status, const char *reason)
{
	const struct relay_stats *con = relay_stats(r, con_ep);

	host_audit_end(s, (unsigned long long)con->bytes_out,
	    (unsigned long long)con->bytes_in, status, reason, "");
}

static const char *
side_name(enum relay_side side)
{
	switch (side) {
	case RELAY_OPEN:
		return "open";
	case RELAY_EOF:
		return "eof";
	case RELAY_SHUT:
		return "shut";
	case RELAY_FAILED:
		break;
	}
	return "failed";
}

static void
host_debug_end(const struct relay *r, enum relay_why why, int user_ep,
    int con_ep)
{
	const struct relay_stats *u = relay_stats(r, user_ep);
	const struct relay_stats *c = relay_stats(r, con_ep);

	log_debug("relay ended (%d): user read %s (%s) write %s (%s); "
	    "console read %s (%s) write %s (%s)", (int)why,
	    side_name(u->rd), strerror(u->rd_errno), side_name(u->wr),
	    strerror(u->wr_errno), side_name(c->rd), strerror(c->rd_errno),
	    side_name(c->wr), strerror(c->wr_errno));
}

static int host_relay_raw(struct host_session *);

/* A direct session to a framed proxy: the attach loop with the console
 * as its bare peer. */
static int
host_direct_framed(struct host_session *s)
{
	struct attach_io io;
	uint8_t msg[SPROTO_HDR + SPROTO_MAX_PAYLOAD];
	char text[SPROTO_MAX_PAYLOAD];
	int n, status;

	n = snprintf(text, sizeof(text), "sercon 1 role=writer console=%s "
	    "direct=1", s->console);
	n = sproto_encode_msg(SP_HELLO, text, (size_t)n, msg, sizeof(msg));
	if (n > 0 && write(STDOUT_FILENO, msg, (size_t)n) != n)
		return HOST_EXIT_OK;
	memset(&io, 0, sizeof(io));
	io.user_in = STDIN_FILENO;
	io.user_out = STDOUT_FILENO;
	io.user_framed = true;
	io.peer = s->sock;
	io.peer_framed = false;
	io.stop_fd = host_sig_pipe[0];
	io.label = s->label;
	status = attach_run(&io);
	host_audit_end(s, io.to_peer, io.from_peer, status, io.reason, "");
	return status;
}

static int
host_relay(struct host_session *s)
{
	if (s->args->proto == 1)
		return host_direct_framed(s);
	return host_relay_raw(s);
}

/* Through sercon-consoled. Returns -1 when no daemon answers (the caller
 * falls back to a direct session), else the session's exit status. */
static int
host_via_daemon(const struct sercon_config *cfg, struct host_session *s)
{
	const struct host_args *a = s->args;
	struct sess_hello h;
	struct attach_io io;
	int fd, status;

	if ((fd = attach_dial(cfg->attach_socket)) == -1) {
		log_info("sercon-consoled is not running (%s: %s): direct, "
		    "exclusive session to %s", cfg->attach_socket,
		    strerror(errno), s->console);
		return -1;
	}
	memset(&h, 0, sizeof(h));
	h.request = HELLO_ATTACH;
	snprintf(h.console, sizeof(h.console), "%s", s->console);
	snprintf(h.entity_id, sizeof(h.entity_id), "%s",
	    a->entity_id != NULL ? a->entity_id : "");
	snprintf(h.entity, sizeof(h.entity), "%s",
	    a->entity != NULL ? a->entity : "");
	snprintf(h.peer, sizeof(h.peer), "%s", s->peer);
	h.mode = a->mode;
	h.replay = a->replay;
	if (attach_hello(fd, &h) != 0) {
		log_info("sercon-consoled did not take the hello (%s): direct, "
		    "exclusive session", strerror(errno));
		close(fd);
		return -1;
	}
	if (term_raw(STDIN_FILENO) != 0) {
		log_user_error("cannot set the terminal to raw mode: %s",
		    strerror(errno));
		close(fd);
		return HOST_EXIT_FAIL;
	}
	if (host_signals_catch() != 0) {
		log_user_error("cannot catch signals: %s", strerror(errno));
		status = HOST_EXIT_FAIL;
	} else {
		s->start_ms = mtime_ms();
		log_info("console open: console=%s entityid=%s entity=%s "
		    "peer=%s via=sercon-consoled", s->console, s->log_id,
		    s->log_entity, s->peer);
		memset(&io, 0, sizeof(io));
		io.user_in = STDIN_FILENO;
		io.user_out = STDOUT_FILENO;
		io.user_framed = a->proto == 1;
		io.peer = fd;
		io.peer_framed = true;
		io.stop_fd = host_sig_pipe[0];
		io.label = s->label;
		status = attach_run(&io);
		host_audit_end(s, io.to_peer, io.from_peer, status, io.reason,
		    " via=sercon-consoled");
	}
	term_restore();
	host_signals_release();
	close(fd);
	return status;
}

static int
host_relay_raw(struct host_session *s)
{
	struct relay *r;
	enum relay_why why;
	const char *reason = "error";
	int user_ep, con_ep, who, status;

	r = relay_new();
	user_ep = relay_add(r, "user", STDIN_FILENO, STDOUT_FILENO,
	    RELAY_F_END_ON_GONE);
	con_ep = relay_add(r, "console", s->sock, s->sock, RELAY_F_END_ON_EOF);
	if (user_ep == -1 || con_ep == -1 ||
	    relay_link(r, user_ep, con_ep, 0) != 0 ||
	    relay_link(r, con_ep, user_ep, 0) != 0) {
		log_user_error("cannot set up the relay: %s", strerror(errno));
		relay_free(r);
		return HOST_EXIT_FAIL;
	}
	relay_set_stop_fd(r, host_sig_pipe[0]);
	why = relay_run(r, &who);
	status = host_end_status(why, who, user_ep, con_ep, r, &reason);
	host_debug_end(r, why, user_ep, con_ep);
	host_audit_close(s, r, con_ep, status, reason);
	relay_free(r);
	return status;
}

int
host_connect(const struct sercon_config *cfg, const struct host_args *a)
{
	struct host_session s;
	struct sockaddr_un sa;
	int status;

	memset(&s, 0, sizeof(s));
	s.args = a;
	s.console = a->console;
	s.sock = -1;
	s.lock.fd = -1;
	host_peer(s.peer, sizeof(s.peer));
	s.log_id = audit_field(a->entity_id);
	s.log_entity = audit_field(a->entity);
	snprintf(s.label, sizeof(s.label), "%s", s.console);
	if (strlen(s.label) > 5 &&
	    !strcmp(s.label + strlen(s.label) - 5, ".sock"))
		s.label[strlen(s.label) - 5] = '\0';
	if (!text_valid_console(s.console)) {
		log_user_error("invalid console name '%s'", s.console);
		status = HOST_EXIT_UNAVAILABLE;
		goto out;
	}
	if ((status = host_via_daemon(cfg, &s)) != -1)
		goto out;
	if ((status = host_socket_addr(cfg, s.console, &sa)) != 0)
		goto out;
	log_debug("console socket %s", sa.sun_path);
	if ((status = host_lock(cfg, &s)) != 0)
		goto out;
	if ((status = host_dial(&sa, s.console, &s.sock)) != 0)
		goto out;
	if (term_raw(STDIN_FILENO) != 0) {
		log_user_error("cannot set the terminal to raw mode: %s",
		    strerror(errno));
		status = HOST_EXIT_FAIL;
		goto out;
	}
	/* After term_raw: our handlers replace its restore-and-die ones, so
	 * that a hang-up still writes the closing audit line; every path
	 * below restores the terminal. */
	if (host_signals_catch() != 0) {
		log_user_error("cannot catch signals: %s", strerror(errno));
		status = HOST_EXIT_FAIL;
	} else {
		s.start_ms = mtime_ms();
		log_info("console open: console=%s entityid=%s entity=%s "
		    "peer=%s", s.console, s.log_id, s.log_entity, s.peer);
		status = host_relay(&s);
	}
	term_restore();
	host_signals_release();
out:
	if (s.sock != -1)
		close(s.sock);
	conlock_release(&s.lock);
	free(s.log_id);
	free(s.log_entity);
	return status;
}

static int
host_info_file(FILE *f, const char *key, const char *pkidir,
    const char *name)
{
	char path[4096], err[512], *buf, *safe;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", pkidir, name);
	if (file_read(path, HOST_FILE_MAX, FILE_NONBLOCK, &buf, &len, NULL,
	    err, sizeof(err)) != 0) {
		log_user_error("%s", err);
		return -1;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	safe = text_safe(buf);
	fprintf(f, "%s=%s\n", key, safe);
	free(safe);
	free(buf);
	return 0;
}

int
host_status(FILE *f, const struct sercon_config *cfg)
{
	char err[512];

	if (attach_status(cfg->attach_socket, f, err, sizeof(err)) != 0) {
		log_user_error("%s", err);
		return HOST_EXIT_UNAVAILABLE;
	}
	return fflush(f) == 0 ? HOST_EXIT_OK : HOST_EXIT_FAIL;
}

int
host_info(FILE *f, const char *pkidir)
{
	int rc = 0;

	fprintf(f, "package=sercon-host-shell\nversion=%s\n", PACKAGE_VERSION);
	/* what a sercon proxy looks for before it asks for --proto=1 */
	fprintf(f, "protocols=%d\n", SPROTO_VERSION);
	if (host_info_file(f, "ssh-ca-key", pkidir, "ca.pub") != 0)
		rc = -1;
	if (host_info_file(f, "ssh-host-cert", pkidir,
	    "host-ssh_host_key-cert.pub") != 0)
		rc = -1;
	if (fflush(f) != 0)
		rc = -1;
	return rc == 0 ? HOST_EXIT_OK : HOST_EXIT_FAIL;
}

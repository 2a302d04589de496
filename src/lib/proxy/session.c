/* session.c: the proxy's side of a console session; see session.h. One
 * poll loop over the user's terminal and the three pipes of the current
 * ssh to the host. Each direction has one bounded buffer: while it is full
 * its source is not read, so a slow side slows the other down instead of
 * growing memory, and neither direction ever waits for the other. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "core/log.h"
#include "core/sproto.h"
#include "core/term.h"
#include "core/text.h"
#include "proxy/dial.h"
#include "proxy/escape.h"
#include "proxy/session.h"

/* A serial console prints kilobytes a second: these hold a read or two
 * of a fast burst, and every page of them stays resident per session */
#define TO_USER_CAP   24576
#define TO_HOST_CAP   8192
#define FROM_HOST_CAP 8192
#define NOTICE_ROOM   (SPROTO_MAX_PAYLOAD * 4 + 64)
#define ERR_KEEP      2048     /* ssh's stderr kept to judge a failure */
#define SETTLE_MS     3000     /* a raw hop alive this long is connected
                                  * (a raw host may say nothing at first) */

enum link_state {
	LINK_CONNECTING,       /* ssh started, nothing from the host yet */
	LINK_LIVE,             /* the host answered */
	LINK_WAITING,          /* between hosts: next dial at s->next_ms */
	LINK_DONE,
};

struct buf {
	uint8_t *b;
	size_t len, cap;
};

struct sess {
	struct psess *p;
	enum link_state state;
	enum dial_proto proto;
	struct dial_child ch;
	struct sproto_dec dec;
	struct esc_state esc;
	struct buf to_user, to_host, from_host;
	char err[ERR_KEEP];            /* ssh's stderr before the host answered */
	size_t err_len;
	bool out_eof, err_eof;
	bool following;                /* this dial follows the VM */
	bool closed_seen;              /* the host said console=closed */
	bool told_dropped;
	int end_status;                /* SP_END's status, or -1 */
	int tries;                     /* refused hops retried so far */
	long long started_ms, next_ms, deadline_ms;
	unsigned long long bytes_in;   /* console bytes from the host */
	unsigned long long hop_in;     /* bytes of any kind on this hop */
	uint8_t last;                  /* last byte the user was sent */
	char old_host[TEXT_HOST_MAX + 1];   /* the host of the last live hop */
	char told_host[TEXT_HOST_MAX + 1];  /* the last "left" notice named */
	char why[TEXT_HOST_MAX + 128];      /* the message of an early end */
};

static volatile sig_atomic_t got_hup, got_winch;

static int flush(int, struct buf *);

static void
on_signal(int sig)
{
	if (sig == SIGWINCH)
		got_winch = 1;
	else
		got_hup = 1;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
psess_console_free(struct mgr_console *c)
{
	free(c->vm_id);
	free(c->vm_name);
	free(c->host);
	free(c->console);
	memset(c, 0, sizeof(*c));
}

/* ---- output to the user ------------------------------------------------- */

static void
reverse(uint8_t *p, size_t n)
{
	uint8_t t;
	size_t i;

	for (i = 0; i < n / 2; i++) {
		t = p[i];
		p[i] = p[n - 1 - i];
		p[n - 1 - i] = t;
	}
}

/* p holds a (na bytes) then b (nb bytes): makes it b then a, in place. */
static void
rotate(uint8_t *p, size_t na, size_t nb)
{
	reverse(p, na);
	reverse(p + na, nb);
	reverse(p, na + nb);
}

static void
put(struct sess *s, const void *d, size_t n)
{
	/* callers leave NOTICE_ROOM free before adding a notice; data is
	 * read only into the room there is */
	if (n > s->to_user.cap - s->to_user.len)
		n = s->to_user.cap - s->to_user.len;
	memcpy(s->to_user.b + s->to_user.len, d, n);
	s->to_user.len += n;
	if (n > 0)
		s->last = ((const uint8_t *)d)[n - 1];
}

/* "[sercon] TEXT" on a line of its own; text is escaped for the terminal. */
static void
notice(struct sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
notice(struct sess *s, const char *fmt, ...)
{
	char raw[SPROTO_MAX_PAYLOAD + 256];
	size_t room;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (s->last != '\n' && s->last != 0)
		put(s, "\r\n", 2);
	put(s, "[sercon] ", 9);
	/* escaped straight into the buffer (at most NOTICE_ROOM - 32
	 * bytes, as callers keep NOTICE_ROOM free), room left for the
	 * line end */
	room = s->to_user.cap - s->to_user.len;
	if (room > NOTICE_ROOM - 32)
		room = NOTICE_ROOM - 32;
	if (room > 2) {
		text_safe_buf((char *)s->to_user.b + s->to_user.len, room - 2,
		    raw);
		s->to_user.len += strlen((char *)s->to_user.b +
		    s->to_user.len);
	}
	put(s, "\r\n", 2);
}

static const char *
vm_name(struct sess *s)
{
	return s->p->vm.vm_name;
}

/* ---- the ssh child -------------------------------------------------------- */

static void
link_stop(struct sess *s)
{
	int status;

	if (s->ch.pid > 0) {
		kill(s->ch.pid, SIGTERM);
		dial_close(&s->ch);
		dial_wait(s->ch.pid, &status);
		s->ch.pid = -1;
	}
	dial_close(&s->ch);
}

static void
send_msg(struct sess *s, uint8_t type, const void *payload, size_t len)
{
	int n;

	if (s->to_host.cap - s->to_host.len < SPROTO_HDR + len)
		return;        /* a full pipe to a stuck host: dropped */
	n = sproto_encode_msg(type, payload, len,
	    s->to_host.b + s->to_host.len, s->to_host.cap - s->to_host.len);
	if (n > 0)
		s->to_host.len += (size_t)n;
}

static void
send_winsize(struct sess *s)
{
	struct winsize ws;
	uint8_t p[4];

	if (s->proto != DIAL_FRAMED || ioctl(s->p->in, TIOCGWINSZ, &ws) != 0)
		return;
	p[0] = ws.ws_col >> 8;
	p[1] = ws.ws_col & 0xff;
	p[2] = ws.ws_row >> 8;
	p[3] = ws.ws_row & 0xff;
	send_msg(s, SP_WINSIZE, p, 4);
}

static void end(struct sess *s, int status, const char *outcome,
    const char *message);

/* The connect option a raw host cannot honour, or NULL. */
static const char *
unsupported_opt(const struct sess *s)
{
	if (s->p->read_only)
		return "--read-only";
	if (s->p->takeover)
		return "--takeover";
	if (s->p->replay != NULL && strcmp(s->p->replay, "0") != 0)
		return "--replay";
	return NULL;
}

static int
link_start(struct sess *s)
{
	struct dial_opts o;
	char err[256];
	const char *unsupported;
	static const char hello[] = "sercon 1";

	memset(&o, 0, sizeof(o));
	s->proto = dial_host_proto(s->p->cfg, s->p->vm.host);
	o.proto = s->proto;
	o.tty = true;
	o.pipes = true;
	if (s->proto != DIAL_FRAMED && (unsupported = unsupported_opt(s))) {
		/* a raw host would give a writer, or no replay, silently */
		snprintf(s->why, sizeof(s->why), "%s does not support %s (not "
		    "a sercon host)", s->p->vm.host, unsupported);
		log_info("connect entity=%s vm=%s vmid=%s host=%s: %s",
		    s->p->entity_id, s->p->vm.vm_name, s->p->vm.vm_id,
		    s->p->vm.host, s->why);
		end(s, PSESS_UNSUPPORTED, "unsupported", s->why);
		return -1;
	}
	o.read_only = s->p->read_only;
	o.takeover = s->p->takeover;
	/* following the VM: what it printed since it arrived there */
	o.replay = s->proto != DIAL_FRAMED ? NULL : s->following ? "arrival" :
	    s->p->replay;
	s->to_host.len = s->from_host.len = 0;
	s->err_len = 0;
	s->hop_in = 0;
	s->out_eof = s->err_eof = false;
	s->end_status = -1;
	s->closed_seen = false;
	sproto_dec_init(&s->dec);
	log_info("connect entity=%s vm=%s vmid=%s host=%s console=%s "
	    "proto=%s mode=%s replay=%s: dialing", s->p->entity_id,
	    s->p->vm.vm_name, s->p->vm.vm_id, s->p->vm.host, s->p->vm.console,
	    s->proto == DIAL_FRAMED ? "1" : "raw", o.read_only ? "ro" :
	    o.takeover ? "takeover" : "rw", o.replay ? o.replay : "default");
	if (dial_spawn(s->p->cfg, &s->p->vm, s->p->entity_id, s->p->entity,
	    &o, &s->ch, err, sizeof(err)) != 0) {
		log_error("cannot dial: %s", err);
		return -1;
	}
	fcntl(s->ch.in, F_SETFL, O_NONBLOCK);
	s->state = LINK_CONNECTING;
	s->started_ms = now_ms();
	if (s->proto == DIAL_FRAMED) {
		send_msg(s, SP_HELLO, hello, sizeof(hello) - 1);
		send_winsize(s);
	}
	return 0;
}

/* Lines ssh (or the host shell) wrote on stderr, escaped, for the user's
 * raw terminal. Lines that do not fit are dropped. */
static void
show_lines(struct sess *s, char *text)
{
	char safe[1024], *p, *nl;

	for (p = text; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl = '\0';
		text_safe_buf(safe, sizeof(safe), p);
		if (*safe != '\0' && s->to_user.cap - s->to_user.len >
		    strlen(safe) + NOTICE_ROOM) {
			put(s, safe, strlen(safe));
			put(s, "\r\n", 2);
		}
		if (nl == NULL)
			break;
	}
}

/* The host answered: the hop is up. */
static void
link_live(struct sess *s)
{
	if (s->state != LINK_CONNECTING)
		return;
	s->state = LINK_LIVE;
	s->tries = 0;
	if (s->following)
		notice(s, "%s is now on %s", vm_name(s), s->p->vm.host);
	s->following = false;
	s->told_dropped = false;
	snprintf(s->old_host, sizeof(s->old_host), "%s", s->p->vm.host);
	/* what ssh said on the way in (warnings) is the user's to read */
	s->err[s->err_len] = '\0';
	show_lines(s, s->err);
	s->err_len = 0;
}

/* ---- following the VM ------------------------------------------------------- */

static void
end(struct sess *s, int status, const char *outcome, const char *message)
{
	s->state = LINK_DONE;
	s->end_status = status;
	s->p->outcome = outcome;
	s->p->message = message;
}

/* Asks the manager where the VM is. Returns 0 (s->p->vm updated), 1 when
 * it is gone (the session was ended), -1 when the manager failed. */
static int
relocate(struct sess *s)
{
	struct mgr_console c;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = s->p->locate(s->p->locate_arg, s->p->vm.vm_id, &c);
	if (rc == 1) {
		log_info("follow entity=%s vm=%s vmid=%s: no longer listed",
		    s->p->entity_id, s->p->vm.vm_name, s->p->vm.vm_id);
		notice(s, "%s is no longer available to you; the session "
		    "ends", vm_name(s));
		end(s, HOST_EXIT_VM_CLOSED, "vm-gone", "the VM is no longer "
		    "available to you");
		return 1;
	}
	if (rc != 0)
		return -1;
	free(s->p->vm.host);
	free(s->p->vm.console);
	s->p->vm.host = c.host;
	s->p->vm.console = c.console;
	c.host = c.console = NULL;
	psess_console_free(&c);
	return 0;
}

static void
wait_then_retry(struct sess *s)
{
	long long delay;
	int n = s->tries < 5 ? s->tries : 5;

	/* 250 ms doubling to 4 s, with up to half of it as jitter so that
	 * many sessions following one host do not arrive together */
	delay = 250LL << (n < 4 ? n : 4);
	delay += random() % (delay / 2 + 1);
	s->tries++;
	s->next_ms = now_ms() + delay;
	s->state = LINK_WAITING;
}

/* The console closed under a live session (or a dial while following
 * failed): look where the VM is, and dial there, until the bound. */
static void
follow(struct sess *s)
{
	link_stop(s);
	if (!s->following) {
		s->following = true;
		s->tries = 0;
		s->deadline_ms = now_ms() +
		    (long long)s->p->cfg->follow_timeout * 1000;
		log_info("follow entity=%s vm=%s vmid=%s host=%s: the console "
		    "closed", s->p->entity_id, s->p->vm.vm_name,
		    s->p->vm.vm_id, s->old_host);
		if (!strcmp(s->old_host, s->p->vm.host))
			notice(s, "the console of %s closed; waiting for it "
			    "to come back...", vm_name(s));
	}
	if (now_ms() >= s->deadline_ms) {
		notice(s, "%s did not come back within %d s; the session "
		    "ends", vm_name(s), s->p->cfg->follow_timeout);
		end(s, HOST_EXIT_VM_CLOSED, "vm-closed", "the VM's console "
		    "did not come back in time");
		return;
	}
	wait_then_retry(s);
}

/* Time for the next dial while following. */
static void
follow_dial(struct sess *s)
{
	int rc = relocate(s);

	if (rc == 1)
		return;
	if (rc == 0 && strcmp(s->old_host, s->p->vm.host) != 0 &&
	    strcmp(s->told_host, s->p->vm.host) != 0) {
		notice(s, "%s left %s; following it\xe2\x80\xa6", vm_name(s),
		    s->old_host);
		snprintf(s->told_host, sizeof(s->told_host), "%s",
		    s->p->vm.host);
		/* on screen now: asking a new host its protocol takes a
		 * while (a failed write shows again in the loop) */
		(void)flush(s->p->out, &s->to_user);
		log_info("follow entity=%s vm=%s vmid=%s host=%s: now listed "
		    "on %s", s->p->entity_id, s->p->vm.vm_name,
		    s->p->vm.vm_id, s->old_host, s->p->vm.host);
	}
	if ((rc != 0 || link_start(s) != 0) && s->state != LINK_DONE)
		follow(s);
}

/* ---- what the host says ---------------------------------------------------- */

static void
on_status(struct sess *s, char *words)
{
	char *w, *save = NULL;

	for (w = strtok_r(words, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		if (!strcmp(w, "console=closed")) {
			s->closed_seen = true;
			/* moved elsewhere? then leave this host now */
			if (relocate(s) == 0 &&
			    strcmp(s->p->vm.host, s->old_host) != 0) {
				follow(s);
				if (s->state == LINK_WAITING)
					s->next_ms = now_ms();
			}
		} else if (!strcmp(w, "console=back")) {
			s->closed_seen = false;
		} else if (!strncmp(w, "missed=", 7)) {
			/* the user is told by the host's own notice, which
			 * follows; the audit log gets it here */
			log_info("session entity=%s vm=%s host=%s: %s",
			    s->p->entity_id, s->p->vm.vm_name, s->p->vm.host,
			    w);
		}
		if (s->state == LINK_DONE || s->state == LINK_WAITING)
			return;
	}
}

static void
on_message(struct sess *s)
{
	char *text = (char *)s->dec.payload;

	if (s->dec.type == SP_HELLO || s->dec.type == SP_STATUS)
		link_live(s);
	switch (s->dec.type) {
	case SP_NOTICE:
		notice(s, "%s", text);
		break;
	case SP_STATUS:
		on_status(s, text);
		break;
	case SP_END:
		if (s->dec.len > 0)
			s->end_status = s->dec.payload[0];
		break;
	default:
		break;         /* SP_HELLO and what a newer host adds */
	}
}

static void
from_host(struct sess *s)
{
	const uint8_t *in = s->from_host.b;
	size_t inlen = s->from_host.len, outlen, before;
	int rc;

	if (s->proto == DIAL_RAW) {
		put(s, in, inlen);
		s->bytes_in += inlen;
		s->from_host.len = 0;
		return;
	}
	while (inlen > 0 && s->state != LINK_WAITING &&
	    s->state != LINK_DONE) {
		if (s->to_user.cap - s->to_user.len <= NOTICE_ROOM)
			break;
		outlen = before = s->to_user.len;
		rc = sproto_decode(&s->dec, &in, &inlen, s->to_user.b,
		    s->to_user.cap - NOTICE_ROOM, &outlen);
		s->to_user.len = outlen;
		if (outlen > before && s->state == LINK_CONNECTING) {
			/* the first console bytes: the notices of arrival,
			 * added after them (in the NOTICE_ROOM kept free),
			 * are rotated to go before them (s->last is the
			 * last console byte again just below) */
			size_t dn = outlen - before;

			link_live(s);
			rotate(s->to_user.b + before, dn,
			    s->to_user.len - outlen);
			outlen = s->to_user.len;
			before = outlen - dn;
		}
		if (outlen > before) {
			s->last = s->to_user.b[outlen - 1];
			s->bytes_in += outlen - before;
		}
		if (rc == SPROTO_ERR) {
			log_error("host %s broke the session protocol",
			    s->p->vm.host);
			notice(s, "the host broke the session protocol");
			link_stop(s);
			end(s, HOST_EXIT_SSH, "protocol-error", NULL);
			return;
		}
		if (rc == SPROTO_MSG)
			on_message(s);
	}
	if (s->state == LINK_WAITING || s->state == LINK_DONE)
		inlen = 0;
	memmove(s->from_host.b, in, inlen);
	s->from_host.len = inlen;
}

/* ssh has exited (both pipes at EOF): what now. */
static void
link_ended(struct sess *s)
{
	int status = HOST_EXIT_SSH;
	bool reached = s->state == LINK_LIVE;

	if (s->ch.pid > 0 && dial_wait(s->ch.pid, &status) != 0)
		status = HOST_EXIT_SSH;
	s->ch.pid = -1;
	dial_close(&s->ch);
	if (s->end_status >= 0 && s->proto == DIAL_FRAMED)
		status = s->end_status;
	s->err[s->err_len] = '\0';
	log_debug("hop to %s ended: status %d, %s; %llu bytes", s->p->vm.host,
	    status, reached ? "after the host answered" : "before",
	    s->hop_in);
	if (!reached && status == HOST_EXIT_SSH && dial_refused(s->err) &&
	    s->tries < s->p->cfg->hop_retries) {
		log_info("connect entity=%s host=%s: the host's sshd dropped "
		    "the connection; retrying", s->p->entity_id,
		    s->p->vm.host);
		wait_then_retry(s);
		return;
	}
	if (s->following && (!reached || status == HOST_EXIT_VM_CLOSED ||
	    status == HOST_EXIT_UNAVAILABLE)) {
		follow(s);
		return;
	}
	if (reached && (status == HOST_EXIT_VM_CLOSED ||
	    (status == 0 && s->closed_seen))) {
		follow(s);
		return;
	}
	/* ssh's own words, when the host never answered */
	if (!reached) {
		show_lines(s, s->err);
		s->err_len = 0;
	}
	/* ssh's 255 is both "never got there" and "the link broke": what
	 * came over the hop tells them apart */
	if (status == HOST_EXIT_SSH && reached && s->hop_in > 0)
		end(s, status, "lost", "the connection to the VM's host was "
		    "lost");
	else
		end(s, status, NULL, NULL);
}

/* ---- the user's keystrokes ----------------------------------------------- */

static void
audit(struct sess *s, const char *what)
{
	log_info("session entity=%s vm=%s vmid=%s host=%s command=%s",
	    s->p->entity_id, s->p->vm.vm_name, s->p->vm.vm_id,
	    s->p->vm.host, what);
}

static void
command(struct sess *s, enum esc_cmd cmd, uint8_t key)
{
	static const char *const names[] = {
		[ESC_BREAK] = "break", [ESC_SYSRQ] = "sysrq",
		[ESC_TAKEOVER] = "takeover", [ESC_REPLAY] = "replay",
		[ESC_HELP] = "help", [ESC_LEAVE] = "leave",
	};
	static const char *const what[] = {
		[ESC_BREAK] = "BREAK", [ESC_SYSRQ] = "SysRq",
		[ESC_TAKEOVER] = "take over", [ESC_REPLAY] = "replay",
	};
	bool framed = s->proto == DIAL_FRAMED && s->state == LINK_LIVE;

	audit(s, names[cmd]);
	switch (cmd) {
	case ESC_HELP:
		if (s->last != '\n' && s->last != 0)
			put(s, "\r\n", 2);
		put(s, esc_help(s->esc.ch, s->proto != DIAL_FRAMED),
		    strlen(esc_help(s->esc.ch, s->proto != DIAL_FRAMED)));
		return;
	case ESC_LEAVE:
		notice(s, "you left %s", vm_name(s));
		link_stop(s);
		end(s, s->p->from_menu ? PSESS_MENU : 0, "closed", NULL);
		return;
	default:
		break;
	}
	if (!framed) {
		notice(s, "%s is not supported by this %s", what[cmd],
		    s->state == LINK_LIVE ? "host (no sercon session protocol)"
		    : "session until the console is back");
		return;
	}
	switch (cmd) {
	case ESC_BREAK:
		send_msg(s, SP_BREAK, NULL, 0);
		break;
	case ESC_SYSRQ:
		send_msg(s, SP_SYSRQ, &key, 1);
		break;
	case ESC_TAKEOVER:
		send_msg(s, SP_TAKEOVER, NULL, 0);
		break;
	case ESC_REPLAY:
		send_msg(s, SP_REPLAY, "default", 7);
		break;
	default:
		break;
	}
}

static void
from_user(struct sess *s, const uint8_t *in, size_t n)
{
	uint8_t plain[4096 + 1];
	size_t used, plen, done;
	enum esc_cmd cmd;
	uint8_t key = 0;

	while (n > 0 && s->state != LINK_DONE) {
		used = esc_scan(&s->esc, in, n > 4096 ? 4096 : n, plain, &plen,
		    &cmd, &key);
		in += used;
		n -= used;
		/* between hosts nothing typed goes to the old or the new
		 * host (typed ahead of the first connect, it does) */
		if (plen > 0 && (s->state == LINK_WAITING ||
		    (s->state == LINK_CONNECTING && s->following))) {
			if (!s->told_dropped)
				notice(s, "the console is away: what you type "
				    "is dropped until it is back");
			s->told_dropped = true;
		} else if (plen > 0 && s->proto == DIAL_FRAMED) {
			sproto_encode_data(plain, plen, s->to_host.b,
			    s->to_host.cap, &s->to_host.len);
		} else if (plen > 0) {
			done = plen < s->to_host.cap - s->to_host.len ? plen :
			    s->to_host.cap - s->to_host.len;
			memcpy(s->to_host.b + s->to_host.len, plain, done);
			s->to_host.len += done;
		}
		if (cmd != ESC_NONE)
			command(s, cmd, key);
	}
}

/* ---- the loop ---------------------------------------------------------------- */

static int
flush(int fd, struct buf *b)
{
	ssize_t w;

	while (b->len > 0) {
		if ((w = write(fd, b->b, b->len)) < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		memmove(b->b, b->b + w, b->len - (size_t)w);
		b->len -= (size_t)w;
	}
	return 0;
}

static void
read_err(struct sess *s)
{
	char buf[1024];
	ssize_t n = read(s->ch.err, buf, sizeof(buf) - 1);

	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			close(s->ch.err);
			s->ch.err = -1;
			s->err_eof = true;
		}
		return;
	}
	if (s->state == LINK_CONNECTING) {
		/* kept until we know whether the hop is retried */
		if ((size_t)n > sizeof(s->err) - 1 - s->err_len)
			n = (ssize_t)(sizeof(s->err) - 1 - s->err_len);
		memcpy(s->err + s->err_len, buf, (size_t)n);
		s->err_len += (size_t)n;
		return;
	}
	buf[n] = '\0';
	show_lines(s, buf);
}

static void
read_out(struct sess *s)
{
	ssize_t n;

	n = read(s->ch.out, s->from_host.b, s->from_host.cap);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(s->ch.out);
		s->ch.out = -1;
		s->out_eof = true;
		return;
	}
	s->from_host.len = (size_t)n;
	s->hop_in += (unsigned long long)n;
	/* a raw host answers with the console; a framed one says so first
	 * (an SP_END for a console that is not there is no answer) */
	if (s->proto == DIAL_RAW)
		link_live(s);
	from_host(s);
}

static bool
read_user(struct sess *s)
{
	uint8_t buf[2048];
	ssize_t n = read(s->p->in, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	from_user(s, buf, (size_t)n);
	return true;
}

static int
timeout_ms(struct sess *s)
{
	long long t, now = now_ms();

	if (s->state == LINK_WAITING)
		t = s->next_ms - now;
	else if (s->state == LINK_CONNECTING && s->proto == DIAL_RAW)
		t = s->started_ms + SETTLE_MS - now;
	else
		return -1;             /* until something happens */
	if (t < 0)
		t = 0;
	return t > 60000 ? 60000 : (int)t;
}

static void
loop(struct sess *s)
{
	struct pollfd pf[5];
	int n, iu = -1, io = -1, ie = -1, ih = -1, ou = -1;

	while (s->state != LINK_DONE) {
		if (got_hup) {
			link_stop(s);
			end(s, 0, "closed", NULL);
			break;
		}
		if (got_winch) {
			got_winch = 0;
			send_winsize(s);
		}
		if (s->state == LINK_WAITING && now_ms() >= s->next_ms) {
			if (s->following)
				follow_dial(s);
			else if (link_start(s) != 0 && s->state != LINK_DONE)
				end(s, HOST_EXIT_SSH, "unreachable", NULL);
			continue;
		}
		if (s->state == LINK_CONNECTING && s->proto == DIAL_RAW &&
		    now_ms() - s->started_ms >= SETTLE_MS)
			link_live(s);
		if (s->ch.pid > 0 && s->out_eof && s->err_eof) {
			link_ended(s);
			continue;
		}
		n = 0;
		iu = io = ie = ih = ou = -1;
		/* room for one read of keystrokes, escaped and framed */
		if (s->to_host.cap - s->to_host.len > 2 * 2048 + 64) {
			pf[n] = (struct pollfd){ s->p->in, POLLIN, 0 };
			iu = n++;
		}
		if (s->to_user.len > 0) {
			pf[n] = (struct pollfd){ s->p->out, POLLOUT, 0 };
			ou = n++;
		}
		if (s->ch.out >= 0 && s->from_host.len == 0 &&
		    s->to_user.cap - s->to_user.len > FROM_HOST_CAP +
		    NOTICE_ROOM) {
			pf[n] = (struct pollfd){ s->ch.out, POLLIN, 0 };
			io = n++;
		}
		if (s->ch.err >= 0) {
			pf[n] = (struct pollfd){ s->ch.err, POLLIN, 0 };
			ie = n++;
		}
		if (s->ch.in >= 0 && s->to_host.len > 0) {
			pf[n] = (struct pollfd){ s->ch.in, POLLOUT, 0 };
			ih = n++;
		}
		if (poll(pf, (nfds_t)n, timeout_ms(s)) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			link_stop(s);
			end(s, 1, "failed", NULL);
			break;
		}
		if (ou >= 0 && pf[ou].revents != 0 &&
		    flush(s->p->out, &s->to_user) != 0) {
			link_stop(s);
			end(s, 0, "closed", NULL);
			break;
		}
		if (ih >= 0 && pf[ih].revents != 0 &&
		    flush(s->ch.in, &s->to_host) != 0) {
			/* the host went away; its stdout says how */
			close(s->ch.in);
			s->ch.in = -1;
			s->to_host.len = 0;
		}
		if (io >= 0 && pf[io].revents != 0)
			read_out(s);
		else if (s->from_host.len > 0 && s->state != LINK_DONE)
			from_host(s);
		if (ie >= 0 && pf[ie].revents != 0 && s->ch.err >= 0)
			read_err(s);
		if (iu >= 0 && pf[iu].revents != 0 && !read_user(s)) {
			/* the user's connection is gone */
			link_stop(s);
			end(s, 0, "closed", NULL);
			break;
		}
	}
	/* the last words for the user */
	fcntl(s->p->out, F_SETFL, fcntl(s->p->out, F_GETFL) & ~O_NONBLOCK);
	while (s->to_user.len > 0 && flush(s->p->out, &s->to_user) == 0)
		;
}

int
psess_run(struct psess *p)
{
	/* One session per process (see session.h): the buffers and the state
	 * are static, zero from the start, so only the pages a session
	 * writes become resident (on the stack, its 10 KiB would be written
	 * whole by the memset, and every call below would sit under it) */
	static uint8_t to_user[TO_USER_CAP], to_host[TO_HOST_CAP],
	    from_host_b[FROM_HOST_CAP];
	static struct sess sess;
	struct sess *s = &sess;
	struct sigaction sa;
	int in_flags;

	s->p = p;
	s->ch.pid = -1;
	s->ch.in = s->ch.out = s->ch.err = -1;
	s->to_user = (struct buf){ to_user, 0, sizeof(to_user) };
	s->to_host = (struct buf){ to_host, 0, sizeof(to_host) };
	s->from_host = (struct buf){ from_host_b, 0, sizeof(from_host_b) };
	s->end_status = -1;
	snprintf(s->old_host, sizeof(s->old_host), "%s", p->vm.host);
	esc_init(&s->esc, p->escape);
	srandom((unsigned)(getpid() ^ now_ms()));
	p->outcome = NULL;
	p->message = NULL;

	if (term_raw(p->in) != 0)
		log_warn("cannot put the terminal in raw mode");
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	in_flags = fcntl(p->in, F_GETFL);
	fcntl(p->in, F_SETFL, in_flags | O_NONBLOCK);
	fcntl(p->out, F_SETFL, fcntl(p->out, F_GETFL) | O_NONBLOCK);

	{
		char hint[128];

		notice(s, "%s: %s", vm_name(s),
		    esc_hint(p->escape, hint, sizeof(hint)));
	}
	if (link_start(s) != 0 && s->state != LINK_DONE)
		end(s, 1, "failed", "cannot start ssh");
	loop(s);
	link_stop(s);

	fcntl(p->in, F_SETFL, in_flags & ~O_NONBLOCK);
	term_restore();
	return s->end_status;
}

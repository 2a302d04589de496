/* cd_session.c: sercon-consoled's sessions. A host shell connects, says
 * hello (hello.h) within CD_HELLO_SECS, and gets a role: the first session
 * writes, later ones watch; takeover moves the writer role and tells the
 * one who lost it; nobody is ever promoted silently. Output is not copied
 * per session: each session reads the console's ring at its own offset,
 * through a fixed buffer, so a slow session costs no memory; one that
 * falls out of the ring is told how much it missed, one that stops reading
 * is dropped after session_stall. The writer is paced both ways: its input
 * waits for qemu's socket, and qemu's output is read no faster than the
 * writer takes it (cd_console.c), so the writer never loses a byte. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "host/cd_int.h"

#define CD_END_LINGER_MS 2000

static double
mono_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

const char *
role_name(enum role r)
{
	switch (r) {
	case ROLE_WRITER:
		return "writer";
	case ROLE_WATCHER:
		return "watcher";
	case ROLE_NONE:
		break;
	}
	return "none";
}

const char *
sess_who(const struct cd_session *s)
{
	return s->who;
}

static void
sess_watch(struct cd_session *s)
{
	uint32_t mask = 0;

	if (!s->closing && !s->eof && s->ilen < CD_IBUF)
		mask |= EPOLLIN;
	if (s->olen > 0)
		mask |= EPOLLOUT;
	(void)cd_watch(s->cd, &s->h, mask);
}

/* Queues an encoded message to go after ring offset at, in order. */
static void
sess_queue(struct cd_session *s, uint64_t at, uint8_t type, const void *p,
    size_t n)
{
	struct cd_msg *m, **pp;
	int len;

	if (s->h.fd == -1)
		return;
	if (s->con != NULL && s->nmsgs >= CD_MSGS_MAX) {
		/* It reads nothing: the stall timer ends it. (A status
		 * answer is bounded by the consoles and sessions there are,
		 * and is not cut.) */
		return;
	}
	if (n > SPROTO_MAX_PAYLOAD)
		n = SPROTO_MAX_PAYLOAD;
	m = xmalloc(sizeof(*m) + SPROTO_HDR + n);
	len = sproto_encode_msg(type, p, n, m->data, SPROTO_HDR + n);
	if (len < 0) {
		free(m);
		return;
	}
	m->len = (size_t)len;
	m->at = at;
	for (pp = &s->msgs; *pp != NULL && (*pp)->at <= at; pp = &(*pp)->next)
		;
	m->next = *pp;
	*pp = m;
	s->nmsgs++;
}

static uint64_t
sess_now_at(const struct cd_session *s)
{
	return s->con != NULL ? s->con->ring.total : 0;
}

static void
sess_vmsg_at(struct cd_session *s, uint64_t at, uint8_t type,
    const char *fmt, va_list ap)
{
	char text[SPROTO_MAX_PAYLOAD + 1];
	int n = vsnprintf(text, sizeof(text), fmt, ap);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(text))
		n = (int)sizeof(text) - 1;
	sess_queue(s, at, type, text, (size_t)n);
}

void
sess_msg(struct cd_session *s, uint8_t type, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sess_vmsg_at(s, sess_now_at(s), type, fmt, ap);
	va_end(ap);
	sess_pump(s);
}

void
sess_notice(struct cd_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sess_vmsg_at(s, sess_now_at(s), SP_NOTICE, fmt, ap);
	va_end(ap);
	sess_pump(s);
}

static void sess_msg_at(struct cd_session *, uint64_t, uint8_t,
    const char *, ...) __attribute__((format(printf, 4, 5)));

static void
sess_msg_at(struct cd_session *s, uint64_t at, uint8_t type,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sess_vmsg_at(s, at, type, fmt, ap);
	va_end(ap);
}

void
cons_notice_all(struct cd_console *c, struct cd_session *except,
    const char *fmt, ...)
{
	struct cd_session *s;
	va_list ap;

	for (s = c->sessions; s != NULL; s = s->cnext) {
		if (s == except)
			continue;
		va_start(ap, fmt);
		sess_vmsg_at(s, c->ring.total, SP_NOTICE, fmt, ap);
		va_end(ap);
		sess_pump(s);
	}
}

static void
hhmm(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%H:%M UTC",
	    &tm) == 0)
		snprintf(buf, len, "unknown");
}

static void
audit(const struct cd_session *s, const char *event, const char *extra)
{
	char *id = cd_field(s->hello.entity_id);
	char *name = cd_field(s->hello.entity);

	log_info("%s: console=%s session=%u entityid=%s entity=%s role=%s "
	    "peer=%s%s%s", event, s->con != NULL ? s->con->name :
	    s->hello.console, s->id, id != NULL ? id : "-",
	    name != NULL ? name : "-", role_name(s->role), s->hello.peer,
	    extra != NULL ? " " : "", extra != NULL ? extra : "");
	free(id);
	free(name);
}

static void
rec_mark(struct cd_session *s, const char *what)
{
	char text[512];

	if (s->con == NULL || s->con->rec == NULL)
		return;
	snprintf(text, sizeof(text), "%s %s (%s)", what, s->who,
	    role_name(s->role));
	rec_marker(s->con->rec, text);
}

/* Leaves the console: the writer role is left empty, not handed on. */
static void
sess_detach(struct cd_session *s)
{
	struct cd_console *c = s->con;
	struct cd_session **pp;
	char extra[256];

	if (c == NULL)
		return;
	snprintf(extra, sizeof(extra), "to_console=%llu from_console=%llu "
	    "duration=%.3fs status=%d reason=%s",
	    (unsigned long long)s->to_console,
	    (unsigned long long)s->from_console, mono_since(&s->start),
	    s->end_status, s->end_reason != NULL ? s->end_reason : "gone");
	audit(s, "detach", extra);
	rec_mark(s, "detach");
	for (pp = &c->sessions; *pp != NULL; pp = &(*pp)->cnext)
		if (*pp == s) {
			*pp = s->cnext;
			break;
		}
	c->nsess--;
	s->con = NULL;
	if (c->writer == s) {
		c->writer = NULL;
		con_rewatch(c);
		cons_notice_all(c, s, "%s: %s left; nobody writes now "
		    "(take over to write)", c->label, s->who);
	}
	con_maybe_free(c);
}

void
sess_free(struct cd_session *s)
{
	struct cd *cd = s->cd;
	struct cd_msg *m;

	if (s->h.fd == -1)
		return;
	sess_detach(s);
	cd_unwatch(cd, &s->h);
	close(s->h.fd);
	s->h.fd = -1;
	cd_timer_stop(cd, &s->th);
	while ((m = s->msgs) != NULL) {
		s->msgs = m->next;
		free(m);
	}
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		cd->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	cd->nsess--;
	s->next = cd->dead_sess;
	cd->dead_sess = s;
}

void
sess_end(struct cd_session *s, int status, const char *reason)
{
	uint8_t payload[64];
	size_t n;

	if (s->closing || s->h.fd == -1)
		return;
	s->closing = true;
	s->end_status = status;
	s->end_reason = reason;
	payload[0] = (uint8_t)status;
	n = strlen(reason);
	if (n > sizeof(payload) - 1)
		n = sizeof(payload) - 1;
	memcpy(payload + 1, reason, n);
	sess_queue(s, 0, SP_END, payload, n + 1);
	sess_detach(s);
	/* A client that does not read its end is not waited for. */
	(void)cd_timer_arm(s->cd, &s->th, CD_END_LINGER_MS);
	sess_pump(s);
}

/* Fills obuf (empty) with due messages and ring bytes. Returns whether
 * anything was added. */
static bool
sess_fill(struct cd_session *s)
{
	struct cd_console *c = s->con;
	bool added = false;

	s->ohead = 0;
	if (c != NULL && s->hello_done && s->cursor < ring_start(&c->ring)) {
		uint64_t missed = ring_start(&c->ring) - s->cursor;

		s->cursor = ring_start(&c->ring);
		sess_msg_at(s, s->cursor, SP_STATUS, "missed=%llu",
		    (unsigned long long)missed);
		sess_msg_at(s, s->cursor, SP_NOTICE, "%s: %llu bytes of output "
		    "missed (this session fell behind)", c->label,
		    (unsigned long long)missed);
	}
	for (;;) {
		struct cd_msg *m = s->msgs;
		uint64_t limit;
		const uint8_t *p;
		size_t n, used;

		if (m != NULL && (c == NULL || s->closing || m->at <= s->cursor)) {
			if (CD_OBUF - s->olen < m->len)
				break;
			memcpy(s->obuf + s->olen, m->data, m->len);
			s->olen += m->len;
			s->msgs = m->next;
			s->nmsgs--;
			free(m);
			added = true;
			continue;
		}
		if (c == NULL || s->closing || !s->hello_done)
			break;
		limit = m != NULL ? m->at : c->ring.total;
		if (s->cursor >= limit)
			break;
		n = ring_peek(&c->ring, s->cursor, &p);
		if (n == 0)
			break;
		if (n > limit - s->cursor)
			n = (size_t)(limit - s->cursor);
		used = sproto_encode_data(p, n, s->obuf, CD_OBUF, &s->olen);
		if (used == 0)
			break;
		s->cursor += used;
		s->from_console += used;
		added = true;
	}
	return added;
}

static void
sess_stall_check(struct cd_session *s, bool progress)
{
	if (s->closing || !s->hello_done)
		return;
	if (progress || s->olen == 0)
		clock_gettime(CLOCK_MONOTONIC, &s->stalled);
	if (s->olen > 0 && !s->stall_armed) {
		s->stall_armed = true;
		(void)cd_timer_arm(s->cd, &s->th,
		    (unsigned)s->cd->cfg->session_stall * 1000u);
	} else if (s->olen == 0 && s->stall_armed) {
		s->stall_armed = false;
		cd_timer_stop(s->cd, &s->th);
	}
}

void
sess_pump(struct cd_session *s)
{
	bool progress = false;

	if (s->h.fd == -1)
		return;
	for (;;) {
		if (s->olen == 0 && !sess_fill(s))
			break;
		while (s->olen > 0) {
			ssize_t n = write(s->h.fd, s->obuf + s->ohead,
			    s->olen);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					goto blocked;
				s->end_reason = s->end_reason != NULL ?
				    s->end_reason : "session-gone";
				sess_free(s);
				return;
			}
			s->ohead += (size_t)n;
			s->olen -= (size_t)n;
			progress = true;
		}
	}
	if (s->closing && s->olen == 0 && s->msgs == NULL) {
		sess_free(s);
		return;
	}
blocked:
	sess_stall_check(s, progress);
	sess_watch(s);
	/* The writer took output: the console may be read again. */
	if (progress && s->con != NULL && s->con->writer == s)
		con_rewatch(s->con);
}

void
sess_console_closed(struct cd_session *s)
{
	s->told_closed = false;
	sess_msg_at(s, s->con->ring.total, SP_STATUS, "console=closed");
	sess_notice(s, "%s: console closed", s->con->label);
}

void
sess_console_back(struct cd_session *s)
{
	s->told_closed = false;
	sess_msg_at(s, s->con->ring.total, SP_STATUS, "console=back");
	sess_notice(s, "%s: console back", s->con->label);
}

static void
set_writer(struct cd_console *c, struct cd_session *s)
{
	c->writer = s;
	c->writer_since = time(NULL);
	s->role = ROLE_WRITER;
	con_rewatch(c);
}

static void
sess_takeover(struct cd_session *s)
{
	struct cd_console *c = s->con;
	struct cd_session *old = c->writer;
	char extra[300];

	if (old == s) {
		sess_notice(s, "%s: you are the writer already", c->label);
		return;
	}
	set_writer(c, s);
	snprintf(extra, sizeof(extra), "from=%s", old != NULL ? old->who : "-");
	audit(s, "takeover", extra);
	rec_mark(s, "takeover by");
	sess_msg(s, SP_STATUS, "role=writer");
	if (old != NULL) {
		old->role = ROLE_WATCHER;
		audit(old, "role", "reason=taken-over");
		sess_msg(old, SP_STATUS, "role=watcher");
		sess_notice(old, "%s: %s took over; you are watching read-only",
		    c->label, s->who);
		sess_notice(s, "%s: you write now (took over from %s)",
		    c->label, old->who);
	} else
		sess_notice(s, "%s: you write now", c->label);
	{
		struct cd_session *t;

		for (t = c->sessions; t != NULL; t = t->cnext)
			if (t != s && t != old)
				sess_notice(t, "%s: %s writes now", c->label,
				    s->who);
	}
}

static uint64_t
replay_start(const struct cd_console *c, const struct replay_spec *r,
    uint64_t *missed)
{
	uint64_t start = ring_start(&c->ring);

	*missed = 0;
	switch (r->kind) {
	case REPLAY_ALL:
		return start;
	case REPLAY_ARRIVAL:
		if (c->arrival < start) {
			*missed = start - c->arrival;
			return start;
		}
		return c->arrival;
	case REPLAY_LINES:
		return ring_lines_back(&c->ring, r->lines);
	case REPLAY_DEFAULT:
		break;
	}
	return ring_lines_back(&c->ring,
	    (unsigned)c->cd->cfg->replay_lines);
}

static void
sess_replay(struct cd_session *s, const struct replay_spec *r)
{
	struct cd_console *c = s->con;
	uint64_t missed;

	s->cursor = replay_start(c, r, &missed);
	if (r->kind == REPLAY_ARRIVAL) {
		sess_msg_at(s, s->cursor, SP_STATUS, "missed=%llu",
		    (unsigned long long)missed);
		/* "missed" in the text: a sercon proxy then says no more */
		if (missed > 0)
			sess_msg_at(s, s->cursor, SP_NOTICE, "%s: this session "
			    "missed %llu bytes printed since the VM arrived",
			    c->label, (unsigned long long)missed);
	}
}

static void
refuse(struct cd_session *s, int status, const char *reason,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
refuse(struct cd_session *s, int status, const char *reason,
    const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	audit(s, "refused", reason);
	sess_msg(s, SP_NOTICE, "%s", text);
	sess_end(s, status, reason);
}

static void
sess_attach(struct cd_session *s)
{
	struct cd *cd = s->cd;
	struct cd_console *c = con_find(cd, s->hello.console);
	struct cd_session *old;
	char since[32], replay[16], extra[64];
	uint64_t at;

	if (c == NULL && (c = con_get(cd, s->hello.console)) != NULL)
		con_try(c);
	if (c == NULL || c->state != CON_UP) {
		const char *label = c != NULL ? c->label : s->hello.console;

		(void)label;
		if (c != NULL && c->state == CON_LOCKED)
			refuse(s, 4, "busy", "console %s is in use by a direct "
			    "session", s->hello.console);
		else
			refuse(s, 3, "unavailable", "console %s is not "
			    "available", s->hello.console);
		if (c != NULL)
			con_maybe_free(c);
		return;
	}
	s->con = c;
	s->cnext = c->sessions;
	c->sessions = s;
	c->nsess++;
	old = c->writer;
	if (s->hello.mode == SESS_TAKEOVER || (s->hello.mode == SESS_RW &&
	    old == NULL))
		set_writer(c, s);
	else
		s->role = ROLE_WATCHER;
	sess_replay(s, &s->hello.replay);
	con_rewatch(c);
	at = s->cursor;
	sess_msg_at(s, at, SP_HELLO, "sercon 1 role=%s console=%s",
	    role_name(s->role), c->name);
	sess_msg_at(s, at, SP_STATUS, "role=%s console=up", role_name(s->role));
	hhmm(c->writer_since, since, sizeof(since));
	if (s->role == ROLE_WATCHER && c->writer != NULL)
		sess_msg_at(s, at, SP_NOTICE, "%s: %s writes since %s; you are "
		    "watching read-only", c->label, c->writer->who, since);
	else if (s->role == ROLE_WATCHER)
		sess_msg_at(s, at, SP_NOTICE, "%s: nobody writes; you are "
		    "watching read-only", c->label);
	else if (old != NULL)
		sess_msg_at(s, at, SP_NOTICE, "%s: you write now (took over "
		    "from %s)", c->label, old->who);
	else if (s->hello.mode == SESS_TAKEOVER)
		sess_msg_at(s, at, SP_NOTICE, "%s: you write now", c->label);
	replay_format(&s->hello.replay, replay, sizeof(replay));
	snprintf(extra, sizeof(extra), "mode=%s replay=%s",
	    sess_mode_name(s->hello.mode), replay);
	audit(s, "attach", extra);
	rec_mark(s, "attach");
	if (old != NULL && s->role == ROLE_WRITER) {
		old->role = ROLE_WATCHER;
		audit(old, "role", "reason=taken-over");
		sess_msg(old, SP_STATUS, "role=watcher");
		sess_notice(old, "%s: %s took over; you are watching read-only",
		    c->label, s->who);
	} else if (s->role == ROLE_WRITER)
		cons_notice_all(c, s, "%s: %s writes now", c->label, s->who);
	sess_pump(s);
}

static void
sess_hello(struct cd_session *s, const char *text)
{
	char err[128];

	if (hello_parse(text, &s->hello, err, sizeof(err)) != 0) {
		log_warn("session %u: bad hello: %s", s->id, err);
		sess_msg(s, SP_NOTICE, "bad hello: %s", err);
		sess_end(s, 2, "bad-hello");
		return;
	}
	s->hello_done = true;
	cd_timer_stop(s->cd, &s->th);
	if (s->hello.entity[0] != '\0')
		snprintf(s->who, sizeof(s->who), "%s", s->hello.entity);
	else if (s->hello.entity_id[0] != '\0')
		snprintf(s->who, sizeof(s->who), "%s", s->hello.entity_id);
	else
		snprintf(s->who, sizeof(s->who), "session %u", s->id);
	if (s->hello.request == HELLO_STATUS) {
		cd_status(s->cd, s);
		return;
	}
	sess_attach(s);
}

static void
sess_message(struct cd_session *s)
{
	struct cd_console *c = s->con;
	struct replay_spec r;
	const char *payload = (const char *)s->dec.payload;

	if (!s->hello_done) {
		if (s->dec.type == SP_HELLO)
			sess_hello(s, payload);
		else {
			log_warn("session %u: a message before the hello",
			    s->id);
			sess_end(s, 2, "no-hello");
		}
		return;
	}
	if (c == NULL || s->closing)
		return;
	switch (s->dec.type) {
	case SP_BREAK:
	case SP_SYSRQ:
		if (s->role != ROLE_WRITER) {
			sess_notice(s, "%s: you are watching read-only; BREAK "
			    "not sent", c->label);
			break;
		}
		if (s->dec.type == SP_SYSRQ && s->dec.len < 1)
			break;
		con_break(c, s, s->dec.type == SP_SYSRQ ?
		    s->dec.payload[0] : -1);
		break;
	case SP_TAKEOVER:
		sess_takeover(s);
		break;
	case SP_REPLAY:
		if (replay_parse(payload, &r) != 0) {
			sess_notice(s, "replay: '%.20s' is not N, all or "
			    "arrival", payload);
			break;
		}
		sess_replay(s, &r);
		sess_pump(s);
		break;
	default:
		/* SP_WINSIZE and types of later versions: nothing to do. */
		break;
	}
}

/* Input bytes from a session that may not write go nowhere, said once. */
static void
sess_discard(struct cd_session *s, size_t n)
{
	struct cd_console *c = s->con;

	if (c == NULL || n == 0)
		return;
	if (c->state != CON_UP && s->role == ROLE_WRITER) {
		if (!s->told_closed)
			sess_notice(s, "%s: console closed; input dropped",
			    c->label);
		s->told_closed = true;
		return;
	}
	if (!s->told_ro)
		sess_notice(s, "%s: you are watching read-only; your input "
		    "goes nowhere (take over to write)", c->label);
	s->told_ro = true;
}

static void
sess_process(struct cd_session *s)
{
	uint8_t tmp[CD_IBUF];

	while (s->ilen > 0 && !s->closing && s->h.fd != -1) {
		struct cd_console *c = s->con;
		bool writes = c != NULL && s->role == ROLE_WRITER &&
		    c->state == CON_UP;
		const uint8_t *p = s->ibuf;
		size_t left = s->ilen, outlen = 0, outcap, used;
		int rc;

		if (writes)
			outcap = con_write_room(c);
		else
			outcap = sizeof(tmp);
		if (outcap > sizeof(tmp))
			outcap = sizeof(tmp);
		if (writes && outcap == 0)
			break;          /* paced: qemu drains, then we go on */
		rc = sproto_decode(&s->dec, &p, &left, tmp, outcap, &outlen);
		used = s->ilen - left;
		memmove(s->ibuf, s->ibuf + used, left);
		s->ilen = left;
		if (outlen > 0 && !s->hello_done) {
			log_warn("session %u: data before the hello", s->id);
			sess_end(s, 2, "no-hello");
			return;
		}
		if (outlen > 0) {
			if (writes) {
				con_write(c, tmp, outlen);
				s->to_console += outlen;
			} else
				sess_discard(s, outlen);
		}
		if (rc == SPROTO_ERR) {
			log_warn("session %u: malformed stream", s->id);
			sess_end(s, 2, "protocol-error");
			return;
		}
		if (rc == SPROTO_MSG) {
			sess_message(s);
			continue;
		}
		if (used == 0)
			break;
	}
	if (s->h.fd != -1)
		sess_watch(s);
}

void
sess_input_resume(struct cd_session *s)
{
	sess_process(s);
}

static void
sess_read(struct cd_session *s)
{
	ssize_t n;

	if (s->ilen >= CD_IBUF || s->closing)
		return;
	n = read(s->h.fd, s->ibuf + s->ilen, CD_IBUF - s->ilen);
	if (n == 0) {
		s->eof = true;
		sess_process(s);
		if (!s->hello_done) {
			sess_free(s);
			return;
		}
		sess_end(s, 0, "user-closed");
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		s->end_reason = "session-gone";
		sess_free(s);
		return;
	}
	s->ilen += (size_t)n;
	sess_process(s);
}

void
sess_event(struct cd_session *s, uint32_t ev)
{
	if (ev & EPOLLOUT)
		sess_pump(s);
	if (s->h.fd != -1 && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		sess_read(s);
	if (s->h.fd != -1 && (ev & (EPOLLHUP | EPOLLERR)) &&
	    !(ev & EPOLLIN) && !s->closing) {
		s->end_reason = "session-gone";
		sess_free(s);
	}
}

void
sess_timer(struct cd_session *s)
{
	uint64_t x;
	double idle;

	(void)!read(s->th.fd, &x, sizeof(x));
	cd_timer_stop(s->cd, &s->th);
	if (!s->hello_done) {
		log_warn("session %u: no hello within %d s; dropped", s->id,
		    CD_HELLO_SECS);
		sess_free(s);
		return;
	}
	if (s->closing) {
		sess_free(s);
		return;
	}
	s->stall_armed = false;
	if (s->olen == 0)
		return;
	idle = mono_since(&s->stalled);
	if (idle < (double)s->cd->cfg->session_stall) {
		s->stall_armed = true;
		(void)cd_timer_arm(s->cd, &s->th, (unsigned)((
		    (double)s->cd->cfg->session_stall - idle) * 1000.0) + 1);
		return;
	}
	log_warn("session %u: read none of its output for %d s; dropped",
	    s->id, s->cd->cfg->session_stall);
	s->end_reason = "stalled";
	sess_free(s);
}

void
sess_accept(struct cd *cd)
{
	struct cd_session *s;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd;

	while ((fd = accept4(cd->listen.fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
		    (cred.uid != cd->uid && cred.uid != 0)) {
			log_warn("refused a client running as uid %ld",
			    (long)cred.uid);
			close(fd);
			continue;
		}
		if (cd->nsess >= (unsigned)cd->cfg->max_sessions) {
			log_warn("refused a client: %u sessions already",
			    cd->nsess);
			close(fd);
			continue;
		}
		s = xcalloc(1, sizeof(*s));
		s->cd = cd;
		s->id = cd->next_id++;
		s->h = (struct cd_handler){ CDK_SESS, s, fd, 0 };
		s->th = (struct cd_handler){ CDK_SESS_TIMER, s, -1, 0 };
		s->msgs_tail = &s->msgs;
		s->since = time(NULL);
		clock_gettime(CLOCK_MONOTONIC, &s->start);
		snprintf(s->hello.peer, sizeof(s->hello.peer), "unknown");
		sproto_dec_init(&s->dec);
		s->next = cd->sessions;
		if (cd->sessions != NULL)
			cd->sessions->prev = s;
		cd->sessions = s;
		cd->nsess++;
		if (cd_timer_arm(cd, &s->th, CD_HELLO_SECS * 1000) != 0 ||
		    cd_watch(cd, &s->h, EPOLLIN) != 0)
			sess_free(s);
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		log_warn("accept: %s", strerror(errno));
}

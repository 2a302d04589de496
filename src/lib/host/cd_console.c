/* cd_console.c: sercon-consoled's consoles. Each socket in console_dir
 * (but a VM's QMP monitor, NAME.qmp) is a console; the daemon takes its
 * lock (host/conlock.h: a direct host shell and the daemon never both dial
 * one qemu socket), connects as soon as it can, and keeps its output in a
 * ring. A console that goes away under sessions gives them a grace period
 * to see it back. BREAK goes by the best means the console has: telnet,
 * QMP chardev-send-break, or ^O on a virtio console. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "core/text.h"
#include "host/cd_int.h"

#define TN_IAC   0xFF
#define TN_BRK   0xF3
#define TN_WILL  0xFB
#define CON_READ 65536
#define BACKOFF_FIRST_MS 100
#define QMP_WAIT_MS 300

const char *
con_state_name(enum con_state st)
{
	switch (st) {
	case CON_WAIT:
		return "connecting";
	case CON_LOCKED:
		return "held-by-direct-session";
	case CON_UP:
		return "connected";
	case CON_CLOSED:
		return "closed";
	case CON_IDLE:
		break;
	}
	return "absent";
}

static bool
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n > m && !strcmp(s + n - m, suf);
}

/* Names the daemon treats as consoles: valid, not hidden, not a monitor. */
static bool
console_name_ok(const char *name)
{
	return text_valid_console(name) && name[0] != '.' &&
	    !has_suffix(name, ".qmp");
}

static int
con_path(const struct cd_console *c, const char *suffix_from, char *buf,
    size_t len)
{
	const struct sercon_config *cfg = c->cd->cfg;
	int n;

	if (suffix_from == NULL)
		n = snprintf(buf, len, "%s/%s", cfg->console_dir, c->name);
	else
		n = snprintf(buf, len, "%s/%.*s.qmp", cfg->console_dir,
		    (int)(has_suffix(c->name, ".sock") ?
		    strlen(c->name) - 5 : strlen(c->name)), c->name);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Is it there, and a socket (not a symlink, not a file)? */
static bool
is_socket(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

struct cd_console *
con_find(struct cd *cd, const char *name)
{
	struct cd_console *c;

	for (c = cd->consoles; c != NULL; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

struct cd_console *
con_get(struct cd *cd, const char *name)
{
	struct cd_console *c;
	size_t n;

	if (!console_name_ok(name))
		return NULL;
	if ((c = con_find(cd, name)) != NULL)
		return c;
	c = xcalloc(1, sizeof(*c));
	c->cd = cd;
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->label, sizeof(c->label), "%s", name);
	n = strlen(c->label);
	if (has_suffix(c->label, ".sock"))
		c->label[n - 5] = '\0';
	c->h = (struct cd_handler){ CDK_CON, c, -1, 0 };
	c->th = (struct cd_handler){ CDK_CON_TIMER, c, -1, 0 };
	c->gh = (struct cd_handler){ CDK_CON_GRACE, c, -1, 0 };
	c->lock.fd = -1;
	c->backoff_ms = BACKOFF_FIRST_MS;
	ring_init(&c->ring, (size_t)cd->cfg->scrollback);
	c->next = cd->consoles;
	if (cd->consoles != NULL)
		cd->consoles->prev = c;
	cd->consoles = c;
	cd->ncons++;
	return c;
}

void
con_free(struct cd_console *c)
{
	struct cd *cd = c->cd;

	if (c->dead)
		return;
	c->dead = true;
	if (c->h.fd != -1) {
		cd_unwatch(cd, &c->h);
		close(c->h.fd);
		c->h.fd = -1;
	}
	cd_timer_stop(cd, &c->th);
	cd_timer_stop(cd, &c->gh);
	conlock_release(&c->lock);
	ring_free(&c->ring);
	free(c->wbuf);
	c->wbuf = NULL;
	rec_close(c->rec);
	c->rec = NULL;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		cd->consoles = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	cd->ncons--;
	c->next = cd->dead_cons;
	cd->dead_cons = c;
}

void
con_maybe_free(struct cd_console *c)
{
	if (!c->dead && c->nsess == 0 && !c->present && c->state != CON_UP)
		con_free(c);
}

static void
con_retry_later(struct cd_console *c)
{
	if (c->retries >= CD_RETRIES) {
		/* Given up until the directory says something changed:
		 * a stale socket file costs no wake-ups. */
		log_debug("console %s: not connectable; waiting for its "
		    "socket to change", c->name);
		cd_timer_stop(c->cd, &c->th);
		if (c->state == CON_WAIT)
			c->state = CON_IDLE;
		return;
	}
	c->retries++;
	if (c->state != CON_CLOSED)
		c->state = CON_WAIT;
	(void)cd_timer_arm(c->cd, &c->th, c->backoff_ms);
	if (c->backoff_ms < 10000)
		c->backoff_ms *= 2;
}

static void
con_up(struct cd_console *c, int fd)
{
	struct cd *cd = c->cd;
	bool back = c->state == CON_CLOSED;
	struct cd_session *s;

	c->h.fd = fd;
	c->state = CON_UP;
	c->retries = 0;
	c->backoff_ms = BACKOFF_FIRST_MS;
	c->arrival = c->ring.total;
	c->telnet = 0;
	c->tn_state = 0;
	c->wlen = 0;
	cd_timer_stop(cd, &c->th);
	cd_timer_stop(cd, &c->gh);
	con_rewatch(c);
	if (cd->cfg->record && c->rec == NULL)
		c->rec = rec_open(cd->cfg, c->name);
	log_info("console %s: connected%s", c->name, back ? " (back)" : "");
	rec_marker(c->rec, back ? "console back" : "console connected");
	if (!back)
		return;
	for (s = c->sessions; s != NULL; s = s->cnext)
		sess_console_back(s);
}

void
con_try(struct cd_console *c)
{
	const struct sercon_config *cfg = c->cd->cfg;
	struct sockaddr_un sa;
	struct conlock_holder holder;
	char err[256];
	int fd;

	if (c->state == CON_UP)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (con_path(c, NULL, sa.sun_path, sizeof(sa.sun_path)) != 0)
		return;
	c->present = is_socket(sa.sun_path);
	if (!c->present) {
		conlock_release(&c->lock);
		cd_timer_stop(c->cd, &c->th);
		if (c->state != CON_CLOSED)
			c->state = CON_IDLE;
		return;
	}
	switch (conlock_take(&c->lock, cfg->lock_dir, c->name,
	    "sercon-consoled", "sercon-consoled", time(NULL), &holder, err,
	    sizeof(err))) {
	case CONLOCK_OK:
		break;
	case CONLOCK_BUSY:
		/* Retried when the holder closes its lock file; ours
		 * stays open meanwhile, so retrying makes no events. */
		if (c->state != CON_LOCKED)
			log_info("console %s: held by a direct session of %s "
			    "since %s", c->name, holder.entity, holder.since);
		cd_timer_stop(c->cd, &c->th);
		if (c->state != CON_CLOSED)
			c->state = CON_LOCKED;
		return;
	case CONLOCK_ERROR:
		log_error("console %s: %s", c->name, err);
		con_retry_later(c);
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		log_debug("console %s: cannot connect: %s", c->name,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		conlock_release(&c->lock);
		con_retry_later(c);
		return;
	}
	con_up(c, fd);
}

void
con_scan(struct cd *cd)
{
	DIR *d = opendir(cd->cfg->console_dir);
	struct dirent *e;
	struct cd_console *c;

	if (d == NULL) {
		log_error("cannot read %s: %s", cd->cfg->console_dir,
		    strerror(errno));
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (!console_name_ok(e->d_name))
			continue;
		if ((c = con_find(cd, e->d_name)) == NULL) {
			char path[4096];

			if (snprintf(path, sizeof(path), "%s/%s",
			    cd->cfg->console_dir, e->d_name) >=
			    (int)sizeof(path) || !is_socket(path))
				continue;
			if ((c = con_get(cd, e->d_name)) == NULL)
				continue;
		}
		c->retries = 0;
		con_try(c);
	}
	closedir(d);
}

void
con_dir_event(struct cd *cd, const char *name, uint32_t mask)
{
	struct cd_console *c;

	if (!console_name_ok(name))
		return;
	if (mask & (IN_CREATE | IN_MOVED_TO | IN_ATTRIB)) {
		char path[4096];

		if (snprintf(path, sizeof(path), "%s/%s", cd->cfg->console_dir,
		    name) >= (int)sizeof(path) || !is_socket(path))
			return;
		if ((c = con_get(cd, name)) == NULL)
			return;
		c->present = true;
		c->retries = 0;
		c->backoff_ms = BACKOFF_FIRST_MS;
		con_try(c);
		return;
	}
	if ((c = con_find(cd, name)) == NULL)
		return;
	/* Removed: an open connection lives on until qemu closes it. */
	c->present = false;
	if (c->state == CON_WAIT || c->state == CON_LOCKED) {
		cd_timer_stop(cd, &c->th);
		c->state = CON_IDLE;
	}
	if (!c->lock.held)
		conlock_release(&c->lock);
	con_maybe_free(c);
}

void
con_lock_event(struct cd *cd, const char *name)
{
	char cname[TEXT_NAME_MAX + 1];
	struct cd_console *c;
	size_t n = strlen(name);

	if (!has_suffix(name, ".lock") || n - 5 > TEXT_NAME_MAX)
		return;
	memcpy(cname, name, n - 5);
	cname[n - 5] = '\0';
	if ((c = con_find(cd, cname)) == NULL)
		return;
	/* Only a console waiting with its lock file open: every other close
	 * in lock_dir (ours included) is none of its business. */
	if (c->lock.fd != -1 && !c->lock.held)
		con_try(c);
}

void
con_timer(struct cd_console *c)
{
	uint64_t x;

	(void)!read(c->th.fd, &x, sizeof(x));
	cd_timer_stop(c->cd, &c->th);
	con_try(c);
}

/* The grace period ran out: the console did not come back. */
void
con_grace(struct cd_console *c)
{
	struct cd_session *s, *next;

	cd_timer_stop(c->cd, &c->gh);
	if (c->dead || c->state != CON_CLOSED)
		return;
	log_info("console %s: did not come back within %d s", c->name,
	    c->cd->cfg->console_grace);
	for (s = c->sessions; s != NULL; s = next) {
		next = s->cnext;
		sess_end(s, 5, "console-closed");
	}
	if (c->dead)
		return;
	c->state = c->present ? CON_WAIT : CON_IDLE;
	if (c->present)
		con_retry_later(c);
	con_maybe_free(c);
}

static void
con_lost(struct cd_console *c, const char *why)
{
	struct cd *cd = c->cd;
	struct cd_session *s;

	cd_unwatch(cd, &c->h);
	close(c->h.fd);
	c->h.fd = -1;
	c->wlen = 0;
	conlock_release(&c->lock);
	log_info("console %s: closed (%s)", c->name, why);
	rec_marker(c->rec, "console closed");
	c->present = false;
	{
		char path[4096];

		if (con_path(c, NULL, path, sizeof(path)) == 0)
			c->present = is_socket(path);
	}
	if (c->nsess == 0) {
		c->state = CON_IDLE;
		if (c->present) {
			c->retries = 0;
			con_retry_later(c);
		}
		con_maybe_free(c);
		return;
	}
	c->state = CON_CLOSED;
	for (s = c->sessions; s != NULL; s = s->cnext)
		sess_console_closed(s);
	(void)cd_timer_arm(cd, &c->gh, (unsigned)cd->cfg->console_grace *
	    1000u);
	if (c->present) {
		c->retries = 0;
		con_retry_later(c);
	}
}

/* qemu's telnet mode (telnet=on) opens with option negotiation (IAC WILL
 * ECHO ...): that is how we know a BREAK can go as IAC BRK. The opening
 * negotiation is removed; qemu sends console bytes unescaped after it. */
static size_t
telnet_filter(struct cd_console *c, uint8_t *p, size_t n)
{
	size_t i, j = 0;

	if (c->telnet < 0 || (c->telnet > 0 && c->tn_state == 3))
		return n;
	for (i = 0; i < n; i++) {
		uint8_t b = p[i];

		switch (c->tn_state) {
		case 0:
			if (b != TN_IAC) {
				if (c->telnet == 0)
					c->telnet = -1;
				c->tn_state = 3;
				p[j++] = b;
				break;
			}
			c->tn_state = 1;
			break;
		case 1:
			if (b >= TN_WILL) {
				c->telnet = 1;
				c->tn_state = 2;
			} else {
				/* Not telnet after all: keep both bytes. */
				if (c->telnet == 0)
					c->telnet = -1;
				p[j++] = TN_IAC;
				p[j++] = b;
				c->tn_state = 3;
			}
			break;
		case 2:
			c->tn_state = 0;        /* the option byte */
			break;
		default:
			p[j++] = b;
			break;
		}
	}
	return j;
}

static void
con_output(struct cd_console *c, uint8_t *p, size_t n)
{
	struct cd_session *s, *next;

	n = telnet_filter(c, p, n);
	if (n == 0)
		return;
	con_rewatch(c);
	ring_put(&c->ring, p, n);
	rec_output(c->rec, p, n);
	/* A session with output still pending waits for EPOLLOUT, which
	 * pumps it: no write is tried that would only fail. */
	for (s = c->sessions; s != NULL; s = next) {
		next = s->cnext;
		if (s->olen == 0)
			sess_pump(s);
	}
}

static void
con_flush(struct cd_console *c)
{
	ssize_t n;

	if (c->h.fd == -1)
		return;
	while (c->wlen > 0) {
		n = write(c->h.fd, c->wbuf, c->wlen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->wlen = 0;    /* the read side sees it end */
			break;
		}
		memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
		c->wlen -= (size_t)n;
	}
	con_rewatch(c);
	if (c->wlen == 0 && c->writer != NULL)
		sess_input_resume(c->writer);
}

/* How much may be read from qemu now: the writer is paced, the output is
 * read no faster than the writer takes it, so that the writer never misses
 * a byte (watchers may; a writer that stops reading is dropped after
 * session_stall and the console goes on). */
static size_t
con_read_room(const struct cd_console *c)
{
	uint64_t behind;

	if (c->writer == NULL || !c->writer->hello_done)
		return CON_READ;
	behind = c->ring.total - c->writer->cursor;
	if (behind >= c->ring.cap)
		return 0;
	return c->ring.cap - behind < CON_READ ?
	    (size_t)(c->ring.cap - behind) : CON_READ;
}

void
con_rewatch(struct cd_console *c)
{
	uint32_t mask = 0;

	if (c->h.fd == -1)
		return;
	if (con_read_room(c) > 0)
		mask |= EPOLLIN;
	if (c->wlen > 0)
		mask |= EPOLLOUT;
	(void)cd_watch(c->cd, &c->h, mask);
}

void
con_event(struct cd_console *c, uint32_t ev)
{
	uint8_t buf[CON_READ];
	size_t room;
	ssize_t n;

	if (ev & EPOLLOUT)
		con_flush(c);
	if (c->h.fd == -1 || !(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	if ((room = con_read_room(c)) == 0) {
		con_rewatch(c);
		return;
	}
	n = read(c->h.fd, buf, room);
	if (n > 0)
		con_output(c, buf, (size_t)n);
	else if (n == 0)
		con_lost(c, "end of file");
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		con_lost(c, strerror(errno));
}

size_t
con_write_room(const struct cd_console *c)
{
	size_t room;

	if (c->state != CON_UP)
		return 0;
	room = CD_CON_WBUF - c->wlen;
	/* Telnet doubles 0xFF: keep room for the worst case. */
	return c->telnet > 0 ? room / 2 : room;
}

static void
con_wbuf(struct cd_console *c)
{
	if (c->wbuf == NULL)
		c->wbuf = xmalloc(CD_CON_WBUF);
}

void
con_write(struct cd_console *c, const uint8_t *p, size_t n)
{
	size_t i;

	if (c->state != CON_UP)
		return;
	con_wbuf(c);
	if (c->telnet <= 0) {
		i = CD_CON_WBUF - c->wlen < n ? CD_CON_WBUF - c->wlen : n;
		memcpy(c->wbuf + c->wlen, p, i);
		c->wlen += i;
		rec_input(c->rec, p, i);
		con_flush(c);
		return;
	}
	for (i = 0; i < n && c->wlen < CD_CON_WBUF; i++) {
		c->wbuf[c->wlen++] = p[i];
		if (p[i] == TN_IAC && c->telnet > 0 && c->wlen < CD_CON_WBUF)
			c->wbuf[c->wlen++] = TN_IAC;
	}
	rec_input(c->rec, p, i);
	con_flush(c);
}

/* Reads one QMP reply line that is not an event into buf. */
static int
qmp_reply(int fd, char *buf, size_t len, size_t *have)
{
	buf[*have] = '\0';
	for (;;) {
		char *nl = memchr(buf, '\n', *have);
		ssize_t n;

		if (nl != NULL) {
			size_t line = (size_t)(nl - buf) + 1;
			bool event = strstr(buf, "\"event\"") != NULL &&
			    strstr(buf, "\"event\"") < nl;

			if (!event) {
				/* The caller reads the line, then moves
				 * the rest down. */
				*nl = '\0';
				return (int)line;
			}
			memmove(buf, buf + line, *have - line);
			*have -= line;
			buf[*have] = '\0';
			continue;
		}
		if (*have >= len - 1)
			return -1;
		n = read(fd, buf + *have, len - 1 - *have);
		if (n <= 0)
			return -1;
		*have += (size_t)n;
		buf[*have] = '\0';
	}
}

static int
qmp_cmd(int fd, const char *cmd, char *buf, size_t len, size_t *have)
{
	size_t n = strlen(cmd);
	int line;

	if (write(fd, cmd, n) != (ssize_t)n)
		return -1;
	if ((line = qmp_reply(fd, buf, len, have)) < 0)
		return -1;
	if (strstr(buf, "\"return\"") == NULL) {
		memmove(buf, buf + line, *have - (size_t)line);
		*have -= (size_t)line;
		return -1;
	}
	return line;
}

/* The chardev whose filename names our socket: query-chardev's answer is
 * a flat array of {"frame-opened":..,"filename":..,"label":..}. */
static int
qmp_find_label(const char *answer, const char *sock, char *label, size_t len)
{
	const char *obj = answer;

	while ((obj = strchr(obj, '{')) != NULL) {
		const char *end = strchr(obj, '}'), *l, *q;

		if (end == NULL)
			break;
		if ((l = strstr(obj, "\"label\"")) != NULL && l < end) {
			const char *f = strstr(obj, sock);

			l = strchr(l + 7, '"');
			q = l != NULL ? strchr(l + 1, '"') : NULL;
			if (f != NULL && f < end && q != NULL && q < end &&
			    (size_t)(q - l - 1) < len) {
				memcpy(label, l + 1, (size_t)(q - l - 1));
				label[q - l - 1] = '\0';
				return 0;
			}
		}
		obj = end;
	}
	return -1;
}

/* chardev-send-break over the VM's QMP socket, each step bounded. The
 * label is a qemu id: letters, digits and "-._" only. */
static int
qmp_break(struct cd_console *c, const char *qmp, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct timeval tv = { 0, QMP_WAIT_MS * 1000 };
	char buf[65536], label[128], cmd[256], sock[4096];
	size_t have = 0;
	int fd, line, rc = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", qmp);
	if (con_path(c, NULL, sock, sizeof(sock)) != 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		snprintf(err, errlen, "cannot reach %s: %s", qmp,
		    strerror(errno));
		goto out;
	}
	snprintf(err, errlen, "the QMP monitor did not answer");
	if ((line = qmp_reply(fd, buf, sizeof(buf), &have)) < 0)
		goto out;
	memmove(buf, buf + line, have - (size_t)line);
	have -= (size_t)line;
	if ((line = qmp_cmd(fd, "{\"execute\":\"qmp_capabilities\"}\n",
	    buf, sizeof(buf), &have)) < 0)
		goto out;
	memmove(buf, buf + line, have - (size_t)line);
	have -= (size_t)line;
	if ((line = qmp_cmd(fd, "{\"execute\":\"query-chardev\"}\n", buf,
	    sizeof(buf), &have)) < 0)
		goto out;
	if (qmp_find_label(buf, sock, label, sizeof(label)) != 0 ||
	    strspn(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-._") != strlen(label)) {
		snprintf(err, errlen, "no chardev of %.60s in query-chardev",
		    c->name);
		goto out;
	}
	memmove(buf, buf + line, have - (size_t)line);
	have -= (size_t)line;
	snprintf(cmd, sizeof(cmd), "{\"execute\":\"chardev-send-break\","
	    "\"arguments\":{\"id\":\"%s\"}}\n", label);
	if (qmp_cmd(fd, cmd, buf, sizeof(buf), &have) < 0) {
		snprintf(err, errlen, "chardev-send-break %s failed", label);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

static enum brk_method
con_break_method(struct cd_console *c, char *qmp, size_t len)
{
	if (c->telnet > 0)
		return BRK_TELNET;
	if (con_path(c, "", qmp, len) == 0 && is_socket(qmp))
		return BRK_QMP;
	if (c->cd->cfg->break_ctrl_o)
		return BRK_CTRL_O;
	return BRK_NONE;
}

static const char *
brk_name(enum brk_method m)
{
	switch (m) {
	case BRK_TELNET:
		return "telnet";
	case BRK_QMP:
		return "qmp";
	case BRK_CTRL_O:
		return "ctrl-o";
	case BRK_NONE:
		break;
	}
	return "none";
}

/* key: -1 for a BREAK alone, else the SysRq key to send after it. */
void
con_break(struct cd_console *c, struct cd_session *s, int key)
{
	char qmp[4096], err[256] = "", what[64], mark[128];
	enum brk_method m;
	uint8_t k = (uint8_t)key;
	char *who = cd_field(sess_who(s));

	if (key < 0)
		snprintf(what, sizeof(what), "BREAK");
	else if (key > 0x20 && key < 0x7f)
		snprintf(what, sizeof(what), "SysRq %c", key);
	else
		snprintf(what, sizeof(what), "SysRq 0x%02x", key);
	if (c->state != CON_UP) {
		sess_notice(s, "%s not sent: %s is %s", what, c->label,
		    con_state_name(c->state));
		goto out;
	}
	m = con_break_method(c, qmp, sizeof(qmp));
	con_wbuf(c);
	if (m != BRK_NONE && CD_CON_WBUF - c->wlen < 4) {
		sess_notice(s, "%s not sent: %s is not taking input", what,
		    c->label);
		goto out;
	}
	switch (m) {
	case BRK_TELNET:
		c->wbuf[c->wlen++] = TN_IAC;
		c->wbuf[c->wlen++] = TN_BRK;
		break;
	case BRK_QMP:
		if (qmp_break(c, qmp, err, sizeof(err)) != 0) {
			sess_notice(s, "%s not sent to %s: %s", what,
			    c->label, err);
			log_warn("break: console=%s session=%u entity=%s "
			    "method=qmp failed: %s", c->name, s->id, who, err);
			goto out;
		}
		break;
	case BRK_CTRL_O:
		c->wbuf[c->wlen++] = 0x0f;
		break;
	case BRK_NONE:
		sess_notice(s, "BREAK is not supported by this console");
		log_info("break: console=%s session=%u entity=%s method=none",
		    c->name, s->id, who);
		goto out;
	}
	if (key >= 0)
		con_write(c, &k, 1);
	else
		con_flush(c);
	sess_notice(s, "%s sent to %s", what, c->label);
	log_info("break: console=%s session=%u entity=%s method=%s what=%s",
	    c->name, s->id, who, brk_name(m), what);
	snprintf(mark, sizeof(mark), "%s by %s", what, sess_who(s));
	rec_marker(c->rec, mark);
out:
	free(who);
}

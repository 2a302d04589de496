/* attach.c: the host shell's session loop (attach.h). Four byte streams:
 * the user's input goes to the peer, the peer's output to the user, each
 * through a fixed buffer that is read into only when it has room for the
 * worst case (every 0xFF doubled), so a slow side slows the other and
 * nothing grows. What comes from a framed proxy is validated here: only
 * BREAK, SysRq, window size, takeover and replay pass to the daemon. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "core/file.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "core/sproto.h"
#include "core/text.h"
#include "host/attach.h"
#include "core/contract.h"

#define AT_BUF   (256 * 1024)
#define AT_CHUNK (64 * 1024)
#define AT_SLACK (2 * (SPROTO_HDR + SPROTO_MAX_PAYLOAD) + 512)

struct at_buf {
	uint8_t data[AT_BUF];
	size_t head, len;
};

struct at_state {
	struct attach_io *io;
	struct at_buf to_user, to_peer;
	struct sproto_dec udec, pdec;
	bool user_eof, peer_eof, ended, user_gone;
	int status;
	bool told_break, told_takeover, told_replay;
	bool attached;                /* the daemon said hello back */
};

int
attach_dial(const char *sock_path)
{
	struct sockaddr_un sa;
	int fd, saved;

	if (sock_path == NULL || strlen(sock_path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sock_path, strlen(sock_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
attach_hello(int fd, const struct sess_hello *h)
{
	char text[SPROTO_MAX_PAYLOAD + 1];
	uint8_t msg[SPROTO_HDR + SPROTO_MAX_PAYLOAD];
	int n = hello_format(h, text, sizeof(text)), m;

	if (n < 0 || (size_t)n > SPROTO_MAX_PAYLOAD)
		return -1;
	m = sproto_encode_msg(SP_HELLO, text, (size_t)n, msg, sizeof(msg));
	if (m < 0)
		return -1;
	return file_write_all(fd, msg, (size_t)m);
}

static size_t
buf_room(const struct at_buf *b)
{
	return AT_BUF - b->head - b->len;
}

static void
buf_compact(struct at_buf *b)
{
	if (b->head > 0) {
		memmove(b->data, b->data + b->head, b->len);
		b->head = 0;
	}
}

static uint8_t *
buf_tail(struct at_buf *b)
{
	return b->data + b->head + b->len;
}

static void
buf_msg(struct at_buf *b, uint8_t type, const void *p, size_t n)
{
	int m;

	buf_compact(b);
	m = sproto_encode_msg(type, p, n, buf_tail(b), buf_room(b));
	if (m > 0)
		b->len += (size_t)m;
}

static void
buf_raw(struct at_buf *b, const void *p, size_t n)
{
	buf_compact(b);
	if (n > buf_room(b))
		n = buf_room(b);
	memcpy(buf_tail(b), p, n);
	b->len += n;
}

/* Console bytes toward a side: escaped when it is framed. */
static void
buf_data(struct at_buf *b, bool framed, const uint8_t *p, size_t n)
{
	buf_compact(b);
	if (framed)
		(void)sproto_encode_data(p, n, b->data, AT_BUF, &b->len);
	else
		buf_raw(b, p, n);
}

/* A notice for the user: a message to a framed proxy, a line on a
 * terminal otherwise. */
static void
user_notice(struct at_state *st, const char *text)
{
	char line[SPROTO_MAX_PAYLOAD + 64], safe[SPROTO_MAX_PAYLOAD + 1];

	if (st->io->user_framed) {
		buf_msg(&st->to_user, SP_NOTICE, text, strlen(text));
		return;
	}
	text_safe_buf(safe, sizeof(safe), text);
	snprintf(line, sizeof(line), "\r\n[sercon] %s\r\n", safe);
	buf_raw(&st->to_user, line, strlen(line));
}

static void
end_with(struct at_state *st, int status, const char *reason)
{
	uint8_t payload[64];
	size_t n = strlen(reason);

	if (st->ended)
		return;
	st->ended = true;
	st->status = status;
	st->io->reason = reason;
	if (!st->io->user_framed)
		return;
	if (n > sizeof(payload) - 1)
		n = sizeof(payload) - 1;
	payload[0] = (uint8_t)status;
	memcpy(payload + 1, reason, n);
	buf_msg(&st->to_user, SP_END, payload, n + 1);
}

/* A message from the proxy: checked, then passed to the daemon, or
 * answered here when the peer is a bare console. */
static void
from_user_msg(struct at_state *st, const struct sproto_dec *d)
{
	struct replay_spec r;
	bool ok;

	switch (d->type) {
	case SP_BREAK:
	case SP_TAKEOVER:
		ok = d->len == 0;
		break;
	case SP_SYSRQ:
		ok = d->len == 1;
		break;
	case SP_WINSIZE:
		ok = d->len == 4;
		break;
	case SP_REPLAY:
		ok = replay_parse((const char *)d->payload, &r) == 0;
		break;
	default:
		ok = false;
		break;
	}
	if (!ok) {
		log_debug("dropped a message of type 0x%02x (%u bytes) from "
		    "the proxy", d->type, d->len);
		return;
	}
	if (st->io->peer_framed) {
		buf_msg(&st->to_peer, d->type, d->payload, d->len);
		return;
	}
	/* A direct session: no daemon to do these. */
	if ((d->type == SP_BREAK || d->type == SP_SYSRQ) && !st->told_break) {
		user_notice(st, "BREAK is not supported by this console "
		    "(sercon-consoled is not running)");
		st->told_break = true;
	} else if (d->type == SP_TAKEOVER && !st->told_takeover) {
		user_notice(st, "this is a direct session: you are the only "
		    "one, and the writer");
		st->told_takeover = true;
	} else if (d->type == SP_REPLAY && !st->told_replay) {
		user_notice(st, "no scrollback: sercon-consoled is not "
		    "running");
		st->told_replay = true;
	}
}

static void
from_user(struct at_state *st, const uint8_t *p, size_t n)
{
	struct attach_io *io = st->io;
	uint8_t tmp[AT_CHUNK];

	if (!io->user_framed) {
		buf_data(&st->to_peer, io->peer_framed, p, n);
		io->to_peer += n;
		return;
	}
	while (n > 0) {
		size_t outlen = 0;
		int rc = sproto_decode(&st->udec, &p, &n, tmp, sizeof(tmp),
		    &outlen);

		if (outlen > 0) {
			buf_data(&st->to_peer, io->peer_framed, tmp, outlen);
			io->to_peer += outlen;
		}
		if (rc == SPROTO_ERR) {
			log_error("malformed session protocol from the proxy");
			end_with(st, HOST_EXIT_USAGE, "protocol-error");
			return;
		}
		if (rc == SPROTO_MSG)
			from_user_msg(st, &st->udec);
	}
}

static void
from_peer_msg(struct at_state *st, const struct sproto_dec *d)
{
	const char *text = (const char *)d->payload;

	switch (d->type) {
	case SP_NOTICE:
		/* Refused before the session began: an error of the
		 * command, on stderr like the direct session's. */
		if (!st->attached && !st->io->user_framed)
			log_user_error("%s", text);
		else
			user_notice(st, text);
		return;
	case SP_HELLO:
		st->attached = true;
		/* FALLTHROUGH */
	case SP_STATUS:
		if (st->io->user_framed)
			buf_msg(&st->to_user, d->type, d->payload, d->len);
		else if (d->type == SP_HELLO)
			log_debug("daemon: %s", text);
		return;
	case SP_END:
		if (d->len < 1)
			return;
		log_debug("daemon ended the session: status %u, %s",
		    d->payload[0], d->len > 1 ? text + 1 : "");
		end_with(st, d->payload[0], d->len > 1 ? "daemon" : "daemon");
		return;
	default:
		return;
	}
}

static void
from_peer(struct at_state *st, const uint8_t *p, size_t n)
{
	struct attach_io *io = st->io;
	uint8_t tmp[AT_CHUNK];

	if (!io->peer_framed) {
		buf_data(&st->to_user, io->user_framed, p, n);
		io->from_peer += n;
		return;
	}
	while (n > 0 && !st->ended) {
		size_t outlen = 0;
		int rc = sproto_decode(&st->pdec, &p, &n, tmp, sizeof(tmp),
		    &outlen);

		if (outlen > 0) {
			buf_data(&st->to_user, io->user_framed, tmp, outlen);
			io->from_peer += outlen;
		}
		if (rc == SPROTO_ERR) {
			log_error("malformed session protocol from "
			    "sercon-consoled");
			end_with(st, HOST_EXIT_FAIL, "protocol-error");
			return;
		}
		if (rc == SPROTO_MSG)
			from_peer_msg(st, &st->pdec);
	}
}

/* Writes what it can of b to fd; -1 when fd failed. */
static int
flush(struct at_buf *b, int fd)
{
	while (b->len > 0) {
		ssize_t n = write(fd, b->data + b->head, b->len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		b->head += (size_t)n;
		b->len -= (size_t)n;
	}
	b->head = 0;
	return 0;
}

static void
peer_closed(struct at_state *st)
{
	struct attach_io *io = st->io;
	char text[256];

	st->peer_eof = true;
	if (st->ended)
		return;
	if (io->peer_framed) {
		snprintf(text, sizeof(text), "%s: sercon-consoled went away; "
		    "session ended", io->label);
		user_notice(st, text);
		end_with(st, HOST_EXIT_UNAVAILABLE, "daemon-gone");
	} else if (st->user_eof)
		end_with(st, HOST_EXIT_OK, "user-closed");
	else {
		snprintf(text, sizeof(text), "%s: the VM closed the console",
		    io->label);
		user_notice(st, text);
		end_with(st, HOST_EXIT_VM_CLOSED, "console-closed");
	}
}

static void
user_closed(struct at_state *st)
{
	st->user_eof = true;
	/* The peer learns it from the end of file: the daemon ends the
	 * session (and says so), a console sees its input end. */
	(void)shutdown(st->io->peer, SHUT_WR);
}

/* Non-blocking for the run, as they were afterwards (stdin and stdout
 * may share one open file description: both read before either is set). */
static void
set_nonblock(const int *fds, int *saved, int n)
{
	int i;

	for (i = 0; i < n; i++)
		saved[i] = fcntl(fds[i], F_GETFL);
	for (i = 0; i < n; i++)
		if (saved[i] != -1)
			(void)fcntl(fds[i], F_SETFL, saved[i] | O_NONBLOCK);
}

static void
restore_flags(const int *fds, const int *saved, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--)
		if (saved[i] != -1)
			(void)fcntl(fds[i], F_SETFL, saved[i]);
}

static int attach_loop(struct at_state *st);

int
attach_run(struct attach_io *io)
{
	struct at_state *st = xcalloc(1, sizeof(*st));
	int fds[3] = { io->user_in, io->user_out, io->peer }, saved[3];
	int status;

	st->io = io;
	io->reason = "error";
	sproto_dec_init(&st->udec);
	sproto_dec_init(&st->pdec);
	set_nonblock(fds, saved, 3);
	status = attach_loop(st);
	restore_flags(fds, saved, 3);
	free(st);
	return status;
}

static int
attach_loop(struct at_state *st)
{
	struct attach_io *io = st->io;
	uint8_t chunk[AT_CHUNK];

	for (;;) {
		struct pollfd pfd[4];
		int n = 0, ui = -1, pi = -1, uo = -1, si = -1;

		/* Flushing first: a pending end goes out before we leave. */
		if (st->to_user.len > 0 && !st->user_gone &&
		    flush(&st->to_user, io->user_out) != 0) {
			st->user_gone = true;
			st->to_user.len = 0;
		}
		if (st->to_peer.len > 0 && !st->peer_eof &&
		    flush(&st->to_peer, io->peer) != 0)
			st->to_peer.len = 0;
		if (st->user_gone) {
			end_with(st, HOST_EXIT_OK, "user-closed");
			break;
		}
		if (st->ended && st->to_user.len == 0)
			break;
		if (!st->user_eof && !st->ended &&
		    buf_room(&st->to_peer) + st->to_peer.head >=
		    2 * AT_CHUNK + AT_SLACK) {
			ui = n;
			pfd[n++] = (struct pollfd){ io->user_in, POLLIN, 0 };
		}
		if (!st->peer_eof && !st->ended &&
		    buf_room(&st->to_user) + st->to_user.head >=
		    2 * AT_CHUNK + AT_SLACK) {
			pi = n;
			pfd[n++] = (struct pollfd){ io->peer, POLLIN |
			    (st->to_peer.len > 0 ? POLLOUT : 0), 0 };
		} else if (st->to_peer.len > 0 && !st->peer_eof) {
			pi = n;
			pfd[n++] = (struct pollfd){ io->peer, POLLOUT, 0 };
		}
		if (st->to_user.len > 0) {
			uo = n;
			pfd[n++] = (struct pollfd){ io->user_out, POLLOUT, 0 };
		}
		if (io->stop_fd != -1) {
			si = n;
			pfd[n++] = (struct pollfd){ io->stop_fd, POLLIN, 0 };
		}
		if (poll(pfd, (nfds_t)n, -1) == -1) {
			if (errno == EINTR)
				continue;
			end_with(st, HOST_EXIT_FAIL, "error");
			break;
		}
		if (si != -1 && pfd[si].revents != 0) {
			end_with(st, HOST_EXIT_OK, "signal");
			break;
		}
		if (uo != -1 && (pfd[uo].revents & (POLLERR | POLLHUP)) &&
		    !(pfd[uo].revents & POLLOUT))
			st->user_gone = true;
		if (ui != -1 && pfd[ui].revents != 0) {
			ssize_t r = read(io->user_in, chunk, sizeof(chunk));

			if (r > 0)
				from_user(st, chunk, (size_t)r);
			else if (r == 0 || (errno != EAGAIN && errno != EINTR))
				user_closed(st);
		}
		if (pi != -1 && (pfd[pi].revents & (POLLIN | POLLHUP |
		    POLLERR)) && !st->peer_eof && !st->ended) {
			ssize_t r = read(io->peer, chunk, sizeof(chunk));

			if (r > 0)
				from_peer(st, chunk, (size_t)r);
			else if (r == 0 || (errno != EAGAIN && errno != EINTR))
				peer_closed(st);
		}
	}
	return st->status;
}

static void
print_status_line(FILE *out, const char *line)
{
	char *copy = xstrdup(line), *word, *save = NULL;

	for (word = strtok_r(copy, " ", &save); word != NULL;
	    word = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(word, '='), *dec, *safe;

		if (eq == NULL)
			continue;
		*eq = '\0';
		dec = text_pct_decode(eq + 1);
		safe = text_safe(dec != NULL ? dec : "?");
		fprintf(out, "%s%s=%s", word == copy ? "" : " ", word,
		    safe != NULL ? safe : "?");
		free(dec);
		free(safe);
	}
	fputc('\n', out);
	free(copy);
}

int
attach_status(const char *sock_path, FILE *out, char *err, size_t errlen)
{
	struct sess_hello h;
	struct sproto_dec d;
	uint8_t buf[4096], sink[16];
	int fd, rc = -1;
	struct timeval tv = { 5, 0 };

	memset(&h, 0, sizeof(h));
	h.request = HELLO_STATUS;
	if ((fd = attach_dial(sock_path)) == -1) {
		snprintf(err, errlen, "sercon-consoled is not running (%s: %s)",
		    sock_path, strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (attach_hello(fd, &h) != 0) {
		snprintf(err, errlen, "cannot ask sercon-consoled: %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	sproto_dec_init(&d);
	snprintf(err, errlen, "sercon-consoled did not answer");
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		const uint8_t *p = buf;
		size_t left;

		if (n <= 0)
			break;
		left = (size_t)n;
		while (left > 0) {
			size_t outlen = 0;
			int r = sproto_decode(&d, &p, &left, sink,
			    sizeof(sink), &outlen);

			if (r == SPROTO_ERR)
				goto out;
			if (r != SPROTO_MSG)
				continue;
			if (d.type == SP_STATUS)
				print_status_line(out, (const char *)d.payload);
			else if (d.type == SP_END) {
				rc = 0;
				goto out;
			}
		}
	}
out:
	close(fd);
	return rc;
}

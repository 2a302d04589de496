/* relay.c: the poll(2) loop behind relay.h. Each link owns a ring buffer;
 * a source is polled for input only while all its links have room, a
 * destination for output only while a link into it holds bytes, so a slow
 * side slows the other down instead of making us buffer without bound.
 * A descriptor we have nothing to ask of is left out of the poll set (or
 * polled for errors only when it is a pure write side), which is what keeps
 * a hung-up peer from turning the loop into a busy one. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "core/xmalloc.h"
#include "host/relay.h"

struct relay_ep {
	char name[32];
	int rfd, wfd;
	int flags;
	int rfl_saved, wfl_saved;  /* fcntl flags to put back, -1: none */
	bool rd_open, wr_open;
	bool wr_is_sock;
	struct relay_stats st;
};

struct relay_link {
	int src, dst;
	unsigned char *buf;
	size_t cap, head, len;
	bool src_done;             /* no more bytes will come in */
	bool finished;             /* drained after src_done */
	bool dead;                 /* dst failed: bytes discarded */
};

struct relay {
	struct relay_ep ep[RELAY_MAX_EPS];
	struct relay_link link[RELAY_MAX_LINKS];
	int nep, nlink;
	int stop_fd;
};

struct relay *
relay_new(void)
{
	struct relay *r;

	r = xcalloc(1, sizeof(*r));
	r->stop_fd = -1;
	return r;
}

void
relay_free(struct relay *r)
{
	int i;

	if (r == NULL)
		return;
	for (i = r->nep - 1; i >= 0; i--) {
		struct relay_ep *e = &r->ep[i];

		if (e->wfl_saved != -1)
			(void)fcntl(e->wfd, F_SETFL, e->wfl_saved);
		if (e->rfl_saved != -1)
			(void)fcntl(e->rfd, F_SETFL, e->rfl_saved);
	}
	for (i = 0; i < r->nlink; i++)
		free(r->link[i].buf);
	free(r);
}

static bool
fd_is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

int
relay_add(struct relay *r, const char *name, int rfd, int wfd, int flags)
{
	struct relay_ep *e;
	int rfl = -1, wfl = -1;

	if (r->nep >= RELAY_MAX_EPS)
		return -1;
	/* Both sets of flags are read before either is changed: stdin and
	 * stdout may share one open file description (a tty). */
	if (rfd != -1 && (rfl = fcntl(rfd, F_GETFL)) == -1)
		return -1;
	if (wfd != -1 && wfd != rfd && (wfl = fcntl(wfd, F_GETFL)) == -1)
		return -1;
	e = &r->ep[r->nep];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->rfd = rfd;
	e->wfd = wfd;
	e->flags = flags;
	e->rfl_saved = -1;
	e->wfl_saved = -1;
	if (rfd != -1) {
		if (fcntl(rfd, F_SETFL, rfl | O_NONBLOCK) == -1)
			return -1;
		e->rfl_saved = rfl;
		e->rd_open = true;
	}
	if (wfd != -1 && wfd != rfd) {
		if (fcntl(wfd, F_SETFL, wfl | O_NONBLOCK) == -1) {
			(void)fcntl(rfd, F_SETFL, rfl);
			return -1;
		}
		e->wfl_saved = wfl;
	}
	if (wfd != -1) {
		e->wr_open = true;
		e->wr_is_sock = fd_is_socket(wfd);
	}
	e->st.rd = e->st.wr = RELAY_OPEN;
	return r->nep++;
}

int
relay_link(struct relay *r, int src, int dst, size_t cap)
{
	struct relay_link *l;

	if (r->nlink >= RELAY_MAX_LINKS || src < 0 || src >= r->nep ||
	    dst < 0 || dst >= r->nep || src == dst ||
	    r->ep[src].rfd == -1 || r->ep[dst].wfd == -1)
		return -1;
	l = &r->link[r->nlink];
	memset(l, 0, sizeof(*l));
	l->cap = cap != 0 ? cap : RELAY_BUF_DEFAULT;
	l->buf = xmalloc(l->cap);
	l->src = src;
	l->dst = dst;
	r->nlink++;
	return 0;
}

void
relay_set_stop_fd(struct relay *r, int fd)
{
	r->stop_fd = fd;
}

const struct relay_stats *
relay_stats(const struct relay *r, int ep)
{
	if (ep < 0 || ep >= r->nep)
		return NULL;
	return &r->ep[ep].st;
}

/* A link can still carry bytes. */
static bool
link_live(const struct relay_link *l)
{
	return !l->dead && !l->finished;
}

/* Free bytes of the source's links, the smallest; 0 when any is full or
 * none is live. */
static size_t
src_room(const struct relay *r, int src)
{
	size_t room = 0;
	bool any = false;
	int i;

	for (i = 0; i < r->nlink; i++) {
		const struct relay_link *l = &r->link[i];

		if (l->src != src || !link_live(l))
			continue;
		if (!any || l->cap - l->len < room)
			room = l->cap - l->len;
		any = true;
	}
	return room;
}

static bool
dst_pending(const struct relay *r, int dst)
{
	int i;

	for (i = 0; i < r->nlink; i++)
		if (r->link[i].dst == dst && link_live(&r->link[i]) &&
		    r->link[i].len > 0)
			return true;
	return false;
}

/* Copies n bytes into the ring (the caller checked the room). */
static void
ring_put(struct relay_link *l, const unsigned char *p, size_t n)
{
	size_t tail = (l->head + l->len) % l->cap;
	size_t first = l->cap - tail < n ? l->cap - tail : n;

	memcpy(l->buf + tail, p, first);
	memcpy(l->buf, p + first, n - first);
	l->len += n;
}

static void
ep_read_ended(struct relay *r, int src, enum relay_side how, int err)
{
	struct relay_ep *e = &r->ep[src];
	int i;

	e->rd_open = false;
	e->st.rd = how;
	e->st.rd_errno = err;
	for (i = 0; i < r->nlink; i++)
		if (r->link[i].src == src)
			r->link[i].src_done = true;
}

static void
ep_write_failed(struct relay *r, int dst, int err)
{
	struct relay_ep *e = &r->ep[dst];
	int i;

	e->wr_open = false;
	e->st.wr = RELAY_FAILED;
	e->st.wr_errno = err;
	for (i = 0; i < r->nlink; i++) {
		if (r->link[i].dst == dst) {
			r->link[i].dead = true;
			r->link[i].len = 0;
		}
	}
}

static void link_write(struct relay *, struct relay_link *);

/* Reads once from src into its links, then writes at once what it can:
 * one poll round less per hop, which is what a keystroke's latency is
 * made of. */
static void
ep_read(struct relay *r, int src)
{
	struct relay_ep *e = &r->ep[src];
	struct relay_link *first = NULL;
	size_t room = src_room(r, src), tail, contig;
	ssize_t n;
	int i;

	for (i = 0; i < r->nlink && first == NULL; i++)
		if (r->link[i].src == src && link_live(&r->link[i]))
			first = &r->link[i];
	if (first == NULL || room == 0)
		return;
	if (first->len == 0)
		first->head = 0;
	tail = (first->head + first->len) % first->cap;
	contig = tail >= first->head ? first->cap - tail : first->head - tail;
	if (contig > room)
		contig = room;
	n = read(e->rfd, first->buf + tail, contig);
	if (n == 0) {
		ep_read_ended(r, src, RELAY_EOF, 0);
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			ep_read_ended(r, src, RELAY_FAILED, errno);
		return;
	}
	first->len += (size_t)n;
	e->st.bytes_in += (uint64_t)n;
	/* Fan out: every other live link gets its own copy. */
	for (i = 0; i < r->nlink; i++) {
		struct relay_link *l = &r->link[i];

		if (l != first && l->src == src && link_live(l))
			ring_put(l, first->buf + tail, (size_t)n);
	}
	for (i = 0; i < r->nlink; i++) {
		struct relay_link *l = &r->link[i];

		if (l->src == src && link_live(l) && l->len > 0 &&
		    r->ep[l->dst].wr_open)
			link_write(r, l);
	}
}

static void
link_write(struct relay *r, struct relay_link *l)
{
	struct relay_ep *e = &r->ep[l->dst];
	struct iovec iov[2];
	size_t first = l->cap - l->head < l->len ? l->cap - l->head : l->len;
	ssize_t n;
	int iovcnt = 1;

	iov[0].iov_base = l->buf + l->head;
	iov[0].iov_len = first;
	if (first < l->len) {
		iov[1].iov_base = l->buf;
		iov[1].iov_len = l->len - first;
		iovcnt = 2;
	}
	n = writev(e->wfd, iov, iovcnt);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			ep_write_failed(r, l->dst, errno);
		return;
	}
	l->head = (l->head + (size_t)n) % l->cap;
	l->len -= (size_t)n;
	if (l->len == 0)
		l->head = 0;
	e->st.bytes_out += (uint64_t)n;
}

static void
ep_write(struct relay *r, int dst)
{
	int i;

	for (i = 0; i < r->nlink && r->ep[dst].wr_open; i++) {
		struct relay_link *l = &r->link[i];

		if (l->dst == dst && link_live(l) && l->len > 0)
			link_write(r, l);
	}
}

/* A drained link whose source has ended is finished; a destination whose
 * links are all finished gets the end of file passed on. */
static void
finish_links(struct relay *r)
{
	int i, j;

	for (i = 0; i < r->nlink; i++) {
		struct relay_link *l = &r->link[i];
		struct relay_ep *d = &r->ep[l->dst];
		bool all = true;

		if (!link_live(l) || !l->src_done || l->len > 0)
			continue;
		l->finished = true;
		for (j = 0; j < r->nlink; j++)
			if (r->link[j].dst == l->dst && link_live(&r->link[j]))
				all = false;
		if (!all || !d->wr_open)
			continue;
		d->wr_open = false;
		d->st.wr = RELAY_SHUT;
		if (d->wr_is_sock)
			(void)shutdown(d->wfd, SHUT_WR);
	}
}

/* Why the run must end now, if it must. */
static bool
run_over(const struct relay *r, enum relay_why *why, int *who)
{
	bool live = false;
	int i, j;

	for (i = 0; i < r->nep; i++) {
		const struct relay_ep *e = &r->ep[i];
		bool flushed = true;

		if ((e->flags & RELAY_F_END_ON_GONE) &&
		    e->st.wr == RELAY_FAILED) {
			*why = RELAY_EP_GONE;
			*who = i;
			return true;
		}
		if (!(e->flags & RELAY_F_END_ON_EOF) || e->rd_open ||
		    e->rfd == -1)
			continue;
		for (j = 0; j < r->nlink; j++)
			if (r->link[j].src == i && link_live(&r->link[j]))
				flushed = false;
		if (flushed) {
			*why = RELAY_EP_EOF;
			*who = i;
			return true;
		}
	}
	for (i = 0; i < r->nlink; i++)
		if (link_live(&r->link[i]))
			live = true;
	if (!live) {
		*why = RELAY_DONE;
		*who = -1;
		return true;
	}
	return false;
}

/* One poll slot per distinct descriptor; slot[] maps back. */
struct pollset {
	struct pollfd pfd[2 * RELAY_MAX_EPS + 1];
	int rslot[RELAY_MAX_EPS], wslot[RELAY_MAX_EPS];
	int n;
};

static int
pollset_add(struct pollset *ps, int fd, short events)
{
	ps->pfd[ps->n].fd = fd;
	ps->pfd[ps->n].events = events;
	ps->pfd[ps->n].revents = 0;
	return ps->n++;
}

static void
pollset_build(const struct relay *r, struct pollset *ps)
{
	int i;

	ps->n = 0;
	for (i = 0; i < r->nep; i++) {
		const struct relay_ep *e = &r->ep[i];
		bool in = e->rd_open && src_room(r, i) > 0;
		bool out = e->wr_open && dst_pending(r, i);

		ps->rslot[i] = ps->wslot[i] = -1;
		if (e->rfd == e->wfd) {
			/* A socket or a tty used both ways: polled only
			 * when we want something from it; a hang-up shows
			 * up as EOF or an error on the next read or write. */
			if (in || out)
				ps->rslot[i] = ps->wslot[i] = pollset_add(ps,
				    e->rfd, (in ? POLLIN : 0) |
				    (out ? POLLOUT : 0));
			continue;
		}
		if (in)
			ps->rslot[i] = pollset_add(ps, e->rfd, POLLIN);
		/* A pure write side is polled even when idle, for
		 * POLLERR/POLLHUP: the reader went away. */
		if (e->wr_open)
			ps->wslot[i] = pollset_add(ps, e->wfd,
			    out ? POLLOUT : 0);
	}
}

static void
pollset_dispatch(struct relay *r, const struct pollset *ps)
{
	int i;

	for (i = 0; i < r->nep; i++) {
		struct relay_ep *e = &r->ep[i];
		short rev;

		if (ps->rslot[i] != -1 && e->rd_open) {
			rev = ps->pfd[ps->rslot[i]].revents;
			if (rev & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
				ep_read(r, i);
		}
		if (ps->wslot[i] == -1 || !e->wr_open)
			continue;
		rev = ps->pfd[ps->wslot[i]].revents;
		if (rev & POLLOUT)
			ep_write(r, i);
		else if ((rev & (POLLERR | POLLHUP | POLLNVAL)) &&
		    (e->rfd != e->wfd || dst_pending(r, i)))
			ep_write_failed(r, i, EPIPE);
	}
}

enum relay_why
relay_run(struct relay *r, int *who)
{
	struct sigaction ign, old;
	struct pollset ps;
	enum relay_why why;
	int stop_slot;

	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	(void)sigaction(SIGPIPE, &ign, &old);
	*who = -1;
	for (;;) {
		finish_links(r);
		if (run_over(r, &why, who))
			break;
		pollset_build(r, &ps);
		stop_slot = -1;
		if (r->stop_fd != -1)
			stop_slot = pollset_add(&ps, r->stop_fd, POLLIN);
		if (poll(ps.pfd, (nfds_t)ps.n, -1) == -1) {
			if (errno == EINTR)
				continue;
			why = RELAY_ERROR;
			break;
		}
		if (stop_slot != -1 && ps.pfd[stop_slot].revents != 0) {
			why = RELAY_STOPPED;
			break;
		}
		pollset_dispatch(r, &ps);
	}
	(void)sigaction(SIGPIPE, &old, NULL);
	return why;
}

/* cd_loop.c: sercon-consoled's event loop: the attach socket, inotify on
 * console_dir and lock_dir, signals through a signalfd, one timerfd per
 * console or session that needs one. Nothing wakes the loop but an event:
 * an idle daemon sleeps in epoll_wait. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "core/text.h"
#include "host/cd_int.h"
#include "host/consoled.h"

int
cd_watch(struct cd *cd, struct cd_handler *h, uint32_t mask)
{
	struct epoll_event ev;
	int op;

	if (h->fd == -1 || h->mask == mask)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = mask;
	ev.data.ptr = h;
	if (mask == 0) {
		cd_unwatch(cd, h);
		return 0;
	}
	op = h->mask == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	if (epoll_ctl(cd->ep, op, h->fd, &ev) == -1) {
		log_error("epoll_ctl: %s", strerror(errno));
		return -1;
	}
	h->mask = mask;
	return 0;
}

void
cd_unwatch(struct cd *cd, struct cd_handler *h)
{
	if (h->fd != -1 && h->mask != 0)
		(void)epoll_ctl(cd->ep, EPOLL_CTL_DEL, h->fd, NULL);
	h->mask = 0;
}

/* One-shot timer in ms; the timerfd is made on first use. */
int
cd_timer_arm(struct cd *cd, struct cd_handler *h, unsigned ms)
{
	struct itimerspec its;

	if (h->fd == -1) {
		h->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
		    TFD_CLOEXEC);
		if (h->fd == -1) {
			log_error("timerfd_create: %s", strerror(errno));
			return -1;
		}
	}
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(h->fd, 0, &its, NULL) == -1) {
		log_error("timerfd_settime: %s", strerror(errno));
		return -1;
	}
	return cd_watch(cd, h, EPOLLIN);
}

/* Closes the timer: an idle object keeps no descriptor. */
void
cd_timer_stop(struct cd *cd, struct cd_handler *h)
{
	if (h->fd == -1)
		return;
	cd_unwatch(cd, h);
	close(h->fd);
	h->fd = -1;
}

char *
cd_field(const char *s)
{
	return s != NULL && *s != '\0' ? text_pct_encode(s) : xstrdup("-");
}

static void
fmt_utc(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "unknown");
}

/* The status answer: one SP_STATUS per console and per session, then the
 * end. Values are percent-encoded: one word each. */
void
cd_status(struct cd *cd, struct cd_session *s)
{
	struct cd_console *c;
	struct cd_session *t;
	char since[32];

	for (c = cd->consoles; c != NULL; c = c->next) {
		char *wr = cd_field(c->writer != NULL ?
		    sess_who(c->writer) : NULL);

		fmt_utc(c->writer_since, since, sizeof(since));
		sess_msg(s, SP_STATUS, "console=%s state=%s ring=%zu "
		    "total=%llu sessions=%u writer=%s writer_since=%s",
		    c->name, con_state_name(c->state), ring_used(&c->ring),
		    (unsigned long long)c->ring.total, c->nsess,
		    wr != NULL ? wr : "-", c->writer != NULL ? since : "-");
		free(wr);
		for (t = c->sessions; t != NULL; t = t->cnext) {
			char *id = cd_field(t->hello.entity_id);
			char *name = cd_field(t->hello.entity);

			fmt_utc(t->since, since, sizeof(since));
			sess_msg(s, SP_STATUS, "session=%u console=%s role=%s "
			    "entity_id=%s entity=%s since=%s peer=%s", t->id,
			    c->name, role_name(t->role), id ? id : "-",
			    name ? name : "-", since, t->hello.peer);
			free(id);
			free(name);
		}
	}
	sess_end(s, 0, "status");
}

/* Another daemon answering on the socket means we must not take it. */
static bool
socket_in_use(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used;

	if (fd == -1)
		return false;
	used = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return used;
}

static int
listen_open(struct cd *cd)
{
	const char *path = cd->cfg->attach_socket;
	struct sockaddr_un sa;
	mode_t old;
	int fd, rc;

	if (path == NULL || strlen(path) >= sizeof(sa.sun_path)) {
		log_error("attach_socket is unset or too long");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if (socket_in_use(&sa)) {
		log_error("%s: another sercon-consoled is running", path);
		return -1;
	}
	(void)unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_error("socket: %s", strerror(errno));
		return -1;
	}
	/* 0600 from the start: no window where others could connect. */
	old = umask(0177);
	rc = bind(fd, (const struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc == -1 || listen(fd, 128) == -1) {
		log_error("cannot listen on %s: %s (its directory must exist "
		    "and belong to this user)", path, strerror(errno));
		close(fd);
		return -1;
	}
	cd->listen.fd = fd;
	return cd_watch(cd, &cd->listen, EPOLLIN);
}

static int
inotify_open(struct cd *cd)
{
	const struct sercon_config *cfg = cd->cfg;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd == -1) {
		log_error("inotify_init1: %s", strerror(errno));
		return -1;
	}
	cd->inotify.fd = fd;
	cd->wd_console = inotify_add_watch(fd, cfg->console_dir,
	    IN_CREATE | IN_ATTRIB | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM |
	    IN_ONLYDIR | IN_DONT_FOLLOW);
	if (cd->wd_console == -1) {
		log_error("cannot watch %s: %s", cfg->console_dir,
		    strerror(errno));
		return -1;
	}
	/* A direct session closing its lock file frees the console. */
	if (mkdir(cfg->lock_dir, 0700) == -1 && errno != EEXIST)
		log_warn("cannot create %s: %s", cfg->lock_dir,
		    strerror(errno));
	cd->wd_lock = inotify_add_watch(fd, cfg->lock_dir,
	    IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_ONLYDIR | IN_DONT_FOLLOW);
	if (cd->wd_lock == -1)
		log_warn("cannot watch %s: %s; a console held by a direct "
		    "session is retried only on its socket's events",
		    cfg->lock_dir, strerror(errno));
	return cd_watch(cd, &cd->inotify, EPOLLIN);
}

static void
inotify_read(struct cd *cd)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(cd->inotify.fd, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p < buf + n) {
			struct inotify_event *e = (struct inotify_event *)p;

			if (e->mask & IN_Q_OVERFLOW)
				con_scan(cd);
			else if (e->len > 0 && e->wd == cd->wd_console)
				con_dir_event(cd, e->name, e->mask);
			else if (e->len > 0 && e->wd == cd->wd_lock)
				con_lock_event(cd, e->name);
			p += sizeof(*e) + e->len;
		}
	}
}

static int
signals_open(struct cd *cd)
{
	sigset_t set;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (cd->sig.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		log_error("signalfd: %s", strerror(errno));
		return -1;
	}
	return cd_watch(cd, &cd->sig, EPOLLIN);
}

static void
signal_read(struct cd *cd)
{
	struct signalfd_siginfo si;

	while (read(cd->sig.fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			/* Nothing to reload: rescan the directory. */
			con_scan(cd);
			continue;
		}
		log_info("stopping on signal %u", si.ssi_signo);
		cd->stop = true;
	}
}

static void
reap(struct cd *cd)
{
	while (cd->dead_sess != NULL) {
		struct cd_session *s = cd->dead_sess;

		cd->dead_sess = s->next;
		free(s);
	}
	while (cd->dead_cons != NULL) {
		struct cd_console *c = cd->dead_cons;

		cd->dead_cons = c->next;
		free(c);
	}
}

static void
dispatch(struct cd *cd, struct cd_handler *h, uint32_t ev)
{
	if (h->fd == -1)
		return;         /* closed earlier in this batch */
	switch (h->kind) {
	case CDK_LISTEN:
		sess_accept(cd);
		break;
	case CDK_INOTIFY:
		inotify_read(cd);
		break;
	case CDK_SIGNAL:
		signal_read(cd);
		break;
	case CDK_CON:
		con_event(h->obj, ev);
		break;
	case CDK_CON_TIMER:
		con_timer(h->obj);
		break;
	case CDK_CON_GRACE:
		con_grace(h->obj);
		break;
	case CDK_SESS:
		sess_event(h->obj, ev);
		break;
	case CDK_SESS_TIMER:
		sess_timer(h->obj);
		break;
	}
}

/* Enough descriptors for a socket, a lock and a timer per console. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
cd_shutdown(struct cd *cd)
{
	while (cd->sessions != NULL) {
		struct cd_session *s = cd->sessions;

		sess_notice(s, "%s: sercon-consoled stopped",
		    s->con != NULL ? s->con->label : "console");
		sess_end(s, 3, "daemon-stopped");
		/* One last try to hand over the end; then it goes. */
		sess_pump(s);
		sess_free(s);
	}
	while (cd->consoles != NULL)
		con_free(cd->consoles);
	if (cd->listen.fd != -1) {
		close(cd->listen.fd);
		(void)unlink(cd->cfg->attach_socket);
	}
	if (cd->inotify.fd != -1)
		close(cd->inotify.fd);
	if (cd->sig.fd != -1)
		close(cd->sig.fd);
	if (cd->ep != -1)
		close(cd->ep);
}

int
consoled_run(const struct sercon_config *cfg)
{
	struct epoll_event evs[64];
	struct cd cd;
	int i, n, status = 0;

	memset(&cd, 0, sizeof(cd));
	cd.cfg = cfg;
	cd.uid = geteuid();
	cd.listen = (struct cd_handler){ CDK_LISTEN, &cd, -1, 0 };
	cd.inotify = (struct cd_handler){ CDK_INOTIFY, &cd, -1, 0 };
	cd.sig = (struct cd_handler){ CDK_SIGNAL, &cd, -1, 0 };
	cd.wd_console = cd.wd_lock = -1;
	cd.next_id = 1;
	raise_fd_limit();
	if ((cd.ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_error("epoll_create1: %s", strerror(errno));
		return 1;
	}
	if (signals_open(&cd) != 0 || inotify_open(&cd) != 0 ||
	    listen_open(&cd) != 0) {
		cd_shutdown(&cd);
		return 1;
	}
	con_scan(&cd);
	log_info("started: console_dir=%s attach_socket=%s scrollback=%d",
	    cfg->console_dir, cfg->attach_socket, cfg->scrollback);
	while (!cd.stop) {
		n = epoll_wait(cd.ep, evs, (int)(sizeof(evs) / sizeof(evs[0])),
		    -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(errno));
			status = 1;
			break;
		}
		for (i = 0; i < n; i++)
			dispatch(&cd, evs[i].data.ptr, evs[i].events);
		reap(&cd);
	}
	cd_shutdown(&cd);
	reap(&cd);
	log_info("stopped");
	return status;
}

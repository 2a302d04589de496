/* log.c: one line per event to the syslog socket; see log.h.
 * We speak the local syslog datagram protocol ourselves (as libc does) so
 * that the socket can be configured: containers and the test suite point it
 * somewhere other than /dev/log. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "core/escape.h"
#include "core/log.h"
#include "core/mtime.h"

#define LOG_LINE_MAX 1024
#define LOG_SEND_WAIT_MS 200   /* how long a line waits for a busy daemon */

static const char *log_prog = "sercon";
static bool log_debug_on;
static bool log_stderr_on;
static bool log_debug_echo = true;
static char log_path[sizeof(((struct sockaddr_un *)0)->sun_path)] = "/dev/log";
static int log_fd = -1;
static bool log_stalled;             /* the last wait for the daemon failed */
static unsigned long log_dropped;    /* lines lost since the last report */

void
log_init(const char *progname)
{
	const char *p = strrchr(progname, '/');

	log_prog = p != NULL ? p + 1 : progname;
}

void
log_set_debug(bool on)
{
	log_debug_on = on;
}

bool
log_debug_enabled(void)
{
	return log_debug_on;
}

void
log_set_debug_echo(bool on)
{
	log_debug_echo = on;
}

void
log_set_stderr(bool on)
{
	log_stderr_on = on;
}

void
log_set_socket(const char *path)
{
	if (path == NULL || strlen(path) >= sizeof(log_path))
		return;
	snprintf(log_path, sizeof(log_path), "%s", path);
	if (log_fd != -1) {
		close(log_fd);
		log_fd = -1;
	}
	/* Losses are owned up to where they happened, not elsewhere. */
	log_stalled = false;
	log_dropped = 0;
}

/* One event into buf: control characters and bytes >= 0x7f that are not
 * valid UTF-8 are escaped, never copied. */
static void
log_format_line(char *buf, size_t len, const char *fmt, va_list ap)
{
	char raw[LOG_LINE_MAX];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	escape_buf(buf, len, raw);
}

/* The socket, connected to log_path so that poll(2) can tell when the
 * daemon has room again (Linux looks at the peer's queue only for a
 * connected datagram socket). Returns 0 or -1. */
static int
log_open(void)
{
	struct sockaddr_un sa;

	if (log_fd != -1)
		return 0;
	if ((log_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, log_path, strlen(log_path) + 1);
	if (connect(log_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(log_fd);
		log_fd = -1;
		return -1;
	}
	return 0;
}

/* One non-blocking attempt: 0 sent, 1 the daemon's queue is full, -1 no
 * daemon (the socket is reopened once, for a daemon that restarted). */
static int
log_try(const char *msg, size_t len)
{
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if (log_open() != 0)
			return -1;
		if (send(log_fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) ==
		    (ssize_t)len)
			return 0;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return 1;
		if (errno == EINTR) {
			attempt--;
			continue;
		}
		close(log_fd);
		log_fd = -1;
	}
	return -1;
}

/* Sends one datagram. A full queue (a burst, a daemon busy for a moment)
 * is waited out for up to LOG_SEND_WAIT_MS, so that audit lines are not
 * lost; a daemon that does not drain in that time is taken as stuck and
 * not waited for again until a line gets through, so that a console never
 * stalls behind syslog for more than that once. Returns 0 or -1. */
static int
log_deliver(const char *msg, size_t len)
{
	long long deadline = mtime_ms() + LOG_SEND_WAIT_MS;
	int rc = log_try(msg, len);

	while (rc == 1 && !log_stalled) {
		struct pollfd pfd = { log_fd, POLLOUT, 0 };
		long long left = deadline - mtime_ms();

		if (left <= 0)
			break;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			break;
		rc = log_try(msg, len);
	}
	log_stalled = rc == 1;
	return rc == 0 ? 0 : -1;
}

/* "<PRI>STAMP PROG[PID]: LINE" into msg; returns its length. */
static size_t
log_frame(char *msg, size_t size, int severity, const char *line)
{
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	n = snprintf(msg, size, "<%d>%s %s[%ld]: %s", LOG_AUTHPRIV | severity,
	    stamp, log_prog, (long)getpid(), line);
	if (n < 0)
		return 0;
	return (size_t)n >= size ? size - 1 : (size_t)n;
}

static void
log_send(int severity, const char *line)
{
	char msg[LOG_LINE_MAX + 128], note[96];
	size_t n;
	int saved = errno;

	/* Lines lost earlier are owned up to before the next one. */
	if (log_dropped > 0) {
		snprintf(note, sizeof(note), "%lu log lines dropped (the syslog "
		    "daemon was not reading)", log_dropped);
		n = log_frame(msg, sizeof(msg), LOG_WARNING, note);
		if (n > 0 && log_deliver(msg, n) == 0)
			log_dropped = 0;
	}
	n = log_frame(msg, sizeof(msg), severity, line);
	if (n == 0 || log_deliver(msg, n) != 0)
		log_dropped++;
	errno = saved;
}

static void
log_emit(int severity, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];

	log_format_line(line, sizeof(line), fmt, ap);
	log_send(severity, line);
	if (log_stderr_on || (severity == LOG_DEBUG && log_debug_on &&
	    log_debug_echo && isatty(STDERR_FILENO)))
		fprintf(stderr, "%s: %s\n", log_prog, line);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

static void
log_user_emit(const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];

	log_format_line(line, sizeof(line), fmt, ap);
	fprintf(stderr, "ERROR: %s\n", line);
	fflush(stderr);
	log_send(LOG_ERR, line);
}

void
log_user_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_user_emit(fmt, ap);
	va_end(ap);
}

void
log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_user_emit(fmt, ap);
	va_end(ap);
	exit(1);
}

/* log.c: one line per event to the syslog socket; see log.h.
 * We speak the local syslog datagram protocol ourselves (as libc does) so
 * that the socket can be configured: containers and the test suite point it
 * somewhere other than /dev/log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "core/log.h"
#include "core/text.h"

#define LOG_LINE_MAX 1024

static const char *log_prog = "sercon";
static bool log_debug_on;
static bool log_stderr_on;
static bool log_debug_echo = true;
static char log_path[sizeof(((struct sockaddr_un *)0)->sun_path)] = "/dev/log";
static int log_fd = -1;

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
}

/* One event into buf: control characters and bytes >= 0x7f that are not
 * valid UTF-8 are escaped, never copied. */
static void
log_format_line(char *buf, size_t len, const char *fmt, va_list ap)
{
	char raw[LOG_LINE_MAX];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	text_safe_buf(buf, len, raw);
}

static void
log_send(int severity, const char *line)
{
	struct sockaddr_un sa;
	char msg[LOG_LINE_MAX + 128];
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	int n, saved = errno;

	if (log_fd == -1) {
		log_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (log_fd == -1)
			goto out;
	}
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	n = snprintf(msg, sizeof(msg), "<%d>%s %s[%ld]: %s",
	    LOG_AUTHPRIV | severity, stamp, log_prog, (long)getpid(), line);
	if (n < 0)
		goto out;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, log_path, strlen(log_path) + 1);
	/* MSG_DONTWAIT: a stuck syslog daemon must never stall a console. */
	(void)sendto(log_fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&sa, sizeof(sa));
out:
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

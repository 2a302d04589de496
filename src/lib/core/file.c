/* file.c: whole-file reads and mkdir -p; see file.h. Every part that reads
 * a configuration, an inventory, a certificate or a cache entry comes
 * through file_read, so the limits (size, links, FIFOs) are applied in one
 * place. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/file.h"
#include "core/xmalloc.h"

#define FILE_CHUNK 65536

/* Writes "<path>: <why>"-like reasons; returns -1 with errno e. */
static int file_fail(int e, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
file_fail(int e, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = e;
	return -1;
}

/* Reads fd to its end, growing buf; at most max bytes. */
static int
file_read_fd(int fd, size_t max, char **bufp, size_t *lenp)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t r;

	for (;;) {
		if (cap - len < FILE_CHUNK / 2) {
			cap = cap == 0 ? FILE_CHUNK : cap * 2;
			if (cap > max + 2)
				cap = max + 2;
			buf = xreallocarray(buf, cap, 1);
		}
		if (len > max)
			break;
		r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(buf);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
}

int
file_read(const char *path, size_t max, int flags, char **out,
    size_t *lenp, struct stat *st, char *err, size_t errlen)
{
	struct stat sb;
	char *buf;
	size_t len;
	int fd, oflags = O_RDONLY | O_CLOEXEC;

	*out = NULL;
	if (flags & FILE_NOFOLLOW)
		oflags |= O_NOFOLLOW;
	if (flags & FILE_NONBLOCK)
		oflags |= O_NONBLOCK;
	if ((fd = open(path, oflags)) == -1)
		return file_fail(errno, err, errlen, "cannot read %s: %s",
		    path, strerror(errno));
	if (fstat(fd, &sb) != 0) {
		int e = errno;

		close(fd);
		return file_fail(e, err, errlen, "cannot read %s: %s", path,
		    strerror(e));
	}
	if ((flags & FILE_REGULAR) && !S_ISREG(sb.st_mode)) {
		close(fd);
		return file_fail(EINVAL, err, errlen,
		    "%s is not a regular file", path);
	}
	if (S_ISREG(sb.st_mode) && (uintmax_t)sb.st_size > max) {
		close(fd);
		return file_fail(EFBIG, err, errlen, "%s is too large", path);
	}
	if (file_read_fd(fd, max, &buf, &len) != 0) {
		int e = errno;

		close(fd);
		return file_fail(e, err, errlen, "cannot read %s: %s", path,
		    strerror(e));
	}
	close(fd);
	if (len > max) {
		free(buf);
		return file_fail(EFBIG, err, errlen, "%s is too large", path);
	}
	if ((flags & FILE_TEXT) && strlen(buf) != len) {
		free(buf);
		return file_fail(EINVAL, err, errlen, "%s holds a NUL byte",
		    path);
	}
	if (st != NULL)
		*st = sb;
	if (lenp != NULL)
		*lenp = len;
	*out = buf;
	return 0;
}

int
file_mkdir_p(const char *path, mode_t mode, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	char *p;

	if (path[0] == '\0' || strlen(path) >= sizeof(buf))
		return file_fail(ENAMETOOLONG, err, errlen,
		    "bad directory name '%.200s'", path);
	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(buf, c == '\0' ? mode : 0755) != 0 &&
		    errno != EEXIST)
			return file_fail(errno, err, errlen,
			    "cannot create %s: %s", buf, strerror(errno));
		if (c == '\0')
			break;
		*p = c;
	}
	return 0;
}

int
file_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

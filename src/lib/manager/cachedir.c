/* cachedir.c: safe access to the files of cache_dir; see cachedir.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>

#include "core/mtime.h"
#include "manager/cachedir.h"

int
cdir_path(const struct sercon_config *cfg, const char *name, char *buf,
    size_t len)
{
	if (cfg->cache_dir == NULL)
		return -1;
	return (size_t)snprintf(buf, len, "%s/%s", cfg->cache_dir, name) <
	    len ? 0 : -1;
}

int
cdir_open_read(const char *path, struct stat *st)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) ||
	    st->st_uid != geteuid()) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

int
cdir_lock(const struct sercon_config *cfg, const char *name, long wait_ms)
{
	char path[PATH_MAX];
	long long deadline = mtime_ms() + wait_ms;
	int fd;

	if (cdir_path(cfg, name, path, sizeof(path)) != 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK, 0640)) < 0)
		return -1;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };

		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    mtime_ms() >= deadline) {
			close(fd);
			return -2;
		}
		nanosleep(&ts, NULL);
	}
	return fd;
}

void
cdir_unlock(int fd)
{
	if (fd >= 0)
		close(fd);          /* drops the flock */
}

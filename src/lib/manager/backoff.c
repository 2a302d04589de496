/* backoff.c: the manager's circuit breaker; see backoff.h. The window is
 * read from the file's modification time; a time in the future (a clock
 * set back) is ignored rather than trusted to keep the manager shunned. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/log.h"
#include "manager/backoff.h"
#include "manager/cachedir.h"

#define BACKOFF_FILE "manager.down"
#define BACKOFF_SLACK 5            /* seconds of clock disagreement */

long
mgr_backoff_left(const struct sercon_config *cfg, time_t now)
{
	char path[PATH_MAX];
	struct stat st;
	long age;

	if (cdir_path(cfg, BACKOFF_FILE, path, sizeof(path)) != 0 ||
	    lstat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid())
		return 0;
	age = (long)(now - st.st_mtime);
	if (age < -BACKOFF_SLACK || age >= MGR_BACKOFF)
		return 0;
	return age < 0 ? MGR_BACKOFF : MGR_BACKOFF - age;
}

void
mgr_backoff_trip(const struct sercon_config *cfg, const char *why,
    time_t now)
{
	char path[PATH_MAX];
	struct timespec ts[2];
	size_t n = strlen(why);
	int fd;

	log_warn("manager failed (%s): answering from the cache without "
	    "asking it for %d s", why, MGR_BACKOFF);
	if (cdir_path(cfg, BACKOFF_FILE, path, sizeof(path)) != 0)
		return;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC, 0640)) < 0) {
		log_debug("cannot write %s: %s", path, strerror(errno));
		return;
	}
	if (write(fd, why, n) != (ssize_t)n || write(fd, "\n", 1) != 1)
		log_debug("cannot write %s", path);
	ts[0].tv_sec = ts[1].tv_sec = now;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	(void)futimens(fd, ts);
	close(fd);
}

void
mgr_backoff_clear(const struct sercon_config *cfg)
{
	char path[PATH_MAX];

	if (cdir_path(cfg, BACKOFF_FILE, path, sizeof(path)) == 0 &&
	    unlink(path) != 0 && errno != ENOENT)
		log_debug("cannot remove %s: %s", path, strerror(errno));
}

/* backoff.c: the manager's circuit breaker; see backoff.h. The window is
 * read from the file's modification time; a time in the future (a clock
 * set back) is ignored rather than trusted to keep the manager shunned.
 * The file's first line names the configuration of the manager that
 * failed: an administrator who fixes it is not told to wait. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/log.h"
#include "manager/backoff.h"
#include "manager/cachedir.h"
#include "manager/keyindex.h"

#define BACKOFF_FILE "manager.down"
#define BACKOFF_SLACK 5            /* seconds of clock disagreement */

/* "backoff <hash of the manager settings>" */
static void
backoff_tag(const struct sercon_config *cfg, char *buf, size_t len)
{
	char text[16384];
	int n = snprintf(text, sizeof(text), "%d\n%s\n%s\n%d\n%s\n%s\n%s\n%s\n"
	    "%d", (int)cfg->backend, cfg->engine_url ? cfg->engine_url : "",
	    cfg->engine_ca ? cfg->engine_ca : "", (int)cfg->engine_verify_host,
	    cfg->ticket_certificate ? cfg->ticket_certificate : "",
	    cfg->ticket_key ? cfg->ticket_key : "",
	    cfg->key_list ? cfg->key_list : "",
	    cfg->console_list ? cfg->console_list : "", cfg->timeout);

	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(text))
		n = sizeof(text) - 1;
	snprintf(buf, len, "backoff %016" PRIx64 "\n", kidx_hash(text,
	    (size_t)n));
}

long
mgr_backoff_left(const struct sercon_config *cfg, time_t now)
{
	char path[PATH_MAX], tag[64], got[64];
	struct stat st;
	ssize_t n;
	long age;
	int fd;

	if (cdir_path(cfg, BACKOFF_FILE, path, sizeof(path)) != 0 ||
	    (fd = cdir_open_read(path, &st)) < 0)
		return 0;
	n = read(fd, got, sizeof(got) - 1);
	close(fd);
	backoff_tag(cfg, tag, sizeof(tag));
	if (n < (ssize_t)strlen(tag) || memcmp(got, tag, strlen(tag)) != 0)
		return 0;              /* another configuration's failure */
	age = (long)(now - st.st_mtime);
	if (age < -BACKOFF_SLACK || age >= MGR_BACKOFF)
		return 0;
	return age < 0 ? MGR_BACKOFF : MGR_BACKOFF - age;
}

void
mgr_backoff_trip(const struct sercon_config *cfg, const char *why,
    time_t now)
{
	char path[PATH_MAX], tag[64];
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
	backoff_tag(cfg, tag, sizeof(tag));
	if (write(fd, tag, strlen(tag)) != (ssize_t)strlen(tag) ||
	    write(fd, why, n) != (ssize_t)n || write(fd, "\n", 1) != 1)
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

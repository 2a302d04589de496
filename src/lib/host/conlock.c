/* conlock.c: the per-console session lock of sercon-host-shell; see
 * conlock.h. The lock file holds "key=value" lines (pid, since as seconds
 * since the epoch, entityid and entity percent-encoded) so that a hostile
 * entity name cannot forge a line of it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "core/file.h"
#include "host/conlock.h"
#include "core/text.h"

#define CONLOCK_TEXT_MAX 2048

static void
copy_decoded(char *dst, size_t len, const char *enc)
{
	char *dec = text_pct_decode(enc);

	if (dec != NULL && *dec != '\0')
		snprintf(dst, len, "%s", dec);
	free(dec);
}

void
conlock_parse(const char *text, struct conlock_holder *h)
{
	char entity[256] = "", entityid[256] = "", val[CONLOCK_TEXT_MAX];
	const char *p = text, *nl, *eq;
	long long since = -1;
	size_t klen, vlen;

	h->pid = 0;
	snprintf(h->entity, sizeof(h->entity), "unknown");
	snprintf(h->since, sizeof(h->since), "unknown");
	for (; *p != '\0'; p = *nl != '\0' ? nl + 1 : nl) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		if ((eq = memchr(p, '=', (size_t)(nl - p))) == NULL)
			continue;
		klen = (size_t)(eq - p);
		vlen = (size_t)(nl - eq - 1);
		if (vlen >= sizeof(val))
			continue;
		memcpy(val, eq + 1, vlen);
		val[vlen] = '\0';
		if (klen == 3 && !strncmp(p, "pid", 3))
			h->pid = strtol(val, NULL, 10);
		else if (klen == 5 && !strncmp(p, "since", 5))
			since = strtoll(val, NULL, 10);
		else if (klen == 8 && !strncmp(p, "entityid", 8))
			copy_decoded(entityid, sizeof(entityid), val);
		else if (klen == 6 && !strncmp(p, "entity", 6))
			copy_decoded(entity, sizeof(entity), val);
	}
	if (entity[0] != '\0')
		snprintf(h->entity, sizeof(h->entity), "%s", entity);
	else if (entityid[0] != '\0')
		snprintf(h->entity, sizeof(h->entity), "%s", entityid);
	if (since > 0) {
		time_t t = (time_t)since;
		struct tm tm;

		if (gmtime_r(&t, &tm) != NULL)
			strftime(h->since, sizeof(h->since),
			    "%Y-%m-%d %H:%M:%S UTC", &tm);
	}
}

/* The holder may have taken the lock but not written the file yet. */
static void
read_holder(int fd, struct conlock_holder *h)
{
	char text[CONLOCK_TEXT_MAX];
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	ssize_t n = 0;
	int tries;

	for (tries = 0; tries < 10; tries++) {
		n = pread(fd, text, sizeof(text) - 1, 0);
		if (n > 0 && text[n - 1] == '\n')
			break;
		nanosleep(&ts, NULL);
	}
	text[n > 0 ? n : 0] = '\0';
	conlock_parse(text, h);
}

static int
write_holder(int fd, const char *entity_id, const char *entity, time_t now)
{
	char *id = text_pct_encode(entity_id != NULL ? entity_id : "");
	char *name = text_pct_encode(entity != NULL ? entity : "");
	char text[CONLOCK_TEXT_MAX];
	int n, rc = -1;

	n = snprintf(text, sizeof(text), "pid=%ld\nsince=%lld\nentityid=%s\n"
	    "entity=%s\n", (long)getpid(), (long long)now, id, name);
	if (n < 0 || (size_t)n >= sizeof(text))
		goto out;
	if (ftruncate(fd, 0) == 0 && pwrite(fd, text, (size_t)n, 0) == n)
		rc = 0;
out:
	free(id);
	free(name);
	return rc;
}

/* Takes the lock on lk->fd (open). On busy the holder is read back. */
static enum conlock_result
lock_fd(struct conlock *lk, const char *entity_id, const char *entity,
    time_t now, struct conlock_holder *holder, char *err, size_t errlen)
{
	if (flock(lk->fd, LOCK_EX | LOCK_NB) == -1) {
		int saved = errno;

		if (saved == EWOULDBLOCK) {
			read_holder(lk->fd, holder);
			return CONLOCK_BUSY;
		}
		snprintf(err, errlen, "cannot lock: %s", strerror(saved));
		return CONLOCK_ERROR;
	}
	if (write_holder(lk->fd, entity_id, entity, now) != 0) {
		snprintf(err, errlen, "cannot write the lock file: %s",
		    strerror(errno));
		(void)flock(lk->fd, LOCK_UN);
		return CONLOCK_ERROR;
	}
	lk->held = 1;
	return CONLOCK_OK;
}

static int
open_lock(struct conlock *lk, const char *lock_dir, const char *console,
    char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (file_mkdir_p(lock_dir, 0700, err, errlen) != 0)
		return -1;
	if (snprintf(path, sizeof(path), "%s/%s.lock", lock_dir, console) >=
	    (int)sizeof(path)) {
		snprintf(err, errlen, "lock file path is too long");
		return -1;
	}
	lk->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lk->fd == -1) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

enum conlock_result
conlock_take(struct conlock *lk, const char *lock_dir, const char *console,
    const char *entity_id, const char *entity, time_t now,
    struct conlock_holder *holder, char *err, size_t errlen)
{
	enum conlock_result r;

	if (lk->fd != -1 && lk->held)
		return CONLOCK_OK;
	if (lk->fd == -1 && open_lock(lk, lock_dir, console, err, errlen) != 0)
		return CONLOCK_ERROR;
	r = lock_fd(lk, entity_id, entity, now, holder, err, errlen);
	if (r == CONLOCK_ERROR) {
		close(lk->fd);
		lk->fd = -1;
	}
	return r;
}

enum conlock_result
conlock_acquire(struct conlock *lk, const char *lock_dir, const char *console,
    const char *entity_id, const char *entity, time_t now,
    struct conlock_holder *holder, char *err, size_t errlen)
{
	enum conlock_result r;

	lk->fd = -1;
	lk->held = 0;
	r = conlock_take(lk, lock_dir, console, entity_id, entity, now,
	    holder, err, errlen);
	if (r == CONLOCK_BUSY) {
		close(lk->fd);
		lk->fd = -1;
	}
	return r;
}

void
conlock_release(struct conlock *lk)
{
	if (lk->fd == -1)
		return;
	if (lk->held)
		(void)flock(lk->fd, LOCK_UN);
	close(lk->fd);
	lk->fd = -1;
	lk->held = 0;
}

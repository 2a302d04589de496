/* conlock.h: one session per console. A session holds flock(2) on
 * <lock_dir>/<console>.lock for its whole life; the kernel drops the lock
 * when the process dies, so a crashed session never blocks the next one.
 * The file names the holder so that the loser can say who it lost to. */
#ifndef SERCON_CONLOCK_H
#define SERCON_CONLOCK_H

#include <stddef.h>
#include <time.h>

struct conlock {
	int fd;
	int held;             /* 1: fd holds the lock; 0: fd is only open */
};

/* Who holds a console, as read back from its lock file. */
struct conlock_holder {
	char entity[256];     /* entity name, else id, else "unknown" */
	char since[32];       /* UTC, "%Y-%m-%d %H:%M:%S UTC", or "unknown" */
	long pid;             /* 0 when unknown */
};

enum conlock_result {
	CONLOCK_OK,           /* we hold it now */
	CONLOCK_BUSY,         /* another live session holds it; see holder */
	CONLOCK_ERROR         /* the directory or file is unusable; see err */
};

/* Creates lock_dir (mode 0700) when it is missing, then tries to take the
 * lock of console (a name text_valid_console accepted) without waiting.
 * On CONLOCK_OK the file records entity_id, entity (either may be NULL),
 * our pid and now. */
enum conlock_result conlock_acquire(struct conlock *lk, const char *lock_dir,
    const char *console, const char *entity_id, const char *entity,
    time_t now, struct conlock_holder *holder, char *err, size_t errlen);
/* As conlock_acquire, for a waiter that retries (sercon-consoled): a busy
 * lock's file stays open in lk, and the next call tries that descriptor
 * again, so that retrying opens and closes nothing, and a watcher of
 * lock_dir (inotify) sees only the holder's close. lk->fd must be -1 the
 * first time. */
enum conlock_result conlock_take(struct conlock *lk, const char *lock_dir,
    const char *console, const char *entity_id, const char *entity,
    time_t now, struct conlock_holder *holder, char *err, size_t errlen);
/* Drops the lock (the file stays: removing it would race with a waiter). */
void conlock_release(struct conlock *lk);

/* Parses a lock file's content; exposed for the unit tests. */
void conlock_parse(const char *text, struct conlock_holder *holder);

#endif

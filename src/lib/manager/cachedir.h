/* cachedir.h: the files the manager part keeps in cache_dir (key index,
 * console lists, locks, the back-off mark), reached safely: paths built in
 * one place, files opened without following links or blocking on a FIFO,
 * and trusted only when they are regular files of this account. */
#ifndef SERCON_CACHEDIR_H
#define SERCON_CACHEDIR_H

#include <stddef.h>
#include <sys/stat.h>

#include "core/config.h"

/* cache_dir/name into buf; -1 when there is no cache_dir or it is too
 * long. */
int cdir_path(const struct sercon_config *cfg, const char *name, char *buf,
    size_t len);

/* Opens path read-only, never blocking (O_NONBLOCK, O_NOFOLLOW); st gets
 * its status. Returns the descriptor, or -1 with errno (ENOENT: no file;
 * EINVAL: not a regular file of this account, e.g. a planted FIFO). */
int cdir_open_read(const char *path, struct stat *st);

/* Takes the lock file cache_dir/name, waiting up to wait_ms (0: one try).
 * Returns the locked descriptor (cdir_unlock releases it), -1 when the
 * lock file cannot be opened (errno set: cache_dir not writable), -2 when
 * another process holds it. */
int cdir_lock(const struct sercon_config *cfg, const char *name, long wait_ms);
void cdir_unlock(int fd);

#endif

/* atomic.h: writing a file so that readers see either the old content or
 * the new, never a part: a temporary file beside it, fsync, rename(2). */
#ifndef SERCON_ATOMIC_H
#define SERCON_ATOMIC_H

#include <stddef.h>
#include <sys/types.h>

/* atomic_write flags. */
#define ATOMIC_NOFSYNC 0x01    /* skip fsync: for files that can always be
                                * made again from their source and that
                                * check themselves (the key index) */

/* Replaces path with len bytes of data, created with mode and owned by
 * uid:gid ((uid_t)-1 / (gid_t)-1 leave the creator's). Returns 0, or -1
 * with errno set and a one-line reason in err (the temporary file is
 * removed). */
int atomic_write(const char *path, const void *data, size_t len, mode_t mode,
    uid_t uid, gid_t gid, int flags, char *err, size_t errlen);

#endif

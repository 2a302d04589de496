/* file.h: the file-system helpers every part shares: reading a whole file
 * with a size cap, writing a whole buffer, and mkdir -p. Atomic
 * replacement is in atomic.h. */
#ifndef SERCON_FILE_H
#define SERCON_FILE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* file_read flags. */
#define FILE_NOFOLLOW 0x01     /* refuse a symbolic link (O_NOFOLLOW) */
#define FILE_NONBLOCK 0x02     /* never wait on a FIFO or a device */
#define FILE_REGULAR  0x04     /* refuse anything but a regular file */
#define FILE_TEXT     0x08     /* refuse a NUL byte */

/* Reads all of path (at most max bytes) into a malloc'd buffer with a NUL
 * after the last byte. *lenp (may be NULL) gets the length, st (may be NULL)
 * the identity of the file that was read. Returns 0, or -1 with errno set
 * (EFBIG: larger than max; EINVAL: not a regular file, or a NUL byte with
 * FILE_TEXT) and a one-line reason naming the file in err. */
int file_read(const char *path, size_t max, int flags, char **out,
    size_t *lenp, struct stat *st, char *err, size_t errlen);

/* mkdir -p: the missing parents with mode 0755, the last component with
 * mode. An existing directory is fine (its mode is left alone). Returns 0,
 * or -1 with errno set and a reason in err. */
int file_mkdir_p(const char *path, mode_t mode, char *err, size_t errlen);

/* Writes all n bytes of p to fd (a blocking descriptor), retrying short
 * writes and EINTR. Returns 0, or -1 with errno set. */
int file_write_all(int fd, const void *p, size_t n);

#endif

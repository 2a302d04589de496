/* xmalloc.h: sercon's one allocation policy (OpenSSH's): running out of
 * memory is fatal in one place, xmalloc.c, which logs one line and exits
 * with status 1. No other function carries an out-of-memory path, so none
 * returns "out of memory" and callers never check these for NULL. */
#ifndef SERCON_XMALLOC_H
#define SERCON_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns the formatted string; never NULL. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

#endif

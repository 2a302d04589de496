/* escape.h: the one escaping rule for bytes that reach a terminal or a log
 * line: printable ASCII and well-formed UTF-8 (but not C1 controls, bidi
 * overrides or other invisible format characters) pass; other bytes become
 * \n, \r, \t, \\ or \xNN. text.h builds on it; log.c uses it directly. */
#ifndef SERCON_ESCAPE_H
#define SERCON_ESCAPE_H

#include <stddef.h>

/* s escaped into dst (len bytes, NUL-terminated), cut between whole
 * characters and ended with "..." when it does not fit. Returns dst. */
char *escape_buf(char *dst, size_t len, const char *s);

#endif

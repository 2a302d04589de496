/* text.h: the escaping and validation rules for every string that comes
 * from the network or the manager. Validation happens here, at the edge;
 * the rest of the code trusts the result. */
#ifndef SERCON_TEXT_H
#define SERCON_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/escape.h"

#define TEXT_NAME_MAX 255      /* console file names, entity ids */
#define TEXT_HOST_MAX 253      /* DNS names */

/* Safe for a terminal: printable ASCII and well-formed UTF-8 (but not C1
 * controls, bidi overrides or other invisible format characters) pass; other
 * bytes become \n, \t, \\ or \xNN. Returns a malloc'd string. */
char *text_safe(const char *s);
/* The same into a caller's buffer, truncated with "..." when it does not
 * fit; returns dst. (escape.h's escape_buf, under the name the callers
 * that validate through this header use.) */
static inline char *
text_safe_buf(char *dst, size_t len, const char *s)
{
	return escape_buf(dst, len, s);
}

/* Percent-encoding for forced command arguments: only [A-Za-z0-9._@+-]
 * stay as they are, every other byte becomes %XX (upper case). */
char *text_pct_encode(const char *s);
/* Inverse; returns NULL on a malformed escape or an encoded NUL. */
char *text_pct_decode(const char *s);

/* A plain file name: 1..255 bytes, no '/', not "." or "..", no leading '-',
 * no control characters, no spaces. */
bool text_valid_console(const char *s);
/* A host name (RFC 1123 labels, 1..253 bytes) or an IPv4 / IPv6 literal;
 * never starts with '-'. */
bool text_valid_host(const char *s);
/* An entity id or name from the manager: 1..255 bytes, printable, no
 * control characters (spaces allowed in names only). */
bool text_valid_entity_id(const char *s);
bool text_valid_entity_name(const char *s);
/* A VM name from the manager: 1..255 bytes, anything but NUL. Control
 * characters are allowed (the manager lets VMs be named so): every output
 * escapes them (text_safe, JSON_ENSURE_ASCII) and such a VM is reached by
 * its id. */
bool text_valid_vm_name(const char *s);

#endif

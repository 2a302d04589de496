/* escape.c: untrusted bytes made safe for a terminal or a log line, into a
 * caller's buffer; see escape.h. Allocates nothing, so that the log (which
 * xmalloc.c reports through) can use it. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/escape.h"

/* Length of the well-formed UTF-8 sequence at s (2..4), 0 if there is none.
 * Overlong forms, surrogates and C1 controls are refused. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned int c;
	size_t n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 2) {
		c = ((s[0] & 0x1fu) << 6) | (s[1] & 0x3fu);
		return c < 0xa0 ? 0 : 2;          /* C1 controls */
	}
	if (n == 3) {
		c = ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) |
		    (s[2] & 0x3fu);
		if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		/* zero-width and bidi controls could disguise text */
		if ((c >= 0x200b && c <= 0x200f) ||
		    (c >= 0x202a && c <= 0x202e) ||
		    (c >= 0x2066 && c <= 0x2069) || c == 0xfeff)
			return 0;
		return 3;
	}
	c = ((s[0] & 0x07u) << 18) | ((s[1] & 0x3fu) << 12) |
	    ((s[2] & 0x3fu) << 6) | (s[3] & 0x3fu);
	return (c < 0x10000 || c > 0x10ffff) ? 0 : 4;
}

static size_t
escape_into(char *dst, size_t len, const char *src, bool *cut)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, n;
	char tmp[5];

	*cut = false;
	if (len == 0)
		return 0;
	while (*s != '\0') {
		const char *add = tmp;
		size_t addlen;

		if (*s >= 0x20 && *s < 0x7f && *s != '\\') {
			tmp[0] = (char)*s;
			addlen = 1;
			n = 1;
		} else if (*s == '\\') {
			add = "\\\\";
			addlen = 2;
			n = 1;
		} else if (*s == '\n' || *s == '\r' || *s == '\t') {
			add = *s == '\n' ? "\\n" : *s == '\r' ? "\\r" : "\\t";
			addlen = 2;
			n = 1;
		} else if ((n = utf8_len(s)) != 0) {
			add = (const char *)s;
			addlen = n;
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", *s);
			addlen = 4;
			n = 1;
		}
		if (o + addlen + 1 > len) {
			*cut = true;
			break;
		}
		memcpy(dst + o, add, addlen);
		o += addlen;
		s += n;
	}
	dst[o] = '\0';
	return o;
}

char *
escape_buf(char *dst, size_t len, const char *s)
{
	bool cut;
	size_t n = escape_into(dst, len, s, &cut);

	if (cut && len >= 4) {
		/* again with room for "...", cut between whole characters */
		n = escape_into(dst, len - 3, s, &cut);
		memcpy(dst + n, "...", 4);
	}
	return dst;
}

/* text.c: escaping and validation of untrusted strings; see text.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "core/xmalloc.h"

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
text_safe_buf(char *dst, size_t len, const char *s)
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

char *
text_safe(const char *s)
{
	size_t len = strlen(s) * 4 + 1;
	char *out = xmalloc(len);
	bool cut;

	escape_into(out, len, s, &cut);
	return out;
}

static int
pct_keep(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' ||
	    c == '+' || c == '-';
}

char *
text_pct_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	char *out = xmalloc(strlen(s) * 3 + 1), *o = out;

	for (; *p != '\0'; p++) {
		if (pct_keep(*p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
text_pct_decode(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	for (; *s != '\0'; s++) {
		if (*s == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

			if (lo < 0 || (hi | lo) == 0) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi << 4 | lo);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

bool
text_valid_console(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > TEXT_NAME_MAX || s[0] == '-' ||
	    !strcmp(s, ".") || !strcmp(s, "..") || has_control(s))
		return false;
	return strpbrk(s, "/ \\") == NULL;
}

bool
text_valid_host(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];
	size_t n = strlen(s), label = 0;
	const char *p;

	if (n == 0 || n > TEXT_HOST_MAX || s[0] == '-')
		return false;
	if (strchr(s, ':') != NULL)
		return inet_pton(AF_INET6, s, buf) == 1;
	for (p = s; *p != '\0'; p++) {
		char c = *p;

		if (c == '.') {
			/* a label is 1..63 bytes and does not end in '-' */
			if (label == 0 || p[-1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && p[-1] != '-';
}

bool
text_valid_entity_id(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= TEXT_NAME_MAX && !has_control(s) &&
	    strchr(s, ' ') == NULL;
}

bool
text_valid_entity_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= TEXT_NAME_MAX && !has_control(s);
}

bool
text_valid_vm_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= TEXT_NAME_MAX;
}

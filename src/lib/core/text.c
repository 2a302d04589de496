/* text.c: escaping and validation of untrusted strings; see text.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/escape.h"
#include "core/text.h"
#include "core/xmalloc.h"

char *
text_safe(const char *s)
{
	size_t len = strlen(s) * 4 + 1;
	return escape_buf(xmalloc(len), len, s);
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

/* fuzz_text.c: libFuzzer target of the escaping, percent coding and
 * validators of src/lib/core/text.c, with their promises checked: escaped
 * text holds no control byte, text_safe_buf never overruns and agrees with
 * text_safe when it has room, percent coding round-trips and yields only
 * [A-Za-z0-9%._@+-], and what a validator accepts has the documented shape.
 * Input: one byte (the size of a small buffer), then the string. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "fuzz.h"

static bool
has_control(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

static void
check_safe(const char *s, size_t small)
{
	char *safe = text_safe(s), *buf;
	size_t n;

	if (safe == NULL || has_control(safe))
		abort();
	n = strlen(safe);
	/* With room for all of it, the buffer form is the same text. */
	if ((buf = malloc(n + 1)) == NULL)
		abort();
	if (text_safe_buf(buf, n + 1, s) != buf || strcmp(buf, safe) != 0)
		abort();
	free(buf);
	/* Exactly small bytes, so ASan sees any write past them. */
	if (small > 0) {
		if ((buf = malloc(small)) == NULL)
			abort();
		text_safe_buf(buf, small, s);
		if (memchr(buf, '\0', small) == NULL || has_control(buf))
			abort();
		free(buf);
	}
	free(safe);
}

static void
check_pct(const char *s)
{
	char *enc = text_pct_encode(s), *dec, *again;
	const char *p;

	if (enc == NULL)
		abort();
	for (p = enc; *p != '\0'; p++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789%._@+-", *p) == NULL)
			abort();
	if ((dec = text_pct_decode(enc)) == NULL || strcmp(dec, s) != 0)
		abort();
	free(dec);
	free(enc);
	/* The raw input as an encoded string: decoding it again after an
	 * encode gives the same. */
	if ((dec = text_pct_decode(s)) != NULL) {
		if ((enc = text_pct_encode(dec)) == NULL ||
		    (again = text_pct_decode(enc)) == NULL ||
		    strcmp(again, dec) != 0)
			abort();
		free(again);
		free(enc);
		free(dec);
	}
}

static void
check_validators(const char *s)
{
	size_t n = strlen(s);

	if (text_valid_console(s) && (n == 0 || n > TEXT_NAME_MAX ||
	    strchr(s, '/') != NULL || !strcmp(s, ".") || !strcmp(s, "..") ||
	    s[0] == '-' || strchr(s, ' ') != NULL || has_control(s)))
		abort();
	if (text_valid_host(s) && (n == 0 || n > TEXT_HOST_MAX ||
	    s[0] == '-' || has_control(s) || strchr(s, ' ') != NULL ||
	    strchr(s, '/') != NULL))
		abort();
	if (text_valid_entity_id(s) && (n == 0 || n > TEXT_NAME_MAX ||
	    has_control(s) || strchr(s, ' ') != NULL))
		abort();
	if (text_valid_entity_name(s) && (n == 0 || n > TEXT_NAME_MAX ||
	    has_control(s)))
		abort();
	if (text_valid_vm_name(s) != (n > 0 && n <= TEXT_NAME_MAX))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	size_t small;

	if (size < 1)
		return 0;
	small = data[0] % 64;
	s = fuzz_cstr(data + 1, size - 1);
	check_safe(s, small);
	check_pct(s);
	check_validators(s);
	free(s);
	return 0;
}

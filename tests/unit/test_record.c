/* test_record.c: the JSON escaping of asciicast events (src/lib/host/
 * record.c): UTF-8 kept, also when a read cuts a sequence; controls and
 * broken bytes escaped so that every event parses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "host/record.h"

static void
escape_pieces(const char *in, size_t cut, char *out)
{
	uint8_t pend[4];
	size_t npend = 0, n = strlen(in), o;

	o = rec_json_escape((const uint8_t *)in, cut, pend, &npend, out);
	o += rec_json_escape((const uint8_t *)in + cut, n - cut, pend, &npend,
	    out + o);
	out[o] = '\0';
	assert_int_equal(npend, 0);
}

static void
test_utf8_cut_anywhere(void **state)
{
	const char *in = "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80!";
	char out[256];
	size_t cut;

	(void)state;
	for (cut = 0; cut <= strlen(in); cut++) {
		escape_pieces(in, cut, out);
		assert_string_equal(out, in);
	}
	/* One byte at a time: a 4-byte sequence waits over three calls. */
	{
		uint8_t pend[4];
		size_t npend = 0, o = 0, i;

		for (i = 0; i < strlen(in); i++)
			o += rec_json_escape((const uint8_t *)in + i, 1, pend,
			    &npend, out + o);
		out[o] = '\0';
		assert_string_equal(out, in);
	}
}

static void
test_controls_and_quotes(void **state)
{
	char out[256];

	(void)state;
	escape_pieces("a\"b\\c\r\n\x1b[1m\x7f", 3, out);
	assert_string_equal(out, "a\\\"b\\\\c\\r\\n\\u001b[1m\\u007f");
}

static void
test_broken_bytes_become_latin1(void **state)
{
	char out[256];

	(void)state;
	/* A lone 0xFF, a lone continuation byte, a sequence broken in the
	 * middle (also across the cut), an overlong form. */
	escape_pieces("\xff" "a\x80" "b\xe2\x9c" "c\xc0\xaf", 6, out);
	assert_string_equal(out, "\xc3\xbf" "a\xc2\x80" "b\xc3\xa2\xc2\x9c"
	    "c\xc3\x80\xc2\xaf");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_cut_anywhere),
		cmocka_unit_test(test_controls_and_quotes),
		cmocka_unit_test(test_broken_bytes_become_latin1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_text.c: escaping and validation of untrusted strings (src/lib/core/text.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/text.h"

static void
expect_safe(const char *in, const char *out)
{
	char *s = text_safe(in);

	assert_non_null(s);
	assert_string_equal(s, out);
	free(s);
}

static void
test_safe(void **state)
{
	expect_safe("web1", "web1");
	expect_safe("a\x1b[2Jb", "a\\x1b[2Jb");
	expect_safe("line\nnext\r\t", "line\\nnext\\r\\t");
	expect_safe("back\\slash", "back\\\\slash");
	expect_safe("\x7f", "\\x7f");
	expect_safe("caf\xc3\xa9", "caf\xc3\xa9");             /* é passes */
	expect_safe("\xc2\x9b" "31m", "\\xc2\\x9b31m");      /* C1 CSI */
	expect_safe("\xe2\x80\xae" "evil", "\\xe2\\x80\\xaeevil"); /* RLO */
	expect_safe("\xc0\xaf", "\\xc0\\xaf");               /* overlong */
	expect_safe("\xed\xa0\x80", "\\xed\\xa0\\x80");      /* surrogate */
	expect_safe("\xff", "\\xff");
	expect_safe("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"); /* emoji */
	expect_safe("\xe2\x82", "\\xe2\\x82");               /* truncated */
}

static void
test_safe_buf(void **state)
{
	char buf[8];

	assert_string_equal(text_safe_buf(buf, sizeof(buf), "abc"), "abc");
	assert_string_equal(text_safe_buf(buf, sizeof(buf), "abcdefgh"),
	    "abcd...");
	/* an escape is never cut in half */
	assert_string_equal(text_safe_buf(buf, sizeof(buf), "ab\x1b\x1b"),
	    "ab...");
	assert_string_equal(text_safe_buf(buf, 1, "abc"), "");
}

static void
test_pct(void **state)
{
	char *e, *d;

	e = text_pct_encode("alice@example.com");
	assert_string_equal(e, "alice@example.com");
	free(e);
	e = text_pct_encode("Bob \"O'Neil\"; rm -rf /\n%");
	assert_string_equal(e,
	    "Bob%20%22O%27Neil%22%3B%20rm%20-rf%20%2F%0A%25");
	d = text_pct_decode(e);
	assert_string_equal(d, "Bob \"O'Neil\"; rm -rf /\n%");
	free(d);
	free(e);
	e = text_pct_encode("\xc3\xa9");
	assert_string_equal(e, "%C3%A9");
	free(e);
	assert_null(text_pct_decode("%"));
	assert_null(text_pct_decode("%4"));
	assert_null(text_pct_decode("%zz"));
	assert_null(text_pct_decode("a%00b"));
	d = text_pct_decode("%41%62");
	assert_string_equal(d, "Ab");
	free(d);
}

static void
test_console(void **state)
{
	char big[300];

	assert_true(text_valid_console("6f1c0d2e.sock"));
	assert_true(text_valid_console("a..b"));
	assert_false(text_valid_console(""));
	assert_false(text_valid_console("."));
	assert_false(text_valid_console(".."));
	assert_false(text_valid_console("../x"));
	assert_false(text_valid_console("/etc/passwd"));
	assert_false(text_valid_console("-x"));
	assert_false(text_valid_console("a b"));
	assert_false(text_valid_console("a\nb"));
	assert_false(text_valid_console("a\\b"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(text_valid_console(big));
	big[TEXT_NAME_MAX] = '\0';
	assert_true(text_valid_console(big));
}

static void
test_host(void **state)
{
	char label[70];

	assert_true(text_valid_host("hv1.example.com"));
	assert_true(text_valid_host("localhost"));
	assert_true(text_valid_host("127.0.0.1"));
	assert_true(text_valid_host("::1"));
	assert_true(text_valid_host("fe80::1"));
	assert_true(text_valid_host("a-b.c"));
	assert_false(text_valid_host(""));
	assert_false(text_valid_host("-oProxyCommand=sh"));
	assert_false(text_valid_host("a b"));
	assert_false(text_valid_host("a\nb"));
	assert_false(text_valid_host("a..b"));
	assert_false(text_valid_host(".a"));
	assert_false(text_valid_host("a-.b"));
	assert_false(text_valid_host("a.-b"));
	assert_false(text_valid_host("a.b-"));
	assert_false(text_valid_host("user@host"));
	assert_false(text_valid_host("host:22x"));
	assert_false(text_valid_host("[::1]"));
	assert_false(text_valid_host("a/b"));
	memset(label, 'a', 64);
	label[64] = '\0';
	assert_false(text_valid_host(label));
	label[63] = '\0';
	assert_true(text_valid_host(label));
}

static void
test_entity(void **state)
{
	assert_true(text_valid_entity_id("alice"));
	assert_true(text_valid_entity_id("6f1c-44"));
	assert_false(text_valid_entity_id(""));
	assert_false(text_valid_entity_id("a b"));
	assert_false(text_valid_entity_id("a\x1b"));
	assert_true(text_valid_entity_name("Alice Smith"));
	assert_false(text_valid_entity_name("Alice\nroot"));
	assert_false(text_valid_entity_name(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_safe),
		cmocka_unit_test(test_safe_buf),
		cmocka_unit_test(test_pct),
		cmocka_unit_test(test_console),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_entity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

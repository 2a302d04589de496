/* test_escape.c: the in-session command scanner (escape.c): commands only
 * at the start of a line, every other byte passed on unchanged, input cut
 * anywhere, the escape character configurable or off. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proxy/escape.h"

/* Feeds s one chunk of `step` bytes at a time; collects what passes and
 * the commands as "<B>", "<Sx>", ... into got. */
static void
feed(struct esc_state *e, const char *s, size_t step, char *got)
{
	const uint8_t *in = (const uint8_t *)s;
	size_t n = strlen(s), used, olen, chunk;
	uint8_t out[256], key;
	enum esc_cmd cmd;
	static const char *const names[] = { "", "B", "S", "W", "R", "?",
	    "." };

	*got = '\0';
	while (n > 0) {
		chunk = n < step ? n : step;
		used = esc_scan(e, in, chunk, out, &olen, &cmd, &key);
		assert_true(used >= 1 && used <= chunk);
		assert_true(olen <= used + 1);
		strncat(got, (char *)out, olen);
		if (cmd != ESC_NONE) {
			strcat(got, "<");
			strcat(got, names[cmd]);
			if (cmd == ESC_SYSRQ)
				strncat(got, (char *)&key, 1);
			strcat(got, ">");
		}
		in += used;
		n -= used;
	}
}

static void
check(int ch, const char *in, const char *want)
{
	struct esc_state e;
	char got[512];
	size_t step;

	/* the same answer whatever the chunking */
	for (step = 1; step <= strlen(in) + 1; step++) {
		esc_init(&e, ch);
		feed(&e, in, step, got);
		assert_string_equal(got, want);
	}
}

static void
test_commands(void **state)
{
	check('~', "~B", "<B>");
	check('~', "~.", "<.>");
	check('~', "~W~R", "<W><R>");
	check('~', "~?", "<?>");
	check('~', "~Sh", "<Sh>");
	check('~', "~S~", "<S~>");
	check('~', "ls\r~Ss", "ls\r<Ss>");
	check('~', "ls\n~B", "ls\n<B>");
}

static void
test_not_commands(void **state)
{
	/* only at the start of a line */
	check('~', "a~B", "a~B");
	check('~', "ls ~/x\r", "ls ~/x\r");
	/* twice: one literal, and the line has started */
	check('~', "~~", "~");
	check('~', "~~B", "~B");
	/* an unknown letter passes with the escape character */
	check('~', "~x", "~x");
	check('~', "~\r~B", "~\r<B>");
	check('~', "hello\r", "hello\r");
	/* every byte value passes when not a command */
	{
		struct esc_state e;
		uint8_t in[256], out[257], key;
		size_t olen, used, i;
		enum esc_cmd cmd;

		for (i = 0; i < 256; i++)
			in[i] = (uint8_t)(255 - i);  /* '~' not first */
		esc_init(&e, '~');
		used = esc_scan(&e, in + 1, 255, out, &olen, &cmd, &key);
		assert_int_equal(used, 255);
		assert_int_equal(cmd, ESC_NONE);
		assert_int_equal(olen, 255);
		assert_memory_equal(out, in + 1, 255);
	}
}

static void
test_other_char_and_off(void **state)
{
	check(0x1d, "\x1d" "B", "<B>");
	check(0x1d, "~B", "~B");
	check(ESC_OFF, "~B~.\r~?", "~B~.\r~?");
	assert_int_equal(esc_parse("~"), '~');
	assert_int_equal(esc_parse("none"), ESC_OFF);
	assert_int_equal(esc_parse("^]"), 0x1d);
	assert_int_equal(esc_parse("&"), '&');
	assert_int_equal(esc_parse(""), -2);
	assert_int_equal(esc_parse("ab"), -2);
	assert_int_equal(esc_parse(" "), -2);
	assert_int_equal(esc_parse("^"), '^');
	assert_int_equal(esc_parse("^a"), -2);
}

static void
test_help(void **state)
{
	char buf[128];
	const char *h = esc_help('~', 0);

	assert_non_null(strstr(h, "~~.  leave this console"));
	assert_non_null(strstr(h, "~~~  a literal ~"));
	assert_null(strstr(h, "not on this host"));
	assert_non_null(strstr(esc_help('~', 1), "BREAK (not on this host)"));
	assert_non_null(strstr(esc_help(0x1d, 0), "^].  leave"));
	assert_string_equal(esc_hint('~', buf, sizeof(buf)),
	    "~~. leaves the console, ~~? lists the commands");
	assert_non_null(strstr(esc_hint(ESC_OFF, buf, sizeof(buf)),
	    "<Enter>~."));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_not_commands),
		cmocka_unit_test(test_other_char_and_off),
		cmocka_unit_test(test_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

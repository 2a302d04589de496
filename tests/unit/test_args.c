/* test_args.c: word splitting of SSH_ORIGINAL_COMMAND (src/lib/core/args.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/args.h"

static void
expect_words(const char *line, int n, ...)
{
	char **argv, err[128];
	int argc, i;
	va_list ap;

	assert_int_equal(args_split(line, &argv, &argc, err, sizeof(err)), 0);
	assert_int_equal(argc, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_string_equal(argv[i], va_arg(ap, const char *));
	va_end(ap);
	assert_null(argv[n]);
	args_free(argv);
}

static void
expect_error(const char *line, const char *reason)
{
	char **argv, err[128];
	int argc;

	assert_int_equal(args_split(line, &argv, &argc, err, sizeof(err)), -1);
	assert_null(argv);
	assert_non_null(strstr(err, reason));
}

static void
test_plain(void **state)
{
	expect_words("", 0);
	expect_words("   \t ", 0);
	expect_words("list", 1, "list");
	expect_words("  connect   --vm-name=web1  ", 2, "connect", "--vm-name=web1");
}

static void
test_quotes(void **state)
{
	expect_words("connect 'my vm'", 2, "connect", "my vm");
	expect_words("connect \"my vm\"", 2, "connect", "my vm");
	expect_words("a\"b c\"d", 1, "ab cd");
	expect_words("''", 1, "");
	expect_words("\"a\\\"b\"", 1, "a\"b");
	expect_words("'a\\b'", 1, "a\\b");
	expect_words("a\\ b", 1, "a b");
}

static void
test_no_expansion(void **state)
{
	expect_words("$(id) `id` ; | & > * ~", 8, "$(id)", "`id`", ";", "|",
	    "&", ">", "*", "~");
	expect_words("--vm-name=$HOME", 1, "--vm-name=$HOME");
}

static void
test_errors(void **state)
{
	char big[ARGS_MAX_LINE + 2];
	char many[ARGS_MAX_WORDS * 2 + 4];
	int i;

	expect_error("'open", "unterminated single");
	expect_error("\"open", "unterminated double");
	expect_error("trailing\\", "backslash");
	expect_error("a\x1b[2Jb", "control character");
	expect_error("a\rb", "control character");
	/* Tab and newline separate words; quoted or escaped they would land
	 * inside one (found by tests/fuzz/fuzz_args). */
	expect_error("\n\xdd\"\n\"", "control character");
	expect_error("'a\tb'", "control character");
	expect_error("a\\\nb", "control character");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_error(big, "longer than");
	for (i = 0; i < ARGS_MAX_WORDS + 1; i++) {
		many[2 * i] = 'w';
		many[2 * i + 1] = ' ';
	}
	many[2 * i] = '\0';
	expect_error(many, "more than");
}

static void
test_opt(void **state)
{
	assert_string_equal(args_opt("--vm-name=web1", "vm-name"), "web1");
	assert_string_equal(args_opt("--vm-name=", "vm-name"), "");
	assert_string_equal(args_opt("--debug", "debug"), "");
	assert_null(args_opt("--vm-names=x", "vm-name"));
	assert_null(args_opt("-vm-name=x", "vm-name"));
	assert_null(args_opt("vm-name", "vm-name"));
}

static void
test_set_once(void **state)
{
	char *slot = NULL, err[128] = "";

	assert_int_equal(args_set_once(&slot, "a", "--x", true, err,
	    sizeof(err)), 0);
	assert_string_equal(slot, "a");
	assert_int_equal(args_set_once(&slot, "b", "--x", true, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "--x given twice");
	assert_string_equal(slot, "a");
	free(slot);
	slot = NULL;
	assert_int_equal(args_set_once(&slot, "", "--y", true, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "--y is empty");
	assert_null(slot);
	assert_int_equal(args_set_once(&slot, "", "--y", false, err,
	    sizeof(err)), 0);
	assert_string_equal(slot, "");
	free(slot);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_once),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_no_expansion),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_opt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

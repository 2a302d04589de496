/* test_child.c: running helpers with a time limit and an output cap
 * (src/lib/core/child.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "core/child.h"

static void
test_output(void **state)
{
	char *argv[] = { "/bin/echo", "hello", "$(id)", NULL };
	struct child_result r;
	char err[128];

	assert_int_equal(child_run(argv, NULL, 2000, 1024, 0, &r,
	    err, sizeof(err)), 0);
	assert_int_equal(r.status, 0);
	assert_false(r.timed_out);
	assert_false(r.truncated);
	assert_string_equal(r.out, "hello $(id)\n");
	child_result_free(&r);
}

static void
test_status(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "exit 7", NULL };
	char *kill_self[] = { "/bin/sh", "-c", "kill -TERM $$", NULL };
	struct child_result r;
	char err[128];

	assert_int_equal(child_run(argv, NULL, 2000, 1024, 0, &r,
	    err, sizeof(err)), 0);
	assert_int_equal(r.status, 7);
	assert_int_equal(r.out_len, 0);
	child_result_free(&r);
	assert_int_equal(child_run(kill_self, NULL, 2000, 1024, 0,
	    &r, err, sizeof(err)), 0);
	assert_int_equal(r.status, 128 + 15);
	child_result_free(&r);
}

static void
test_timeout(void **state)
{
	/* The grandchild keeps the pipe open: the whole group must die. */
	char *argv[] = { "/bin/sh", "-c", "sleep 30 & sleep 30", NULL };
	char *closes[] = { "/bin/sh", "-c", "exec >&-; sleep 30", NULL };
	struct child_result r;
	struct timespec a, b;
	char err[128];

	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(child_run(argv, NULL, 300, 1024, 0, &r,
	    err, sizeof(err)), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(r.timed_out);
	assert_true(b.tv_sec - a.tv_sec < 3);
	child_result_free(&r);
	/* Closing stdout early does not escape the time limit. */
	assert_int_equal(child_run(closes, NULL, 300, 1024, 0, &r,
	    err, sizeof(err)), 0);
	assert_true(r.timed_out);
	child_result_free(&r);
}

static void
test_cap(void **state)
{
	char *argv[] = { "/usr/bin/yes", NULL };
	struct child_result r;
	char err[128];

	assert_int_equal(child_run(argv, NULL, 5000, 100000, 0, &r,
	    err, sizeof(err)), 0);
	assert_true(r.truncated);
	assert_int_equal(r.out_len, 100000);
	assert_int_equal(strlen(r.out), 100000);
	child_result_free(&r);
}

static void
test_env(void **state)
{
	char *argv[] = { "/usr/bin/env", NULL };
	struct child_result r;
	char err[128];

	assert_int_equal(child_run(argv, NULL, 2000, 4096, 0, &r,
	    err, sizeof(err)), 0);
	assert_string_equal(r.out,
	    "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nLANG=C\n");
	child_result_free(&r);
}

static void
test_missing(void **state)
{
	char *argv[] = { "/nonexistent/helper", NULL };
	struct child_result r;
	char err[128];

	/* posix_spawn reports exec failure either way: as an error or as
	 * status 127; both are failures for the caller. */
	if (child_run(argv, NULL, 2000, 1024, 1, &r, err,
	    sizeof(err)) == 0) {
		assert_int_equal(r.status, 127);
		child_result_free(&r);
	} else {
		assert_non_null(strstr(err, "/nonexistent/helper"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

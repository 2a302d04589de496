/* test_conlock.c: one session per console (src/lib/host/conlock.c): the second
 * taker is told who holds it, a dead holder blocks nobody, the directory is
 * created when missing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "host/conlock.h"

static char base[64];

static int
setup(void **state)
{
	snprintf(base, sizeof(base), "/tmp/sercon-test-conlock-XXXXXX");
	return mkdtemp(base) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	/* Only our own mkdtemp directory, and no shell word in its name. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_busy_names_holder(void **state)
{
	struct conlock a, b;
	struct conlock_holder h;
	char dir[PATH_MAX], err[256];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/run/sercon/lock", base);
	assert_int_equal(conlock_acquire(&a, dir, "vm1.sock", "alice",
	    "Alice Liddell", 1795330873, &h, err, sizeof(err)), CONLOCK_OK);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(conlock_acquire(&b, dir, "vm1.sock", "bob", NULL,
	    1795330999, &h, err, sizeof(err)), CONLOCK_BUSY);
	assert_string_equal(h.entity, "Alice Liddell");
	assert_string_equal(h.since, "2026-11-22 07:01:13 UTC");
	assert_int_equal(h.pid, (long)getpid());
	/* Another console is free. */
	assert_int_equal(conlock_acquire(&b, dir, "vm2.sock", "bob", NULL,
	    1795330999, &h, err, sizeof(err)), CONLOCK_OK);
	conlock_release(&b);
	conlock_release(&a);
	conlock_release(&a);
	assert_int_equal(conlock_acquire(&b, dir, "vm1.sock", "bob", NULL,
	    1795330999, &h, err, sizeof(err)), CONLOCK_OK);
	conlock_release(&b);
}

static void
test_dead_holder(void **state)
{
	struct conlock a;
	struct conlock_holder h;
	char err[256];
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/* Takes the lock and dies without releasing it. */
		_exit(conlock_acquire(&a, base, "vm3.sock", "carol", NULL,
		    1, &h, err, sizeof(err)) == CONLOCK_OK ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(conlock_acquire(&a, base, "vm3.sock", "dave", NULL,
	    2, &h, err, sizeof(err)), CONLOCK_OK);
	conlock_release(&a);
}

static void
test_unusable_dir(void **state)
{
	struct conlock a;
	struct conlock_holder h;
	char file[128], dir[PATH_MAX], err[256];
	FILE *f;

	snprintf(file, sizeof(file), "%s/plain", base);
	assert_non_null(f = fopen(file, "w"));
	fclose(f);
	snprintf(dir, sizeof(dir), "%s/lock", file);
	assert_int_equal(conlock_acquire(&a, dir, "vm1.sock", NULL, NULL, 1,
	    &h, err, sizeof(err)), CONLOCK_ERROR);
	assert_non_null(strstr(err, "cannot create"));
}

static void
test_parse(void **state)
{
	struct conlock_holder h;

	conlock_parse("", &h);
	assert_string_equal(h.entity, "unknown");
	assert_string_equal(h.since, "unknown");
	assert_int_equal(h.pid, 0);
	conlock_parse("pid=12\nentityid=u%40x\nsince=0\n", &h);
	assert_string_equal(h.entity, "u@x");
	assert_string_equal(h.since, "unknown");
	assert_int_equal(h.pid, 12);
	/* A bad escape and a line without '=' are ignored. */
	conlock_parse("junk\nentity=%zz\nentityid=id\nsince=86400", &h);
	assert_string_equal(h.entity, "id");
	assert_string_equal(h.since, "1970-01-02 00:00:00 UTC");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_busy_names_holder),
		cmocka_unit_test(test_dead_holder),
		cmocka_unit_test(test_unusable_dir),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

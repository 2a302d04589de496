/* test_atomic.c: atomic_write (src/lib/core/atomic.c): the new content
 * replaces the old whole, with its mode and the owner or group asked
 * for; a failure leaves the old file and no temporary behind, with errno
 * and a reason; ATOMIC_NOFSYNC writes the same bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "unit_util.h"

#include "core/atomic.h"
#include "core/file.h"

static void
expect_content(const char *path, const char *want)
{
	char *got, err[256];
	size_t len;

	assert_int_equal(file_read(path, 1 << 20, 0, &got, &len, NULL, err,
	    sizeof(err)), 0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(got, want);
	free(got);
}

/* Entries of unit_dir other than the given one (temporaries left behind). */
static int
others(const char *keep)
{
	struct dirent *e;
	DIR *d = opendir(unit_dir);
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && strcmp(e->d_name, keep) != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_create_and_replace(void **state)
{
	char path[128], err[256];
	struct stat st;
	int flags[] = { 0, ATOMIC_NOFSYNC };
	size_t i;

	snprintf(path, sizeof(path), "%s/file", unit_dir);
	for (i = 0; i < 2; i++) {
		assert_int_equal(atomic_write(path, "first\n", 6, 0640,
		    (uid_t)-1, (gid_t)-1, flags[i], err, sizeof(err)), 0);
		expect_content(path, "first\n");
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0640);
		assert_int_equal(atomic_write(path, "second, longer\n", 15,
		    0600, (uid_t)-1, (gid_t)-1, flags[i], err, sizeof(err)), 0);
		expect_content(path, "second, longer\n");
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		assert_int_equal(others("file"), 0);
	}
	/* empty content is content */
	assert_int_equal(atomic_write(path, "", 0, 0644, (uid_t)-1, (gid_t)-1,
	    0, err, sizeof(err)), 0);
	expect_content(path, "");
}

/* An owner or a group alone is set; the other stays the writer's. */
static void
test_owner_and_group(void **state)
{
	char path[128], err[256];
	struct stat st;

	if (geteuid() != 0)
		skip();
	snprintf(path, sizeof(path), "%s/owned", unit_dir);
	assert_int_equal(atomic_write(path, "u", 1, 0644, 1, (gid_t)-1, 0,
	    err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 1);
	assert_int_equal(st.st_gid, getegid());
	assert_int_equal(atomic_write(path, "g", 1, 0644, (uid_t)-1, 2, 0,
	    err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 2);
	expect_content(path, "g");
}

static void
test_replaces_a_link_not_its_target(void **state)
{
	char path[128], target[128], err[256];
	struct stat st;

	snprintf(target, sizeof(target), "%s/target", unit_dir);
	snprintf(path, sizeof(path), "%s/link", unit_dir);
	assert_int_equal(atomic_write(target, "keep", 4, 0644, (uid_t)-1,
	    (gid_t)-1, 0, err, sizeof(err)), 0);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(atomic_write(path, "new", 3, 0644, (uid_t)-1,
	    (gid_t)-1, 0, err, sizeof(err)), 0);
	expect_content(target, "keep");
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	expect_content(path, "new");
}

static void
test_failure_keeps_the_old_file(void **state)
{
	char path[256], sub[128], err[256] = "";

	/* no such directory */
	snprintf(path, sizeof(path), "%s/missing/file", unit_dir);
	errno = 0;
	assert_int_equal(atomic_write(path, "x", 1, 0644, (uid_t)-1,
	    (gid_t)-1, 0, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, path));
	/* the rename fails (a directory is in the way): the directory stays,
	 * and the temporary is removed */
	snprintf(sub, sizeof(sub), "%s/adir", unit_dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/inner", sub);
	assert_int_equal(mkdir(path, 0755), 0);
	errno = 0;
	assert_int_equal(atomic_write(sub, "x", 1, 0644, (uid_t)-1,
	    (gid_t)-1, 0, err, sizeof(err)), -1);
	assert_true(errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST);
	assert_non_null(strstr(err, "cannot write"));
	assert_int_equal(others("adir"), 0);
	/* a path too long for the temporary's name */
	{
		char longp[5000];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[0] = '/';
		longp[sizeof(longp) - 1] = '\0';
		errno = 0;
		assert_int_equal(atomic_write(longp, "x", 1, 0644, (uid_t)-1,
		    (gid_t)-1, 0, err, sizeof(err)), -1);
		assert_int_equal(errno, ENAMETOOLONG);
	}
}

static void
test_large(void **state)
{
	char path[128], err[256], *big, *got;
	size_t len, n = 3 * 1024 * 1024 + 7;

	snprintf(path, sizeof(path), "%s/big", unit_dir);
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'b', n);
	big[n] = '\0';
	assert_int_equal(atomic_write(path, big, n, 0644, (uid_t)-1,
	    (gid_t)-1, ATOMIC_NOFSYNC, err, sizeof(err)), 0);
	assert_int_equal(file_read(path, n, 0, &got, &len, NULL, err,
	    sizeof(err)), 0);
	assert_int_equal(len, n);
	assert_memory_equal(got, big, n);
	free(got);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		unit_dir_test(test_create_and_replace),
		unit_dir_test(test_owner_and_group),
		unit_dir_test(test_replaces_a_link_not_its_target),
		unit_dir_test(test_failure_keeps_the_old_file),
		unit_dir_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

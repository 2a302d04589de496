/* test_toolkit.c: the core helpers every part shares: xmalloc.c (out of
 * memory is one line and exit 1), file.c (whole-file reads with their
 * limits, mkdir -p), mtime.c (the monotonic clock). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "unit_util.h"

#include "core/file.h"
#include "core/log.h"
#include "core/mtime.h"
#include "core/xmalloc.h"

static void
put(const char *name, const void *data, size_t len, char *path, size_t plen)
{
	FILE *f;

	snprintf(path, plen, "%s/%s", unit_dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Runs what in a child with stderr to a pipe; returns its exit status and
 * what it printed. */
static int
in_child(void (*what)(void), char *out, size_t outlen)
{
	int p[2], st;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		log_init("test-toolkit");
		log_set_socket("/nonexistent/log.sock");
		what();
		_exit(0);
	}
	close(p[1]);
	while (len < outlen - 1 &&
	    (n = read(p[0], out + len, outlen - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void
huge_malloc(void)
{
	(void)xmalloc(SIZE_MAX / 2);
}

/* nmemb * size wraps to 8 bytes: the product must be checked, not used. */
static void
overflowing_array(void)
{
	(void)xreallocarray(NULL, SIZE_MAX / 4 + 3, 4);
}

/* The one line xmalloc.c prints, as a whole line of what the child said
 * (a sanitizer may have warned before it). */
static void
expect_oom_line(const char *out)
{
	const char *p = strstr(out, "ERROR: out of memory");

	assert_non_null(p);
	assert_true(p == out || p[-1] == '\n');
	assert_non_null(strchr(p, '\n'));
	assert_null(strstr(strchr(p, '\n') + 1, "ERROR"));
}

static void
test_xmalloc_fatal(void **state)
{
	char out[2048];

	assert_int_equal(in_child(huge_malloc, out, sizeof(out)), 1);
	expect_oom_line(out);
	assert_int_equal(in_child(overflowing_array, out, sizeof(out)), 1);
	expect_oom_line(out);
}

static void
test_xmalloc_ok(void **state)
{
	char *s = xasprintf("%s-%d", "web", 1), *t = xstrndup("abcdef", 3);
	int *v = xcalloc(4, sizeof(*v));
	void *zero = xmalloc(0);

	assert_string_equal(s, "web-1");
	assert_string_equal(t, "abc");
	assert_int_equal(v[3], 0);
	v = xreallocarray(v, 1000, sizeof(*v));
	v[999] = 7;
	assert_non_null(zero);          /* never NULL, even for 0 */
	free(zero);
	free(s);
	free(t);
	free(v);
}

static void
test_file_read(void **state)
{
	char path[128], link[160], err[256], *buf;
	struct stat st;
	size_t len;

	put("ten", "0123456789", 10, path, sizeof(path));
	assert_int_equal(file_read(path, 10, FILE_REGULAR, &buf, &len, &st,
	    err, sizeof(err)), 0);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "0123456789");
	assert_int_equal(st.st_size, 10);
	free(buf);
	/* one byte over the cap */
	errno = 0;
	assert_int_equal(file_read(path, 9, 0, &buf, &len, NULL, err,
	    sizeof(err)), -1);
	assert_int_equal(errno, EFBIG);
	assert_null(buf);
	assert_non_null(strstr(err, "too large"));
	/* a link, refused with FILE_NOFOLLOW only */
	snprintf(link, sizeof(link), "%s/link", unit_dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(file_read(link, 100, 0, &buf, NULL, NULL, err,
	    sizeof(err)), 0);
	free(buf);
	errno = 0;
	assert_int_equal(file_read(link, 100, FILE_NOFOLLOW, &buf, NULL, NULL,
	    err, sizeof(err)), -1);
	assert_int_equal(errno, ELOOP);
	/* a NUL byte, refused with FILE_TEXT only */
	put("nul", "a\0b", 3, path, sizeof(path));
	assert_int_equal(file_read(path, 100, 0, &buf, &len, NULL, err,
	    sizeof(err)), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "a\0b", 4);
	free(buf);
	errno = 0;
	assert_int_equal(file_read(path, 100, FILE_TEXT, &buf, &len, NULL,
	    err, sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "NUL"));
	/* missing: errno says so, the reason names the file */
	snprintf(path, sizeof(path), "%s/missing", unit_dir);
	errno = 0;
	assert_int_equal(file_read(path, 100, 0, &buf, NULL, NULL, err,
	    sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, path));
	/* a directory is not a regular file */
	errno = 0;
	assert_int_equal(file_read(unit_dir, 100, FILE_REGULAR, &buf, NULL, NULL,
	    err, sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_file_read_special(void **state)
{
	char path[128], err[256], *buf;
	long long t0;
	size_t len;

	/* stat says 0 bytes, read says more: the cap still holds */
	assert_int_equal(file_read("/proc/self/status", 1 << 20, 0, &buf,
	    &len, NULL, err, sizeof(err)), 0);
	assert_true(len > 0 && strstr(buf, "Pid:") != NULL);
	free(buf);
	errno = 0;
	assert_int_equal(file_read("/proc/self/status", 10, 0, &buf, &len,
	    NULL, err, sizeof(err)), -1);
	assert_int_equal(errno, EFBIG);
	/* a FIFO nobody writes: FILE_NONBLOCK returns at once, FILE_REGULAR
	 * refuses it */
	snprintf(path, sizeof(path), "%s/fifo", unit_dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	t0 = mtime_ms();
	assert_int_equal(file_read(path, 100, FILE_NONBLOCK, &buf, &len, NULL,
	    err, sizeof(err)), 0);
	assert_int_equal(len, 0);
	free(buf);
	assert_true(mtime_ms() - t0 < 1000);
	assert_int_equal(file_read(path, 100, FILE_NONBLOCK | FILE_REGULAR,
	    &buf, &len, NULL, err, sizeof(err)), -1);
}

static void
test_mkdir_p(void **state)
{
	char path[160], file[160], err[256];
	struct stat st;

	umask(022);
	snprintf(path, sizeof(path), "%s/a/b/c", unit_dir);
	assert_int_equal(file_mkdir_p(path, 0700, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(file, sizeof(file), "%s/a/b", unit_dir);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
	/* again: nothing to do */
	assert_int_equal(file_mkdir_p(path, 0700, err, sizeof(err)), 0);
	/* a trailing slash is the same directory */
	snprintf(path, sizeof(path), "%s/a/b/c/", unit_dir);
	assert_int_equal(file_mkdir_p(path, 0700, err, sizeof(err)), 0);
	/* a file in the way */
	put("plain", "x", 1, file, sizeof(file));
	snprintf(path, sizeof(path), "%s/plain/sub", unit_dir);
	errno = 0;
	assert_int_equal(file_mkdir_p(path, 0700, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_non_null(strstr(err, "cannot create"));
	errno = 0;
	assert_int_equal(file_mkdir_p("", 0700, err, sizeof(err)), -1);
}

static void
test_mtime(void **state)
{
	long long a = mtime_ms(), b;

	assert_true(a > 0);
	usleep(30 * 1000);
	b = mtime_ms();
	assert_true(b - a >= 30 && b - a < 5000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xmalloc_fatal),
		cmocka_unit_test(test_xmalloc_ok),
		unit_dir_test(test_file_read),
		unit_dir_test(test_file_read_special),
		unit_dir_test(test_mkdir_p),
		cmocka_unit_test(test_mtime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_cache.c: the console cache's freshness rules, its back-off after a
 * failure and its distrust of damaged or planted files
 * (src/lib/manager/cache.c), with a scripted manager. close() is wrapped
 * (-Wl,--wrap=close) so that a test can make it fail once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "manager/backoff.h"
#include "manager/cache.h"

/* close() that fails once when armed (after closing: the descriptor is
 * gone either way, as POSIX leaves it on Linux), and counts any later
 * close of that same, still closed, number: a double close. */
int __real_close(int fd);
int __wrap_close(int fd);
static int close_armed, close_failed_fd = -1, double_closes;

int
__wrap_close(int fd)
{
	if (close_failed_fd >= 0 && fd == close_failed_fd) {
		/* the number given out again (a log socket, say) is a new
		 * descriptor; still closed, it is the same one closed twice */
		if (fcntl(fd, F_GETFD) == -1)
			double_closes++;
		else
			close_failed_fd = -1;
	}
	if (close_armed) {
		close_armed = 0;
		(void)__real_close(fd);
		close_failed_fd = fd;
		errno = EIO;
		return -1;
	}
	return __real_close(fd);
}

#define T0 1767323045

/* The scripted manager: fails when mgr_down, counts its calls, and answers
 * one console named after mgr_vm. */
static int mgr_calls;
static int mgr_down;
static const char *mgr_vm = "web1";

static int
fake_fetch(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen)
{
	mgr_calls++;
	if (mgr_down) {
		snprintf(err, errlen, "manager is down");
		return -1;
	}
	return mgr_console_list_add(out, "vm-1", mgr_vm, "hv1.example.com",
	    "vm-1.sock", err, errlen);
}

struct fixture {
	struct sercon_config cfg;
	char dir[64];
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	cfg_defaults(&fx->cfg);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_cache.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	free(fx->cfg.cache_dir);
	fx->cfg.cache_dir = strdup(fx->dir);
	fx->cfg.cache_ttl = 30;
	fx->cfg.cache_stale_max = 600;
	mgr_calls = 0;
	mgr_down = 0;
	mgr_vm = "web1";
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	struct dirent *d;
	char path[512];
	DIR *dir;

	if ((dir = opendir(fx->dir)) != NULL) {
		while ((d = readdir(dir)) != NULL) {
			if (d->d_name[0] == '.' && (d->d_name[1] == '\0' ||
			    !strcmp(d->d_name, "..")))
				continue;
			snprintf(path, sizeof(path), "%s/%s", fx->dir,
			    d->d_name);
			unlink(path);
		}
		closedir(dir);
	}
	chmod(fx->dir, 0700);
	rmdir(fx->dir);
	cfg_free(&fx->cfg);
	free(fx);
	return 0;
}

/* One lookup at time now; returns its result and the VM name served. */
static int
lookup(struct fixture *fx, const char *entity, time_t now, char *name,
    size_t namelen)
{
	struct mgr_console_list l;
	char err[256];
	int rc;

	rc = cache_consoles_at(&fx->cfg, entity, fake_fetch, now, &l, err,
	    sizeof(err));
	if (name != NULL)
		snprintf(name, namelen, "%s", rc == 0 && l.n == 1 ?
		    l.v[0].vm_name : "");
	if (rc != 0) {
		assert_int_equal(l.n, 0);
		/* the manager's own failure, or the back-off after one */
		if (strcmp(err, "manager is down") != 0)
			assert_non_null(strstr(err, "the manager failed less "
			    "than"));
	}
	mgr_console_list_free(&l);
	return rc;
}

/* The path of the one cache file in the directory. */
static void
cache_file(struct fixture *fx, char *path, size_t len)
{
	struct dirent *d;
	DIR *dir = opendir(fx->dir);
	int found = 0;

	assert_non_null(dir);
	while ((d = readdir(dir)) != NULL) {
		if (!strncmp(d->d_name, "consoles-", 9)) {
			snprintf(path, len, "%s/%s", fx->dir, d->d_name);
			found++;
		}
	}
	closedir(dir);
	assert_int_equal(found, 1);
}

static void
test_asked_every_time(void **state)
{
	struct fixture *fx = *state;
	char name[64];

	assert_int_equal(lookup(fx, "alice", T0, name, sizeof(name)), 0);
	assert_string_equal(name, "web1");
	assert_int_equal(mgr_calls, 1);
	/* a change in the manager shows at the next connect, even within
	 * cache_ttl: console lists are never served from the cache while
	 * the manager answers */
	mgr_vm = "web2";
	assert_int_equal(lookup(fx, "alice", T0 + 1, name, sizeof(name)), 0);
	assert_string_equal(name, "web2");
	assert_int_equal(mgr_calls, 2);
	/* another entity has its own entry */
	assert_int_equal(lookup(fx, "bob", T0 + 2, NULL, 0), 0);
	assert_int_equal(mgr_calls, 3);
	/* and the stored answer is the newest one */
	mgr_down = 1;
	assert_int_equal(lookup(fx, "alice", T0 + 3, name, sizeof(name)), 0);
	assert_string_equal(name, "web2");
}

static void
test_stale_while_down(void **state)
{
	struct fixture *fx = *state;
	char name[64];

	assert_int_equal(lookup(fx, "alice", T0, NULL, 0), 0);
	mgr_down = 1;
	/* within cache_stale_max: the last good list */
	assert_int_equal(lookup(fx, "alice", T0 + 300, name, sizeof(name)), 0);
	assert_string_equal(name, "web1");
	assert_int_equal(mgr_calls, 2);
	assert_int_equal(lookup(fx, "alice", T0 + 600, name, sizeof(name)), 0);
	/* beyond it: refused */
	assert_int_equal(lookup(fx, "alice", T0 + 601, NULL, 0), -1);
	/* an entity never served: refused */
	assert_int_equal(lookup(fx, "bob", T0 + 10, NULL, 0), -1);
	/* the manager back: served and refreshed */
	mgr_down = 0;
	assert_int_equal(lookup(fx, "alice", T0 + 700, NULL, 0), 0);
	mgr_down = 1;
	assert_int_equal(lookup(fx, "alice", T0 + 1200, NULL, 0), 0);
}

static void
test_stale_max_zero(void **state)
{
	struct fixture *fx = *state;

	fx->cfg.cache_stale_max = 0;
	assert_int_equal(lookup(fx, "alice", T0, NULL, 0), 0);
	mgr_down = 1;
	assert_int_equal(lookup(fx, "alice", T0 + 1, NULL, 0), -1);
}

static void
test_ttl_zero(void **state)
{
	struct fixture *fx = *state;

	fx->cfg.cache_ttl = 0;
	assert_int_equal(lookup(fx, "alice", T0, NULL, 0), 0);
	assert_int_equal(lookup(fx, "alice", T0, NULL, 0), 0);
	assert_int_equal(mgr_calls, 2);            /* every time */
	mgr_down = 1;
	assert_int_equal(lookup(fx, "alice", T0 + 5, NULL, 0), 0);
	assert_int_equal(mgr_calls, 3);
}

static void
test_stale_max_zero_writes_nothing(void **state)
{
	struct fixture *fx = *state;
	DIR *dir;
	struct dirent *d;
	int files = 0;

	fx->cfg.cache_stale_max = 0;
	assert_int_equal(lookup(fx, "alice", T0, NULL, 0), 0);
	dir = opendir(fx->dir);
	assert_non_null(dir);
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			files++;
	closedir(dir);
	assert_int_equal(files, 0);
	mgr_down = 1;
	assert_int_equal(lookup(fx, "alice", T0 + 1, NULL, 0), -1);
}

static void
flip_last_byte_before(const char *path, size_t from_end)
{
	FILE *f = fopen(path, "r+");
	long size;
	int c;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_int_equal(fseek(f, size - (long)from_end, SEEK_SET), 0);
	c = fgetc(f);
	assert_int_equal(fseek(f, size - (long)from_end, SEEK_SET), 0);
	fputc(c ^ 1, f);
	fclose(f);
}

static void
test_tampered_ignored(void **state)
{
	struct fixture *fx = *state;
	char path[512];

	assert_int_equal(lookup(fx, "alice", T0, NULL, 0), 0);
	cache_file(fx, path, sizeof(path));
	flip_last_byte_before(path, 10);
	/* not trusted when the manager fails */
	mgr_down = 1;
	assert_int_equal(lookup(fx, "alice", T0 + 1, NULL, 0), -1);
	assert_int_equal(mgr_calls, 2);
	/* rewritten good by the next answer (after the back-off window):
	 * trusted again */
	mgr_down = 0;
	assert_int_equal(lookup(fx, "alice", T0 + 2 + MGR_BACKOFF, NULL, 0),
	    0);
	mgr_down = 1;
	assert_int_equal(lookup(fx, "alice", T0 + 40 + MGR_BACKOFF, NULL, 0),
	    0);
	flip_last_byte_before(path, 3);
	assert_int_equal(lookup(fx, "alice", T0 + 41 + MGR_BACKOFF, NULL, 0),
	    -1);
}

static void
test_truncated_and_garbage_ignored(void **state)
{
	struct fixture *fx = *state;
	char path[512];

	assert_int_equal(lookup(fx, "alice", T0, NULL, 0), 0);
	cache_file(fx, path, sizeof(path));
	mgr_down = 1;
	assert_int_equal(truncate(path, 40), 0);
	assert_int_equal(lookup(fx, "alice", T0 + 1, NULL, 0), -1);
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(lookup(fx, "alice", T0 + 1, NULL, 0), -1);
	/* a symlink in its place is not followed */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(lookup(fx, "alice", T0 + 1, NULL, 0), -1);
}

static void
test_other_entity_file_ignored(void **state)
{
	struct fixture *fx = *state;
	char alice[512], bob[512];

	/* bob's verified file copied over alice's name does not serve alice */
	assert_int_equal(lookup(fx, "alice", T0, NULL, 0), 0);
	cache_file(fx, alice, sizeof(alice));
	assert_int_equal(rename(alice, "/tmp/test_cache_alice"), 0);
	assert_int_equal(lookup(fx, "bob", T0, NULL, 0), 0);
	cache_file(fx, bob, sizeof(bob));
	assert_int_equal(rename(bob, alice), 0);
	unlink("/tmp/test_cache_alice");
	mgr_down = 1;
	assert_int_equal(lookup(fx, "alice", T0 + 1, NULL, 0), -1);
}

static void
test_key_replaced_ignored(void **state)
{
	struct fixture *fx = *state;
	char path[512];
	FILE *f;

	assert_int_equal(lookup(fx, "alice", T0, NULL, 0), 0);
	snprintf(path, sizeof(path), "%s/cache.key", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("0123456789abcdef0123456789abcdef", f);
	fclose(f);
	mgr_down = 1;
	assert_int_equal(lookup(fx, "alice", T0 + 1, NULL, 0), -1);
}

static void
test_clock_ahead_ignored(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(lookup(fx, "alice", T0 + 1000, NULL, 0), 0);
	mgr_down = 1;
	/* written "in the future" (beyond the slack): its age is unknown */
	assert_int_equal(lookup(fx, "alice", T0, NULL, 0), -1);
	assert_int_equal(lookup(fx, "alice", T0 + 996, NULL, 0), 0);
}

static void
test_unwritable_dir(void **state)
{
	struct fixture *fx = *state;

	free(fx->cfg.cache_dir);
	fx->cfg.cache_dir = strdup("/nonexistent/sercon-cache");
	assert_int_equal(lookup(fx, "alice", T0, NULL, 0), 0);
	assert_int_equal(lookup(fx, "alice", T0, NULL, 0), 0);
	assert_int_equal(mgr_calls, 2);
	mgr_down = 1;
	assert_int_equal(lookup(fx, "alice", T0, NULL, 0), -1);
}

static void
test_file_names_are_safe(void **state)
{
	struct fixture *fx = *state;
	char path[512];
	const char *base;

	assert_int_equal(lookup(fx, "../../etc/x y", T0, NULL, 0), 0);
	cache_file(fx, path, sizeof(path));
	base = strrchr(path, '/') + 1;
	assert_int_equal(strlen(base), strlen("consoles-") + 64);
	assert_int_equal(strspn(base + 9, "0123456789abcdef"), 64);
}

/* After a failure the manager is not asked for MGR_BACKOFF seconds: the
 * stale answer comes at once (a hung manager costs one timeout per
 * window), and an entity without one is refused at once. */
static void
test_backoff_window(void **state)
{
	struct fixture *fx = *state;
	char name[64];
	int t;

	assert_int_equal(lookup(fx, "alice", T0, NULL, 0), 0);
	mgr_down = 1;
	assert_int_equal(lookup(fx, "alice", T0 + 100, name, sizeof(name)), 0);
	assert_int_equal(mgr_calls, 2);
	for (t = 1; t < MGR_BACKOFF; t += 7) {
		assert_int_equal(lookup(fx, "alice", T0 + 100 + t, name,
		    sizeof(name)), 0);
		assert_string_equal(name, "web1");
		assert_int_equal(lookup(fx, "bob", T0 + 100 + t, NULL, 0), -1);
	}
	assert_int_equal(mgr_calls, 2);
	assert_int_equal(mgr_backoff_left(&fx->cfg, T0 + 101),
	    MGR_BACKOFF - 1);
	/* the window over: asked again (and the failure opens another) */
	assert_int_equal(lookup(fx, "alice", T0 + 100 + MGR_BACKOFF, NULL, 0),
	    0);
	assert_int_equal(mgr_calls, 3);
	/* a success closes it */
	mgr_down = 0;
	assert_int_equal(lookup(fx, "alice", T0 + 200, NULL, 0), 0);
	assert_int_equal(mgr_backoff_left(&fx->cfg, T0 + 201), 0);
}

/* A file's age is also its modification time's: an entry can be made to
 * look older (as the integration tests age it), never younger. */
static void
test_mtime_ages_entry(void **state)
{
	struct fixture *fx = *state;
	struct timespec ts[2] = { { T0 - 1000, 0 }, { T0 - 1000, 0 } };
	char path[512];

	assert_int_equal(lookup(fx, "alice", T0, NULL, 0), 0);
	cache_file(fx, path, sizeof(path));
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	mgr_down = 1;
	/* fetched at T0 by its content, 1000 s before by its time: 1010 s
	 * old, beyond cache_stale_max */
	assert_int_equal(lookup(fx, "alice", T0 + 10, NULL, 0), -1);
}

/* A close() that fails while the cache key is made closes the
 * descriptor once (it used to be closed twice: the second close could
 * hit a descriptor another thread had just opened). */
static void
test_close_failure_closes_once(void **state)
{
	struct fixture *fx = *state;
	struct mgr_console_list l;
	char err[256];

	double_closes = 0;
	close_failed_fd = -1;
	close_armed = 1;               /* the first close: the new key's */
	assert_int_equal(cache_consoles_at(&fx->cfg, "alice", fake_fetch, T0,
	    &l, err, sizeof(err)), 0);
	mgr_console_list_free(&l);
	close_failed_fd = -1;
	assert_int_equal(close_armed, 0);
	assert_int_equal(double_closes, 0);
}

/* Planted files in cache_dir: a FIFO (which would block an open for
 * reading until the helper's alarm) is never waited on, and a cache key
 * of the wrong size or kind is replaced, not left to disable the stale
 * answers for good. */
static void
test_planted_fifo_and_bad_key(void **state)
{
	struct fixture *fx = *state;
	char path[512], key[512];
	struct stat st;
	time_t t0 = time(NULL);
	FILE *f;

	alarm(20);                     /* a hang is a failure, not a stall */
	assert_int_equal(lookup(fx, "alice", T0, NULL, 0), 0);
	cache_file(fx, path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	mgr_down = 1;
	assert_int_equal(lookup(fx, "alice", T0 + 1, NULL, 0), -1);
	assert_true(time(NULL) - t0 < 3);

	/* the key a FIFO: replaced by a good key at the next store */
	mgr_down = 0;
	assert_int_equal(unlink(path), 0);
	snprintf(key, sizeof(key), "%s/cache.key", fx->dir);
	assert_int_equal(unlink(key), 0);
	assert_int_equal(mkfifo(key, 0600), 0);
	assert_int_equal(lookup(fx, "alice", T0 + 100, NULL, 0), 0);
	assert_int_equal(lstat(key, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 32);
	mgr_down = 1;
	assert_int_equal(lookup(fx, "alice", T0 + 101, NULL, 0), 0);

	/* the key of the wrong size: the same */
	mgr_down = 0;
	f = fopen(key, "w");
	assert_non_null(f);
	fputs("short", f);
	fclose(f);
	assert_int_equal(lookup(fx, "alice", T0 + 200, NULL, 0), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_size, 32);
	mgr_down = 1;
	assert_int_equal(lookup(fx, "alice", T0 + 201, NULL, 0), 0);
	assert_true(time(NULL) - t0 < 3);
	alarm(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_asked_every_time, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stale_while_down, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stale_max_zero, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ttl_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_max_zero_writes_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_ignored, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_truncated_and_garbage_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_entity_file_ignored,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_replaced_ignored, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_clock_ahead_ignored, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_backoff_window, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mtime_ages_entry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_close_failure_closes_once,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_planted_fifo_and_bad_key,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_names_are_safe, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

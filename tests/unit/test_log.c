/* test_log.c: one escaped line per event on the syslog socket
 * (src/lib/core/log.c); bursts are not lost, a stuck or absent daemon
 * costs a bounded time and is owned up to in a "dropped" line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "unit_util.h"

#include "core/log.h"
#include "core/mtime.h"

static char sock_path[64];
static int sock_fd = -1;

static int
setup(void **state)
{
	struct timeval tv = { 2, 0 };

	snprintf(sock_path, sizeof(sock_path), "/tmp/sercon-log-%ld.sock",
	    (long)getpid());
	sock_fd = unit_dgram_bind(sock_path);
	setsockopt(sock_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	log_init("/usr/libexec/sercon/test-log");
	log_set_socket(sock_path);
	return 0;
}

static int
teardown(void **state)
{
	close(sock_fd);
	unlink(sock_path);
	return 0;
}

static void
recv_line(char *buf, size_t len)
{
	ssize_t n = recv(sock_fd, buf, len - 1, 0);

	assert_true(n > 0);
	buf[n] = '\0';
}

static void
test_format(void **state)
{
	char buf[2048], want[64];

	log_info("console %s opened by %s", "web1", "alice");
	recv_line(buf, sizeof(buf));
	/* authpriv (10 << 3) | info (6) */
	assert_true(strncmp(buf, "<86>", 4) == 0);
	snprintf(want, sizeof(want), " test-log[%ld]: ", (long)getpid());
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "console web1 opened by alice"));
	log_error("x");
	recv_line(buf, sizeof(buf));
	assert_true(strncmp(buf, "<83>", 4) == 0);
}

static void
test_fold(void **state)
{
	char buf[2048];

	log_warn("name %s", "evil\nDec 1 00:00:00 host sshd[1]: forged\x1b[2J");
	recv_line(buf, sizeof(buf));
	assert_null(strchr(buf, '\n'));
	assert_null(strchr(buf, '\x1b'));
	assert_non_null(strstr(buf, "evil\\nDec 1"));
	assert_non_null(strstr(buf, "forged\\x1b[2J"));
}

static void
test_debug_gate(void **state)
{
	char buf[2048];

	log_set_debug(false);
	log_debug("hidden");
	log_info("shown");
	recv_line(buf, sizeof(buf));
	assert_non_null(strstr(buf, "shown"));
	log_set_debug(true);
	assert_true(log_debug_enabled());
	log_debug("now %d", 1);
	recv_line(buf, sizeof(buf));
	assert_true(strncmp(buf, "<87>", 4) == 0);
	assert_non_null(strstr(buf, "now 1"));
	log_set_debug(false);
}

static void
test_long(void **state)
{
	char buf[4096], *big = malloc(5000);

	memset(big, 'x', 4999);
	big[4999] = '\0';
	log_info("%s", big);
	recv_line(buf, sizeof(buf));
	assert_true(strlen(buf) < 1200);
	free(big);
}

/* Reads what is queued on the test socket without waiting. */
static int
drain(void)
{
	char buf[2048];
	int n = 0;

	while (recv(sock_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		n++;
	return n;
}

static void
test_no_daemon(void **state)
{
	char buf[2048], path[80];
	long long t0;
	int i, fd;

	/* Nobody listening: logging neither fails nor blocks... */
	snprintf(path, sizeof(path), "%s.later", sock_path);
	unlink(path);
	log_set_socket(path);
	t0 = mtime_ms();
	for (i = 0; i < 100; i++)
		log_error("into the void %d", i);
	assert_true(mtime_ms() - t0 < 500);
	/* ...and when a daemon comes (back), the loss is its first line. */
	fd = unit_dgram_bind(path);
	log_info("after the void");
	assert_true(recv(fd, buf, sizeof(buf) - 1, 0) > 0);
	assert_non_null(strstr(buf, "100 log lines dropped"));
	memset(buf, 0, sizeof(buf));
	assert_true(recv(fd, buf, sizeof(buf) - 1, 0) > 0);
	assert_non_null(strstr(buf, "after the void"));
	close(fd);
	unlink(path);
	log_set_socket(sock_path);
}

/* issue 13: a burst larger than the daemon's queue (net.unix.max_dgram_qlen,
 * 10 by default) arrives whole when the daemon reads a little later. */
static void
test_burst(void **state)
{
	char buf[2048], want[32];
	pid_t pid;
	int i, st;

	drain();
	if ((pid = fork()) == 0) {
		for (i = 0; i < 40; i++)
			log_info("audit line %d", i);
		_exit(0);
	}
	assert_true(pid > 0);
	usleep(50 * 1000);
	for (i = 0; i < 40; i++) {
		recv_line(buf, sizeof(buf));
		snprintf(want, sizeof(want), "audit line %d", i);
		assert_non_null(strstr(buf, want));
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(drain(), 0);
}

/* A daemon that never reads: one short wait, then the lines are dropped
 * without waiting (the console stays responsive), then counted. */
static void
test_stuck_daemon(void **state)
{
	char buf[2048], want[64];
	long long t0;
	int i, queued;

	drain();
	t0 = mtime_ms();
	for (i = 0; i < 40; i++)
		log_info("stuck %d", i);
	assert_true(mtime_ms() - t0 < 1000);
	queued = drain();
	assert_true(queued >= 1 && queued < 40);
	log_info("reading again");
	recv_line(buf, sizeof(buf));
	snprintf(want, sizeof(want), "%d log lines dropped", 40 - queued);
	assert_non_null(strstr(buf, want));
	recv_line(buf, sizeof(buf));
	assert_non_null(strstr(buf, "reading again"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_debug_gate),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_no_daemon),
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_stuck_daemon),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_log.c: one escaped line per event on the syslog socket (src/lib/core/log.c). */
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
#include <cmocka.h>

#include "core/log.h"

static char sock_path[64];
static int sock_fd = -1;

static int
setup(void **state)
{
	struct sockaddr_un sa;
	struct timeval tv = { 2, 0 };

	snprintf(sock_path, sizeof(sock_path), "/tmp/sercon-log-%ld.sock",
	    (long)getpid());
	unlink(sock_path);
	sock_fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(sock_fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, sock_path);
	assert_int_equal(bind(sock_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
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

static void
test_no_daemon(void **state)
{
	/* Nobody listening: logging must neither fail nor block. */
	log_set_socket("/nonexistent/log.sock");
	log_error("into the void");
	log_set_socket(sock_path);
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
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

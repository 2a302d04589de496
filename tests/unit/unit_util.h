/* unit_util.h: what several unit tests need around the code under test: a
 * scratch directory, and a datagram socket standing for syslog. Header
 * only; include after <cmocka.h>. */
#ifndef SERCON_UNIT_UTIL_H
#define SERCON_UNIT_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

/* The scratch directory of a test: made fresh by unit_dir_setup, removed
 * with what the test left in it by unit_dir_teardown (cmocka's setup and
 * teardown functions). */
static char unit_dir[64] __attribute__((unused));

static inline int
unit_dir_setup(void **state)
{
	snprintf(unit_dir, sizeof(unit_dir), "/tmp/sercon-unit-XXXXXX");
	assert_non_null(mkdtemp(unit_dir));
	return 0;
}

static inline int
unit_dir_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", unit_dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* A cmocka test with its own scratch directory. */
#define unit_dir_test(f) \
	cmocka_unit_test_setup_teardown(f, unit_dir_setup, unit_dir_teardown)

/* A datagram socket bound at path (replacing what was there). */
static inline int
unit_dgram_bind(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	unlink(path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

#endif

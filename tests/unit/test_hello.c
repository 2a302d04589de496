/* test_hello.c: the session hello (src/lib/host/hello.c): what the host
 * shell writes, the daemon reads back the same; what a hostile client
 * writes is refused at this edge. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "host/hello.h"

static void
test_round_trip(void **state)
{
	struct sess_hello h, back;
	char buf[1024], err[128];
	int n;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.request = HELLO_ATTACH;
	strcpy(h.console, "6f1c-aa.sock");
	strcpy(h.entity_id, "a1b2-c3");
	strcpy(h.entity, "Alice Liddell");
	strcpy(h.peer, "192.0.2.7:51000");
	h.mode = SESS_TAKEOVER;
	h.replay.kind = REPLAY_LINES;
	h.replay.lines = 50;
	n = hello_format(&h, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, "sercon 1 console=6f1c-aa.sock "
	    "entity_id=a1b2-c3 entity=Alice%20Liddell mode=takeover "
	    "replay=50 peer=192.0.2.7%3A51000");
	assert_int_equal(hello_parse(buf, &back, err, sizeof(err)), 0);
	assert_memory_equal(&h, &back, sizeof(h));
	/* Too small a buffer is refused, not overrun or cut, to the byte. */
	assert_int_equal(hello_format(&h, buf, 20), -1);
	assert_int_equal(hello_format(&h, buf, (size_t)n), -1);
	assert_int_equal(hello_format(&h, buf, (size_t)n + 1), n);
}

static void
test_defaults_and_status(void **state)
{
	struct sess_hello h;
	char err[128];

	(void)state;
	assert_int_equal(hello_parse("sercon 1 console=vm1.sock newkey=x", &h,
	    err, sizeof(err)), 0);
	assert_int_equal(h.mode, SESS_RW);
	assert_int_equal(h.replay.kind, REPLAY_DEFAULT);
	assert_string_equal(h.peer, "unknown");
	assert_string_equal(h.entity, "");
	assert_int_equal(hello_parse("sercon 1 request=status", &h, err,
	    sizeof(err)), 0);
	assert_int_equal(h.request, HELLO_STATUS);
}

static void
test_hostile_hellos(void **state)
{
	static const char *const bad[] = {
		"",
		"sercon 2 console=vm1",
		"sercon 10 console=vm1",
		"sercon 10=1 console=vm1",             /* not version 1 */
		"sercon 1",                            /* no console */
		"sercon 1 console=../etc/passwd",
		"sercon 1 console=%2Fetc%2Fpasswd",
		"sercon 1 console=vm1 mode=god",
		"sercon 1 console=vm1 replay=-1",
		"sercon 1 console=vm1 replay=9999999",
		"sercon 1 console=vm1 entity=a%0Ab",   /* a line break */
		"sercon 1 console=vm1 entity=%",       /* broken escape */
		"sercon 1 console=vm1 peer=1.2.3.4;rm",
		/* an empty peer did not survive formatting (tests/fuzz) */
		"sercon 1 console=vm1 peer=",
		"sercon 1 console=vm1 request=shell",
		"sercon 1 console=vm1 junk",
	};
	struct sess_hello h;
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (hello_parse(bad[i], &h, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_true(err[0] != '\0');
	}
}

static void
test_replay_spellings(void **state)
{
	struct replay_spec r;
	char buf[16];

	(void)state;
	assert_int_equal(replay_parse("0", &r), 0);
	assert_int_equal(r.kind, REPLAY_LINES);
	assert_int_equal(r.lines, 0);
	assert_int_equal(replay_parse("all", &r), 0);
	assert_int_equal(r.kind, REPLAY_ALL);
	assert_int_equal(replay_parse("arrival", &r), 0);
	assert_int_equal(r.kind, REPLAY_ARRIVAL);
	replay_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "arrival");
	assert_int_equal(replay_parse("100000", &r), 0);
	assert_int_equal(replay_parse("100001", &r), -1);
	assert_int_equal(replay_parse("12x", &r), -1);
	assert_int_equal(replay_parse("", &r), -1);
	assert_int_equal(replay_parse("+5", &r), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_defaults_and_status),
		cmocka_unit_test(test_hostile_hellos),
		cmocka_unit_test(test_replay_spellings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

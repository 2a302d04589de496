/* test_ring.c: the scrollback ring (src/lib/host/ring.c): wrap-around,
 * offsets of readers that fell out, the last N lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "host/ring.h"

/* Copies what the ring holds from off into buf. */
static size_t
read_from(const struct ring *r, uint64_t off, char *buf, size_t len)
{
	size_t got = 0, n;
	const uint8_t *p;

	while ((n = ring_peek(r, off, &p)) > 0 && got + n < len) {
		memcpy(buf + got, p, n);
		got += n;
		off += n;
	}
	buf[got] = '\0';
	return got;
}

static void
test_empty_costs_nothing(void **state)
{
	struct ring r;
	const uint8_t *p;

	(void)state;
	ring_init(&r, 16);
	assert_null(r.buf);
	assert_int_equal(ring_used(&r), 0);
	assert_int_equal(ring_peek(&r, 0, &p), 0);
	assert_int_equal(ring_lines_back(&r, 5), 0);
	ring_free(&r);
}

static void
test_wraps_and_keeps_newest(void **state)
{
	struct ring r;
	char buf[64];

	(void)state;
	ring_init(&r, 8);
	ring_put(&r, (const uint8_t *)"abcdef", 6);
	ring_put(&r, (const uint8_t *)"ghij", 4);
	assert_int_equal(r.total, 10);
	assert_int_equal(ring_start(&r), 2);
	assert_int_equal(ring_used(&r), 8);
	read_from(&r, ring_start(&r), buf, sizeof(buf));
	assert_string_equal(buf, "cdefghij");
	/* A reader at offset 1 fell out: nothing is served from there. */
	assert_int_equal(read_from(&r, 1, buf, sizeof(buf)), 0);
	read_from(&r, 7, buf, sizeof(buf));
	assert_string_equal(buf, "hij");
	/* More than the ring at once: the newest cap bytes stay. */
	ring_put(&r, (const uint8_t *)"0123456789ABC", 13);
	assert_int_equal(r.total, 23);
	read_from(&r, ring_start(&r), buf, sizeof(buf));
	assert_string_equal(buf, "56789ABC");
	ring_free(&r);
}

static void
test_lines_back(void **state)
{
	struct ring r;
	char buf[128];
	const char *text = "l1\r\nl2\r\nl3\r\n";

	(void)state;
	ring_init(&r, 64);
	ring_put(&r, (const uint8_t *)text, strlen(text));
	read_from(&r, ring_lines_back(&r, 1), buf, sizeof(buf));
	assert_string_equal(buf, "l3\r\n");
	read_from(&r, ring_lines_back(&r, 2), buf, sizeof(buf));
	assert_string_equal(buf, "l2\r\nl3\r\n");
	read_from(&r, ring_lines_back(&r, 99), buf, sizeof(buf));
	assert_string_equal(buf, text);
	assert_int_equal(ring_lines_back(&r, 0), r.total);
	/* A prompt without its newline is a line of its own. */
	ring_put(&r, (const uint8_t *)"login: ", 7);
	read_from(&r, ring_lines_back(&r, 1), buf, sizeof(buf));
	assert_string_equal(buf, "login: ");
	read_from(&r, ring_lines_back(&r, 2), buf, sizeof(buf));
	assert_string_equal(buf, "l3\r\nlogin: ");
	ring_free(&r);
}

static void
test_lines_back_stops_at_the_oldest_byte(void **state)
{
	struct ring r;
	char buf[64];

	(void)state;
	ring_init(&r, 8);
	ring_put(&r, (const uint8_t *)"aaaa\nbbbbbbbbbbb\ncc\n", 20);
	/* The ring holds the last 8 bytes only. */
	read_from(&r, ring_lines_back(&r, 5), buf, sizeof(buf));
	assert_string_equal(buf, "bbbb\ncc\n");
	ring_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_costs_nothing),
		cmocka_unit_test(test_wraps_and_keeps_newest),
		cmocka_unit_test(test_lines_back),
		cmocka_unit_test(test_lines_back_stops_at_the_oldest_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

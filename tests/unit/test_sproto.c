/* test_sproto.c: the session protocol's framing (src/lib/core/sproto.c):
 * every byte value round-trips, a stream cut at every position decodes the
 * same, messages come out whole, malformed input is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/sproto.h"

/* Decodes a whole stream fed in pieces of `step` bytes into data and a
 * text log of the messages ("T:payload;"). Returns the last rc. */
static int
decode_all(const uint8_t *in, size_t inlen, size_t step, uint8_t *data,
    size_t datacap, size_t *datalen, char *msgs, size_t msgslen)
{
	struct sproto_dec d;
	size_t off = 0;
	int rc = SPROTO_NEED;

	sproto_dec_init(&d);
	*datalen = 0;
	msgs[0] = '\0';
	while (off < inlen) {
		const uint8_t *p = in + off;
		size_t n = inlen - off < step ? inlen - off : step, left = n;

		while (left > 0) {
			rc = sproto_decode(&d, &p, &left, data, datacap,
			    datalen);
			if (rc == SPROTO_ERR)
				return rc;
			if (rc == SPROTO_MSG) {
				size_t l = strlen(msgs);

				snprintf(msgs + l, msgslen - l, "%c:%s;",
				    d.type, (char *)d.payload);
			} else if (left > 0)
				fail_msg("decoder stopped with room left");
		}
		off += n;
	}
	return rc;
}

static void
test_every_byte_round_trips(void **state)
{
	uint8_t in[512], enc[1024], out[512];
	size_t enclen = 0, outlen, i;
	char msgs[16];

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i & 0xff);
	assert_int_equal(sproto_encode_data(in, sizeof(in), enc, sizeof(enc),
	    &enclen), sizeof(in));
	/* Two 0xFF in the input: each doubled. */
	assert_int_equal(enclen, sizeof(in) + 2);
	for (i = 1; i <= 64; i++) {
		assert_int_equal(decode_all(enc, enclen, i, out, sizeof(out),
		    &outlen, msgs, sizeof(msgs)), SPROTO_NEED);
		assert_int_equal(outlen, sizeof(in));
		assert_memory_equal(out, in, sizeof(in));
		assert_string_equal(msgs, "");
	}
}

static void
test_messages_between_data(void **state)
{
	uint8_t buf[256], out[64];
	size_t len = 0, outlen, step;
	char msgs[128];
	int n;

	(void)state;
	sproto_encode_data((const uint8_t *)"ab\xff", 3, buf, sizeof(buf),
	    &len);
	n = sproto_encode_msg(SP_NOTICE, "vm1: console closed", 19,
	    buf + len, sizeof(buf) - len);
	assert_int_equal(n, SPROTO_HDR + 19);
	len += (size_t)n;
	n = sproto_encode_msg(SP_BREAK, NULL, 0, buf + len, sizeof(buf) - len);
	assert_int_equal(n, SPROTO_HDR);
	len += (size_t)n;
	sproto_encode_data((const uint8_t *)"c", 1, buf, sizeof(buf), &len);
	for (step = 1; step <= len; step++) {
		assert_int_equal(decode_all(buf, len, step, out, sizeof(out),
		    &outlen, msgs, sizeof(msgs)), SPROTO_NEED);
		assert_int_equal(outlen, 4);
		assert_memory_equal(out, "ab\xff" "c", 4);
		assert_string_equal(msgs, "N:vm1: console closed;B:;");
	}
}

static void
test_payload_limits(void **state)
{
	uint8_t big[SPROTO_MAX_PAYLOAD + 1], buf[SPROTO_MAX_PAYLOAD + 16];
	uint8_t bad[] = { 0xff, 'N', 0x04, 0x01 };     /* LEN 1025 */
	uint8_t out[16];
	size_t outlen = 0, inlen;
	const uint8_t *p;
	struct sproto_dec d;

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(sproto_encode_msg(SP_NOTICE, big, sizeof(big), buf,
	    sizeof(buf)), -1);
	assert_int_equal(sproto_encode_msg(SP_NOTICE, big, SPROTO_MAX_PAYLOAD,
	    buf, sizeof(buf)), SPROTO_HDR + SPROTO_MAX_PAYLOAD);
	/* The largest payload decodes whole. */
	sproto_dec_init(&d);
	p = buf;
	inlen = SPROTO_HDR + SPROTO_MAX_PAYLOAD;
	assert_int_equal(sproto_decode(&d, &p, &inlen, out, sizeof(out),
	    &outlen), SPROTO_MSG);
	assert_int_equal(inlen, 0);
	assert_int_equal(d.type, SP_NOTICE);
	assert_int_equal(d.len, SPROTO_MAX_PAYLOAD);
	assert_memory_equal(d.payload, big, SPROTO_MAX_PAYLOAD);
	assert_int_equal(outlen, 0);
	/* 0xFF is never a type; a small buffer is refused, not overrun. */
	assert_int_equal(sproto_encode_msg(0xff, NULL, 0, buf, sizeof(buf)),
	    -1);
	assert_int_equal(sproto_encode_msg(SP_NOTICE, "abc", 3, buf, 6), -1);
	sproto_dec_init(&d);
	p = bad;
	inlen = sizeof(bad);
	assert_int_equal(sproto_decode(&d, &p, &inlen, out, sizeof(out),
	    &outlen), SPROTO_ERR);
	/* Broken for good: later input is refused too. */
	p = (const uint8_t *)"abc";
	inlen = 3;
	assert_int_equal(sproto_decode(&d, &p, &inlen, out, sizeof(out),
	    &outlen), SPROTO_ERR);
	assert_int_equal(outlen, 0);
}

static void
test_full_output_keeps_state(void **state)
{
	const uint8_t in[] = { 'a', 0xff, 0xff, 'b', 'c' };
	uint8_t out[8];
	const uint8_t *p = in;
	size_t inlen = sizeof(in), outlen = 0;
	struct sproto_dec d;

	(void)state;
	sproto_dec_init(&d);
	/* Room for one byte: 'a' comes out, the rest waits. */
	assert_int_equal(sproto_decode(&d, &p, &inlen, out, 1, &outlen),
	    SPROTO_NEED);
	assert_int_equal(outlen, 1);
	/* Nothing more is taken while the buffer stays full. */
	assert_int_equal(sproto_decode(&d, &p, &inlen, out, 1, &outlen),
	    SPROTO_NEED);
	assert_int_equal(sproto_decode(&d, &p, &inlen, out, sizeof(out),
	    &outlen), SPROTO_NEED);
	assert_int_equal(inlen, 0);
	assert_int_equal(outlen, 4);
	assert_memory_equal(out, "a\xff" "bc", 4);
	/* The stream cut inside the doubled 0xFF, the output full when its
	 * second half comes: nothing is written past outcap, and the 0xFF
	 * comes out once there is room. */
	sproto_dec_init(&d);
	memset(out, 0, sizeof(out));
	outlen = 0;
	p = in;
	inlen = 2;
	assert_int_equal(sproto_decode(&d, &p, &inlen, out, sizeof(out),
	    &outlen), SPROTO_NEED);
	assert_int_equal(outlen, 1);
	inlen = sizeof(in) - 2;
	assert_int_equal(sproto_decode(&d, &p, &inlen, out, 1, &outlen),
	    SPROTO_NEED);
	assert_int_equal(outlen, 1);
	assert_int_equal(out[1], 0);
	assert_int_equal(sproto_decode(&d, &p, &inlen, out, sizeof(out),
	    &outlen), SPROTO_NEED);
	assert_int_equal(outlen, 4);
	assert_memory_equal(out, "a\xff" "bc", 4);
}

static void
test_encode_data_small_output(void **state)
{
	const uint8_t in[] = { 'a', 0xff, 'b' };
	uint8_t out[8];
	size_t outlen = 0;

	(void)state;
	/* Room for 'a' and half of the doubled 0xFF: stops before it. */
	assert_int_equal(sproto_encode_data(in, sizeof(in), out, 2, &outlen),
	    1);
	assert_int_equal(outlen, 1);
	assert_int_equal(sproto_encode_data(in + 1, 2, out, sizeof(out),
	    &outlen), 2);
	assert_int_equal(outlen, 4);
	assert_memory_equal(out, "a\xff\xff" "b", 4);
}

static void
test_random_streams(void **state)
{
	static uint8_t in[65536], enc[2 * 65536 + 64], out[65536];
	size_t enclen = 0, outlen, i;
	char msgs[64];
	unsigned seed = 12345;

	(void)state;
	for (i = 0; i < sizeof(in); i++) {
		seed = seed * 1103515245u + 12345u;
		/* Many 0xFF, to exercise the escaping. */
		in[i] = (seed >> 16) % 7 == 0 ? 0xff : (uint8_t)(seed >> 8);
	}
	assert_int_equal(sproto_encode_data(in, sizeof(in), enc, sizeof(enc),
	    &enclen), sizeof(in));
	assert_int_equal(decode_all(enc, enclen, 4093, out, sizeof(out),
	    &outlen, msgs, sizeof(msgs)), SPROTO_NEED);
	assert_int_equal(outlen, sizeof(in));
	assert_memory_equal(out, in, sizeof(in));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte_round_trips),
		cmocka_unit_test(test_messages_between_data),
		cmocka_unit_test(test_payload_limits),
		cmocka_unit_test(test_full_output_keeps_state),
		cmocka_unit_test(test_encode_data_small_output),
		cmocka_unit_test(test_random_streams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

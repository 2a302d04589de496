/* fuzz_sproto.c: libFuzzer target of the session protocol (src/lib/core/
 * sproto.c). Two properties, on the same input:
 *  - the decoder gives the same console bytes, the same messages and the
 *    same verdict however the stream is cut and however small the output
 *    buffer (a PRNG seeded from the input picks the cuts), and it honours
 *    its contract: SPROTO_NEED with input left means the output is full;
 *  - round trip: the input read as a script of console bytes and messages,
 *    encoded with sproto_encode_data (into small buffers, so it stops
 *    part-way) and sproto_encode_msg, decodes to exactly that script.
 * Input: a seed byte, an output-size byte, then the stream / script. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sproto.h"
#include "fuzz.h"

struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void
put(struct bytes *b, const void *data, size_t n)
{
	if (b->cap - b->len < n) {
		size_t ncap = b->cap * 2 + n + 64;

		if ((b->p = realloc(b->p, ncap)) == NULL)
			abort();
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}

/* What a stream decodes to: console bytes, messages as TYPE LEN16 PAYLOAD,
 * and whether it ended in an error. */
struct result {
	struct bytes data, msgs;
	int err;
};

static void
put_msg(struct bytes *b, uint8_t type, const uint8_t *payload, size_t len)
{
	uint8_t hdr[3] = { type, (uint8_t)(len >> 8), (uint8_t)len };

	put(b, hdr, sizeof(hdr));
	put(b, payload, len);
}

static uint32_t
next(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

/* Decodes in cut into chunks (maxchunk 0: all at once), through an output
 * buffer of outcap bytes that, like a real caller's, is not always empty
 * (or even has room) when the decoder is called: each call is offered a
 * random part of the room left, and the buffer is drained when full or
 * when the PRNG says so. */
static void
decode(const uint8_t *in, size_t n, uint32_t seed, size_t maxchunk,
    size_t outcap, struct result *r)
{
	struct sproto_dec d;
	uint8_t *out = malloc(outcap);
	size_t outlen = 0;

	if (out == NULL)
		abort();
	memset(r, 0, sizeof(*r));
	sproto_dec_init(&d);
	while (n > 0) {
		size_t chunk = maxchunk == 0 ? n : next(&seed) % maxchunk + 1;
		const uint8_t *p = in;
		size_t left;

		if (chunk > n)
			chunk = n;
		left = chunk;
		for (;;) {
			/* The room offered varies from call to call, down
			 * to none, as in a caller's ring buffer. */
			size_t before = outlen, cap = maxchunk == 0 ? outcap :
			    outlen + next(&seed) % (outcap - outlen + 1);
			int rc = sproto_decode(&d, &p, &left, out, cap,
			    &outlen), full = outlen == cap;

			if (outlen < before || outlen > cap ||
			    p != in + (chunk - left))
				abort();
			if (rc == SPROTO_NEED && left > 0) {
				/* input left: the room offered must be used
				 * up; drain when there is no more */
				if (!full)
					abort();
				if (outlen == outcap) {
					put(&r->data, out, outlen);
					outlen = 0;
				}
				continue;
			}
			/* Otherwise drained only now and then, so that the
			 * next call may start with a full buffer too. */
			if (maxchunk == 0 || next(&seed) % 4 == 0) {
				put(&r->data, out, outlen);
				outlen = 0;
			}
			if (rc == SPROTO_ERR) {
				r->err = 1;
				goto done;
			}
			if (rc == SPROTO_MSG) {
				if (d.len > SPROTO_MAX_PAYLOAD ||
				    d.type == SPROTO_IAC ||
				    d.payload[d.len] != '\0')
					abort();
				put_msg(&r->msgs, d.type, d.payload, d.len);
				continue;
			}
			if (rc != SPROTO_NEED)
				abort();
			break;          /* this chunk is used up */
		}
		in += chunk;
		n -= chunk;
	}
done:
	put(&r->data, out, outlen);
	free(out);
}

static void
same(const struct result *a, const struct result *b)
{
	if (a->err != b->err || a->data.len != b->data.len ||
	    a->msgs.len != b->msgs.len ||
	    (a->data.len && memcmp(a->data.p, b->data.p, a->data.len)) ||
	    (a->msgs.len && memcmp(a->msgs.p, b->msgs.p, a->msgs.len)))
		abort();
}

static void
result_free(struct result *r)
{
	free(r->data.p);
	free(r->msgs.p);
}

/* Console bytes through sproto_encode_data into buffers of room bytes, so
 * that it stops part-way (and at a 0xFF it cannot double). */
static void
encode_data(struct bytes *wire, const uint8_t *in, size_t n, size_t room)
{
	uint8_t *buf = malloc(room);

	if (buf == NULL)
		abort();
	while (n > 0) {
		size_t outlen = 0, used;

		used = sproto_encode_data(in, n, buf, room, &outlen);
		if (used > n || outlen > room || (used == 0 && room >= 2))
			abort();
		put(wire, buf, outlen);
		in += used;
		n -= used;
		if (used == 0)
			break;          /* room 1 and a 0xFF: cannot go on */
	}
	free(buf);
}

/* Script: OP [ARGS]: OP < 0x80 is OP console bytes that follow; otherwise
 * a message: TYPE, LEN_HI, LEN_LO (LEN taken modulo the maximum + 1, cut
 * to what is left), then the payload. */
static void
roundtrip(const uint8_t *s, size_t n, uint32_t seed, size_t outcap)
{
	struct bytes wire = { NULL, 0, 0 };
	struct result want, got;
	uint8_t msg[SPROTO_HDR + SPROTO_MAX_PAYLOAD];
	size_t room = outcap < 2 ? 2 : outcap;

	memset(&want, 0, sizeof(want));
	while (n > 0) {
		uint8_t op = *s++;
		size_t len;

		n--;
		if (op < 0x80) {
			len = op < n ? op : n;
			put(&want.data, s, len);
			encode_data(&wire, s, len, room);
		} else {
			uint8_t type;
			int w;

			if (n < 3)
				break;
			type = s[0] == SPROTO_IAC ? SP_HELLO : s[0];
			len = ((size_t)s[1] << 8 | s[2]) %
			    (SPROTO_MAX_PAYLOAD + 1);
			s += 3, n -= 3;
			if (len > n)
				len = n;
			if ((w = sproto_encode_msg(type, s, len, msg,
			    sizeof(msg))) != (int)(SPROTO_HDR + len))
				abort();
			if (sproto_encode_msg(type, s, len, msg,
			    SPROTO_HDR + len - 1) != -1)
				abort();
			put(&wire, msg, (size_t)w);
			put_msg(&want.msgs, type, s, len);
		}
		s += len;
		n -= len;
	}
	/* Console bytes and messages interleave on the wire; the decoder
	 * gives them apart, each kind in order. */
	decode(wire.p, wire.len, seed, 17, outcap, &got);
	same(&want, &got);
	result_free(&got);
	result_free(&want);
	free(wire.p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result whole, cut;
	uint32_t seed;
	size_t outcap;

	if (size < 2)
		return 0;
	seed = data[0];
	outcap = data[1] % 64 + 1;
	data += 2, size -= 2;

	decode(data, size, 0, 0, size + 1, &whole);
	decode(data, size, seed, 1 + seed % 32, outcap, &cut);
	same(&whole, &cut);
	result_free(&whole);
	result_free(&cut);

	roundtrip(data, size, seed, outcap);
	return 0;
}

/* sproto.c: encoder and incremental decoder of the sercon session protocol
 * (sproto.h). The decoder keeps its state between calls, so a stream may be
 * cut anywhere, even inside a message header or a doubled 0xFF. */
#include <string.h>

#include "core/sproto.h"

enum {
	ST_DATA,        /* console bytes */
	ST_IAC,         /* after 0xFF */
	ST_LEN_HI,      /* after 0xFF TYPE */
	ST_LEN_LO,
	ST_PAYLOAD,
	ST_BROKEN,
};

void
sproto_dec_init(struct sproto_dec *d)
{
	memset(d, 0, sizeof(*d));
	d->state = ST_DATA;
}

static int
dec_message_done(struct sproto_dec *d)
{
	d->payload[d->len] = '\0';
	d->state = ST_DATA;
	return SPROTO_MSG;
}

int
sproto_decode(struct sproto_dec *d, const uint8_t **in, size_t *inlen,
    uint8_t *out, size_t outcap, size_t *outlen)
{
	const uint8_t *p = *in;
	size_t n = *inlen;
	int rc = SPROTO_NEED;

	if (d->state == ST_BROKEN)
		return SPROTO_ERR;
	while (n > 0) {
		uint8_t c = *p;

		if (d->state == ST_DATA) {
			const uint8_t *iac;
			size_t run, room = outcap - *outlen;

			if (room == 0)
				break;
			/* Copy the run of plain bytes at once. */
			iac = memchr(p, SPROTO_IAC, n);
			run = iac != NULL ? (size_t)(iac - p) : n;
			if (run > room)
				run = room;
			if (run > 0) {
				memcpy(out + *outlen, p, run);
				*outlen += run;
				p += run;
				n -= run;
				continue;
			}
			d->state = ST_IAC;
			p++, n--;
			continue;
		}
		switch (d->state) {
		case ST_IAC:
			if (c == SPROTO_IAC) {
				if (*outlen == outcap)
					goto out;       /* keep the state */
				out[(*outlen)++] = SPROTO_IAC;
				d->state = ST_DATA;
			} else {
				d->type = c;
				d->state = ST_LEN_HI;
			}
			break;
		case ST_LEN_HI:
			d->len = (uint16_t)(c << 8);
			d->state = ST_LEN_LO;
			break;
		case ST_LEN_LO:
			d->len |= c;
			d->got = 0;
			if (d->len > SPROTO_MAX_PAYLOAD) {
				d->state = ST_BROKEN;
				rc = SPROTO_ERR;
				goto out;
			}
			if (d->len == 0) {
				p++, n--;
				rc = dec_message_done(d);
				goto out;
			}
			d->state = ST_PAYLOAD;
			break;
		case ST_PAYLOAD: {
			size_t want = (size_t)(d->len - d->got);

			if (want > n)
				want = n;
			memcpy(d->payload + d->got, p, want);
			d->got = (uint16_t)(d->got + want);
			p += want;
			n -= want;
			if (d->got == d->len) {
				rc = dec_message_done(d);
				goto out;
			}
			continue;
		}
		}
		p++, n--;
	}
out:
	*in = p;
	*inlen = n;
	return rc;
}

size_t
sproto_encode_data(const uint8_t *in, size_t inlen, uint8_t *out,
    size_t outcap, size_t *outlen)
{
	size_t i = 0;

	while (i < inlen) {
		const uint8_t *iac = memchr(in + i, SPROTO_IAC, inlen - i);
		size_t run = iac != NULL ? (size_t)(iac - (in + i)) : inlen - i;
		size_t room = outcap - *outlen;

		if (run > room)
			run = room;
		memcpy(out + *outlen, in + i, run);
		*outlen += run;
		i += run;
		if (i == inlen || iac == NULL || in + i != iac)
			break;
		if (outcap - *outlen < 2)
			break;
		out[(*outlen)++] = SPROTO_IAC;
		out[(*outlen)++] = SPROTO_IAC;
		i++;
	}
	return i;
}

int
sproto_encode_msg(uint8_t type, const void *payload, size_t len,
    uint8_t *out, size_t outcap)
{
	if (type == SPROTO_IAC || len > SPROTO_MAX_PAYLOAD ||
	    outcap < SPROTO_HDR + len)
		return -1;
	out[0] = SPROTO_IAC;
	out[1] = type;
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)(len & 0xff);
	if (len > 0)
		memcpy(out + SPROTO_HDR, payload, len);
	return (int)(SPROTO_HDR + len);
}

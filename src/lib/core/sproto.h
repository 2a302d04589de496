/* sproto.h: the sercon session protocol, version 1 (docs/design.md), spoken
 * between a sercon proxy and a sercon host on a `--proto=1` session, and
 * between sercon-host-shell and sercon-consoled on the daemon's socket.
 *
 * One byte stream each way. Console bytes travel as they are, except 0xFF,
 * which is sent twice. 0xFF followed by any other byte starts a message:
 *
 *     0xFF TYPE LEN_HI LEN_LO PAYLOAD[LEN]       LEN <= SPROTO_MAX_PAYLOAD
 *
 * The payload is not escaped; TYPE is never 0xFF. No console byte value is
 * special on the wire, and a reader that ignores the message types it does
 * not know stays in step. */
#ifndef SERCON_SPROTO_H
#define SERCON_SPROTO_H

#include <stddef.h>
#include <stdint.h>

#define SPROTO_VERSION     1
#define SPROTO_IAC         0xFF
#define SPROTO_MAX_PAYLOAD 1024
#define SPROTO_HDR         4      /* IAC, type, two length bytes */

enum sproto_type {
	/* either way */
	SP_HELLO    = 'H',  /* first message: "sercon 1 key=value..." */
	/* toward the host (proxy -> host shell -> daemon) */
	SP_BREAK    = 'B',  /* send a serial BREAK to the guest */
	SP_SYSRQ    = 'S',  /* BREAK, then payload[0] within the SysRq window */
	SP_WINSIZE  = 'Z',  /* u16 BE columns, u16 BE rows */
	SP_TAKEOVER = 'W',  /* make this session the console's writer */
	SP_REPLAY   = 'R',  /* "N" lines, "all", or "arrival" (since the
	                       daemon connected to this qemu instance) */
	/* toward the proxy (daemon -> host shell -> proxy) */
	SP_NOTICE   = 'N',  /* one line for the user, without "[sercon] " */
	SP_STATUS   = 'T',  /* key=value words: role=writer|watcher,
	                       missed=BYTES, ... for the proxy's logic */
	SP_END      = 'E',  /* payload[0]: the host exit status the session
	                       ends with (host_shell.h), then a reason text */
};

/* Result of sproto_decode(). */
enum sproto_rc {
	SPROTO_NEED = 0,    /* input used up, or the output buffer full */
	SPROTO_MSG  = 1,    /* a whole message is in the decoder */
	SPROTO_ERR  = -1,   /* the stream is malformed (LEN too large) */
};

struct sproto_dec {
	int state;
	uint8_t type;
	uint16_t len, got;
	uint8_t payload[SPROTO_MAX_PAYLOAD + 1];  /* NUL-terminated copy */
};

void sproto_dec_init(struct sproto_dec *d);

/* Consumes bytes from *in (advancing *in, decreasing *inlen). Console bytes
 * are appended at out + *outlen, never past outcap. Returns SPROTO_MSG as
 * soon as a message is complete (d->type, d->payload, d->len are valid
 * until the next call), SPROTO_NEED when the input is used up or out is
 * full, SPROTO_ERR on a malformed stream (the decoder is then unusable). */
int sproto_decode(struct sproto_dec *d, const uint8_t **in, size_t *inlen,
    uint8_t *out, size_t outcap, size_t *outlen);

/* Escapes console bytes from in into out (appending at *outlen, never past
 * outcap). Returns how many bytes of in were consumed: all of them when out
 * has room for twice inlen. */
size_t sproto_encode_data(const uint8_t *in, size_t inlen, uint8_t *out,
    size_t outcap, size_t *outlen);

/* Writes one message into out. Returns its length (SPROTO_HDR + len), or
 * -1 when len is over SPROTO_MAX_PAYLOAD, type is 0xFF or out is small. */
int sproto_encode_msg(uint8_t type, const void *payload, size_t len,
    uint8_t *out, size_t outcap);

#endif

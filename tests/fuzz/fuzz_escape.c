/* fuzz_escape.c: libFuzzer target of the scanner of in-session commands
 * (src/lib/proxy/escape.c: esc_scan, esc_parse), which reads every
 * keystroke a user sends to a console. Checked: the scanner never writes
 * more than it promises (inlen + 1 bytes); the bytes it passes on and the
 * commands it finds do not depend on how the keystrokes were cut into
 * reads; with escapes off every byte passes as it is; and a configured
 * escape character spells and helps without overrunning its buffers.
 * Input: the escape character's choice, a seed for the cuts, keystrokes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/escape.h"
#include "fuzz.h"

/* What a scan found: the bytes passed on, and each command with the
 * number of bytes passed on before it. */
struct found {
	uint8_t *data;
	size_t len;
	size_t cmds[256][3];        /* position, command, SysRq key */
	size_t ncmds;
};

static void
scan(int ch, const uint8_t *in, size_t n, uint32_t seed, int cut,
    struct found *f)
{
	struct esc_state e;
	size_t consumed = 0;

	memset(f, 0, sizeof(*f));
	if ((f->data = malloc(n + 1)) == NULL)
		abort();
	esc_init(&e, ch);
	while (n > 0) {
		size_t chunk = n, used, outlen = 0;
		enum esc_cmd cmd;
		uint8_t key = 0, *out;

		if (cut) {
			seed = seed * 1103515245u + 12345u;
			chunk = (seed >> 8) % 7 + 1;
			if (chunk > n)
				chunk = n;
		}
		/* exactly what the contract asks for, so ASan sees more */
		if ((out = malloc(chunk + 1)) == NULL)
			abort();
		used = esc_scan(&e, in, chunk, out, &outlen, &cmd, &key);
		consumed += used;
		/* a held escape character comes out with the next byte:
		 * never more out than in, over the whole stream */
		if (used == 0 || used > chunk || outlen > used + 1 ||
		    f->len + outlen > consumed ||
		    (cmd == ESC_NONE && used != chunk))
			abort();
		memcpy(f->data + f->len, out, outlen);
		f->len += outlen;
		free(out);
		if (cmd != ESC_NONE && f->ncmds < 256) {
			f->cmds[f->ncmds][0] = f->len;
			f->cmds[f->ncmds][1] = (size_t)cmd;
			f->cmds[f->ncmds][2] = cmd == ESC_SYSRQ ? key : 0;
			f->ncmds++;
		}
		in += used;
		n -= used;
	}
}

static void
check_config(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), buf[64];
	int ch = esc_parse(s);

	if (ch != -2) {
		if (ch != ESC_OFF && (ch < 0 || ch > 127))
			abort();
		if (ch != ESC_OFF) {
			esc_spell(ch, buf, sizeof(buf));
			(void)esc_help(ch, 0);
		}
		esc_hint(ch, buf, sizeof(buf));
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int chars[] = { '~', 0x1d, '&', ESC_OFF };
	struct found whole, cut;
	int ch;

	if (size < 2)
		return 0;
	ch = data[0] < 0x80 ? chars[data[0] % 4] : data[0] & 0x7f;
	scan(ch, data + 2, size - 2, data[1], 0, &whole);
	scan(ch, data + 2, size - 2, data[1], 1, &cut);
	if (whole.len != cut.len || whole.ncmds != cut.ncmds ||
	    memcmp(whole.data, cut.data, whole.len) != 0 ||
	    memcmp(whole.cmds, cut.cmds, sizeof(whole.cmds)) != 0)
		abort();
	if (ch == ESC_OFF && (whole.len != size - 2 || whole.ncmds != 0 ||
	    memcmp(whole.data, data + 2, whole.len) != 0))
		abort();
	free(whole.data);
	free(cut.data);
	check_config(data + 2, size - 2);
	return 0;
}

/* escape.c: the scanner of in-session commands; see escape.h. The rules
 * follow ssh's own (the escape character counts only right after a newline
 * or at the very start, an unknown letter passes through with the escape
 * character, the escape character twice is one literal). */
#include <stdio.h>
#include <string.h>

#include "proxy/escape.h"

enum { ST_PLAIN, ST_ESC, ST_SYSRQ };

void
esc_init(struct esc_state *e, int ch)
{
	e->ch = ch;
	e->state = ST_PLAIN;
	e->line_start = 1;
}

static enum esc_cmd
letter_cmd(uint8_t c)
{
	switch (c) {
	case 'B':
		return ESC_BREAK;
	case 'W':
		return ESC_TAKEOVER;
	case 'R':
		return ESC_REPLAY;
	case '?':
		return ESC_HELP;
	case '.':
		return ESC_LEAVE;
	default:
		return ESC_NONE;
	}
}

size_t
esc_scan(struct esc_state *e, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t *outlen, enum esc_cmd *cmd, uint8_t *key)
{
	size_t i, o = 0;
	uint8_t c;

	*cmd = ESC_NONE;
	for (i = 0; i < inlen; i++) {
		c = in[i];
		if (e->ch == ESC_OFF) {
			out[o++] = c;
			continue;
		}
		switch (e->state) {
		case ST_SYSRQ:
			e->state = ST_PLAIN;
			*key = c;
			*cmd = ESC_SYSRQ;
			*outlen = o;
			return i + 1;
		case ST_ESC:
			e->state = ST_PLAIN;
			if (c == e->ch) {
				/* a literal escape character */
				out[o++] = c;
				e->line_start = 0;
				continue;
			}
			if (c == 'S') {
				e->state = ST_SYSRQ;
				continue;
			}
			if ((*cmd = letter_cmd(c)) != ESC_NONE) {
				*outlen = o;
				return i + 1;
			}
			/* not a command: both bytes go on, as ssh does */
			out[o++] = (uint8_t)e->ch;
			out[o++] = c;
			e->line_start = c == '\r' || c == '\n';
			continue;
		default:
			if (e->line_start && c == e->ch) {
				e->state = ST_ESC;
				continue;
			}
			out[o++] = c;
			e->line_start = c == '\r' || c == '\n';
		}
	}
	*outlen = o;
	return inlen;
}

int
esc_parse(const char *s)
{
	if (!strcmp(s, "none"))
		return ESC_OFF;
	if (s[0] == '^' && s[1] >= '@' && s[1] <= '_' && s[2] == '\0')
		return s[1] & 0x1f;
	if (s[0] > ' ' && s[0] < 0x7f && s[1] == '\0')
		return s[0];
	return -2;
}

const char *
esc_spell(int ch, char *buf, size_t len)
{
	/* the user's own ssh takes the first ~ of a line, so sercon's
	 * commands are typed with the escape character twice when it is ~ */
	if (ch == '~')
		snprintf(buf, len, "~~");
	else if (ch >= 0 && ch < ' ')
		snprintf(buf, len, "^%c", ch + '@');
	else
		snprintf(buf, len, "%c", ch);
	return buf;
}

const char *
esc_hint(int ch, char *buf, size_t len)
{
	char e[4];

	if (ch == ESC_OFF)
		snprintf(buf, len, "<Enter>~. of your ssh disconnects");
	else
		snprintf(buf, len, "%s. leaves the console, %s? lists the "
		    "commands", esc_spell(ch, e, sizeof(e)),
		    esc_spell(ch, e, sizeof(e)));
	return buf;
}

const char *
esc_help(int ch, int raw)
{
	static char buf[768];
	char e[4];

	esc_spell(ch, e, sizeof(e));
	snprintf(buf, sizeof(buf),
	    "sercon commands, at the start of a line:\r\n"
	    "  %s.  leave this console\r\n"
	    "  %sB  send a BREAK%s\r\n"
	    "  %sS<key>  BREAK then <key>: Magic SysRq (%sSh: its help)%s\r\n"
	    "  %sW  take over as the console's writer%s\r\n"
	    "  %sR  replay the console's recent output%s\r\n"
	    "  %s?  this help\r\n"
	    "  %s%c  a literal %c\r\n",
	    e,
	    e, raw ? " (not on this host)" : "",
	    e, e, raw ? " (not on this host)" : "",
	    e, raw ? " (not on this host)" : "",
	    e, raw ? " (not on this host)" : "",
	    e, e, ch, ch);
	return buf;
}

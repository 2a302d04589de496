/* escape.h: the in-session commands a user types into the console, modelled
 * on ssh's escapes. The user's own ssh eats one '~', so "~~B" typed arrives
 * here as "~B": the escape character at the start of a line, then a letter.
 * A pure scanner over the user's keystrokes, so that it can be tested
 * byte by byte; the session (session.c) acts on what it finds. */
#ifndef SERCON_PROXY_ESCAPE_H
#define SERCON_PROXY_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

#define ESC_OFF (-1)           /* escape = none: no commands at all */

enum esc_cmd {
	ESC_NONE = 0,
	ESC_BREAK,             /* ~B */
	ESC_SYSRQ,             /* ~S<key> */
	ESC_TAKEOVER,          /* ~W */
	ESC_REPLAY,            /* ~R */
	ESC_HELP,              /* ~? */
	ESC_LEAVE,             /* ~. */
};

struct esc_state {
	int ch;                /* the escape character, or ESC_OFF */
	int state;
	int line_start;
};

/* ch: the escape character (0..127), or ESC_OFF. */
void esc_init(struct esc_state *e, int ch);

/* Scans keystrokes from in. The bytes to pass on to the console are
 * written to out (which must hold inlen + 1 bytes: a held escape character
 * may come out with the byte after it). Stops after the first command:
 * returns the number of bytes of in consumed and sets *cmd (ESC_NONE when
 * all of in was plain input) and, for ESC_SYSRQ, *key. */
size_t esc_scan(struct esc_state *e, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t *outlen, enum esc_cmd *cmd, uint8_t *key);

/* Parses the config value: one printable ASCII character, "^X" for a
 * control character, or "none". Returns the character, ESC_OFF, or -2 on
 * a bad value. */
int esc_parse(const char *s);

/* How the user types the escape character (ch '~': "~~", since the user's
 * own ssh eats one); into buf, returned. */
const char *esc_spell(int ch, char *buf, size_t len);
/* One line for the menu and the connect banner: how to leave, how to get
 * help. */
const char *esc_hint(int ch, char *buf, size_t len);

/* The help text for escape character ch ('~' in the user's ssh doubled);
 * raw is true for a host without the session protocol. Static storage. */
const char *esc_help(int ch, int raw);

#endif

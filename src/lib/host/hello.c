/* hello.c: building and validating the session hello (hello.h). Unknown
 * keys are ignored, so that a newer host shell can talk to an older
 * daemon; a known key with a bad value is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "host/hello.h"

#define HELLO_MAGIC "sercon 1"
#define REPLAY_MAX_LINES 100000

int
replay_parse(const char *s, struct replay_spec *r)
{
	char *end;
	unsigned long n;

	if (!strcmp(s, "default")) {
		r->kind = REPLAY_DEFAULT;
		r->lines = 0;
		return 0;
	}
	if (!strcmp(s, "all") || !strcmp(s, "arrival")) {
		r->kind = s[1] == 'l' ? REPLAY_ALL : REPLAY_ARRIVAL;
		r->lines = 0;
		return 0;
	}
	if (*s < '0' || *s > '9' || strlen(s) > 6)
		return -1;
	n = strtoul(s, &end, 10);
	if (*end != '\0' || n > REPLAY_MAX_LINES)
		return -1;
	r->kind = REPLAY_LINES;
	r->lines = (unsigned)n;
	return 0;
}

void
replay_format(const struct replay_spec *r, char *buf, size_t len)
{
	switch (r->kind) {
	case REPLAY_LINES:
		snprintf(buf, len, "%u", r->lines);
		return;
	case REPLAY_ALL:
		snprintf(buf, len, "all");
		return;
	case REPLAY_ARRIVAL:
		snprintf(buf, len, "arrival");
		return;
	case REPLAY_DEFAULT:
		break;
	}
	snprintf(buf, len, "default");
}

const char *
sess_mode_name(enum sess_mode m)
{
	switch (m) {
	case SESS_RO:
		return "ro";
	case SESS_TAKEOVER:
		return "takeover";
	case SESS_RW:
		break;
	}
	return "rw";
}

/* Appends " key=pct(value)" when value is not empty. */
static int
put_kv(char *buf, size_t len, size_t *at, const char *key, const char *val)
{
	char *enc;
	int n;

	if (*val == '\0')
		return 0;
	enc = text_pct_encode(val);
	n = snprintf(buf + *at, len - *at, " %s=%s", key, enc);
	free(enc);
	if (n < 0 || (size_t)n >= len - *at)
		return -1;
	*at += (size_t)n;
	return 0;
}

int
hello_format(const struct sess_hello *h, char *buf, size_t len)
{
	char replay[16];
	size_t at;
	int n;

	n = snprintf(buf, len, "%s", HELLO_MAGIC);
	if (n < 0 || (size_t)n >= len)
		return -1;
	at = (size_t)n;
	if (h->request == HELLO_STATUS)
		return put_kv(buf, len, &at, "request", "status") == 0 ?
		    (int)at : -1;
	replay_format(&h->replay, replay, sizeof(replay));
	if (put_kv(buf, len, &at, "console", h->console) != 0 ||
	    put_kv(buf, len, &at, "entity_id", h->entity_id) != 0 ||
	    put_kv(buf, len, &at, "entity", h->entity) != 0 ||
	    put_kv(buf, len, &at, "mode", sess_mode_name(h->mode)) != 0 ||
	    put_kv(buf, len, &at, "replay", replay) != 0 ||
	    put_kv(buf, len, &at, "peer", h->peer) != 0)
		return -1;
	return (int)at;
}

static int
parse_mode(const char *v, enum sess_mode *m)
{
	if (!strcmp(v, "rw"))
		*m = SESS_RW;
	else if (!strcmp(v, "ro"))
		*m = SESS_RO;
	else if (!strcmp(v, "takeover"))
		*m = SESS_TAKEOVER;
	else
		return -1;
	return 0;
}

/* A peer as host-shell writes it: ADDR:PORT from SSH_CONNECTION. Never
 * empty: hello_format leaves an empty value out, and the daemon would read
 * "unknown" back. */
static bool
valid_peer(const char *s)
{
	return *s != '\0' && strlen(s) <= TEXT_NAME_MAX &&
	    strspn(s, "0123456789abcdefABCDEF.:[]%unknow") == strlen(s);
}

static int
hello_kv(struct sess_hello *h, const char *key, const char *val, char *err,
    size_t errlen)
{
	if (!strcmp(key, "request")) {
		if (strcmp(val, "status") != 0)
			goto bad;
		h->request = HELLO_STATUS;
	} else if (!strcmp(key, "console")) {
		if (!text_valid_console(val))
			goto bad;
		snprintf(h->console, sizeof(h->console), "%s", val);
	} else if (!strcmp(key, "entity_id")) {
		if (!text_valid_entity_id(val))
			goto bad;
		snprintf(h->entity_id, sizeof(h->entity_id), "%s", val);
	} else if (!strcmp(key, "entity")) {
		if (!text_valid_entity_name(val))
			goto bad;
		snprintf(h->entity, sizeof(h->entity), "%s", val);
	} else if (!strcmp(key, "peer")) {
		if (!valid_peer(val))
			goto bad;
		snprintf(h->peer, sizeof(h->peer), "%s", val);
	} else if (!strcmp(key, "mode")) {
		if (parse_mode(val, &h->mode) != 0)
			goto bad;
	} else if (!strcmp(key, "replay")) {
		if (replay_parse(val, &h->replay) != 0)
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "bad value for %.20s in the hello", key);
	return -1;
}

int
hello_parse(const char *text, struct sess_hello *h, char *err,
    size_t errlen)
{
	char *copy, *word, *save = NULL;
	int rc = 0;

	memset(h, 0, sizeof(*h));
	snprintf(h->peer, sizeof(h->peer), "unknown");
	if (strncmp(text, HELLO_MAGIC, strlen(HELLO_MAGIC)) != 0 ||
	    (text[strlen(HELLO_MAGIC)] != ' ' &&
	    text[strlen(HELLO_MAGIC)] != '\0')) {
		snprintf(err, errlen, "not a sercon 1 hello");
		return -1;
	}
	copy = xstrdup(text + strlen(HELLO_MAGIC));
	for (word = strtok_r(copy, " ", &save); word != NULL && rc == 0;
	    word = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(word, '='), *val;

		if (eq == NULL) {
			snprintf(err, errlen, "malformed word in the hello");
			rc = -1;
			break;
		}
		*eq = '\0';
		if ((val = text_pct_decode(eq + 1)) == NULL) {
			snprintf(err, errlen, "bad encoding in the hello");
			rc = -1;
			break;
		}
		rc = hello_kv(h, word, val, err, errlen);
		free(val);
	}
	free(copy);
	if (rc == 0 && h->request == HELLO_ATTACH && h->console[0] == '\0') {
		snprintf(err, errlen, "the hello names no console");
		rc = -1;
	}
	return rc;
}

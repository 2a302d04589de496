/* hello.h: the first message of a session on sercon-consoled's socket
 * (SP_HELLO, docs/design.md): what the session is and what its user asked
 * for, "sercon 1 key=value ..." with percent-encoded values. Built by
 * sercon-host-shell, parsed and validated by the daemon, which trusts its
 * clients no more than the host shell trusts the proxy. */
#ifndef SERCON_HELLO_H
#define SERCON_HELLO_H

#include <stdbool.h>
#include <stddef.h>

#include "core/text.h"

enum hello_request {
	HELLO_ATTACH,             /* a session on one console */
	HELLO_STATUS,             /* "who is on which console", then the end */
};

enum sess_mode {
	SESS_RW,                  /* writer if nobody writes, else watcher */
	SESS_RO,                  /* watcher on purpose */
	SESS_TAKEOVER,            /* writer, demoting the one there is */
};

enum replay_kind {
	REPLAY_DEFAULT,           /* the daemon's replay_lines */
	REPLAY_LINES,             /* the last n lines (0: none) */
	REPLAY_ALL,               /* the whole ring */
	REPLAY_ARRIVAL,           /* all since qemu's connection began */
};

struct replay_spec {
	enum replay_kind kind;
	unsigned lines;
};

struct sess_hello {
	enum hello_request request;
	char console[TEXT_NAME_MAX + 1];
	char entity_id[TEXT_NAME_MAX + 1];   /* "" when not given */
	char entity[TEXT_NAME_MAX + 1];
	char peer[TEXT_NAME_MAX + 1];        /* "ADDR:PORT" or "unknown" */
	enum sess_mode mode;
	struct replay_spec replay;
};

/* "N" (0..100000), "all", "arrival", "default". Returns 0 or -1. */
int replay_parse(const char *s, struct replay_spec *r);
/* The spelling replay_parse reads. */
void replay_format(const struct replay_spec *r, char *buf, size_t len);
const char *sess_mode_name(enum sess_mode m);

/* Writes the hello's payload into buf; returns its length, or -1 when it
 * does not fit. */
int hello_format(const struct sess_hello *h, char *buf, size_t len);
/* Parses and validates a hello's payload (NUL-terminated). Returns 0, or
 * -1 with a one-line reason in err. */
int hello_parse(const char *text, struct sess_hello *h, char *err,
    size_t errlen);

#endif

/* attach.h: sercon-host-shell's side of a shared session. The host shell
 * dials sercon-consoled, says hello (hello.h), and moves bytes between the
 * user (or the sercon proxy, framed) and the daemon (framed), until the
 * daemon says how the session ended. The same loop also serves a framed
 * proxy when no daemon runs (a direct session to the console socket). */
#ifndef SERCON_ATTACH_H
#define SERCON_ATTACH_H

#include <stdbool.h>
#include <stdio.h>

#include "host/hello.h"

/* Connects to the daemon's socket. Returns the descriptor, or -1 with the
 * reason in errno (ENOENT, ECONNREFUSED: no daemon runs). */
int attach_dial(const char *sock_path);

struct attach_io {
	int user_in, user_out;        /* stdin, stdout */
	bool user_framed;             /* --proto=1: the proxy speaks frames */
	int peer;                     /* daemon or console socket */
	bool peer_framed;             /* the daemon; false: the console */
	int stop_fd;                  /* readable: a signal ended us */
	const char *label;            /* the console, for notices */
	/* Counters for the audit line. */
	unsigned long long to_peer, from_peer;
	const char *reason;
};

/* Sends the hello on io->peer (a daemon connection). Returns 0 or -1. */
int attach_hello(int fd, const struct sess_hello *h);
/* Runs the session; returns the host exit status it ended with. */
int attach_run(struct attach_io *io);

/* Asks the daemon at sock_path who is on which console and prints it to
 * out, a line per console and per session. Returns 0, or -1 with a reason
 * in err (no daemon, or it did not answer). For sercon-host-shell status
 * and sercon-setup check host. */
int attach_status(const char *sock_path, FILE *out, char *err,
    size_t errlen);

#endif

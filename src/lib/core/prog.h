/* prog.h: the prologue every sercon program's main shares: naming the log,
 * loading the installed configuration, and pointing the log where that
 * configuration says (socket, debug). One place, so that every program
 * reports a broken configuration the same way. */
#ifndef SERCON_PROG_H
#define SERCON_PROG_H

#include "core/config.h"
#include "core/log.h"

/* prog_start / prog_load_config flags. */
#define PROG_QUIET_DEBUG 0x01  /* debug events go to syslog only: stderr is
                                * the user's console (sercon-host-shell) */
#define PROG_TELL_USER   0x02  /* a configuration error is also an
                                * "ERROR: ..." line on stderr */
#define PROG_SILENT      0x04  /* a configuration error is not reported
                                * (the caller has a better one to give) */
#define PROG_DEBUG       0x08  /* debug on, whatever the configuration says */

/* First thing in main: the log's program name (kept by reference). Inline,
 * so that a program that reads no configuration links no parser. */
static inline void
prog_start(const char *progname, int flags)
{
	log_init(progname);
	if (flags & PROG_QUIET_DEBUG)
		log_set_debug_echo(false);
}

/* cfg_load_installed, then log_set_socket / log_set_debug from it. Returns
 * 0, or -1 with cfg freed and "configuration: <reason>" logged (unless
 * PROG_SILENT). */
int prog_load_config(struct sercon_config *cfg, int flags);

#endif

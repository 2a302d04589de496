/* session.h: a console session as the proxy holds it, between the user's
 * terminal and the ssh to the VM's host. It reads the user's in-session
 * commands (escape.h), speaks the framed session protocol to a sercon host
 * (sproto.h) or passes raw bytes to an ovirt-vmconsole host, retries a hop
 * the host's sshd dropped, and follows the VM when its console closes
 * because the VM moved: the manager is asked again (through locate) and the
 * new host dialled, in the same ssh connection of the user. */
#ifndef SERCON_SESSION_H
#define SERCON_SESSION_H

#include <stdbool.h>
#include "core/config.h"
#include "manager/manager.h"

/* Where the VM vm_id runs now, for this session's entity, by the same
 * rules as a new connect. Fills *c (malloc'd strings, freed with
 * psess_console_free). Returns 0, 1 when the VM is no longer listed for
 * the entity, -1 when the manager could not answer. */
typedef int (*psess_locate_fn)(void *arg, const char *vm_id,
    struct mgr_console *c);

struct psess {
	const struct sercon_config *cfg;
	const char *entity_id, *entity;
	struct mgr_console vm;         /* where the session is; owned */
	int escape;                    /* escape character or ESC_OFF */
	bool from_menu;                /* ~. goes back to the menu */
	bool read_only, takeover;      /* connect --read-only / --takeover */
	const char *replay;            /* connect --replay=N|all, or NULL */
	int in, out;                   /* the user's terminal (0 and 1) */
	psess_locate_fn locate;
	void *locate_arg;
	/* results */
	const char *outcome;           /* for the audit line */
	const char *message;           /* for the user, or NULL */
};

#define PSESS_MENU (-2)                /* the user left for the menu */
#define PSESS_UNSUPPORTED 2            /* the host cannot honour an option
                                        * (PSHELL_USAGE) */

/* Runs the session on s->vm. Returns the exit status for the user's ssh
 * (0 closed by the user, the host's 3 / 4 / 5, 255 host not reached), or
 * PSESS_MENU. Logs the session's end. Once per process: its state and
 * buffers are static (sercon-proxy-wait runs one session, then exits or
 * execs the menu). */
int psess_run(struct psess *s);

void psess_console_free(struct mgr_console *c);

#endif

/* dial.h: the proxy's way to a hypervisor host: the stock ssh client run
 * from an argv (never a shell) with the installed proxy ssh_config (proxy
 * user certificate, host certificates checked against the CA and the name
 * dialed), waiting for it so that its exit status can be explained. One
 * call dials once; calling again re-dials (live migration). */
#ifndef SERCON_DIAL_H
#define SERCON_DIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "core/config.h"
#include "core/contract.h"
#include "manager/manager.h"

/* The ssh argv for console c, NULL-terminated, malloc'd (free with
 * args_free from args.h): the host command line of core/contract.h. The
 * host is validated again here. Returns 0 or -1. */
int dial_argv(const struct sercon_config *cfg, const struct mgr_console *c,
    const char *entity_id, const char *entity, bool tty, char ***argvp,
    char *err, size_t errlen);

/* A word the host shell's splitter reads back as s: s itself when it is
 * made of safe characters only, else single-quoted. Malloc'd. */
char *dial_quote(const char *s);

/* Starts ssh to console c; *pid is the child to wait for. SIGINT and
 * SIGQUIT are ignored from now on in the caller (they are the remote
 * side's). Returns 0, or -1 with a reason. */
int dial_spawn(const struct sercon_config *cfg, const struct mgr_console *c,
    const char *entity_id, const char *entity, bool tty, pid_t *pid,
    char *err, size_t errlen);
/* Waits for that child, passing SIGHUP and SIGTERM on to it. Returns 0
 * with *status (exit status, or 128 + signal), or -1 (errno set). */
int dial_wait(pid_t pid, int *status);

/* The end of a session: the audit line (entity, VM, host, outcome) and,
 * for the person, the meaning of status on stderr. */
void dial_report(int status, const char *entity_id, const char *vm_name,
    const char *vm_id, const char *host);

/* What a person should read for an exit status; NULL for 0 (the user
 * closed the session) and for statuses that need no explanation. */
const char *dial_status_message(int status);
/* A short word for the audit log: "closed", "busy", ... */
const char *dial_status_outcome(int status);

#endif

/* dial.h: the proxy's way to a hypervisor host: the stock ssh client run
 * from an argv (never a shell) with the installed proxy ssh_config (proxy
 * user certificate, host certificates checked against the CA and the name
 * dialed). One call dials once; the session (session.h) calls again to
 * re-dial after a refused hop or when the VM moved. Also what a host is
 * (sercon with the session protocol, or a raw ovirt-vmconsole host) and
 * what ssh's exit status means. */
#ifndef SERCON_DIAL_H
#define SERCON_DIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "core/config.h"
#include "core/contract.h"
#include "manager/manager.h"

/* How to speak to a host. */
enum dial_proto {
	DIAL_RAW = 0,          /* console bytes only, ssh -tt (ovirt-vmconsole) */
	DIAL_FRAMED = 1,       /* --proto=1 over ssh -T (sproto.h) */
};

struct dial_opts {
	enum dial_proto proto;
	bool tty;              /* raw: ask the host for a pty (-tt) */
	bool pipes;            /* ssh's stdin, stdout, stderr are pipes to us */
	const char *replay;    /* framed: --replay=VALUE, or NULL */
	bool read_only;        /* framed: --read-only */
	bool takeover;         /* framed: --takeover */
};

/* A running ssh: its pid and, with pipes, our ends of its stdio. */
struct dial_child {
	pid_t pid;
	int in, out, err;      /* -1 when inherited */
};

/* The ssh argv for console c, NULL-terminated, malloc'd (free with
 * args_free from args.h): the host command line of core/contract.h, in
 * the words ovirt-vmconsole-host-shell also accepts (--entityid=,
 * --entity=, connect --console=); --proto=1, --replay=, --read-only and
 * --takeover only with DIAL_FRAMED.
 * The host is validated again here. Returns 0 or -1. */
int dial_argv(const struct sercon_config *cfg, const struct mgr_console *c,
    const char *entity_id, const char *entity, const struct dial_opts *o,
    char ***argvp, char *err, size_t errlen);

/* A connect --replay value: a number of lines up to WAIT_REPLAY_MAX, or
 * "all". */
bool dial_replay_valid(const char *v);

/* A word the host shell's splitter reads back as s: s itself when it is
 * made of safe characters only, else single-quoted. Malloc'd. */
char *dial_quote(const char *s);

/* Starts ssh to console c. SIGINT and SIGQUIT are ignored from now on in
 * the caller (they are the remote side's). Returns 0, or -1 with a reason. */
int dial_spawn(const struct sercon_config *cfg, const struct mgr_console *c,
    const char *entity_id, const char *entity, const struct dial_opts *o,
    struct dial_child *ch, char *err, size_t errlen);
/* Waits for that child, passing SIGHUP and SIGTERM on to it. Returns 0
 * with *status (exit status, or 128 + signal), or -1 (errno set). */
int dial_wait(pid_t pid, int *status);
/* Closes our ends of the child's pipes. */
void dial_close(struct dial_child *ch);

/* What the host behind name speaks: asks its `info` (a sercon host lists
 * "protocols=1"), remembering the answer in cache_dir for
 * host_probe_ttl seconds; config host_protocol = raw | sercon skips the
 * question. Never assumes: a host that cannot be asked gets DIAL_RAW, not
 * remembered. */
enum dial_proto dial_host_proto(const struct sercon_config *cfg,
    const char *host);
/* Reads an `info` answer: DIAL_FRAMED when it has a protocols= line
 * naming 1. Exposed for the unit tests. */
enum dial_proto dial_info_proto(const char *info);

/* Did ssh's stderr say the host's sshd dropped the connection before
 * authentication (MaxStartups, a restart)? Such a hop is retried. */
bool dial_refused(const char *ssh_stderr);

/* The end of a session: the audit line (entity, VM, host, outcome) and,
 * for the person, message or else the meaning of status on stderr.
 * outcome NULL: the one dial_status_outcome gives. */
void dial_report(int status, const char *outcome, const char *message,
    const char *entity_id, const char *vm_name, const char *vm_id,
    const char *host);

/* What a person should read for an exit status; NULL for 0 (the user
 * closed the session) and for statuses that need no explanation. */
const char *dial_status_message(int status);
/* A short word for the audit log: "closed", "busy", ... */
const char *dial_status_outcome(int status);

#endif

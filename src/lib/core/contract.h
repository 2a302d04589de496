/* contract.h: the wire contracts two sercon programs share, in one place:
 * what the host side answers the proxy with (exit statuses), the words of
 * the host command line the proxy sends, how "every user" is spelled, and
 * the argv by which sercon-proxy-shell hands a session to
 * sercon-proxy-wait. docs/design.md ("Interface contract") describes them
 * for people; a change here is a change of that contract. */
#ifndef SERCON_CONTRACT_H
#define SERCON_CONTRACT_H

/* Exit statuses of the host side of a session (sercon-host-shell(8)). The
 * proxy passes them on to the user's ssh and explains them (dial.c). */
#define HOST_EXIT_OK          0   /* the user's side closed */
#define HOST_EXIT_FAIL        1   /* internal error (configuration, I/O) */
#define HOST_EXIT_USAGE       2   /* the command line was refused */
#define HOST_EXIT_UNAVAILABLE 3   /* console missing, unreadable, bad name */
#define HOST_EXIT_BUSY        4   /* another session holds the console */
#define HOST_EXIT_VM_CLOSED   5   /* the VM side closed the console */
#define HOST_EXIT_SSH       255   /* ssh's own: host unreachable or not
                                   * verified (never sent by the host) */

/* The host command line (SSH_ORIGINAL_COMMAND on the host), as the proxy
 * builds it: [OPTION...] COMMAND [--console=NAME]. Options are spelled
 * "--NAME=VALUE" (the host also takes "--NAME VALUE", as ovirt's
 * argparse-based proxy sends them); values are percent-encoded or quoted
 * for the host's word splitter (core/args.h). */
#define HOST_CMD_WORD_CONNECT "connect"
#define HOST_CMD_WORD_INFO    "info"
#define HOST_CMD_WORD_HELP    "help"
#define HOST_OPT_CONSOLE      "console"     /* --console=NAME (connect) */
#define HOST_OPT_ENTITY_ID    "entity-id"   /* --entity-id=ID, audit */
#define HOST_OPT_ENTITYID     "entityid"    /* ovirt-vmconsole's spelling */
#define HOST_OPT_ENTITY       "entity"      /* --entity=NAME, audit */
#define HOST_OPT_DEBUG        "debug"       /* --debug */
#define HOST_OPT_READ_ONLY    "read-only"   /* --read-only: watch only */
#define HOST_OPT_TAKEOVER     "takeover"    /* --takeover: become writer */
#define HOST_OPT_REPLAY       "replay"      /* --replay=BYTES of history */
#define HOST_OPT_PROTO        "proto"       /* --proto=N: session protocol
                                             * version (core/sproto.h) */

/* In an inventory console's "users", and as the entity of a key index
 * grant: every entity may use the console. */
#define SERCON_EVERYONE "*"

/* sercon-proxy-shell becomes sercon-proxy-wait (same pid) once the
 * console is chosen; the waiter dials the host and holds the session
 * (proxy/session.h), with exactly this argv:
 *   sercon-proxy-wait DEBUG MENU ENTITY_ID ENTITY VMID VM HOST CONSOLE MODE
 *                     REPLAY
 * DEBUG and MENU are "1" or "0" (MENU: the console was chosen from the
 * menu, so ~. goes back to it). MODE is WAIT_MODE_RW, _RO or _TAKEOVER
 * (connect --read-only / --takeover), REPLAY "default", a number of lines
 * (at most WAIT_REPLAY_MAX) or "all" (connect --replay); both are sent to
 * a sercon host only, a raw host cannot honour them. The waiter reads the configuration itself
 * and asks `sercon-proxy-shell locate --entity-id=ID --vm-id=VMID`
 * (answer "HOST<TAB>CONSOLE", status 3 when not listed) when the VM moves. */
#define WAIT_PROGRAM "sercon-proxy-wait"
enum wait_arg {
	WAIT_ARG_DEBUG = 1,
	WAIT_ARG_MENU,
	WAIT_ARG_ENTITY_ID,
	WAIT_ARG_ENTITY,
	WAIT_ARG_VMID,
	WAIT_ARG_VM,
	WAIT_ARG_HOST,
	WAIT_ARG_CONSOLE,
	WAIT_ARG_MODE,
	WAIT_ARG_REPLAY,
	WAIT_ARGC                 /* argc of a well-formed call */
};
#define WAIT_MODE_RW       "rw"
#define WAIT_MODE_RO       "ro"
#define WAIT_MODE_TAKEOVER "takeover"
#define WAIT_REPLAY_DEFAULT "default"
#define WAIT_REPLAY_MAX    100000 /* lines; the host's limit too */
#define LOCATE_NOT_LISTED 3       /* sercon-proxy-shell locate: not the
                                   * entity's VM (any more) */

#endif

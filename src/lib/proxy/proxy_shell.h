/* proxy_shell.h: the commands of sercon-proxy-shell, the forced command of
 * every user key on the proxy: connect (with the menu), list, info, help.
 * The entity comes from the key line and has been validated by the
 * caller; the command line is the user's SSH_ORIGINAL_COMMAND. */
#ifndef SERCON_PROXY_SHELL_H
#define SERCON_PROXY_SHELL_H

#include <stdbool.h>
#include "core/config.h"
#include "core/contract.h"

/* Exit statuses (sercon-proxy-shell(8)); a connect ended by the host
 * passes the host shell's status on (3 unavailable, 4 busy, 5 closed by
 * the VM, 255 host not reached). */
#define PSHELL_OK       0
#define PSHELL_FAIL     1      /* manager or system failure */
#define PSHELL_USAGE    2

enum pshell_cmd { PSHELL_CONNECT, PSHELL_LIST, PSHELL_INFO, PSHELL_HELP };

struct pshell_req {
	enum pshell_cmd cmd;
	bool debug;
	bool json;             /* list --format=json */
	char *vm_id;           /* connect --vm-id */
	char *vm_name;         /* connect --vm-name */
	char *target;          /* connect TARGET: a name or an id */
	/* connect options a sercon host honours (host_args.c); with no
	 * target they apply to the console chosen in the menu */
	const char *mode;      /* WAIT_MODE_RW, _RO (--read-only, --watch)
	                        * or _TAKEOVER (--takeover) */
	char *replay;          /* --replay=N|all, NULL: the host's default */
};

/* Parses SSH_ORIGINAL_COMMAND (NULL or empty: connect). Returns 0, or -1
 * with a reason. */
int pshell_parse(const char *command, struct pshell_req *req, char *err,
    size_t errlen);
void pshell_req_free(struct pshell_req *req);

/* Runs the request for the entity; returns the exit status. */
int pshell_run(const struct sercon_config *cfg, const struct pshell_req *req,
    const char *entity_id, const char *entity);

/* sercon-proxy-shell locate: where VM vm_id runs now for the entity, by
 * the same rules as a connect, as "HOST<TAB>CONSOLE" on stdout (for
 * sercon-proxy-wait following a VM). Returns PSHELL_OK, LOCATE_NOT_LISTED
 * or PSHELL_FAIL (the manager failed; an id listed twice). */
int pshell_locate(const struct sercon_config *cfg, const char *entity_id,
    const char *vm_id);

#endif

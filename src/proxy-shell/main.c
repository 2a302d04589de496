/* sercon-proxy-shell: the forced command of every user key on the proxy
 * (`sercon-proxy-shell accept --entity-id=ID --entity=NAME`, written by
 * sercon-proxy-keys). Takes the user's request from SSH_ORIGINAL_COMMAND.
 * Exit status: 0 done, 1 manager or system failure, 2 usage; connect
 * passes on the host's 3 (unavailable), 4 (busy), 5 (VM closed), 255. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/args.h"
#include "core/config.h"
#include "core/log.h"
#include "core/prog.h"
#include "proxy/proxy_shell.h"
#include "core/text.h"

/* sercon-proxy-shell locate --entity-id=ID --vm-id=VMID: run by
 * sercon-proxy-wait (never reachable by a user, who only sets
 * SSH_ORIGINAL_COMMAND) to follow a VM. */
static int
locate_main(int argc, char **argv)
{
	struct sercon_config cfg;
	const char *v;
	char *id = NULL, *vm = NULL;
	int rc = PSHELL_USAGE;

	if (argc != 4 || (v = args_opt(argv[2], "entity-id")) == NULL ||
	    (id = text_pct_decode(v)) == NULL ||
	    (v = args_opt(argv[3], "vm-id")) == NULL ||
	    (vm = text_pct_decode(v)) == NULL ||
	    !text_valid_entity_id(id) || !text_valid_entity_id(vm)) {
		log_user_error("usage: sercon-proxy-shell locate "
		    "--entity-id=ID --vm-id=VMID");
		goto out;
	}
	if (prog_load_config(&cfg, 0) != 0) {
		rc = PSHELL_FAIL;
		goto out;
	}
	rc = pshell_locate(&cfg, id, vm);
	cfg_free(&cfg);
out:
	free(id);
	free(vm);
	return rc;
}

/* The identity from the key line, percent-decoded and validated. */
static int
parse_accept(int argc, char **argv, char **id, char **name)
{
	const char *v;

	*id = *name = NULL;
	if (argc != 4 || strcmp(argv[1], "accept") != 0 ||
	    (v = args_opt(argv[2], "entity-id")) == NULL ||
	    (*id = text_pct_decode(v)) == NULL ||
	    (v = args_opt(argv[3], "entity")) == NULL ||
	    (*name = text_pct_decode(v)) == NULL ||
	    !text_valid_entity_id(*id) || !text_valid_entity_name(*name)) {
		free(*id);
		free(*name);
		*id = *name = NULL;
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct sercon_config cfg;
	struct pshell_req req;
	char err[512], *id, *name;
	int rc;

	prog_start("sercon-proxy-shell", 0);
	if (argc > 1 && !strcmp(argv[1], "locate"))
		return locate_main(argc, argv);
	if (parse_accept(argc, argv, &id, &name) != 0) {
		log_user_error("usage: sercon-proxy-shell accept "
		    "--entity-id=ID --entity=NAME (run by sshd from the key "
		    "line)");
		return PSHELL_USAGE;
	}
	if (prog_load_config(&cfg, 0) != 0) {
		log_user_error("the proxy is misconfigured; tell its "
		    "administrator");
		free(id);
		free(name);
		return PSHELL_FAIL;
	}
	if (pshell_parse(getenv("SSH_ORIGINAL_COMMAND"), &req, err,
	    sizeof(err)) != 0) {
		log_user_error("%s; try 'help'", err);
		rc = PSHELL_USAGE;
		goto out;
	}
	if (req.debug) {
		log_set_debug(true);
		log_set_stderr(true);
	}
	rc = pshell_run(&cfg, &req, id, name);
	pshell_req_free(&req);
out:
	cfg_free(&cfg);
	free(id);
	free(name);
	return rc;
}

/* sercon-proxy-wait: a console session on the proxy, once sercon-proxy-shell
 * has chosen the console. The shell becomes this small, statically linked
 * program (exec, same pid), which dials the VM's host, sits in the
 * session's data path (in-session commands, the framed protocol of a
 * sercon host, following the VM when it moves) and logs the outcome. Run
 * only by sercon-proxy-shell, with the argv of core/contract.h:
 *   sercon-proxy-wait DEBUG MENU ENTITY_ID ENTITY VMID VM HOST CONSOLE
 * Exit status: the session's (sercon-proxy-shell(8)); 1 on a wrong call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/child.h"
#include "core/config.h"
#include "core/contract.h"
#include "core/log.h"
#include "core/prog.h"
#include "core/text.h"
#include "core/xmalloc.h"
#include "proxy/dial.h"
#include "proxy/escape.h"
#include "proxy/session.h"

struct locate_ctx {
	const struct sercon_config *cfg;
	const char *entity_id;
};

/* Asks sercon-proxy-shell (which carries the manager) where the VM is now;
 * it answers "HOST<TAB>CONSOLE" on one line. */
static int
locate(void *arg, const char *vm_id, struct mgr_console *c)
{
	struct locate_ctx *x = arg;
	struct child_result res;
	char *id = text_pct_encode(x->entity_id), *vm = text_pct_encode(vm_id);
	char *a_id = xasprintf("--entity-id=%s", id);
	char *a_vm = xasprintf("--vm-id=%s", vm);
	char *argv[] = { SERCON_LIBEXECDIR "/sercon-proxy-shell", "locate",
	    a_id, a_vm, NULL };
	char err[256], *tab, *nl;
	int rc = -1;

	free(id);
	free(vm);
	if (child_run(argv, NULL, (x->cfg->timeout * 3 + 5) * 1000,
	    4096, 1, &res, err, sizeof(err)) != 0) {
		log_error("cannot ask where the VM is: %s", err);
		goto out;
	}
	if (res.status == LOCATE_NOT_LISTED) {
		rc = 1;
	} else if (res.status == 0 && (tab = strchr(res.out, '\t')) != NULL &&
	    (nl = strchr(tab, '\n')) != NULL) {
		*tab = *nl = '\0';
		if (text_valid_host(res.out) && text_valid_console(tab + 1)) {
			c->vm_id = xstrdup(vm_id);
			c->host = xstrdup(res.out);
			c->console = xstrdup(tab + 1);
			rc = 0;
		}
	}
	if (rc < 0)
		log_warn("the manager did not say where vmid=%s is (status %d)",
		    vm_id, res.status);
	child_result_free(&res);
out:
	free(a_id);
	free(a_vm);
	return rc;
}

/* ~. after a menu choice: the menu again, by becoming the shell anew. */
static void
back_to_menu(const char *entity_id, const char *entity, const char *mode,
    const char *replay)
{
	char *id = text_pct_encode(entity_id), *name = text_pct_encode(entity);
	char *a_id = xasprintf("--entity-id=%s", id);
	char *a_name = xasprintf("--entity=%s", name);
	char *argv[] = { SERCON_LIBEXECDIR "/sercon-proxy-shell", "accept",
	    a_id, a_name, NULL };
	char *cmd;

	/* the menu's options (connect --read-only ...) hold for the next
	 * choice too; words checked in main */
	cmd = xasprintf("connect%s%s%s", !strcmp(mode, WAIT_MODE_RO) ?
	    " --read-only" : !strcmp(mode, WAIT_MODE_TAKEOVER) ?
	    " --takeover" : "", strcmp(replay, WAIT_REPLAY_DEFAULT) != 0 ?
	    " --replay=" : "", strcmp(replay, WAIT_REPLAY_DEFAULT) != 0 ?
	    replay : "");

	if (setenv("SSH_ORIGINAL_COMMAND", cmd, 1) != 0)
		unsetenv("SSH_ORIGINAL_COMMAND");
	free(cmd);
	fflush(stdout);
	execv(argv[0], argv);
	log_user_error("cannot go back to the menu: %m");
	free(id);
	free(name);
	free(a_id);
	free(a_name);
}

int
main(int argc, char **argv)
{
	struct sercon_config cfg;
	struct locate_ctx lc;
	struct psess s;
	int status, esc;

	/* The session's log lines are the shell's. */
	prog_start("sercon-proxy-shell", 0);
	if (argc != WAIT_ARGC || !text_valid_entity_id(argv[WAIT_ARG_ENTITY_ID]) ||
	    !text_valid_entity_name(argv[WAIT_ARG_ENTITY]) ||
	    !text_valid_host(argv[WAIT_ARG_HOST]) ||
	    !text_valid_console(argv[WAIT_ARG_CONSOLE]) ||
	    (strcmp(argv[WAIT_ARG_MODE], WAIT_MODE_RW) != 0 &&
	    strcmp(argv[WAIT_ARG_MODE], WAIT_MODE_RO) != 0 &&
	    strcmp(argv[WAIT_ARG_MODE], WAIT_MODE_TAKEOVER) != 0) ||
	    (strcmp(argv[WAIT_ARG_REPLAY], WAIT_REPLAY_DEFAULT) != 0 &&
	    !dial_replay_valid(argv[WAIT_ARG_REPLAY]))) {
		log_user_error("sercon-proxy-wait is run by sercon-proxy-shell "
		    "only");
		return 1;
	}
	if (prog_load_config(&cfg, PROG_TELL_USER |
	    (!strcmp(argv[WAIT_ARG_DEBUG], "1") ? PROG_DEBUG : 0)) != 0)
		return 1;
	if ((esc = esc_parse(cfg.escape)) == -2) {
		log_error("configuration: escape: '%s' is not one character, "
		    "^X or none", cfg.escape);
		log_user_error("the proxy is misconfigured; tell its "
		    "administrator");
		cfg_free(&cfg);
		return 1;
	}
	memset(&s, 0, sizeof(s));
	lc.cfg = &cfg;
	lc.entity_id = argv[WAIT_ARG_ENTITY_ID];
	s.cfg = &cfg;
	s.entity_id = argv[WAIT_ARG_ENTITY_ID];
	s.entity = argv[WAIT_ARG_ENTITY];
	s.vm.vm_id = xstrdup(argv[WAIT_ARG_VMID]);
	s.vm.vm_name = xstrdup(argv[WAIT_ARG_VM]);
	s.vm.host = xstrdup(argv[WAIT_ARG_HOST]);
	s.vm.console = xstrdup(argv[WAIT_ARG_CONSOLE]);
	s.escape = esc;
	s.from_menu = !strcmp(argv[WAIT_ARG_MENU], "1");
	s.read_only = !strcmp(argv[WAIT_ARG_MODE], WAIT_MODE_RO);
	s.takeover = !strcmp(argv[WAIT_ARG_MODE], WAIT_MODE_TAKEOVER);
	s.replay = strcmp(argv[WAIT_ARG_REPLAY], WAIT_REPLAY_DEFAULT) != 0 ?
	    argv[WAIT_ARG_REPLAY] : NULL;
	s.in = STDIN_FILENO;
	s.out = STDOUT_FILENO;
	s.locate = locate;
	s.locate_arg = &lc;
	status = psess_run(&s);
	dial_report(status == PSESS_MENU ? 0 : status, s.outcome, s.message,
	    s.entity_id, s.vm.vm_name, s.vm.vm_id, s.vm.host);
	if (status == PSESS_MENU) {
		back_to_menu(s.entity_id, s.entity, argv[WAIT_ARG_MODE],
		    argv[WAIT_ARG_REPLAY]);
		status = 1;
	}
	psess_console_free(&s.vm);
	cfg_free(&cfg);
	return status;
}

/* proxy_shell.c: the commands of sercon-proxy-shell; see proxy_shell.h.
 * Whatever the manager says is printed through text_safe (or jansson for
 * JSON), every list and connect leaves one audit line in syslog. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "core/args.h"
#include "core/contract.h"
#include "proxy/dial.h"
#include "proxy/escape.h"
#include "core/log.h"
#include "manager/manager.h"
#include "proxy/menu.h"
#include "proxy/proxy_shell.h"
#include "core/text.h"

static const char pshell_usage[] =
    "usage: ssh -t -p PORT " SERCON_USER "@PROXY [connect] [--vm-id=ID | "
    "--vm-name=NAME | TARGET]\n"
    "           [--read-only | --takeover] [--replay=N|all]\n"
    "       ssh -p PORT " SERCON_USER "@PROXY list [--format=plain|json]\n"
    "       ssh -p PORT " SERCON_USER "@PROXY info | help\n"
    "\n"
    "  connect          the serial console of a VM (the default command);\n"
    "                   with several consoles and no choice, a menu\n"
    "  --vm-id=ID       the VM with this id\n"
    "  --vm-name=NAME   the VM with this name\n"
    "  TARGET           a VM name or id\n"
    "  --read-only      watch only, even when nobody writes (or --watch)\n"
    "  --takeover       become the writer; the writer there now watches\n"
    "  --replay=N|all   first show the last N lines of output (0: none;\n"
    "                   default: the host's setting, a screen)\n"
    "                   Without a VM, these apply to the console chosen\n"
    "                   in the menu. They need a sercon host.\n"
    "  list             the consoles you may use: VMID<TAB>NAME a line\n"
    "  info             who you are to sercon\n"
    "  --debug          log (and show) what happens\n"
    "\n"
    "\n"
    "In a session, at the start of a line (your own ssh takes one ~, so\n"
    "type two):\n"
    "  ~~.   leave this console (back to the menu if you came from it)\n"
    "  ~~B   send a BREAK         ~~S<key>  Magic SysRq <key> (~~Sh: help)\n"
    "  ~~W   take over as writer  ~~R       replay recent output\n"
    "  ~~?   list these commands  ~~~       a literal ~\n"
    "A single ~B does nothing: your ssh sends a BREAK request that a\n"
    "stock sshd on Linux drops. BREAK, SysRq, ~~W and ~~R need a sercon\n"
    "host; the proxy's administrator may change or turn off the ~.\n";

void
pshell_req_free(struct pshell_req *req)
{
	free(req->vm_id);
	free(req->vm_name);
	free(req->target);
	free(req->replay);
	memset(req, 0, sizeof(*req));
}

/* --read-only (--watch) or --takeover, once: the mode word, or NULL. */
static const char *
mode_option(const char *w)
{
	if (!strcmp(w, "--read-only") || !strcmp(w, "--watch"))
		return WAIT_MODE_RO;
	if (!strcmp(w, "--takeover"))
		return WAIT_MODE_TAKEOVER;
	return NULL;
}

static int
parse_connect(char **w, int n, struct pshell_req *req, char *err,
    size_t errlen)
{
	const char *v, *m;
	char safe[64];
	int i;

	req->mode = WAIT_MODE_RW;
	for (i = 0; i < n; i++) {
		if ((m = mode_option(w[i])) != NULL) {
			if (strcmp(req->mode, WAIT_MODE_RW) != 0) {
				snprintf(err, errlen, "--read-only and "
				    "--takeover exclude each other (and go "
				    "once)");
				return -1;
			}
			req->mode = m;
		} else if ((v = args_opt(w[i], "replay")) != NULL) {
			if (!dial_replay_valid(v)) {
				snprintf(err, errlen, "--replay takes a number "
				    "of lines (0 to %d) or 'all', not '%s'",
				    WAIT_REPLAY_MAX,
				    text_safe_buf(safe, sizeof(safe), v));
				return -1;
			}
			if (args_set_once(&req->replay, v, "--replay", true,
			    err, errlen))
				return -1;
		} else if ((v = args_opt(w[i], "vm-id")) != NULL) {
			if (args_set_once(&req->vm_id, v, "--vm-id", true, err,
			    errlen))
				return -1;
		} else if ((v = args_opt(w[i], "vm-name")) != NULL) {
			if (args_set_once(&req->vm_name, v, "--vm-name", true,
			    err, errlen))
				return -1;
		} else if (w[i][0] == '-') {
			snprintf(err, errlen, "unknown option '%s' of connect",
			    text_safe_buf(safe, sizeof(safe), w[i]));
			return -1;
		} else if (args_set_once(&req->target, w[i], "the target", true,
		    err, errlen)) {
			return -1;
		}
	}
	if ((req->vm_id != NULL) + (req->vm_name != NULL) +
	    (req->target != NULL) > 1) {
		snprintf(err, errlen, "choose a VM once: --vm-id, --vm-name "
		    "or a name");
		return -1;
	}
	return 0;
}

static int
parse_list(char **w, int n, struct pshell_req *req, char *err,
    size_t errlen)
{
	const char *v;
	char safe[64];
	int i;

	for (i = 0; i < n; i++) {
		if ((v = args_opt(w[i], "format")) != NULL &&
		    (!strcmp(v, "plain") || !strcmp(v, "json"))) {
			req->json = !strcmp(v, "json");
			continue;
		}
		snprintf(err, errlen, "list takes --format=plain or "
		    "--format=json, not '%s'",
		    text_safe_buf(safe, sizeof(safe), w[i]));
		return -1;
	}
	return 0;
}

int
pshell_parse(const char *command, struct pshell_req *req, char *err,
    size_t errlen)
{
	char **argv = NULL, **w, safe[64];
	int argc, rc = -1;

	memset(req, 0, sizeof(*req));
	req->cmd = PSHELL_CONNECT;
	req->mode = WAIT_MODE_RW;
	if (command == NULL || command[0] == '\0')
		return 0;
	if (args_split(command, &argv, &argc, err, errlen) != 0)
		return -1;
	w = argv;
	if (argc > 0 && !strcmp(w[0], "--debug")) {
		req->debug = true;
		w++;
		argc--;
	}
	if (argc == 0) {
		rc = 0;
	} else if (!strcmp(w[0], "connect")) {
		rc = parse_connect(w + 1, argc - 1, req, err, errlen);
	} else if (!strcmp(w[0], "list")) {
		req->cmd = PSHELL_LIST;
		rc = parse_list(w + 1, argc - 1, req, err, errlen);
	} else if (!strcmp(w[0], "info") || !strcmp(w[0], "help")) {
		req->cmd = w[0][0] == 'i' ? PSHELL_INFO : PSHELL_HELP;
		if (argc == 1)
			rc = 0;
		else
			snprintf(err, errlen, "%s takes no arguments", w[0]);
	} else if (w[0][0] == '-' && strncmp(w[0], "--vm-", 5) != 0 &&
	    mode_option(w[0]) == NULL && args_opt(w[0], "replay") == NULL) {
		snprintf(err, errlen, "unknown option '%s'",
		    text_safe_buf(safe, sizeof(safe), w[0]));
	} else {
		rc = parse_connect(w, argc, req, err, errlen);
	}
	args_free(argv);
	if (rc != 0)
		pshell_req_free(req);
	return rc;
}

/* A JSON string for s: as it is when it is UTF-8 (jansson escapes it to
 * ASCII on output), else its text_safe spelling. */
static json_t *
json_text(const char *s)
{
	json_t *j = json_string(s);
	char *safe;

	if (j != NULL)
		return j;
	safe = text_safe(s);
	j = json_string(safe);
	free(safe);
	if (j == NULL)
		abort();
	return j;
}

/* One console a time, so that 100,000 consoles cost no tree. */
static int
list_json(const struct mgr_console_list *l, FILE *out)
{
	const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENSURE_ASCII;
	json_t *o;
	size_t i;
	int rc = 0;

	fputs("{\"content\":\"console_list\",\"version\":1,\"consoles\":[", out);
	for (i = 0; i < l->n && rc == 0; i++) {
		if ((o = json_object()) == NULL ||
		    json_object_set_new(o, "vmid", json_text(l->v[i].vm_id)) ||
		    json_object_set_new(o, "vm", json_text(l->v[i].vm_name)) ||
		    json_object_set_new(o, "host", json_text(l->v[i].host)) ||
		    json_object_set_new(o, "console",
		    json_text(l->v[i].console)))
			abort();
		if (i > 0)
			putc(',', out);
		rc = json_dumpf(o, out, flags);
		json_decref(o);
	}
	fputs("]}\n", out);
	return rc;
}

static int
cmd_list(const struct sercon_config *cfg, const struct pshell_req *req,
    const char *entity_id, const struct mgr_console_list *l)
{
	int rc = 0;

	(void)cfg;
	if (!req->json)
		menu_print_plain(l, stdout);
	else
		rc = list_json(l, stdout);
	if (fflush(stdout) != 0 || rc != 0) {
		log_error("list entity=%s: cannot write the list", entity_id);
		return PSHELL_FAIL;
	}
	log_info("list entity=%s consoles=%zu outcome=ok", entity_id, l->n);
	return PSHELL_OK;
}

/* The one console whose id (by_id) or name is want: its index, MENU_NONE,
 * or MENU_AMBIGUOUS with the first two matches in clash. */
static int
find_exact(const struct mgr_console_list *l, const char *want, bool by_id,
    int clash[2])
{
	size_t i;
	int k = MENU_NONE;

	for (i = 0; i < l->n && k != MENU_AMBIGUOUS; i++) {
		if (strcmp(by_id ? l->v[i].vm_id : l->v[i].vm_name, want) != 0)
			continue;
		if (k == MENU_NONE) {
			k = (int)i;
		} else {
			clash[0] = k;
			clash[1] = (int)i;
			k = MENU_AMBIGUOUS;
		}
	}
	return k;
}

/* The console the request names (MENU_NONE when it names none): -1 after
 * an error was printed. */
static int
choose_named(const struct pshell_req *req, const struct mgr_console_list *l)
{
	char safe[128], msg[768];
	const char *want;
	int k, clash[2] = { -1, -1 };

	if (req->vm_id != NULL) {
		want = req->vm_id;
		k = find_exact(l, want, true, clash);
	} else if (req->vm_name != NULL) {
		want = req->vm_name;
		k = find_exact(l, want, false, clash);
	} else {
		want = req->target;
		k = menu_find(l, want, 0, clash);
	}
	if (k >= 0)
		return k;
	if (k == MENU_AMBIGUOUS) {
		menu_clash(l, want, clash, msg, sizeof(msg));
		log_user_error("%s (see 'list')", msg);
	} else {
		log_user_error("no console of a VM %s '%s' is available to "
		    "you (see 'list')", req->vm_id != NULL ? "with id" :
		    "named", text_safe_buf(safe, sizeof(safe), want));
	}
	return -1;
}

/* Becomes sercon-proxy-wait for the session (same pid): it dials, holds
 * the session and reports its end. Returns only if that failed. */
static void
become_session(const struct pshell_req *req, const char *entity_id,
    const char *entity, const struct mgr_console *c, bool from_menu)
{
	char *argv[WAIT_ARGC + 1];

	argv[0] = SERCON_LIBEXECDIR "/" WAIT_PROGRAM;
	argv[WAIT_ARG_DEBUG] = log_debug_enabled() || req->debug ? "1" : "0";
	argv[WAIT_ARG_MENU] = from_menu ? "1" : "0";
	argv[WAIT_ARG_ENTITY_ID] = (char *)entity_id;
	argv[WAIT_ARG_ENTITY] = (char *)entity;
	argv[WAIT_ARG_VMID] = c->vm_id;
	argv[WAIT_ARG_VM] = c->vm_name;
	argv[WAIT_ARG_HOST] = c->host;
	argv[WAIT_ARG_CONSOLE] = c->console;
	argv[WAIT_ARG_MODE] = (char *)req->mode;
	argv[WAIT_ARG_REPLAY] = req->replay != NULL ? req->replay :
	    WAIT_REPLAY_DEFAULT;
	argv[WAIT_ARGC] = NULL;
	fflush(stdout);
	fflush(stderr);
	execv(argv[0], argv);
	log_user_error("cannot start the session: %s: %s", argv[0],
	    strerror(errno));
}

static int
cmd_connect(const struct sercon_config *cfg, const struct pshell_req *req,
    const char *entity_id, const char *entity,
    const struct mgr_console_list *l)
{
	char hint[128];
	int k, esc;
	bool named = req->vm_id || req->vm_name || req->target;

	if ((esc = esc_parse(cfg->escape)) == -2) {
		log_error("configuration: escape: '%s' is not one character, "
		    "^X or none", cfg->escape);
		log_user_error("the proxy is misconfigured; tell its "
		    "administrator");
		return PSHELL_FAIL;
	}
	/* a VM that is not there is named as such, with or without a tty */
	if (named && (k = choose_named(req, l)) < 0)
		return PSHELL_USAGE;
	if (!isatty(STDIN_FILENO)) {
		log_user_error("connect needs a terminal: use ssh -t (or "
		    "'list' to see your consoles)");
		return PSHELL_USAGE;
	}
	if (!named) {
		if (l->n == 1)
			k = 0;
		else if ((k = menu_choose(cfg->menu_title ? cfg->menu_title :
		    "Available consoles", esc_hint(esc, hint, sizeof(hint)),
		    l, stdin, stdout)) == MENU_LEAVE)
			return PSHELL_OK;
	}
	become_session(req, entity_id, entity, &l->v[k], !named && l->n > 1);
	return PSHELL_FAIL;
}

int
pshell_locate(const struct sercon_config *cfg, const char *entity_id,
    const char *vm_id)
{
	struct mgr_console_list l;
	char err[512];
	size_t i;
	int k = MENU_NONE;

	if (mgr_list_consoles(cfg, entity_id, &l, err, sizeof(err)) != 0)
		return PSHELL_FAIL;
	for (i = 0; i < l.n && k != MENU_AMBIGUOUS; i++)
		if (!strcmp(l.v[i].vm_id, vm_id))
			k = k == MENU_NONE ? (int)i : MENU_AMBIGUOUS;
	if (k >= 0)
		printf("%s\t%s\n", l.v[k].host, l.v[k].console);
	log_info("locate entity=%s vmid=%s outcome=%s host=%s", entity_id,
	    vm_id, k >= 0 ? "listed" : k == MENU_NONE ? "not-listed" :
	    "ambiguous", k >= 0 ? l.v[k].host : "-");
	mgr_console_list_free(&l);
	if (fflush(stdout) != 0)
		return PSHELL_FAIL;
	return k >= 0 ? PSHELL_OK : k == MENU_NONE ? LOCATE_NOT_LISTED :
	    PSHELL_FAIL;
}

int
pshell_run(const struct sercon_config *cfg, const struct pshell_req *req,
    const char *entity_id, const char *entity)
{
	struct mgr_console_list l;
	char err[512], safe[TEXT_NAME_MAX * 4 + 1];
	int rc;

	switch (req->cmd) {
	case PSHELL_HELP:
		fputs(pshell_usage, stdout);
		return PSHELL_OK;
	case PSHELL_INFO:
		printf("sercon %s\nentity: %s\n", PACKAGE_VERSION,
		    text_safe_buf(safe, sizeof(safe), entity));
		printf("entity id: %s\n",
		    text_safe_buf(safe, sizeof(safe), entity_id));
		return PSHELL_OK;
	case PSHELL_LIST:
	case PSHELL_CONNECT:
		break;
	}
	if (mgr_list_consoles(cfg, entity_id, &l, err, sizeof(err)) != 0) {
		log_info("%s entity=%s outcome=manager-failed",
		    req->cmd == PSHELL_LIST ? "list" : "connect", entity_id);
		log_user_error("cannot get your consoles from the manager; "
		    "try again later");
		return PSHELL_FAIL;
	}
	if (req->cmd == PSHELL_LIST) {
		rc = cmd_list(cfg, req, entity_id, &l);
	} else if (l.n == 0) {
		log_info("connect entity=%s outcome=no-consoles", entity_id);
		log_user_error("no consoles available to %s",
		    text_safe_buf(safe, sizeof(safe), entity));
		rc = PSHELL_FAIL;
	} else {
		rc = cmd_connect(cfg, req, entity_id, entity, &l);
	}
	mgr_console_list_free(&l);
	return rc;
}

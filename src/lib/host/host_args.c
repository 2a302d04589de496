/* host_args.c: the host shell's command line, the edge where the words the
 * proxy sent are validated. Both spellings are accepted: sercon's
 * (--entity-id=ID) and ovirt-vmconsole-host-shell's (--entityid="ID", and
 * argparse's "--option value" form), so that an ovirt proxy can use a
 * sercon host. */
#include <stdlib.h>
#include <string.h>

#include "core/args.h"
#include "host/host_shell.h"
#include "core/text.h"

void
host_usage(FILE *f)
{
	fprintf(f,
	    "usage: sercon-host-shell [--debug] [--entity-id=ID] "
	    "[--entity=NAME] COMMAND\n"
	    "  (the command line is read from SSH_ORIGINAL_COMMAND)\n"
	    "commands:\n"
	    "  connect --console=NAME   relay this session to the console "
	    "socket NAME\n"
	    "    --read-only, --watch   watch it, never write\n"
	    "    --takeover             become its writer (the writer there is "
	    "watches)\n"
	    "    --replay=N|all         first show the last N lines (default "
	    "from the\n"
	    "                           configuration) or all kept output\n"
	    "    --proto=1              the framed session protocol (sercon "
	    "proxies)\n"
	    "  status                   who is on which console "
	    "(sercon-consoled)\n"
	    "  info                     package, version, CA key and host "
	    "certificate\n"
	    "  help                     this text\n"
	    "options:\n"
	    "  --debug                  log debug events\n"
	    "  --entity-id=ID           who is connecting, for the audit log "
	    "(also --entityid)\n"
	    "  --entity=NAME            their name, for the audit log\n");
}

void
host_args_free(struct host_args *a)
{
	free(a->entity_id);
	free(a->entity);
	free(a->console);
	memset(a, 0, sizeof(*a));
}

/* Matches "--name=value" or "--name value" (taking the next word). Returns
 * 1 and sets *val on a match, 0 when the word is another one, -1 when the
 * value is missing. */
static int
opt_value(char **argv, int argc, int *i, const char *name, const char **val)
{
	const char *v = args_opt(argv[*i], name);

	if (v == NULL)
		return 0;
	if (strchr(argv[*i], '=') != NULL) {
		*val = v;
		return 1;
	}
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

static int
parse_command(const char *word, struct host_args *a, char *err,
    size_t errlen)
{
	enum host_cmd cmd;

	if (!strcmp(word, HOST_CMD_WORD_CONNECT))
		cmd = HOST_CMD_CONNECT;
	else if (!strcmp(word, HOST_CMD_WORD_INFO))
		cmd = HOST_CMD_INFO;
	else if (!strcmp(word, HOST_CMD_WORD_HELP))
		cmd = HOST_CMD_HELP;
	else if (!strcmp(word, "status"))
		cmd = HOST_CMD_STATUS;
	else {
		snprintf(err, errlen, "unknown command '%.60s'", word);
		return -1;
	}
	if (a->cmd != HOST_CMD_NONE) {
		snprintf(err, errlen, "more than one command");
		return -1;
	}
	a->cmd = cmd;
	return 0;
}

static int
parse_word(char **argv, int argc, int *i, struct host_args *a, char *err,
    size_t errlen)
{
	const char *val;
	int m;

	if (!strcmp(argv[*i], "--" HOST_OPT_DEBUG)) {
		a->debug = true;
		return 0;
	}
	if (!strcmp(argv[*i], "--read-only") || !strcmp(argv[*i], "--watch") ||
	    !strcmp(argv[*i], "--takeover")) {
		if (a->mode != SESS_RW || a->mode_given) {
			snprintf(err, errlen, "--read-only and --takeover "
			    "exclude each other");
			return -1;
		}
		a->mode = argv[*i][2] == 't' ? SESS_TAKEOVER : SESS_RO;
		a->mode_given = true;
		return 0;
	}
	if ((m = opt_value(argv, argc, i, "replay", &val)) == 1) {
		if (replay_parse(val, &a->replay) != 0 ||
		    a->replay.kind == REPLAY_DEFAULT) {
			snprintf(err, errlen, "--replay takes N, all or "
			    "arrival");
			return -1;
		}
		a->options_given = true;
		return 0;
	}
	if (m == 0 && (m = opt_value(argv, argc, i, "proto", &val)) == 1) {
		if (strcmp(val, "1") != 0) {
			snprintf(err, errlen, "--proto: only version 1 is "
			    "known");
			return -1;
		}
		a->proto = 1;
		a->options_given = true;
		return 0;
	}
	if (m == -1) {
		snprintf(err, errlen, "option %.40s needs a value", argv[*i]);
		return -1;
	}
	if ((m = opt_value(argv, argc, i, HOST_OPT_ENTITY_ID, &val)) == 0)
		m = opt_value(argv, argc, i, HOST_OPT_ENTITYID, &val);
	if (m == 1)
		return args_set_once(&a->entity_id, val, "option --entity-id",
		    false, err, errlen);
	if (m == 0 &&
	    (m = opt_value(argv, argc, i, HOST_OPT_ENTITY, &val)) == 1)
		return args_set_once(&a->entity, val, "option --entity", false,
		    err, errlen);
	if (m == 0 &&
	    (m = opt_value(argv, argc, i, HOST_OPT_CONSOLE, &val)) == 1)
		return args_set_once(&a->console, val, "option --console",
		    false, err, errlen);
	if (m == -1) {
		snprintf(err, errlen, "option %.40s needs a value", argv[*i]);
		return -1;
	}
	if (argv[*i][0] == '-') {
		snprintf(err, errlen, "unknown option '%.60s'", argv[*i]);
		return -1;
	}
	return parse_command(argv[*i], a, err, errlen);
}

/* The sercon proxy percent-encodes the entity (docs/design.md); an ovirt
 * proxy sends it as it is. A value that decodes to a valid one is taken
 * decoded. */
static void
decode_entity(char **slot, bool (*valid)(const char *))
{
	char *dec;

	if (*slot == NULL || strchr(*slot, '%') == NULL ||
	    (dec = text_pct_decode(*slot)) == NULL)
		return;
	if (valid(dec)) {
		free(*slot);
		*slot = dec;
	} else
		free(dec);
}

static int
check_args(struct host_args *a, char *err, size_t errlen)
{
	if (a->cmd == HOST_CMD_NONE) {
		snprintf(err, errlen, "no command given");
		return -1;
	}
	if (a->cmd == HOST_CMD_CONNECT && a->console == NULL) {
		snprintf(err, errlen, "connect needs --console=NAME");
		return -1;
	}
	if (a->cmd != HOST_CMD_CONNECT && (a->console != NULL ||
	    a->mode_given || a->options_given)) {
		snprintf(err, errlen, "--console, --read-only, --takeover, --replay "
		    "and --proto: each an option of connect");
		return -1;
	}
	decode_entity(&a->entity_id, text_valid_entity_id);
	decode_entity(&a->entity, text_valid_entity_name);
	if (a->entity_id != NULL && !text_valid_entity_id(a->entity_id)) {
		snprintf(err, errlen, "invalid entity id");
		return -1;
	}
	if (a->entity != NULL && !text_valid_entity_name(a->entity)) {
		snprintf(err, errlen, "invalid entity name");
		return -1;
	}
	return 0;
}

int
host_args_parse(const char *line, struct host_args *a, char *err,
    size_t errlen)
{
	char **argv = NULL;
	int argc = 0, i, rc = 0;

	memset(a, 0, sizeof(*a));
	if (line == NULL || *line == '\0') {
		snprintf(err, errlen, "no command given");
		return -1;
	}
	if (args_split(line, &argv, &argc, err, errlen) != 0)
		return -1;
	for (i = 0; i < argc && rc == 0; i++)
		rc = parse_word(argv, argc, &i, a, err, errlen);
	args_free(argv);
	if (rc != 0)
		return -1;
	return check_args(a, err, errlen);
}

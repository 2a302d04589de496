/* be_command.c: the command backend (backend.h). key_list and
 * console_list are argv templates (ovirt-vmconsole README.API v1): split
 * like a shell command line but never given to a shell, placeholders
 * substituted word by word, run with child_run under a time limit and an
 * output cap; the output is read by mgr_json.c, the key list as it comes
 * (streamed into the key index, never held whole). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/args.h"
#include "core/xmalloc.h"
#include "manager/backend.h"
#include "core/child.h"
#include "core/log.h"
#include "manager/mgr_json.h"
#include "core/sshkey.h"
#include "core/text.h"

#define BE_COMMAND_OUT_MAX (16 * 1024 * 1024)
/* the key list is streamed, never held whole: the engine's larger bound
 * (100k ed25519 keys with their comments come close to 16 MiB) */
#define BE_COMMAND_KEYS_MAX (32 * 1024 * 1024)

struct be_subst {
	const char *name;
	const char *value;
};

static const char *
be_subst_find(const struct be_subst *subst, const char *name, size_t len)
{
	for (; subst->name != NULL; subst++)
		if (strlen(subst->name) == len &&
		    strncmp(subst->name, name, len) == 0)
			return subst->value;
	return NULL;
}

/* Replaces every {name} of word (name: lower case letters and '_'); an
 * unknown {name} is an error, other braces are left as they are. */
static char *
be_command_word(const char *word, const struct be_subst *subst, char *err,
    size_t errlen)
{
	size_t len = 0, cap = strlen(word) + 1;
	const char *p = word, *close, *val;
	char *out;

	out = xmalloc(cap);
	while (*p != '\0') {
		const char *piece = p;
		size_t plen = 1;

		if (*p == '{' && (close = p + 1 + strspn(p + 1,
		    "abcdefghijklmnopqrstuvwxyz_")) > p + 1 && *close == '}') {
			if ((val = be_subst_find(subst, p + 1,
			    (size_t)(close - p - 1))) == NULL) {
				snprintf(err, errlen, "unknown placeholder "
				    "%.*s in '%.100s'", (int)(close - p + 1),
				    p, word);
				free(out);
				return NULL;
			}
			piece = val;
			plen = strlen(val);
			p = close + 1;
		} else
			p++;
		if (len + plen + 1 > cap) {
			cap = (len + plen + 1) * 2;
			out = xreallocarray(out, cap, 1);
		}
		memcpy(out + len, piece, plen);
		len += plen;
	}
	out[len] = '\0';
	return out;
}

static void
be_command_argv_free(char **argv, int argc)
{
	int i;

	if (argv == NULL)
		return;
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

/* The argv of template with its placeholders filled in. */
static char **
be_command_argv(const char *what, const char *template,
    const struct be_subst *subst, int *argcp, char *err, size_t errlen)
{
	char **words = NULL, **argv;
	char why[256];
	int argc, i;

	if (template == NULL) {
		snprintf(err, errlen, "%s is not set for backend command",
		    what);
		return NULL;
	}
	if (args_split(template, &words, &argc, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", what, why);
		return NULL;
	}
	if (argc == 0 || words[0][0] != '/') {
		snprintf(err, errlen, "%s must start with the absolute path of "
		    "a program", what);
		args_free(words);
		return NULL;
	}
	argv = xcalloc((size_t)argc + 1, sizeof(*argv));
	for (i = 0; i < argc; i++) {
		if ((argv[i] = be_command_word(words[i], subst, why,
		    sizeof(why))) == NULL) {
			snprintf(err, errlen, "%s: %s", what, why);
			be_command_argv_free(argv, i);
			args_free(words);
			return NULL;
		}
	}
	args_free(words);
	*argcp = argc;
	return argv;
}

/* Runs the filled-in template; on success res holds what it printed, or
 * with st, what it printed went to st's reader as it came. */
static int
be_command_run(const struct sercon_config *cfg, const char *what,
    const char *template, const struct be_subst *subst,
    struct mgr_json_feeder *st, struct child_result *res, char *err,
    size_t errlen)
{
	char **argv, why[256];
	int argc, rc = -1;
	size_t cap = st != NULL ? BE_COMMAND_KEYS_MAX : BE_COMMAND_OUT_MAX;

	memset(res, 0, sizeof(*res));
	if ((argv = be_command_argv(what, template, subst, &argc, err,
	    errlen)) == NULL)
		return -1;
	log_debug("command: running %s %s", what, argv[0]);
	if (child_run_stream(argv, NULL, cfg->timeout * 1000, cap, 1,
	    st != NULL ? mgr_json_feeder_feed : NULL, st, res, why,
	    sizeof(why)) != 0)
		snprintf(err, errlen, "%s: %s", what, why);
	else if (res->stopped)
		snprintf(err, errlen, "%s: %s", what, st->err);
	else if (res->timed_out)
		snprintf(err, errlen, "%s %s did not finish within %d s", what,
		    argv[0], cfg->timeout);
	else if (res->truncated)
		snprintf(err, errlen, "%s %s printed more than %zu bytes", what,
		    argv[0], cap);
	else if (res->status != 0)
		snprintf(err, errlen, "%s %s exited with status %d", what,
		    argv[0], res->status);
	else
		rc = 0;
	if (rc != 0)
		child_result_free(res);
	be_command_argv_free(argv, argc);
	return rc;
}

/* "key_list: <why>" */
static void
be_command_prefix(const char *what, char *err, size_t errlen)
{
	char why[512];

	snprintf(why, sizeof(why), "%s", err);
	snprintf(err, errlen, "%s: %s", what, why);
}

static int
be_command_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, const struct mgr_key_sink *sink, char *err,
    size_t errlen)
{
	struct mgr_json_feeder st;
	struct child_result res;
	char *fp = NULL;
	int rc;

	if (blob != NULL && (fp = sshkey_fingerprint(blob)) == NULL) {
		snprintf(err, errlen, "the offered key is not valid base64");
		return -1;
	}
	{
		const struct be_subst subst[] = {
			{ "version", "1" },
			{ "keyfp", fp != NULL ? fp : "" },
			{ "keytype", type != NULL && blob != NULL ? type : "" },
			{ "key", blob != NULL ? blob : "" },
			{ NULL, NULL },
		};

		memset(&st, 0, sizeof(st));
		st.json = mgr_json_keys_begin(sink);
		rc = be_command_run(cfg, "key_list", cfg->key_list, subst,
		    &st, &res, err, errlen);
	}
	free(fp);
	if (rc != 0) {
		mgr_json_free(st.json);
		return -1;
	}
	if ((rc = mgr_json_keys_end(st.json, err, errlen)) != 0)
		be_command_prefix("key_list", err, errlen);
	child_result_free(&res);
	return rc;
}

static int
be_command_consoles(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen)
{
	struct child_result res;
	int rc;

	if (entity_id == NULL || !text_valid_entity_id(entity_id)) {
		snprintf(err, errlen, "invalid entity id");
		return -1;
	}
	{
		const struct be_subst subst[] = {
			{ "version", "1" },
			{ "entityid", entity_id },
			{ NULL, NULL },
		};

		rc = be_command_run(cfg, "console_list", cfg->console_list,
		    subst, NULL, &res, err, errlen);
	}
	if (rc != 0)
		return -1;
	if ((rc = mgr_json_consoles(res.out, res.out_len, MGR_JSON_COMMAND,
	    out, err, errlen)) != 0)
		be_command_prefix("console_list", err, errlen);
	child_result_free(&res);
	return rc;
}

const struct mgr_backend mgr_backend_command = {
	"command", be_command_keys, be_command_consoles,
};

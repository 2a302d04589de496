/* sercon-proxy-fetch: the remote manager's (backend command or engine)
 * side of sercon-proxy-keys and sercon-proxy-shell, which link no HTTP or
 * crypto code and run this instead (remote_exec.c). Not meant to be run
 * by hand:
 *   sercon-proxy-fetch refresh-keys [--background]
 *       rebuilds the key index in cache_dir, streaming the manager's key
 *       list into it; --background: only when no other process is at it
 *   sercon-proxy-fetch keys [KEYTYPE KEY]
 *       prints the key list as README.API v1 JSON (for a key_list
 *       template that names the offered key, or no cache_dir)
 *   sercon-proxy-fetch consoles ENTITY_ID
 *       prints the entity's consoles as README.API v1 JSON, through the
 *       console cache (cache.h)
 * Exit status: 0 done, 1 the manager failed (logged), 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "core/config.h"
#include "core/log.h"
#include "core/prog.h"
#include "core/text.h"
#include "manager/remote.h"

static json_t *
keys_json(const struct mgr_key_list *keys)
{
	json_t *arr = json_array();
	size_t i;

	if (arr == NULL)
		return NULL;
	for (i = 0; i < keys->n; i++) {
		const struct mgr_key *k = &keys->v[i];
		json_t *o = json_pack("{s:s,s:s,s:s++}", "entityid",
		    k->entity_id, "entity", k->entity, "key", k->type, " ",
		    k->blob);

		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return json_pack("{s:s,s:i,s:o}", "content", "key_list", "version", 1,
	    "keys", arr);
}

static json_t *
consoles_json(const struct mgr_console_list *l)
{
	json_t *arr = json_array();
	size_t i;

	if (arr == NULL)
		return NULL;
	for (i = 0; i < l->n; i++) {
		const struct mgr_console *c = &l->v[i];
		json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "vmid", c->vm_id,
		    "vm", c->vm_name, "host", c->host, "console", c->console);

		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return json_pack("{s:s,s:i,s:o}", "content", "console_list",
	    "version", 1, "consoles", arr);
}

static int
print_json(json_t *root, char *err, size_t errlen)
{
	int rc = 0;

	if (root == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (json_dumpf(root, stdout, JSON_COMPACT) != 0 ||
	    fflush(stdout) != 0) {
		snprintf(err, errlen, "cannot print the manager's answer");
		rc = -1;
	}
	json_decref(root);
	return rc;
}

static int
fetch_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, char *err, size_t errlen)
{
	struct mgr_key_list keys = { NULL, 0, 0 };
	int rc;

	if ((rc = mgr_remote_keys(cfg, type, blob, &keys, err, errlen)) == 0)
		rc = print_json(keys_json(&keys), err, errlen);
	mgr_key_list_free(&keys);
	return rc;
}

static int
fetch_consoles(const struct sercon_config *cfg, const char *entity_id,
    char *err, size_t errlen)
{
	struct mgr_console_list l = { NULL, 0, 0 };
	int rc;

	if ((rc = mgr_remote_consoles(cfg, entity_id, &l, err, errlen)) == 0)
		rc = print_json(consoles_json(&l), err, errlen);
	mgr_console_list_free(&l);
	return rc;
}

static int
usage(void)
{
	fprintf(stderr, "usage: sercon-proxy-fetch refresh-keys [--background]"
	    " | keys [KEYTYPE KEY] | consoles ENTITY_ID\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct sercon_config cfg;
	char err[512];
	const char *what;
	int rc;

	prog_start("sercon-proxy-fetch", 0);
	if (argc < 2)
		return usage();
	what = argv[1];
	if (!((!strcmp(what, "refresh-keys") && (argc == 2 || (argc == 3 &&
	    !strcmp(argv[2], "--background")))) ||
	    (!strcmp(what, "keys") && (argc == 2 || argc == 4)) ||
	    (!strcmp(what, "consoles") && argc == 3 &&
	    text_valid_entity_id(argv[2]))))
		return usage();
	if (prog_load_config(&cfg, 0) != 0)
		return 1;
	if (cfg.backend == BACKEND_FILE) {
		log_error("sercon-proxy-fetch: backend file needs no fetcher");
		cfg_free(&cfg);
		return 1;
	}
	if (!strcmp(what, "refresh-keys"))
		rc = mgr_remote_rebuild(&cfg, argc == 2, err, sizeof(err));
	else if (!strcmp(what, "keys"))
		rc = fetch_keys(&cfg, argc == 4 ? argv[2] : NULL,
		    argc == 4 ? argv[3] : NULL, err, sizeof(err));
	else
		rc = fetch_consoles(&cfg, argv[2], err, sizeof(err));
	if (rc != 0)
		log_error("manager (%s): %s", !strcmp(what, "consoles") ?
		    "consoles" : "keys", err);
	cfg_free(&cfg);
	return rc != 0 ? 1 : 0;
}

/* sercon-proxy-fetch: asks the remote manager (backend command or engine)
 * and prints its answer as README.API v1 JSON, for sercon-proxy-keys and
 * sercon-proxy-shell, which link no HTTP or crypto code. Not meant to be
 * run by hand:
 *   sercon-proxy-fetch keys [KEYTYPE KEY]     the key list
 *   sercon-proxy-fetch consoles ENTITY_ID     the entity's consoles (through
 *                                             the console cache, cache.h)
 * Exit status: 0 printed, 1 the manager failed (logged), 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "manager/backend.h"
#include "manager/cache.h"
#include "core/config.h"
#include "core/log.h"
#include "core/prog.h"
#include "core/text.h"

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
fetch_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, json_t **root, char *err, size_t errlen)
{
	struct mgr_key_list keys = { NULL, 0, 0 };
	int rc;

	if (cfg->backend == BACKEND_COMMAND)
		rc = be_command_keys(cfg, type, blob, &keys, err, errlen);
	else if (cfg->backend == BACKEND_ENGINE)
		rc = be_engine_keys(cfg, &keys, err, errlen);
	else
		rc = be_file_keys(cfg, &keys, err, errlen);
	if (rc == 0 && (*root = keys_json(&keys)) == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	mgr_key_list_free(&keys);
	return rc;
}

static int
fetch_consoles(const struct sercon_config *cfg, const char *entity_id,
    json_t **root, char *err, size_t errlen)
{
	struct mgr_console_list l = { NULL, 0, 0 };
	int rc;

	if (cfg->backend == BACKEND_COMMAND)
		rc = cache_consoles(cfg, entity_id, be_command_consoles, &l,
		    err, errlen);
	else if (cfg->backend == BACKEND_ENGINE)
		rc = cache_consoles(cfg, entity_id, be_engine_consoles, &l,
		    err, errlen);
	else
		rc = be_file_consoles(cfg, entity_id, &l, err, errlen);
	if (rc == 0 && (*root = consoles_json(&l)) == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	mgr_console_list_free(&l);
	return rc;
}

int
main(int argc, char **argv)
{
	struct sercon_config cfg;
	char err[512];
	json_t *root = NULL;
	int keys, rc;

	prog_start("sercon-proxy-fetch", 0);
	keys = argc >= 2 && !strcmp(argv[1], "keys");
	if (!(keys && (argc == 2 || argc == 4)) &&
	    !(argc == 3 && !strcmp(argv[1], "consoles") &&
	    text_valid_entity_id(argv[2]))) {
		fprintf(stderr, "usage: sercon-proxy-fetch keys [KEYTYPE KEY] | "
		    "consoles ENTITY_ID\n");
		return 2;
	}
	if (prog_load_config(&cfg, 0) != 0)
		return 1;
	if (keys)
		rc = fetch_keys(&cfg, argc == 4 ? argv[2] : NULL,
		    argc == 4 ? argv[3] : NULL, &root, err, sizeof(err));
	else
		rc = fetch_consoles(&cfg, argv[2], &root, err, sizeof(err));
	if (rc != 0) {
		log_error("manager (%s): %s", keys ? "keys" : "consoles", err);
		rc = 1;
	} else if (json_dumpf(root, stdout, JSON_COMPACT) != 0 ||
	    fflush(stdout) != 0) {
		log_error("cannot print the manager's answer");
		rc = 1;
	}
	json_decref(root);
	cfg_free(&cfg);
	return rc;
}

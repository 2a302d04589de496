/* manager.c: the dispatcher on top of the manager part: "which keys
 * exist" and "which consoles may entity X use" (manager.h) sent to the
 * policy of the configured backend (policy.h) or to the remote step
 * (remote.h), with what holds for every backend applied once, here: a key
 * claimed by more than one entity logs nobody in. */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "manager/manager.h"
#include "manager/policy.h"
#include "manager/remote.h"

static int
fail(const char *err, const char *what)
{
	log_error("manager (%s): %s", what, err);
	return -1;
}

int
mgr_find_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (cfg->backend == BACKEND_FILE)
		rc = fpol_find_keys(cfg, type, blob, out, err, errlen);
	else
		rc = rpol_find_keys(cfg, type, blob, out, err, errlen);
	if (rc != 0) {
		mgr_key_list_free(out);
		return fail(err, "keys");
	}
	mgr_keys_refuse_shared(out);
	return 0;
}

int
mgr_list_consoles(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (cfg->backend == BACKEND_FILE)
		rc = fpol_list_consoles(cfg, entity_id, out, err, errlen);
	else
		rc = mgr_remote_consoles(cfg, entity_id, out, err, errlen);
	if (rc != 0) {
		mgr_console_list_free(out);
		return fail(err, "consoles");
	}
	mgr_console_list_sort(out);
	return 0;
}

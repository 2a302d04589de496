/* manager.h: the two questions sercon asks its manager, "which keys exist"
 * and "which consoles may entity X use", whatever the backend behind them
 * (inventory file, external command, oVirt engine). Every record handed out
 * here has been validated (records.h): callers trust it. */
#ifndef SERCON_MANAGER_H
#define SERCON_MANAGER_H

#include <stddef.h>
#include "core/config.h"
#include "manager/records.h"

/* Keys whose type and blob match (all keys when blob is NULL). A key that
 * several entities claim is never returned (refused and logged). Returns
 * 0 (possibly with no keys), -1 when the manager could not answer: the
 * reason has been logged and is in err. */
int mgr_find_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen);

/* Consoles the entity may use, sorted by VM name. Same return convention. */
int mgr_list_consoles(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen);

#endif

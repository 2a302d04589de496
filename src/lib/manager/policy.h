/* policy.h: when the manager's answers come from the key index and when it
 * is rebuilt, one policy per kind of backend, below the dispatcher
 * (manager.c):
 *   file_policy.c    backend file: the index describes the inventory file
 *                    as it is (identity and times), else it is rebuilt
 *                    first: a changed inventory counts at the next login;
 *   remote_policy.c  backends command and engine: fresh for cache_ttl,
 *                    then served stale (up to cache_stale_max) while one
 *                    process refreshes it in the background.
 * Each returns 0 or -1 with a reason in err (logged by the dispatcher). */
#ifndef SERCON_POLICY_H
#define SERCON_POLICY_H

#include <stddef.h>

#include "core/config.h"
#include "manager/records.h"

int fpol_find_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen);
int fpol_list_consoles(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen);

int rpol_find_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen);

#endif

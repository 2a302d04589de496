/* remote.h: the remote step, how a program reaches a remote manager
 * (backend command or engine). Two implementations; each program links
 * exactly one (mk/manager.mk):
 *   remote_exec.c    runs sercon-proxy-fetch, so that sercon-proxy-keys and
 *                    sercon-proxy-shell (run by sshd at every login) load
 *                    no libcurl or libcrypto;
 *   remote_direct.c  calls the backends in this process: sercon-proxy-fetch
 *                    itself, sercon-setup and the unit tests.
 * Both do the same things in the same order, so that what the tests and
 * `sercon-setup check` exercise is what ships. */
#ifndef SERCON_REMOTE_H
#define SERCON_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "manager/records.h"

/* The manager's key list (for type/blob when a key_list template names
 * the offered key), into out, without the index. */
int mgr_remote_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen);

/* Rebuilds the key index now (rindex_rebuild), the caller waiting for
 * the answer. wait: wait for a rebuild another process is doing (else
 * leave it to that process). */
int mgr_remote_rebuild(const struct sercon_config *cfg, bool wait, char *err,
    size_t errlen);

/* Starts a rebuild that goes on after the caller has answered, unless one
 * is already running; returns at once. */
void mgr_remote_rebuild_async(const struct sercon_config *cfg);

/* The consoles of entity_id, through the console cache (cache.h). */
int mgr_remote_consoles(const struct sercon_config *cfg,
    const char *entity_id, struct mgr_console_list *out, char *err,
    size_t errlen);

#endif

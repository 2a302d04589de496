/* cache.h: per-entity console lists from a remote manager (engine, command)
 * kept in cache_dir so that a manager outage does not lock out users who
 * were just served: the manager is asked at every connect, and while it
 * fails (or within the back-off window after a failure, backoff.h) the
 * last good list is served for up to cache_stale_max seconds. Files are
 * written by atomic replace and carry a MAC: a corrupt or tampered file is
 * ignored, never trusted in part. */
#ifndef SERCON_CACHE_H
#define SERCON_CACHE_H

#include <time.h>

#include "core/config.h"
#include "manager/records.h"

typedef int (*cache_console_fetch_fn)(const struct sercon_config *cfg,
    const char *entity_id, struct mgr_console_list *out, char *err,
    size_t errlen);

/* Consoles for entity_id from fetch, stored for later; when fetch fails,
 * from a stored entry not older than cache_stale_max (logged).
 * Returns 0 or -1 with the fetch error in err. */
int cache_consoles(const struct sercon_config *cfg, const char *entity_id,
    cache_console_fetch_fn fetch, struct mgr_console_list *out, char *err,
    size_t errlen);

/* The same with the current time given, for the unit tests. */
int cache_consoles_at(const struct sercon_config *cfg, const char *entity_id,
    cache_console_fetch_fn fetch, time_t now, struct mgr_console_list *out,
    char *err, size_t errlen);

#endif

/* rindex.h: the key index of a remote manager (command, engine) in
 * cache_dir: which index belongs to this configuration, how old it is,
 * and its rebuild (the key list streamed from the backend straight into
 * the index writer, under a lock, so that one process at a time asks the
 * manager). The policy that decides when to rebuild is remote_policy.c's. */
#ifndef SERCON_RINDEX_H
#define SERCON_RINDEX_H

#include <stdbool.h>
#include <time.h>

#include "core/config.h"
#include "manager/backend.h"
#include "manager/keyindex.h"

#define RINDEX_FILE "keys.idx"
#define RINDEX_LOCK "keys.lock"

/* The index when valid and made for this configuration, with its age at
 * now: from when it was built, or from the file's modification time when
 * that is older (so that an index can only be made to look older, which
 * is how the tests age it). NULL when there is none. */
struct kidx *rindex_open(const struct sercon_config *cfg, time_t now,
    long long *age);

/* Younger than cache_ttl. */
bool rindex_fresh(const struct sercon_config *cfg, long long age);
/* May still answer while the manager is refreshed or fails: no older
 * than cache_ttl + cache_stale_max (cache_stale_max 0: never). */
bool rindex_stale_ok(const struct sercon_config *cfg, long long age);

/* Rebuilds the index from be. wait: take the rebuild lock within the
 * manager timeout (else one try, and another process holding it means the
 * rebuild is in hand: 0). Skipped when another process made a fresh index
 * meanwhile. A failure opens the back-off window (backoff.h). Returns 0 or
 * -1 with a reason. */
int rindex_rebuild(const struct sercon_config *cfg,
    const struct mgr_backend *be, bool wait, char *err, size_t errlen);

#endif

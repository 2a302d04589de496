/* backoff.h: the circuit breaker in front of a remote manager. After a
 * call fails, the next calls for MGR_BACKOFF seconds do not ask the
 * manager at all and go straight to the cached (stale) answer, so that a
 * hung manager costs one timeout per window instead of three per login.
 * The state is one file in cache_dir (manager.down, its time the failure's,
 * its text the reason), shared by every process of the proxy. */
#ifndef SERCON_BACKOFF_H
#define SERCON_BACKOFF_H

#include <time.h>

#include "core/config.h"

#define MGR_BACKOFF 30             /* seconds */

/* Seconds left in the window opened by the last failure, 0 when none. */
long mgr_backoff_left(const struct sercon_config *cfg, time_t now);
/* A manager call failed (why): opens the window and logs it, once. */
void mgr_backoff_trip(const struct sercon_config *cfg, const char *why,
    time_t now);
/* A manager call succeeded: closes the window. */
void mgr_backoff_clear(const struct sercon_config *cfg);

#endif

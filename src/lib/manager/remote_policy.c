/* remote_policy.c: the key list of a remote manager (command, engine)
 * through the key index; see policy.h. An index younger than cache_ttl
 * answers alone. An older one, up to cache_stale_max past cache_ttl,
 * still answers at once while one process refreshes it in the background
 * (stale-while-revalidate), so that no login waits for the manager once
 * an index exists. Only without a usable index does a login wait for the
 * rebuild, and within the back-off window after a failure (backoff.h) not
 * even that: it is refused at once. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "manager/backoff.h"
#include "manager/cachedir.h"
#include "manager/policy.h"
#include "manager/remote.h"
#include "manager/rindex.h"

static int
answer(struct kidx *k, const char *type, const char *blob,
    struct mgr_key_list *out, char *err, size_t errlen)
{
	int rc = kidx_find_keys(k, type, blob, out, err, errlen) == KIDX_OK ?
	    0 : -1;

	kidx_close(k);
	return rc;
}

/* Without the index: the manager's whole answer, filtered here. */
static int
unindexed(const struct sercon_config *cfg, const char *type,
    const char *blob, bool named, struct mgr_key_list *out, char *err,
    size_t errlen)
{
	struct mgr_key_list all = { NULL, 0, 0 };

	if (mgr_remote_keys(cfg, named ? type : NULL, named ? blob : NULL,
	    &all, err, errlen) != 0)
		return -1;
	mgr_keys_filter(&all, type, blob, out);
	return 0;
}

int
rpol_find_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct kidx *k;
	long long age = -1;
	time_t now = time(NULL);
	long left;

	/* a key_list template that names the offered key answers for that
	 * key only: nothing to index */
	if (cfg->backend == BACKEND_COMMAND && cfg->key_list != NULL &&
	    strstr(cfg->key_list, "{key") != NULL)
		return unindexed(cfg, type, blob, true, out, err, errlen);
	if (cfg->cache_dir == NULL)
		return unindexed(cfg, type, blob, false, out, err, errlen);
	if (access(cfg->cache_dir, W_OK) != 0) {
		log_warn("cache_dir %s is not writable: asking the manager "
		    "every time", cfg->cache_dir);
		return unindexed(cfg, type, blob, false, out, err, errlen);
	}

	if ((k = rindex_open(cfg, now, &age)) != NULL) {
		if (rindex_fresh(cfg, age))
			goto from_index;
		if (rindex_stale_ok(cfg, age)) {
			/* answered first, refreshed after: the refresh starts
			 * from a process that holds nothing of the lookup */
			if (answer(k, type, blob, out, err, errlen) != 0)
				goto corrupt;
			log_debug("key index is %lld s old: answered from it, "
			    "refreshing it", age);
			if (mgr_backoff_left(cfg, now) == 0)
				mgr_remote_rebuild_async(cfg);
			return 0;
		}
		log_info("key index is %lld s old, beyond cache_stale_max "
		    "(%d s past cache_ttl): not served", age,
		    cfg->cache_stale_max);
		kidx_close(k);
	}
	if ((left = mgr_backoff_left(cfg, now)) > 0) {
		snprintf(err, errlen, "the manager failed less than %d s ago "
		    "and no key list is cached (next try in %ld s)",
		    MGR_BACKOFF, left);
		return -1;
	}
	if (mgr_remote_rebuild(cfg, true, err, errlen) != 0)
		return -1;
	if ((k = rindex_open(cfg, time(NULL), &age)) == NULL) {
		/* cache_dir not writable, or the index unreadable: ask for
		 * the whole list rather than refuse everyone */
		log_warn("cannot use the key index in %s: asking the manager "
		    "every time", cfg->cache_dir);
		return unindexed(cfg, type, blob, false, out, err, errlen);
	}
from_index:
	if (answer(k, type, blob, out, err, errlen) == 0)
		return 0;
corrupt:
	/* a record failed its checks: never trusted in part, made anew */
	log_warn("ignoring key index: %s; rebuilding it", err);
	if (cdir_path(cfg, RINDEX_FILE, path, sizeof(path)) == 0)
		(void)unlink(path);
	if (mgr_remote_rebuild(cfg, true, err, errlen) != 0 ||
	    (k = rindex_open(cfg, time(NULL), &age)) == NULL)
		return -1;
	return answer(k, type, blob, out, err, errlen);
}

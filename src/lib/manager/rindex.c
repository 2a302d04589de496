/* rindex.c: the remote manager's key index; see rindex.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "manager/backoff.h"
#include "manager/cachedir.h"
#include "manager/rindex.h"

/* What the index is of: the backend and where it asks. */
static uint64_t
rindex_tag(const struct sercon_config *cfg)
{
	char buf[8192];
	int n = snprintf(buf, sizeof(buf), "%s:%s", cfg_backend_name(
	    cfg->backend), cfg->backend == BACKEND_COMMAND ?
	    (cfg->key_list ? cfg->key_list : "") :
	    (cfg->engine_url ? cfg->engine_url : ""));

	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	return kidx_hash(buf, (size_t)n);
}

struct kidx *
rindex_open(const struct sercon_config *cfg, time_t now, long long *age)
{
	char path[PATH_MAX], err[256];
	struct kidx *k;
	struct stat st;
	long long built;

	if (cdir_path(cfg, RINDEX_FILE, path, sizeof(path)) != 0)
		return NULL;
	switch (kidx_open(path, &k, err, sizeof(err))) {
	case KIDX_OK:
		break;
	case KIDX_CORRUPT:
		log_warn("ignoring key index: %s", err);
		return NULL;
	default:
		return NULL;
	}
	if (kidx_source(k)->tag != rindex_tag(cfg)) {
		kidx_close(k);
		return NULL;
	}
	built = kidx_source(k)->built_at;
	if (stat(path, &st) == 0 && (long long)st.st_mtime < built)
		built = (long long)st.st_mtime;
	*age = (long long)now - built;
	return k;
}

bool
rindex_fresh(const struct sercon_config *cfg, long long age)
{
	return age >= 0 && age < cfg->cache_ttl;
}

bool
rindex_stale_ok(const struct sercon_config *cfg, long long age)
{
	return cfg->cache_stale_max > 0 && age >= 0 &&
	    age <= (long long)cfg->cache_ttl + cfg->cache_stale_max;
}

/* The fetch itself, into a new index beside the old one. */
static int
rindex_fetch(const struct sercon_config *cfg, const struct mgr_backend *be,
    const char *path, time_t now, char *err, size_t errlen)
{
	struct kidx_source src;
	struct kidx_writer *w;
	struct mgr_key_sink sink;
	size_t n;

	memset(&src, 0, sizeof(src));
	src.tag = rindex_tag(cfg);
	src.built_at = (int64_t)now;
	if ((w = kidx_writer_open(path, &src, false, err, errlen)) == NULL)
		return -1;
	sink = kidx_writer_sink(w);
	if (be->keys(cfg, NULL, NULL, &sink, err, errlen) != 0) {
		kidx_writer_abort(w);
		return -1;
	}
	n = kidx_writer_nkeys(w);
	if (kidx_writer_commit(w, err, errlen) != 0)
		return -1;
	log_info("key index rebuilt from the %s backend: %zu keys", be->name,
	    n);
	return 0;
}

int
rindex_rebuild(const struct sercon_config *cfg, const struct mgr_backend *be,
    bool wait, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct kidx *k;
	long long age = -1;
	time_t now = time(NULL);
	bool stale;
	int lock, rc;

	if (cdir_path(cfg, RINDEX_FILE, path, sizeof(path)) != 0) {
		snprintf(err, errlen, "no cache_dir for the key index");
		return -1;
	}
	lock = cdir_lock(cfg, RINDEX_LOCK, wait ? (long)cfg->timeout * 1000 :
	    0);
	if (lock == -1) {
		snprintf(err, errlen, "cache_dir %s is not writable: %s",
		    cfg->cache_dir, strerror(errno));
		return -1;
	}
	if (lock == -2) {
		if (!wait)
			return 0;       /* another process is at it */
		snprintf(err, errlen, "the key index has been rebuilding for "
		    "more than %d s", cfg->timeout);
		return -1;
	}
	/* another process may have rebuilt it while we waited */
	if ((k = rindex_open(cfg, now, &age)) != NULL &&
	    rindex_fresh(cfg, age)) {
		kidx_close(k);
		cdir_unlock(lock);
		return 0;
	}
	stale = k != NULL && rindex_stale_ok(cfg, age);
	kidx_close(k);
	if ((rc = rindex_fetch(cfg, be, path, now, err, errlen)) == 0)
		mgr_backoff_clear(cfg);
	else {
		mgr_backoff_trip(cfg, err, time(NULL));
		if (stale)
			log_warn("manager failed (%s): serving the key list "
			    "from %lld s ago (stale answers allowed for %d s "
			    "past cache_ttl)", err, age, cfg->cache_stale_max);
	}
	cdir_unlock(lock);
	return rc;
}

/* file_policy.c: backend file through the key index; see policy.h. The
 * index is current when it was built from the inventory as it is now
 * (device, inode, size, modification and change times); otherwise the
 * first process to take the lock rebuilds it and the others wait for it,
 * never answering from an index of an older inventory (a key removed from
 * the file must not log in). Without a writable cache_dir the inventory
 * is read at every call. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "core/log.h"
#include "manager/cachedir.h"
#include "manager/inventory.h"
#include "manager/keyindex.h"
#include "manager/policy.h"

#define FILE_INDEX "inventory.idx"
#define FILE_LOCK  "inventory.lock"

static uint64_t
file_tag(const struct sercon_config *cfg)
{
	char buf[PATH_MAX + 8];
	int n = snprintf(buf, sizeof(buf), "file:%s", cfg->inventory);

	return kidx_hash(buf, n > 0 ? (size_t)n : 0);
}

static void
file_source(const struct sercon_config *cfg, const struct stat *st,
    struct kidx_source *src)
{
	memset(src, 0, sizeof(*src));
	src->tag = file_tag(cfg);
	src->dev = (uint64_t)st->st_dev;
	src->ino = (uint64_t)st->st_ino;
	src->size = (uint64_t)st->st_size;
	src->mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000ULL +
	    (uint64_t)st->st_mtim.tv_nsec;
	src->ctime_ns = (uint64_t)st->st_ctim.tv_sec * 1000000000ULL +
	    (uint64_t)st->st_ctim.tv_nsec;
	src->built_at = (int64_t)time(NULL);
}

static bool
file_source_same(const struct kidx_source *a, const struct kidx_source *b)
{
	return a->tag == b->tag && a->dev == b->dev && a->ino == b->ino &&
	    a->size == b->size && a->mtime_ns == b->mtime_ns &&
	    a->ctime_ns == b->ctime_ns;
}

/* The index if it exists, is valid and describes the inventory as it is. */
static struct kidx *
file_index_current(const char *path, const struct kidx_source *want)
{
	struct kidx *k;
	char err[256];

	switch (kidx_open(path, &k, err, sizeof(err))) {
	case KIDX_OK:
		if (kidx_has_consoles(k) &&
		    file_source_same(kidx_source(k), want))
			return k;
		kidx_close(k);
		return NULL;
	case KIDX_CORRUPT:
		log_warn("ignoring key index: %s", err);
		return NULL;
	case KIDX_MISSING:
		break;
	}
	return NULL;
}

static void
index_console(void *ctx, const struct mgr_console *c,
    const char *const *users, size_t nusers)
{
	struct kidx_writer *w = ctx;
	size_t i, n = kidx_writer_console(w, c);

	for (i = 0; i < nusers; i++)
		kidx_writer_grant(w, users[i], n);
}

/* Streams the inventory into a new index at path, then opens it into
 * *kp: the inventory is never held whole. Returns 0, -1 when the
 * inventory is unusable, -2 when the index cannot be written (with a
 * reason). */
static int
file_index_build(const struct sercon_config *cfg, const char *path,
    struct kidx **kp, char *err, size_t errlen)
{
	struct kidx_source src;
	struct kidx_writer *w;
	struct inv_sink sink;
	struct stat st;
	size_t nkeys, skipped;

	memset(&src, 0, sizeof(src));
	if ((w = kidx_writer_open(path, &src, true, err, errlen)) == NULL)
		return -2;
	sink.keys = kidx_writer_sink(w);
	sink.console = index_console;
	sink.ctx = w;
	if (inv_stream(cfg->inventory, &sink, &st, &skipped, err,
	    errlen) != 0) {
		kidx_writer_abort(w);
		return -1;
	}
	file_source(cfg, &st, &src);
	kidx_writer_source(w, &src);
	nkeys = kidx_writer_nkeys(w);
	if (kidx_writer_commit(w, err, errlen) != 0 ||
	    kidx_open(path, kp, err, errlen) != KIDX_OK)
		return -2;
	log_info("key index rebuilt from %s: %zu keys, %zu entries skipped",
	    cfg->inventory, nkeys, skipped);
	return 0;
}

/* The file backend's answer: from the index when it is current (rebuilt
 * first when it is not), else from the inventory parsed right here.
 * Exactly one of *kp and *have_inv is set on success. */
static int
file_open(const struct sercon_config *cfg, bool rebuild, struct kidx **kp,
    struct inventory *inv, bool *have_inv, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct kidx_source want;
	struct stat st;
	int lock = -1, rc;
	bool indexed = cdir_path(cfg, FILE_INDEX, path, sizeof(path)) == 0;

	*kp = NULL;
	*have_inv = false;
	if (stat(cfg->inventory, &st) != 0) {
		snprintf(err, errlen, "cannot read inventory %s: %s",
		    cfg->inventory, strerror(errno));
		return -1;
	}
	file_source(cfg, &st, &want);
	if (!rebuild && indexed &&
	    (*kp = file_index_current(path, &want)) != NULL)
		return 0;

	if (!indexed) {
		log_warn("no usable cache_dir: reading the inventory directly");
	} else if ((lock = cdir_lock(cfg, FILE_LOCK, (long)cfg->timeout *
	    1000)) == -1) {
		log_warn("cache_dir %s is not writable (%s): reading the "
		    "inventory directly, which is slower", cfg->cache_dir,
		    strerror(errno));
	} else if (lock == -2) {
		/* Another process has been rebuilding for longer than the
		 * manager timeout (a huge inventory on a busy machine): read
		 * the inventory here rather than trust an index of an older
		 * one. */
		lock = -1;
		log_warn("key index lock busy for %d s: reading the "
		    "inventory directly", cfg->timeout);
	} else if (!rebuild && (*kp = file_index_current(path, &want)) !=
	    NULL) {
		cdir_unlock(lock);           /* another process rebuilt it */
		return 0;
	} else {
		rc = file_index_build(cfg, path, kp, err, errlen);
		cdir_unlock(lock);
		if (rc != -2)
			return rc;  /* the index, or an unusable inventory */
		log_warn("cannot write the key index: %s", err);
	}
	if (inv_load(cfg->inventory, inv, NULL, err, errlen) != 0)
		return -1;
	*have_inv = true;
	return 0;
}

/* One question: keys (type/blob) or the consoles of entity_id. */
struct fquery {
	const char *type, *blob, *entity_id;
	struct mgr_key_list *keys;
	struct mgr_console_list *consoles;
};

static int
fquery_inventory(struct inventory *inv, const struct fquery *q, char *err,
    size_t errlen)
{
	if (q->keys == NULL)
		return inv_consoles_for(inv, q->entity_id, q->consoles, err,
		    errlen);
	mgr_keys_filter(&inv->keys, q->type, q->blob, q->keys);
	return 0;
}

static int
fquery_index(struct kidx *k, const struct fquery *q, char *err,
    size_t errlen)
{
	enum kidx_status st = q->keys != NULL ?
	    kidx_find_keys(k, q->type, q->blob, q->keys, err, errlen) :
	    kidx_find_consoles(k, q->entity_id, q->consoles, err, errlen);

	return st == KIDX_OK ? 0 : -1;
}

/* The answer from the current index; an index that fails a check on the
 * way is rebuilt once, never used in part. */
static int
fquery_answer(const struct sercon_config *cfg, const struct fquery *q,
    char *err, size_t errlen)
{
	struct inventory inv;
	struct kidx *k;
	bool have_inv, rebuild = false;
	int rc;

again:
	if (file_open(cfg, rebuild, &k, &inv, &have_inv, err, errlen) != 0)
		return -1;
	if (have_inv) {
		rc = fquery_inventory(&inv, q, err, errlen);
		inv_free(&inv);
		return rc;
	}
	rc = fquery_index(k, q, err, errlen);
	kidx_close(k);
	if (rc != 0 && !rebuild) {
		log_warn("ignoring key index: %s; rebuilding it", err);
		rebuild = true;
		goto again;
	}
	return rc;
}

int
fpol_find_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen)
{
	struct fquery q = { type, blob, NULL, out, NULL };

	return fquery_answer(cfg, &q, err, errlen);
}

int
fpol_list_consoles(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen)
{
	struct fquery q = { NULL, NULL, entity_id, NULL, out };

	return fquery_answer(cfg, &q, err, errlen);
}

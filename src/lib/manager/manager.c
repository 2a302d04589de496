/* manager.c: "which keys exist" and "which consoles may entity X use"
 * (manager.h), whatever the backend. Answers go through the key index of
 * keyindex.h kept in cache_dir: for backend file it is rebuilt when the
 * inventory changes (dev, inode, size, mtime, ctime), for the remote
 * backends it is fresh for cache_ttl seconds and, while the manager fails,
 * served stale for up to cache_stale_max seconds more. Rebuilds take a
 * lock and replace the file atomically, so that concurrent sshd children
 * are safe; when cache_dir is not writable the backend is asked directly.
 *
 * Built with MGR_LEAN (sercon-proxy-keys, which sshd runs once per key a
 * client offers, and sercon-proxy-shell) this file links no HTTP or crypto
 * library: a remote manager is asked by running sercon-proxy-fetch, which
 * prints the answer as README.API JSON, so that the common cases (a current
 * index, backend file) stay small, fast processes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "core/mtime.h"
#include "core/xmalloc.h"
#include "manager/backend.h"
#include "core/child.h"
#include "manager/mgr_json.h"
#include "manager/cache.h"
#include "manager/keyindex.h"
#include "core/log.h"
#include "manager/manager.h"
#include "manager/inventory.h"
#include "core/sshkey.h"
#include "core/text.h"

/* ---- list helpers ------------------------------------------------------ */

/* Room for one more element in a list of n of cap; doubles as needed. */
static void *
grow(void *v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;

	if (n < *cap)
		return v;
	ncap = *cap ? *cap * 2 : 8;
	v = xreallocarray(v, ncap, size);
	*cap = ncap;
	return v;
}

int
mgr_key_list_add(struct mgr_key_list *l, const char *entity_id,
    const char *entity, const char *type, const char *blob, char *err,
    size_t errlen)
{
	struct mgr_key *k;

	if (!text_valid_entity_id(entity_id)) {
		snprintf(err, errlen, "entity id is not valid");
		return -1;
	}
	if (!text_valid_entity_name(entity)) {
		snprintf(err, errlen, "entity name is not valid");
		return -1;
	}
	if (sshkey_check(type, blob, err, errlen) != 0)
		return -1;
	l->v = grow(l->v, &l->cap, l->n, sizeof(*l->v));
	k = &l->v[l->n++];
	k->entity_id = xstrdup(entity_id);
	k->entity = xstrdup(entity);
	k->type = xstrdup(type);
	k->blob = xstrdup(blob);
	return 0;
}

void
mgr_key_list_free(struct mgr_key_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].entity_id);
		free(l->v[i].entity);
		free(l->v[i].type);
		free(l->v[i].blob);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int
mgr_console_list_add(struct mgr_console_list *l, const char *vm_id,
    const char *vm_name, const char *host, const char *console, char *err,
    size_t errlen)
{
	struct mgr_console *c;

	if (!text_valid_entity_id(vm_id)) {
		snprintf(err, errlen, "VM id is not valid");
		return -1;
	}
	if (!text_valid_vm_name(vm_name)) {
		snprintf(err, errlen, "VM name is not valid");
		return -1;
	}
	if (!text_valid_host(host)) {
		snprintf(err, errlen, "host is not a host name or address");
		return -1;
	}
	if (!text_valid_console(console)) {
		snprintf(err, errlen, "console is not a plain file name");
		return -1;
	}
	l->v = grow(l->v, &l->cap, l->n, sizeof(*l->v));
	c = &l->v[l->n++];
	c->vm_id = xstrdup(vm_id);
	c->vm_name = xstrdup(vm_name);
	c->host = xstrdup(host);
	c->console = xstrdup(console);
	return 0;
}

static int
console_cmp(const void *a, const void *b)
{
	const struct mgr_console *x = a, *y = b;
	int c;

	if ((c = strcmp(x->vm_name, y->vm_name)) != 0)
		return c;
	return strcmp(x->vm_id, y->vm_id);
}

void
mgr_console_list_sort(struct mgr_console_list *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), console_cmp);
}

void
mgr_console_list_free(struct mgr_console_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].vm_id);
		free(l->v[i].vm_name);
		free(l->v[i].host);
		free(l->v[i].console);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- shared pieces --------------------------------------------------- */

static int
cache_path(const struct sercon_config *cfg, const char *name, char *buf,
    size_t len)
{
	if (cfg->cache_dir == NULL)
		return -1;
	return (size_t)snprintf(buf, len, "%s/%s", cfg->cache_dir, name) <
	    len ? 0 : -1;
}

/* Takes the rebuild lock beside the index within the manager timeout.
 * Returns the locked descriptor, -1 when the lock file cannot be opened
 * (errno set: cache_dir not writable), -2 when the wait timed out. */
static int
lock_take(const struct sercon_config *cfg, const char *name)
{
	char path[PATH_MAX];
	long long deadline = mtime_ms() + (long long)cfg->timeout * 1000;
	int fd;

	if (cache_path(cfg, name, path, sizeof(path)) != 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0640)) < 0)
		return -1;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };

		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    mtime_ms() >= deadline) {
			close(fd);
			return -2;
		}
		nanosleep(&ts, NULL);
	}
	return fd;
}

static void
lock_release(int fd)
{
	if (fd >= 0)
		close(fd);          /* drops the flock */
}

/* Keys of list matching type/blob (all when blob is NULL), moved to out. */
static int
keys_filter(struct mgr_key_list *list, const char *type, const char *blob,
    struct mgr_key_list *out, char *err, size_t errlen)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < list->n && rc == 0; i++) {
		const struct mgr_key *k = &list->v[i];

		if (blob != NULL && (strcmp(k->blob, blob) != 0 ||
		    (type != NULL && strcmp(k->type, type) != 0)))
			continue;
		rc = mgr_key_list_add(out, k->entity_id, k->entity, k->type,
		    k->blob, err, errlen);
	}
	mgr_key_list_free(list);
	if (rc != 0)
		mgr_key_list_free(out);
	return rc;
}

static int
fail(const char *err, const char *what)
{
	log_error("manager (%s): %s", what, err);
	return -1;
}

/* ---- backend file -------------------------------------------------- */

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

/* The index if it exists, is valid and describes the inventory as it is
 * (want), or any valid index of this inventory when want is NULL. */
static struct kidx *
file_index_current(const struct sercon_config *cfg, const char *path,
    const struct kidx_source *want)
{
	struct kidx *k;
	char err[256];

	switch (kidx_open(path, &k, err, sizeof(err))) {
	case KIDX_OK:
		if (kidx_has_consoles(k) && (want != NULL ?
		    file_source_same(kidx_source(k), want) :
		    kidx_source(k)->tag == file_tag(cfg)))
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

/* Writes the index of inv, taken from the file whose identity is st. */
static int
file_index_write(const struct sercon_config *cfg, const char *path,
    const struct inventory *inv, const struct stat *st, char *err,
    size_t errlen)
{
	struct mgr_console_list cons = { NULL, 0, 0 };
	struct kidx_grant *grants = NULL;
	struct kidx_source src;
	size_t i, j, n = 0, ng = 0;
	int rc;

	for (i = 0; i < inv->nconsoles; i++)
		n += inv->consoles[i].nusers;
	grants = xcalloc(n + 1, sizeof(*grants));
	/* the index's console table shares the inventory's strings */
	cons.n = cons.cap = inv->nconsoles;
	cons.v = xcalloc(inv->nconsoles + 1, sizeof(*cons.v));
	for (i = 0; i < inv->nconsoles; i++) {
		cons.v[i] = inv->consoles[i].c;
		for (j = 0; j < inv->consoles[i].nusers; j++) {
			grants[ng].entity_id = inv->consoles[i].users[j];
			grants[ng++].console = i;
		}
	}
	file_source(cfg, st, &src);
	rc = kidx_write(path, &src, &inv->keys, &cons, grants, ng, err,
	    errlen);
	free(cons.v);
	free(grants);
	return rc;
}

/* The file backend's answer: from the index when it is current (rebuilt
 * first when it is not), else from the inventory parsed right here.
 * Exactly one of *kp and *invp is set on success. */
static int
file_open(const struct sercon_config *cfg, bool rebuild, struct kidx **kp,
    struct inventory *inv, bool *have_inv, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct kidx_source want;
	struct stat st, st_read;
	int lock = -1;

	*kp = NULL;
	*have_inv = false;
	if (stat(cfg->inventory, &st) != 0) {
		snprintf(err, errlen, "cannot read inventory %s: %s",
		    cfg->inventory, strerror(errno));
		return -1;
	}
	file_source(cfg, &st, &want);
	if (!rebuild && cache_path(cfg, FILE_INDEX, path, sizeof(path)) == 0 &&
	    (*kp = file_index_current(cfg, path, &want)) != NULL)
		return 0;
	if (rebuild && cache_path(cfg, FILE_INDEX, path, sizeof(path)) != 0)
		path[0] = '\0';

	if (cfg->cache_dir == NULL) {
		log_warn("no cache_dir: reading the inventory directly");
	} else if ((lock = lock_take(cfg, FILE_LOCK)) == -1) {
		log_warn("cache_dir %s is not writable (%s): reading the "
		    "inventory directly, which is slower", cfg->cache_dir,
		    strerror(errno));
	} else if (lock == -2) {
		lock = -1;
		/* Another process has been rebuilding for longer than the
		 * manager timeout (a huge inventory on a busy machine): answer
		 * from the previous index rather than have every waiting
		 * helper parse the inventory too. The change then takes
		 * effect when that rebuild ends, seconds later. */
		if (!rebuild &&
		    (*kp = file_index_current(cfg, path, NULL)) != NULL) {
			log_warn("key index rebuild still running after %d s: "
			    "answering from the previous index",
			    cfg->timeout);
			return 0;
		}
		log_warn("key index lock busy for %d s: reading the "
		    "inventory directly", cfg->timeout);
	} else if (!rebuild &&
	    (*kp = file_index_current(cfg, path, &want)) != NULL) {
		lock_release(lock);          /* another process rebuilt it */
		return 0;
	}
	if (inv_load(cfg->inventory, inv, &st_read, err, errlen) != 0) {
		lock_release(lock);
		return -1;
	}
	*have_inv = true;
	if (lock >= 0) {
		char werr[256];

		if (file_index_write(cfg, path, inv, &st_read, werr,
		    sizeof(werr)) != 0)
			log_warn("cannot write the key index: %s", werr);
		else
			log_info("key index rebuilt from %s: %zu keys, %zu "
			    "consoles, %zu entries skipped", cfg->inventory,
			    inv->keys.n, inv->nconsoles, inv->skipped);
		lock_release(lock);
	}
	return 0;
}

static int
file_find_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen)
{
	struct inventory inv;
	struct kidx *k;
	bool have_inv, rebuild = false;
	int rc;

again:
	if (file_open(cfg, rebuild, &k, &inv, &have_inv, err, errlen) != 0)
		return -1;
	if (have_inv) {
		rc = keys_filter(&inv.keys, type, blob, out, err, errlen);
		inv_free(&inv);
		return rc;
	}
	rc = kidx_find_keys(k, type, blob, out, err, errlen) == KIDX_OK ?
	    0 : -1;
	kidx_close(k);
	if (rc != 0 && !rebuild) {
		log_warn("ignoring key index: %s; rebuilding it", err);
		rebuild = true;
		goto again;
	}
	return rc;
}

static int
file_list_consoles(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen)
{
	struct inventory inv;
	struct kidx *k;
	bool have_inv, rebuild = false;
	int rc;

again:
	if (file_open(cfg, rebuild, &k, &inv, &have_inv, err, errlen) != 0)
		return -1;
	if (have_inv) {
		rc = inv_consoles_for(&inv, entity_id, out, err, errlen);
		inv_free(&inv);
		return rc;
	}
	rc = kidx_find_consoles(k, entity_id, out, err, errlen) == KIDX_OK ?
	    0 : -1;
	kidx_close(k);
	if (rc != 0 && !rebuild) {
		log_warn("ignoring key index: %s; rebuilding it", err);
		rebuild = true;
		goto again;
	}
	return rc;
}

/* ---- remote backends (command, engine): the key list -------------- */

static uint64_t
remote_tag(const struct sercon_config *cfg)
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

#ifdef MGR_LEAN
#define FETCH_OUT_MAX (256 * 1024 * 1024)
#define FETCH_PATH SERCON_LIBEXECDIR "/sercon-proxy-fetch"

/* Runs sercon-proxy-fetch with args; its JSON answer in res. */
static int
fetch_run(const struct sercon_config *cfg, char *const argv[],
    struct child_result *res, char *err, size_t errlen)
{
	/* the fetcher enforces the manager timeout; this is a backstop */
	if (child_run(argv, NULL, cfg->timeout * 1000 + 2000,
	    FETCH_OUT_MAX, 0, res, err, errlen) != 0)
		return -1;
	if (res->timed_out)
		snprintf(err, errlen, "the manager did not answer within %d s",
		    cfg->timeout);
	else if (res->truncated)
		snprintf(err, errlen, "the manager's answer is too large");
	else if (res->status != 0)
		snprintf(err, errlen, "sercon-proxy-fetch failed (status %d, "
		    "see its log)", res->status);
	else
		return 0;
	child_result_free(res);
	return -1;
}

static int
remote_fetch(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen)
{
	char *argv[] = { FETCH_PATH, "keys", (char *)type, (char *)blob,
	    NULL };
	struct child_result res;
	int rc;

	if (type == NULL || blob == NULL)
		argv[2] = NULL;
	if (fetch_run(cfg, argv, &res, err, errlen) != 0)
		return -1;
	rc = mgr_json_keys(res.out, res.out_len, out, err, errlen);
	child_result_free(&res);
	return rc;
}

/* The remote consoles of entity_id, through the fetcher (which keeps the
 * console cache of cache.h). */
static int
remote_consoles(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen)
{
	char *argv[] = { FETCH_PATH, "consoles", (char *)entity_id, NULL };
	struct child_result res;
	int rc;

	if (fetch_run(cfg, argv, &res, err, errlen) != 0)
		return -1;
	rc = mgr_json_consoles(res.out, res.out_len, MGR_JSON_COMMAND, out,
	    err, errlen);
	child_result_free(&res);
	return rc;
}
#else
static int
remote_fetch(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen)
{
	if (cfg->backend == BACKEND_COMMAND)
		return be_command_keys(cfg, type, blob, out, err, errlen);
	return be_engine_keys(cfg, out, err, errlen);
}
#endif

/* The index, when valid and made for this configuration; *age its age. */
static struct kidx *
remote_index(const struct sercon_config *cfg, const char *path,
    long long *age)
{
	struct kidx *k;
	char err[256];
	enum kidx_status st = kidx_open(path, &k, err, sizeof(err));

	if (st == KIDX_CORRUPT)
		log_warn("ignoring key index: %s", err);
	if (st != KIDX_OK)
		return NULL;
	if (kidx_source(k)->tag != remote_tag(cfg)) {
		kidx_close(k);
		return NULL;
	}
	*age = (long long)time(NULL) - kidx_source(k)->built_at;
	return k;
}

static bool
fresh(const struct sercon_config *cfg, long long age)
{
	return age >= 0 && age < cfg->cache_ttl;
}

static bool
stale_ok(const struct sercon_config *cfg, long long age)
{
	return cfg->cache_stale_max > 0 && age >= 0 &&
	    age <= (long long)cfg->cache_ttl + cfg->cache_stale_max;
}

static int
answer_from_index(struct kidx *k, const char *type, const char *blob,
    struct mgr_key_list *out, char *err, size_t errlen)
{
	int rc = kidx_find_keys(k, type, blob, out, err, errlen) == KIDX_OK ?
	    0 : -1;

	kidx_close(k);
	return rc;
}

static int
remote_find_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen)
{
	struct mgr_key_list all = { NULL, 0, 0 };
	struct kidx_source src;
	struct kidx *k = NULL;
	char path[PATH_MAX], werr[256];
	long long age = -1;
	int lock = -1;

	/* a key_list template that names the offered key answers for that
	 * key only: nothing to index */
	if (cfg->backend == BACKEND_COMMAND && cfg->key_list != NULL &&
	    strstr(cfg->key_list, "{key") != NULL) {
		if (remote_fetch(cfg, type, blob, &all, err, errlen) != 0)
			return -1;
		return keys_filter(&all, type, blob, out, err, errlen);
	}
	if (cache_path(cfg, "keys.idx", path, sizeof(path)) != 0) {
		if (remote_fetch(cfg, NULL, NULL, &all, err, errlen) != 0)
			return -1;
		return keys_filter(&all, type, blob, out, err, errlen);
	}
	if ((k = remote_index(cfg, path, &age)) != NULL && fresh(cfg, age)) {
		if (answer_from_index(k, type, blob, out, err, errlen) == 0)
			return 0;
		log_warn("ignoring key index: %s", err);
		k = NULL;
		age = -1;
	}
	if ((lock = lock_take(cfg, "keys.lock")) == -1)
		log_warn("cache_dir %s is not writable (%s): asking the "
		    "manager every time", cfg->cache_dir, strerror(errno));
	if (lock >= 0) {
		/* another process may have refreshed it meanwhile */
		kidx_close(k);
		if ((k = remote_index(cfg, path, &age)) != NULL &&
		    fresh(cfg, age)) {
			if (answer_from_index(k, type, blob, out, err,
			    errlen) == 0) {
				lock_release(lock);
				return 0;
			}
			log_warn("ignoring key index: %s", err);
			k = NULL;
			age = -1;
		}
	}
	if (remote_fetch(cfg, NULL, NULL, &all, err, errlen) != 0) {
		lock_release(lock);
		if (k != NULL && stale_ok(cfg, age)) {
			log_warn("manager failed (%s): serving the key list "
			    "from %lld s ago", err, age);
			return answer_from_index(k, type, blob, out, err,
			    errlen);
		}
		kidx_close(k);
		return -1;
	}
	kidx_close(k);
	if (lock >= 0) {
		memset(&src, 0, sizeof(src));
		src.tag = remote_tag(cfg);
		src.built_at = (int64_t)time(NULL);
		if (kidx_write(path, &src, &all, NULL, NULL, 0, werr,
		    sizeof(werr)) != 0)
			log_warn("cannot write the key index: %s", werr);
		lock_release(lock);
	}
	return keys_filter(&all, type, blob, out, err, errlen);
}

/* ---- the interface ------------------------------------------------------ */

int
mgr_find_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (cfg->backend == BACKEND_FILE)
		rc = file_find_keys(cfg, type, blob, out, err, errlen);
	else
		rc = remote_find_keys(cfg, type, blob, out, err, errlen);
	if (rc != 0)
		return fail(err, "keys");
	return 0;
}

int
mgr_list_consoles(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen)
{
	int rc;

	memset(out, 0, sizeof(*out));
	switch (cfg->backend) {
	case BACKEND_FILE:
		rc = file_list_consoles(cfg, entity_id, out, err, errlen);
		break;
#ifdef MGR_LEAN
	default:
		rc = remote_consoles(cfg, entity_id, out, err, errlen);
		break;
#else
	case BACKEND_COMMAND:
		rc = cache_consoles(cfg, entity_id, be_command_consoles, out,
		    err, errlen);
		break;
	case BACKEND_ENGINE:
	default:
		rc = cache_consoles(cfg, entity_id, be_engine_consoles, out,
		    err, errlen);
		break;
#endif
	}
	if (rc != 0)
		return fail(err, "consoles");
	mgr_console_list_sort(out);
	return 0;
}

/* cache.c: per-entity console lists from a remote manager, kept in
 * cache_dir so that a manager outage does not lock out the users it just
 * served; see cache.h. One file per entity, named by the SHA-256 of the
 * entity id, replaced atomically, authenticated with HMAC-SHA-256 under a
 * random key kept beside it (cache.key, mode 0600): a file that does not
 * verify, or that names another entity, is ignored as a whole. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/atomic.h"
#include "core/xmalloc.h"
#include "core/file.h"
#include "manager/backoff.h"
#include "manager/cache.h"
#include "manager/cachedir.h"
#include "core/log.h"
#include "core/text.h"

#define CACHE_MAGIC "sercon-console-cache 1\n"
#define CACHE_KEY_LEN 32
#define CACHE_FILE_MAX (16 * 1024 * 1024)
#define CACHE_CLOCK_SLACK 5        /* seconds a file may be "from the future" */

struct cache_entry {
	struct mgr_console_list list;
	time_t fetched;
};

static void
cache_hex(const unsigned char *buf, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[buf[i] >> 4];
		out[2 * i + 1] = digits[buf[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
cache_path(const struct sercon_config *cfg, const char *entity_id,
    char *path, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int mdlen = 0;

	if (EVP_Digest(entity_id, strlen(entity_id), md, &mdlen, EVP_sha256(),
	    NULL) != 1)
		return -1;
	cache_hex(md, mdlen, hex);
	if ((size_t)snprintf(path, len, "%s/consoles-%s", cfg->cache_dir,
	    hex) >= len)
		return -1;
	return 0;
}

/* Reads a whole regular file of this account (no symlinks, never
 * blocking on a FIFO) of at most max bytes; st its status. *errnop is
 * ENOENT when there is none, EINVAL when what is there is not such a
 * file. */
static char *
cache_slurp(const char *path, size_t max, size_t *lenp, struct stat *stp,
    int *errnop)
{
	struct stat st;
	char *buf, why[256];

	*errnop = 0;
	if (file_read(path, max, FILE_NOFOLLOW | FILE_NONBLOCK | FILE_REGULAR,
	    &buf, lenp, &st, why, sizeof(why)) != 0) {
		*errnop = errno == ENOENT ? ENOENT : errno == EIO ? EIO :
		    EINVAL;
		return NULL;
	}
	if (st.st_uid != geteuid()) {
		free(buf);
		*errnop = EINVAL;
		return NULL;
	}
	if (stp != NULL)
		*stp = st;
	return buf;
}

/* A new random key at path (link(2), so that two programs starting
 * together agree on one key: the loser reads the winner's). */
static int
cache_key_make(const struct sercon_config *cfg, const char *path,
    unsigned char *key)
{
	char tmp[PATH_MAX];
	unsigned char fresh[CACHE_KEY_LEN];
	size_t len;
	char *buf;
	bool written;
	int e, fd, rc = -1;

	if (RAND_bytes(fresh, sizeof(fresh)) != 1)
		return -1;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.key.XXXXXX",
	    cfg->cache_dir) >= sizeof(tmp) ||
	    (fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return -1;
	written = write(fd, fresh, sizeof(fresh)) == (ssize_t)sizeof(fresh);
	/* closed once, whatever close() says: after a failed close the
	 * descriptor is gone (and its number may be someone else's) */
	if (close(fd) != 0)
		written = false;
	if (written) {
		if (link(tmp, path) == 0)
			rc = 0;
		else if (errno == EEXIST && (buf = cache_slurp(path,
		    CACHE_KEY_LEN, &len, NULL, &e)) != NULL) {
			if (len == CACHE_KEY_LEN) {
				memcpy(fresh, buf, CACHE_KEY_LEN);
				rc = 0;
			}
			free(buf);
		}
	}
	unlink(tmp);
	if (rc == 0)
		memcpy(key, fresh, CACHE_KEY_LEN);
	OPENSSL_cleanse(fresh, sizeof(fresh));
	return rc;
}

/* The HMAC key: read it, or make it. A key that is not what this code
 * writes (wrong size, not a regular file of ours: planted or damaged) is
 * replaced, else the stale answers would silently stop working. */
static int
cache_key(const struct sercon_config *cfg, unsigned char *key)
{
	char path[PATH_MAX];
	size_t len = 0;
	char *buf;
	bool bad;
	int e;

	if ((size_t)snprintf(path, sizeof(path), "%s/cache.key",
	    cfg->cache_dir) >= sizeof(path))
		return -1;
	if ((buf = cache_slurp(path, CACHE_KEY_LEN, &len, NULL, &e)) !=
	    NULL && len == CACHE_KEY_LEN) {
		memcpy(key, buf, CACHE_KEY_LEN);
		OPENSSL_cleanse(buf, len);
		free(buf);
		return 0;
	}
	bad = buf != NULL || e == EINVAL;
	free(buf);
	if (bad) {
		log_warn("cache: %s is not a valid key: replacing it (the "
		    "console lists cached under it are dropped)", path);
		if (unlink(path) != 0 && errno != ENOENT) {
			log_warn("cache: cannot remove %s: %s", path,
			    strerror(errno));
			return -1;
		}
	} else if (e != ENOENT)
		return -1;
	return cache_key_make(cfg, path, key);
}

static int
cache_mac(const unsigned char *key, const char *body, size_t len,
    char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (HMAC(EVP_sha256(), key, CACHE_KEY_LEN, (const unsigned char *)body,
	    len, md, &mdlen) == NULL)
		return -1;
	cache_hex(md, mdlen, hex);
	return 0;
}

static char *
cache_body(const char *entity_id, const struct mgr_console_list *l,
    time_t fetched)
{
	json_t *root, *arr;
	char *s = NULL;
	size_t i;

	root = json_pack("{s:s, s:I, s:[]}", "entity_id", entity_id,
	    "fetched", (json_int_t)fetched, "consoles");
	if (root == NULL)
		return NULL;
	arr = json_object_get(root, "consoles");
	for (i = 0; i < l->n; i++) {
		const struct mgr_console *c = &l->v[i];

		if (json_array_append_new(arr, json_pack("[s,s,s,s]",
		    c->vm_id, c->vm_name, c->host, c->console)) != 0)
			goto out;
	}
	s = json_dumps(root, JSON_COMPACT);
out:
	json_decref(root);
	return s;
}

static void
cache_store(const struct sercon_config *cfg, const char *entity_id,
    const struct mgr_console_list *l, time_t now)
{
	unsigned char key[CACHE_KEY_LEN];
	char path[PATH_MAX], mac[2 * EVP_MAX_MD_SIZE + 1], werr[256];
	char *body = NULL, *file = NULL;

	if (cache_path(cfg, entity_id, path, sizeof(path)) != 0 ||
	    cache_key(cfg, key) != 0) {
		log_warn("cache: cannot use %s (console lists are not cached)",
		    cfg->cache_dir);
		return;
	}
	if ((body = cache_body(entity_id, l, now)) == NULL ||
	    cache_mac(key, body, strlen(body), mac) != 0) {
		log_warn("cache: cannot encode the console list of entity %s",
		    entity_id);
	} else {
		file = xasprintf("%smac %s\n%s", CACHE_MAGIC, mac, body);
		if (atomic_write(path, file, strlen(file), 0600, (uid_t)-1,
		    (gid_t)-1, 0, werr, sizeof(werr)) != 0)
			log_warn("cache: %s", werr);
	}
	OPENSSL_cleanse(key, sizeof(key));
	free(body);
	free(file);
}

/* The consoles of a verified body; every record is validated again. */
static int
cache_decode(const char *entity_id, const char *body, size_t len,
    struct cache_entry *ce)
{
	json_t *root, *arr, *e, *id, *t;
	char err[256];
	size_t i;
	int rc = -1;

	if ((root = json_loadb(body, len, 0, NULL)) == NULL)
		return -1;
	id = json_object_get(root, "entity_id");
	t = json_object_get(root, "fetched");
	arr = json_object_get(root, "consoles");
	if (!json_is_string(id) || strcmp(json_string_value(id), entity_id) ||
	    !json_is_integer(t) || !json_is_array(arr))
		goto out;
	ce->fetched = (time_t)json_integer_value(t);
	json_array_foreach(arr, i, e) {
		const char *f[4];
		size_t k;

		for (k = 0; k < 4; k++)
			if ((f[k] = json_string_value(json_array_get(e,
			    k))) == NULL)
				goto out;
		if (mgr_console_list_add(&ce->list, f[0], f[1], f[2], f[3], err,
		    sizeof(err)) != 0)
			goto out;
	}
	mgr_console_list_sort(&ce->list);
	rc = 0;
out:
	if (rc != 0)
		mgr_console_list_free(&ce->list);
	json_decref(root);
	return rc;
}

/* Returns 0 with a verified entry, -1 when there is none to trust. */
static int
cache_load(const struct sercon_config *cfg, const char *entity_id,
    struct cache_entry *ce)
{
	unsigned char key[CACHE_KEY_LEN];
	char path[PATH_MAX], mac[2 * EVP_MAX_MD_SIZE + 1];
	const char *macline, *body;
	size_t len, hl = strlen(CACHE_MAGIC);
	struct stat st;
	char *buf;
	int e, rc = -1;

	memset(ce, 0, sizeof(*ce));
	if (cfg->cache_dir == NULL ||
	    cache_path(cfg, entity_id, path, sizeof(path)) != 0)
		return -1;
	if ((buf = cache_slurp(path, CACHE_FILE_MAX, &len, &st, &e)) == NULL) {
		if (e != ENOENT)
			log_warn("cache: ignoring unreadable %s", path);
		return -1;
	}
	if (cache_key(cfg, key) != 0) {
		log_warn("cache: cannot read or create the key in %s",
		    cfg->cache_dir);
		goto out;
	}
	/* "<magic>mac <64 hex digits>\n<body>" */
	if (len < hl + 4 + 64 + 1) {
		log_warn("cache: ignoring %s for entity %s: truncated", path,
		    entity_id);
		goto out;
	}
	macline = buf + hl;
	body = macline + 4 + 64 + 1;
	if (memcmp(buf, CACHE_MAGIC, hl) != 0 ||
	    memcmp(macline, "mac ", 4) != 0 || macline[4 + 64] != '\n' ||
	    cache_mac(key, body, len - (size_t)(body - buf), mac) != 0 ||
	    CRYPTO_memcmp(mac, macline + 4, 64) != 0 ||
	    cache_decode(entity_id, body, len - (size_t)(body - buf),
	    ce) != 0) {
		log_warn("cache: ignoring %s for entity %s: it does not "
		    "verify", path, entity_id);
		goto out;
	}
	/* the file's time may make it older, never younger (it is how the
	 * tests age an entry) */
	if (st.st_mtime < ce->fetched)
		ce->fetched = st.st_mtime;
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	free(buf);
	return rc;
}

/* The stored entry when it may still be served; logs why not. */
static bool
cache_servable(const struct sercon_config *cfg, const char *entity_id,
    struct cache_entry *ce, long age)
{
	if (cfg->cache_stale_max > 0 && age <= cfg->cache_stale_max)
		return true;
	log_info("cache: console list of entity %s is %ld s old, beyond "
	    "cache_stale_max (%d s): not served", entity_id, age,
	    cfg->cache_stale_max);
	mgr_console_list_free(&ce->list);
	return false;
}

int
cache_consoles_at(const struct sercon_config *cfg, const char *entity_id,
    cache_console_fetch_fn fetch, time_t now, struct mgr_console_list *out,
    char *err, size_t errlen)
{
	struct mgr_console_list fresh;
	struct cache_entry ce;
	bool have;
	long age, left;

	memset(out, 0, sizeof(*out));
	if (cfg->cache_dir == NULL)
		return fetch(cfg, entity_id, out, err, errlen);
	have = cache_load(cfg, entity_id, &ce) == 0;
	if (have && ce.fetched > now + CACHE_CLOCK_SLACK) {
		/* Written by a clock ahead of ours: its age is unknown. */
		mgr_console_list_free(&ce.list);
		have = false;
	}
	age = have ? (long)(now - ce.fetched) : 0;
	/* Within the back-off window after a failure the manager is not
	 * asked (logged when the window opened, not at every call). */
	if ((left = mgr_backoff_left(cfg, now)) > 0) {
		snprintf(err, errlen, "the manager failed less than %d s ago "
		    "(next try in %ld s)", MGR_BACKOFF, left);
		if (have && cache_servable(cfg, entity_id, &ce, age)) {
			log_debug("serving the console list of entity %s "
			    "cached %ld s ago: %s", entity_id, age, err);
			*out = ce.list;
			return 0;
		}
		return -1;
	}
	/* Otherwise always asked: a permission revoked in the manager takes
	 * effect at the next connect. The cache answers when it fails. */
	memset(&fresh, 0, sizeof(fresh));
	if (fetch(cfg, entity_id, &fresh, err, errlen) == 0) {
		if (have)
			mgr_console_list_free(&ce.list);
		mgr_backoff_clear(cfg);
		if (cfg->cache_stale_max > 0)
			cache_store(cfg, entity_id, &fresh, now);
		*out = fresh;
		return 0;
	}
	mgr_console_list_free(&fresh);
	mgr_backoff_trip(cfg, err, now);
	if (have && cache_servable(cfg, entity_id, &ce, age)) {
		log_warn("manager failed (%s): serving the console list of "
		    "entity %s cached %ld s ago (stale answers allowed for "
		    "%d s)", err, entity_id, age, cfg->cache_stale_max);
		*out = ce.list;
		return 0;
	}
	return -1;
}

int
cache_consoles(const struct sercon_config *cfg, const char *entity_id,
    cache_console_fetch_fn fetch, struct mgr_console_list *out, char *err,
    size_t errlen)
{
	return cache_consoles_at(cfg, entity_id, fetch, time(NULL), out, err,
	    errlen);
}

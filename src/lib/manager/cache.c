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
#include "core/file.h"
#include "core/xmalloc.h"
#include "manager/cache.h"
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

/* Reads a whole regular file (no symlinks) of at most max bytes; *errnop
 * is ENOENT when there is none. */
static char *
cache_slurp(const char *path, size_t max, size_t *lenp, int *errnop)
{
	char *buf, why[256];

	*errnop = 0;
	if (file_read(path, max, FILE_NOFOLLOW | FILE_NONBLOCK | FILE_REGULAR,
	    &buf, lenp, NULL, why, sizeof(why)) != 0) {
		*errnop = errno;
		return NULL;
	}
	return buf;
}

/* The HMAC key: read it, or make it the first time (link(2) so that two
 * programs starting together agree on one key). */
static int
cache_key(const struct sercon_config *cfg, unsigned char *key)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	unsigned char fresh[CACHE_KEY_LEN];
	size_t len;
	char *buf;
	int e, fd, rc = -1;

	if ((size_t)snprintf(path, sizeof(path), "%s/cache.key",
	    cfg->cache_dir) >= sizeof(path))
		return -1;
	if ((buf = cache_slurp(path, CACHE_KEY_LEN, &len, &e)) != NULL) {
		if (len == CACHE_KEY_LEN) {
			memcpy(key, buf, CACHE_KEY_LEN);
			rc = 0;
		}
		free(buf);
		return rc;
	}
	if (e != ENOENT || RAND_bytes(fresh, sizeof(fresh)) != 1)
		return -1;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.key.XXXXXX",
	    cfg->cache_dir) >= sizeof(tmp) ||
	    (fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return -1;
	if (write(fd, fresh, sizeof(fresh)) == (ssize_t)sizeof(fresh) &&
	    close(fd) == 0) {
		if (link(tmp, path) == 0)
			rc = 0;
		else if (errno == EEXIST &&
		    (buf = cache_slurp(path, CACHE_KEY_LEN, &len, &e)) != NULL) {
			if (len == CACHE_KEY_LEN) {
				memcpy(fresh, buf, CACHE_KEY_LEN);
				rc = 0;
			}
			free(buf);
		}
	} else
		close(fd);
	unlink(tmp);
	if (rc == 0)
		memcpy(key, fresh, CACHE_KEY_LEN);
	OPENSSL_cleanse(fresh, sizeof(fresh));
	return rc;
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
	char *buf;
	int e, rc = -1;

	memset(ce, 0, sizeof(*ce));
	if (cfg->cache_dir == NULL ||
	    cache_path(cfg, entity_id, path, sizeof(path)) != 0)
		return -1;
	if ((buf = cache_slurp(path, CACHE_FILE_MAX, &len, &e)) == NULL) {
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
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	free(buf);
	return rc;
}

int
cache_consoles_at(const struct sercon_config *cfg, const char *entity_id,
    cache_console_fetch_fn fetch, time_t now, struct mgr_console_list *out,
    char *err, size_t errlen)
{
	struct mgr_console_list fresh;
	struct cache_entry ce;
	bool have;
	long age;

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
	/* Always asked: a permission revoked in the manager takes effect at
	 * the next connect. The cache only answers when the manager fails. */
	memset(&fresh, 0, sizeof(fresh));
	if (fetch(cfg, entity_id, &fresh, err, errlen) == 0) {
		if (have)
			mgr_console_list_free(&ce.list);
		if (cfg->cache_stale_max > 0)
			cache_store(cfg, entity_id, &fresh, now);
		*out = fresh;
		return 0;
	}
	mgr_console_list_free(&fresh);
	if (have && cfg->cache_stale_max > 0 && age <= cfg->cache_stale_max) {
		log_warn("manager failed (%s): serving the console list of "
		    "entity %s cached %ld s ago (stale answers allowed for "
		    "%d s)", err, entity_id, age, cfg->cache_stale_max);
		*out = ce.list;
		return 0;
	}
	if (have) {
		log_info("cache: console list of entity %s is %ld s old, "
		    "beyond cache_stale_max (%d s): not served", entity_id,
		    age, cfg->cache_stale_max);
		mgr_console_list_free(&ce.list);
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

/* keyindex.c: the compact key index; see keyindex.h.
 *
 * Layout (native byte order: the index never leaves the machine):
 *   header | key table | console table | entity table | records
 * key table:     nkeys    x {hash of the blob, record offset}, by hash
 * console table: nconsoles x record offset
 * entity table:  nents    x {hash of the entity id, record offset}, by hash
 * record:        u32 payload length, u32 checksum, payload
 *   key:     entity_id\0 entity\0 type\0 blob\0
 *   console: vm_id\0 vm_name\0 host\0 console\0
 *   entity:  entity_id\0 u32 n, u32 console index[n]
 * A lookup touches the header, a few table pages and the records it
 * returns, each checked (bounds, checksum, shape, then the validators of
 * manager.h) before use. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/atomic.h"
#include "core/xmalloc.h"
#include "manager/keyindex.h"

#define KIDX_MAGIC "SRCNIDX1"
#define KIDX_VERSION 1
#define KIDX_F_CONSOLES 1

struct kidx_header {
	char magic[8];
	uint64_t version;
	uint64_t tag, dev, ino, size, mtime_ns, ctime_ns;
	int64_t built_at;
	uint64_t flags;
	uint64_t nkeys, keytab_off;
	uint64_t nconsoles, contab_off;
	uint64_t nents, enttab_off;
	uint64_t file_size;
	uint64_t check;            /* kidx_hash of the fields above */
};

struct kidx_entry {
	uint64_t hash;
	uint64_t off;
};

struct kidx {
	int fd;
	size_t len;
	unsigned char *whole;      /* the file, when a walk needed it all */
	unsigned char *rec;        /* the last record read */
	size_t reccap;
	bool bad;                  /* a read failed or left the file */
	struct kidx_header h;
	struct kidx_source src;
};

uint64_t
kidx_hash(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
str_hash(const char *s)
{
	return kidx_hash(s, strlen(s));
}

/* ---- writing ---------------------------------------------------------- */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void
buf_reserve(struct buf *b, size_t more)
{
	while (b->cap - b->len < more) {
		size_t ncap = b->cap ? b->cap * 2 : 65536;

		b->p = xreallocarray(b->p, ncap, 1);
		b->cap = ncap;
	}
}

static void
buf_add(struct buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s) + 1);
}

/* Opens a record: room for its length and checksum, filled by rec_end. */
static void
rec_begin(struct buf *b, size_t *start)
{
	uint32_t zero[2] = { 0, 0 };

	*start = b->len;
	buf_add(b, zero, sizeof(zero));
}

static void
rec_end(struct buf *b, size_t start)
{
	uint32_t len = (uint32_t)(b->len - start - 8);
	uint32_t check = (uint32_t)kidx_hash(b->p + start + 8, len);

	memcpy(b->p + start, &len, 4);
	memcpy(b->p + start + 4, &check, 4);
}

struct sort_item {
	uint64_t hash;
	size_t idx;
	const char *name;          /* entities: id, to group equal ones */
};

static int
sort_item_cmp(const void *a, const void *b)
{
	const struct sort_item *x = a, *y = b;
	int c;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (x->name != NULL && y->name != NULL &&
	    (c = strcmp(x->name, y->name)) != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int
kidx_write(const char *path, const struct kidx_source *src,
    const struct mgr_key_list *keys, const struct mgr_console_list *consoles,
    const struct kidx_grant *grants, size_t ngrants, char *err,
    size_t errlen)
{
	struct kidx_header h;
	struct buf b = { NULL, 0, 0 };
	struct sort_item *ks = NULL, *gs = NULL;
	size_t nconsoles = consoles != NULL ? consoles->n : 0;
	size_t i, j, nents = 0, start;
	int rc = -1;

	ks = xcalloc(keys->n + 1, sizeof(*ks));
	gs = xcalloc(ngrants + 1, sizeof(*gs));
	for (i = 0; i < keys->n; i++) {
		ks[i].hash = str_hash(keys->v[i].blob);
		ks[i].idx = i;
	}
	qsort(ks, keys->n, sizeof(*ks), sort_item_cmp);
	for (i = 0; i < ngrants; i++) {
		if (grants[i].console >= nconsoles) {
			snprintf(err, errlen, "grant of a console not listed");
			errno = EINVAL;
			goto out;
		}
		gs[i].hash = str_hash(grants[i].entity_id);
		gs[i].name = grants[i].entity_id;
		gs[i].idx = i;
	}
	qsort(gs, ngrants, sizeof(*gs), sort_item_cmp);
	for (i = 0; i < ngrants; i++)
		if (i == 0 || strcmp(gs[i].name, gs[i - 1].name) != 0)
			nents++;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, KIDX_MAGIC, 8);
	h.version = KIDX_VERSION;
	h.tag = src->tag;
	h.dev = src->dev;
	h.ino = src->ino;
	h.size = src->size;
	h.mtime_ns = src->mtime_ns;
	h.ctime_ns = src->ctime_ns;
	h.built_at = src->built_at;
	h.flags = consoles != NULL ? KIDX_F_CONSOLES : 0;
	h.nkeys = keys->n;
	h.keytab_off = sizeof(h);
	h.nconsoles = nconsoles;
	h.contab_off = h.keytab_off + keys->n * sizeof(struct kidx_entry);
	h.nents = nents;
	h.enttab_off = h.contab_off + nconsoles * sizeof(uint64_t);
	buf_reserve(&b, h.enttab_off + nents * sizeof(struct kidx_entry));
	b.len = h.enttab_off + nents * sizeof(struct kidx_entry);
	memset(b.p, 0, b.len);

	for (i = 0; i < keys->n; i++) {
		const struct mgr_key *k = &keys->v[ks[i].idx];
		struct kidx_entry e = { ks[i].hash, b.len };

		rec_begin(&b, &start);
		buf_str(&b, k->entity_id);
		buf_str(&b, k->entity);
		buf_str(&b, k->type);
		buf_str(&b, k->blob);
		rec_end(&b, start);
		memcpy(b.p + h.keytab_off + i * sizeof(e), &e, sizeof(e));
	}
	for (i = 0; i < nconsoles; i++) {
		const struct mgr_console *c = &consoles->v[i];
		uint64_t off = b.len;

		rec_begin(&b, &start);
		buf_str(&b, c->vm_id);
		buf_str(&b, c->vm_name);
		buf_str(&b, c->host);
		buf_str(&b, c->console);
		rec_end(&b, start);
		memcpy(b.p + h.contab_off + i * sizeof(off), &off,
		    sizeof(off));
	}
	for (i = 0, j = 0; i < ngrants; j++) {
		struct kidx_entry e = { gs[i].hash, b.len };
		size_t k = i;
		uint32_t n;

		while (k < ngrants && !strcmp(gs[k].name, gs[i].name))
			k++;
		n = (uint32_t)(k - i);
		rec_begin(&b, &start);
		buf_str(&b, gs[i].name);
		buf_add(&b, &n, sizeof(n));
		for (; i < k; i++) {
			uint32_t c = (uint32_t)grants[gs[i].idx].console;

			buf_add(&b, &c, sizeof(c));
		}
		rec_end(&b, start);
		memcpy(b.p + h.enttab_off + j * sizeof(e), &e, sizeof(e));
	}
	h.file_size = b.len;
	h.check = kidx_hash(&h, offsetof(struct kidx_header, check));
	memcpy(b.p, &h, sizeof(h));
	/* No fsync: the index can always be made again from its source, and
	 * a file torn by a crash fails its size and checksum checks. */
	rc = atomic_write(path, b.p, b.len, 0640, (uid_t)-1, (gid_t)-1,
	    ATOMIC_NOFSYNC, err, errlen);
out:
	free(ks);
	free(gs);
	free(b.p);
	return rc;
}

/* ---- reading ----------------------------------------------------------
 * With pread rather than mmap: a lookup then costs a few small reads from
 * the page cache and adds nothing to the process's resident set, whatever
 * the size of the index (a mapping would count every page the kernel maps
 * around each probe). */

static int
kread(struct kidx *k, uint64_t off, void *buf, size_t n)
{
	unsigned char *p = buf;

	if (off > k->len || k->len - off < n) {
		k->bad = true;
		return -1;
	}
	if (k->whole != NULL) {
		memcpy(buf, k->whole + off, n);
		return 0;
	}
	while (n > 0) {
		ssize_t r = pread(k->fd, p, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			k->bad = true;
			return -1;
		}
		p += r;
		off += (uint64_t)r;
		n -= (size_t)r;
	}
	return 0;
}

enum kidx_status
kidx_open(const char *path, struct kidx **out, char *err, size_t errlen)
{
	struct kidx_header h;
	struct kidx *k;
	struct stat st;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return errno == ENOENT ? KIDX_MISSING : KIDX_CORRUPT;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size < sizeof(h) ||
	    pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		close(fd);
		snprintf(err, errlen, "%s is not an index", path);
		return KIDX_CORRUPT;
	}
	if (memcmp(h.magic, KIDX_MAGIC, 8) != 0 || h.version != KIDX_VERSION ||
	    h.check != kidx_hash(&h, offsetof(struct kidx_header, check)) ||
	    h.file_size != (uint64_t)st.st_size ||
	    h.nkeys > h.file_size / sizeof(struct kidx_entry) ||
	    h.nconsoles > h.file_size / sizeof(uint64_t) ||
	    h.nents > h.file_size / sizeof(struct kidx_entry) ||
	    h.keytab_off != sizeof(h) ||
	    h.contab_off != h.keytab_off + h.nkeys * sizeof(struct kidx_entry) ||
	    h.enttab_off != h.contab_off + h.nconsoles * sizeof(uint64_t) ||
	    h.enttab_off + h.nents * sizeof(struct kidx_entry) > h.file_size) {
		close(fd);
		snprintf(err, errlen, "%s: header is not valid", path);
		return KIDX_CORRUPT;
	}
	k = xcalloc(1, sizeof(*k));
	k->fd = fd;
	k->len = (size_t)st.st_size;
	k->h = h;
	k->src.tag = h.tag;
	k->src.dev = h.dev;
	k->src.ino = h.ino;
	k->src.size = h.size;
	k->src.mtime_ns = h.mtime_ns;
	k->src.ctime_ns = h.ctime_ns;
	k->src.built_at = h.built_at;
	*out = k;
	return KIDX_OK;
}

void
kidx_close(struct kidx *k)
{
	if (k == NULL)
		return;
	close(k->fd);
	free(k->whole);
	free(k->rec);
	free(k);
}

const struct kidx_source *
kidx_source(const struct kidx *k)
{
	return &k->src;
}

bool
kidx_has_consoles(const struct kidx *k)
{
	return (k->h.flags & KIDX_F_CONSOLES) != 0;
}

size_t
kidx_nkeys(const struct kidx *k)
{
	return (size_t)k->h.nkeys;
}

static void
table_entry(struct kidx *k, uint64_t table, uint64_t i, struct kidx_entry *e)
{
	if (kread(k, table + i * sizeof(*e), e, sizeof(*e)) != 0)
		memset(e, 0, sizeof(*e));
}

/* The record at off, checked: its payload (valid until the next call) and
 * length, or -1. The records live after the tables. */
static int
record(struct kidx *k, uint64_t off, const unsigned char **payload,
    uint32_t *len)
{
	uint64_t data = k->h.enttab_off + k->h.nents * sizeof(struct kidx_entry);
	uint32_t hdr[2];

	if (off < data || kread(k, off, hdr, sizeof(hdr)) != 0)
		return -1;
	if (k->len - off - 8 < hdr[0])
		return -1;
	if (hdr[0] + 1 > k->reccap) {
		k->rec = xreallocarray(k->rec, (size_t)hdr[0] + 1, 1);
		k->reccap = (size_t)hdr[0] + 1;
	}
	if (kread(k, off + 8, k->rec, hdr[0]) != 0 ||
	    hdr[1] != (uint32_t)kidx_hash(k->rec, hdr[0]))
		return -1;
	*payload = k->rec;
	*len = hdr[0];
	return 0;
}

/* Splits a payload into exactly nstr NUL-terminated strings followed by
 * rest bytes (rest NULL: nothing may follow). */
static int
record_strings(const unsigned char *p, uint32_t len, const char **s,
    int nstr, const unsigned char **rest, uint32_t *restlen)
{
	uint32_t off = 0;
	int i;

	for (i = 0; i < nstr; i++) {
		const unsigned char *z = memchr(p + off, '\0', len - off);

		if (z == NULL)
			return -1;
		s[i] = (const char *)p + off;
		off = (uint32_t)(z - p) + 1;
	}
	if (rest != NULL) {
		*rest = p + off;
		*restlen = len - off;
		return 0;
	}
	return off == len ? 0 : -1;
}

/* First index of a table whose hash is >= h. */
static uint64_t
table_lower(struct kidx *k, uint64_t table, uint64_t n, uint64_t h)
{
	uint64_t lo = 0, hi = n;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		struct kidx_entry e;

		table_entry(k, table, mid, &e);
		if (e.hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static enum kidx_status
corrupt(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "index record is corrupt: %s", what);
	return KIDX_CORRUPT;
}

static enum kidx_status
key_at(struct kidx *k, uint64_t off, const char *type, const char *blob,
    struct mgr_key_list *out, char *err, size_t errlen)
{
	const unsigned char *p;
	const char *s[4];
	uint32_t len;

	if (record(k, off, &p, &len) != 0 ||
	    record_strings(p, len, s, 4, NULL, NULL) != 0)
		return corrupt(err, errlen, "key");
	if (blob != NULL && (strcmp(s[3], blob) != 0 ||
	    (type != NULL && strcmp(s[2], type) != 0)))
		return KIDX_OK;
	if (mgr_key_list_add(out, s[0], s[1], s[2], s[3], err, errlen) != 0)
		return corrupt(err, errlen, "key fails validation");
	return KIDX_OK;
}

/* Reads the whole index into memory, for walks over every record. */
static int
load_whole(struct kidx *k)
{
	unsigned char *buf;

	if (k->whole != NULL)
		return 0;
	buf = xmalloc(k->len);
	if (kread(k, 0, buf, k->len) != 0) {
		free(buf);
		return -1;
	}
	k->whole = buf;
	return 0;
}

enum kidx_status
kidx_find_keys(struct kidx *k, const char *type, const char *blob,
    struct mgr_key_list *out, char *err, size_t errlen)
{
	struct kidx_entry e;
	uint64_t i, h;
	enum kidx_status st = KIDX_CORRUPT;

	if (blob == NULL) {
		if (load_whole(k) != 0) {
			corrupt(err, errlen, "cannot read the index");
			goto bad;
		}
		for (i = 0; i < k->h.nkeys; i++) {
			table_entry(k, k->h.keytab_off, i, &e);
			if ((st = key_at(k, e.off, NULL, NULL, out, err,
			    errlen)) != KIDX_OK)
				goto bad;
		}
		return KIDX_OK;
	}
	h = str_hash(blob);
	for (i = table_lower(k, k->h.keytab_off, k->h.nkeys, h);
	    i < k->h.nkeys; i++) {
		table_entry(k, k->h.keytab_off, i, &e);
		if (e.hash != h)
			break;
		if ((st = key_at(k, e.off, type, blob, out, err, errlen)) !=
		    KIDX_OK)
			goto bad;
	}
	if (k->bad) {
		st = corrupt(err, errlen, "table");
		goto bad;
	}
	return KIDX_OK;
bad:
	mgr_key_list_free(out);
	return st;
}

static enum kidx_status
console_at(struct kidx *k, uint32_t idx, struct mgr_console_list *out,
    char *err, size_t errlen)
{
	const unsigned char *p;
	const char *s[4];
	uint64_t off;
	uint32_t len;

	if (idx >= k->h.nconsoles ||
	    kread(k, k->h.contab_off + (uint64_t)idx * sizeof(off), &off,
	    sizeof(off)) != 0)
		return corrupt(err, errlen, "console index");
	if (record(k, off, &p, &len) != 0 ||
	    record_strings(p, len, s, 4, NULL, NULL) != 0)
		return corrupt(err, errlen, "console");
	if (mgr_console_list_add(out, s[0], s[1], s[2], s[3], err, errlen)
	    != 0)
		return corrupt(err, errlen, "console fails validation");
	return KIDX_OK;
}

/* The console indexes granted to one entity, appended to *v (n, cap). */
struct kidx_idxs {
	uint32_t *v;
	size_t n, cap;
};

static enum kidx_status
entity_consoles(struct kidx *k, const char *entity_id, struct kidx_idxs *x,
    char *err, size_t errlen)
{
	struct kidx_entry e;
	uint64_t i, h = str_hash(entity_id);

	for (i = table_lower(k, k->h.enttab_off, k->h.nents, h);
	    i < k->h.nents; i++) {
		const unsigned char *p, *rest;
		const char *name;
		uint32_t len, restlen, n, j, *idx;

		table_entry(k, k->h.enttab_off, i, &e);
		if (e.hash != h)
			break;
		if (record(k, e.off, &p, &len) != 0 ||
		    record_strings(p, len, &name, 1, &rest, &restlen) != 0 ||
		    restlen < 4)
			return corrupt(err, errlen, "entity");
		memcpy(&n, rest, 4);
		if ((restlen - 4) / 4 != n || (restlen - 4) % 4 != 0)
			return corrupt(err, errlen, "entity length");
		if (strcmp(name, entity_id) != 0)
			continue;
		if (x->n + n > x->cap) {
			x->cap = (x->n + n) * 2 + 8;
			x->v = xreallocarray(x->v, x->cap, sizeof(*x->v));
		}
		idx = x->v + x->n;
		for (j = 0; j < n; j++)
			memcpy(&idx[j], rest + 4 + (size_t)j * 4, 4);
		x->n += n;
	}
	if (k->bad)
		return corrupt(err, errlen, "table");
	return KIDX_OK;
}

static int
idx_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

enum kidx_status
kidx_find_consoles(struct kidx *k, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen)
{
	struct kidx_idxs x = { NULL, 0, 0 };
	enum kidx_status st;
	size_t i;

	if (!kidx_has_consoles(k))
		return corrupt(err, errlen, "no consoles in this index");
	if ((st = entity_consoles(k, entity_id, &x, err, errlen)) != KIDX_OK ||
	    (strcmp(entity_id, SERCON_EVERYONE) != 0 &&
	    (st = entity_consoles(k, SERCON_EVERYONE, &x, err, errlen)) !=
	    KIDX_OK))
		goto out;
	/* a console granted to the entity and to everyone is listed once:
	 * sorted indexes, each taken once (linear after the sort, where a
	 * search of the list for each console was quadratic) */
	if (x.n > 1)
		qsort(x.v, x.n, sizeof(*x.v), idx_cmp);
	for (i = 0; i < x.n; i++) {
		if (i > 0 && x.v[i] == x.v[i - 1])
			continue;
		if ((st = console_at(k, x.v[i], out, err, errlen)) != KIDX_OK)
			goto out;
	}
	mgr_console_list_sort(out);
out:
	free(x.v);
	if (st != KIDX_OK)
		mgr_console_list_free(out);
	return st;
}

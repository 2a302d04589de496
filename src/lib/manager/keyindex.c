/* keyindex.c: the compact key index; see keyindex.h.
 *
 * Layout (native byte order: the index never leaves the machine):
 *   header | records | key table | console table | entity table
 * (records first, so that the writer can stream them and add the tables,
 * which only it holds in memory, at the end)
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
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/file.h"
#include "core/xmalloc.h"
#include "manager/keyindex.h"

#define KIDX_MAGIC "SRCNIDX1"
#define KIDX_VERSION 2
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

/* ---- writing ----------------------------------------------------------
 * Streamed: records go to the file (through a small buffer) as they come,
 * only the tables' {hash, offset} pairs and the grants stay in memory, and
 * the tables and the header are written at the end. */

#define KIDX_WBUF 65536

struct kidx_wgrant {
	uint64_t hash;
	char *entity_id;
	uint32_t console;
};

struct kidx_writer {
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd;
	struct kidx_source src;
	bool with_consoles;
	uint64_t off;                  /* where the next record goes */
	struct kidx_entry *keys;
	size_t nkeys, capkeys;
	uint64_t *cons;
	size_t ncons, capcons;
	struct kidx_wgrant *grants;
	size_t ngrants, capgrants;
	unsigned char buf[KIDX_WBUF];
	size_t buflen;
	int saved_errno;               /* the first write error, 0: none */
};

static void
w_flush(struct kidx_writer *w)
{
	if (w->buflen > 0 && w->saved_errno == 0 &&
	    file_write_all(w->fd, w->buf, w->buflen) != 0)
		w->saved_errno = errno != 0 ? errno : EIO;
	w->buflen = 0;
}

static void
w_add(struct kidx_writer *w, const void *data, size_t len)
{
	const unsigned char *p = data;

	if (len == 0)
		return;         /* data may be NULL */
	w->off += len;
	while (len > 0) {
		size_t n = KIDX_WBUF - w->buflen;

		if (n > len)
			n = len;
		memcpy(w->buf + w->buflen, p, n);
		w->buflen += n;
		p += n;
		len -= n;
		if (w->buflen == KIDX_WBUF)
			w_flush(w);
	}
}

/* One record: u32 length, u32 checksum, then the nstr strings (with their
 * NULs) and extra bytes; returns its offset. */
static uint64_t
w_record(struct kidx_writer *w, const char *const *strs, int nstr,
    const void *extra, size_t extralen, const uint32_t *extra2,
    size_t n2)
{
	uint64_t at = w->off, h = 0xcbf29ce484222325ULL;
	uint32_t hdr[2] = { 0, 0 };
	size_t len = extralen + n2 * 4;
	int i;

	for (i = 0; i < nstr; i++)
		len += strlen(strs[i]) + 1;
	/* the checksum: kidx_hash of the payload, computed in pieces */
#define KIDX_FNV(p, n) do { \
	const unsigned char *q_ = (const void *)(p); size_t j_; \
	for (j_ = 0; j_ < (n); j_++) { h ^= q_[j_]; h *= 0x100000001b3ULL; } \
} while (0)
	for (i = 0; i < nstr; i++)
		KIDX_FNV(strs[i], strlen(strs[i]) + 1);
	KIDX_FNV(extra, extralen);
	KIDX_FNV(extra2, n2 * 4);
#undef KIDX_FNV
	hdr[0] = (uint32_t)len;
	hdr[1] = (uint32_t)h;
	w_add(w, hdr, sizeof(hdr));
	for (i = 0; i < nstr; i++)
		w_add(w, strs[i], strlen(strs[i]) + 1);
	w_add(w, extra, extralen);
	w_add(w, extra2, n2 * 4);
	return at;
}

struct kidx_writer *
kidx_writer_open(const char *path, const struct kidx_source *src,
    bool with_consoles, char *err, size_t errlen)
{
	struct kidx_writer *w;
	struct kidx_header zero;
	int saved;

	w = xcalloc(1, sizeof(*w));
	if ((size_t)snprintf(w->path, sizeof(w->path), "%s", path) >=
	    sizeof(w->path) || (size_t)snprintf(w->tmp, sizeof(w->tmp),
	    "%s.tmp.%ld", path, (long)getpid()) >= sizeof(w->tmp)) {
		snprintf(err, errlen, "index path too long");
		free(w);
		errno = ENAMETOOLONG;
		return NULL;
	}
	(void)unlink(w->tmp);
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0640);
	if (w->fd < 0) {
		saved = errno;
		snprintf(err, errlen, "cannot create %s: %s", w->tmp,
		    strerror(saved));
		free(w);
		errno = saved;
		return NULL;
	}
	w->src = *src;
	w->with_consoles = with_consoles;
	memset(&zero, 0, sizeof(zero));
	w_add(w, &zero, sizeof(zero));   /* the header comes last */
	return w;
}

void
kidx_writer_key(struct kidx_writer *w, const struct mgr_key *k)
{
	const char *strs[4] = { k->entity_id, k->entity, k->type, k->blob };

	w->keys = mgr_grow(w->keys, &w->capkeys, w->nkeys, sizeof(*w->keys));
	w->keys[w->nkeys].hash = str_hash(k->blob);
	w->keys[w->nkeys++].off = w_record(w, strs, 4, NULL, 0, NULL, 0);
}

static int
writer_sink_add(void *ctx, const struct mgr_key *k, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	kidx_writer_key(ctx, k);
	return 0;
}

struct mgr_key_sink
kidx_writer_sink(struct kidx_writer *w)
{
	struct mgr_key_sink s = { writer_sink_add, w };

	return s;
}

size_t
kidx_writer_console(struct kidx_writer *w, const struct mgr_console *c)
{
	const char *strs[4] = { c->vm_id, c->vm_name, c->host, c->console };

	w->cons = mgr_grow(w->cons, &w->capcons, w->ncons, sizeof(*w->cons));
	w->cons[w->ncons] = w_record(w, strs, 4, NULL, 0, NULL, 0);
	return w->ncons++;
}

void
kidx_writer_grant(struct kidx_writer *w, const char *entity_id,
    size_t console)
{
	struct kidx_wgrant *g;

	w->grants = mgr_grow(w->grants, &w->capgrants, w->ngrants,
	    sizeof(*w->grants));
	g = &w->grants[w->ngrants++];
	g->hash = str_hash(entity_id);
	g->entity_id = xstrdup(entity_id);
	g->console = (uint32_t)console;
}

void
kidx_writer_source(struct kidx_writer *w, const struct kidx_source *src)
{
	w->src = *src;
}

size_t
kidx_writer_nkeys(const struct kidx_writer *w)
{
	return w->nkeys;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct kidx_entry *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int
grant_cmp(const void *a, const void *b)
{
	const struct kidx_wgrant *x = a, *y = b;
	int c;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if ((c = strcmp(x->entity_id, y->entity_id)) != 0)
		return c;
	return x->console < y->console ? -1 : x->console > y->console;
}

static void
writer_free(struct kidx_writer *w)
{
	size_t i;

	for (i = 0; i < w->ngrants; i++)
		free(w->grants[i].entity_id);
	free(w->grants);
	free(w->keys);
	free(w->cons);
	free(w);
}

void
kidx_writer_abort(struct kidx_writer *w)
{
	if (w == NULL)
		return;
	close(w->fd);
	(void)unlink(w->tmp);
	writer_free(w);
}

/* The entity records (one per entity, its console indexes), appended
 * after every key and console record; their table entries in ents. */
static size_t
writer_entities(struct kidx_writer *w, struct kidx_entry **ents)
{
	size_t i, j, n = 0, cap = 0;
	uint32_t *idx = NULL;

	*ents = NULL;
	if (w->ngrants > 1)
		qsort(w->grants, w->ngrants, sizeof(*w->grants), grant_cmp);
	idx = xcalloc(w->ngrants + 1, sizeof(*idx));
	for (i = 0; i < w->ngrants; i = j) {
		const char *name = w->grants[i].entity_id;
		uint32_t cnt;

		for (j = i; j < w->ngrants &&
		    !strcmp(w->grants[j].entity_id, name); j++)
			idx[j - i] = w->grants[j].console;
		cnt = (uint32_t)(j - i);
		*ents = mgr_grow(*ents, &cap, n, sizeof(**ents));
		(*ents)[n].hash = w->grants[i].hash;
		(*ents)[n++].off = w_record(w, &name, 1, &cnt, sizeof(cnt), idx,
		    cnt);
	}
	free(idx);
	return n;
}

int
kidx_writer_commit(struct kidx_writer *w, char *err, size_t errlen)
{
	struct kidx_header h;
	struct kidx_entry *ents = NULL;
	size_t i, nents;
	int saved;

	for (i = 0; i < w->ngrants; i++)
		if (w->grants[i].console >= w->ncons) {
			snprintf(err, errlen, "grant of a console not listed");
			kidx_writer_abort(w);
			errno = EINVAL;
			return -1;
		}
	nents = writer_entities(w, &ents);
	if (w->nkeys > 1)
		qsort(w->keys, w->nkeys, sizeof(*w->keys), entry_cmp);
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, KIDX_MAGIC, 8);
	h.version = KIDX_VERSION;
	h.tag = w->src.tag;
	h.dev = w->src.dev;
	h.ino = w->src.ino;
	h.size = w->src.size;
	h.mtime_ns = w->src.mtime_ns;
	h.ctime_ns = w->src.ctime_ns;
	h.built_at = w->src.built_at;
	h.flags = w->with_consoles ? KIDX_F_CONSOLES : 0;
	h.nkeys = w->nkeys;
	h.keytab_off = w->off;
	w_add(w, w->keys, w->nkeys * sizeof(*w->keys));
	h.nconsoles = w->ncons;
	h.contab_off = w->off;
	w_add(w, w->cons, w->ncons * sizeof(*w->cons));
	h.nents = nents;
	h.enttab_off = w->off;
	w_add(w, ents, nents * sizeof(*ents));
	free(ents);
	h.file_size = w->off;
	h.check = kidx_hash(&h, offsetof(struct kidx_header, check));
	w_flush(w);
	/* No fsync: the index can always be made again from its source, and
	 * a file torn by a crash fails its size and checksum checks. */
	if (w->saved_errno == 0 && pwrite(w->fd, &h, sizeof(h), 0) !=
	    (ssize_t)sizeof(h))
		w->saved_errno = errno != 0 ? errno : EIO;
	if (close(w->fd) != 0 && w->saved_errno == 0)
		w->saved_errno = errno;
	w->fd = -1;
	if (w->saved_errno == 0 && rename(w->tmp, w->path) != 0)
		w->saved_errno = errno;
	if ((saved = w->saved_errno) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", w->tmp,
		    strerror(saved));
		(void)unlink(w->tmp);
	}
	writer_free(w);
	errno = saved;
	return saved != 0 ? -1 : 0;
}

int
kidx_write(const char *path, const struct kidx_source *src,
    const struct mgr_key_list *keys, const struct mgr_console_list *consoles,
    const struct kidx_grant *grants, size_t ngrants, char *err,
    size_t errlen)
{
	struct kidx_writer *w;
	size_t i;

	if ((w = kidx_writer_open(path, src, consoles != NULL, err,
	    errlen)) == NULL)
		return -1;
	for (i = 0; i < keys->n; i++)
		kidx_writer_key(w, &keys->v[i]);
	for (i = 0; consoles != NULL && i < consoles->n; i++)
		kidx_writer_console(w, &consoles->v[i]);
	for (i = 0; i < ngrants; i++)
		kidx_writer_grant(w, grants[i].entity_id, grants[i].console);
	return kidx_writer_commit(w, err, errlen);
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
	/* O_NONBLOCK: a FIFO planted in its place must not hang the
	 * login; only a regular file of this account is an index */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return errno == ENOENT ? KIDX_MISSING : KIDX_CORRUPT;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid()) {
		close(fd);
		snprintf(err, errlen, "%s is not a regular file of uid %ld",
		    path, (long)geteuid());
		return KIDX_CORRUPT;
	}
	if ((size_t)st.st_size < sizeof(h) ||
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
	    h.keytab_off < sizeof(h) || h.keytab_off > h.file_size ||
	    h.contab_off != h.keytab_off + h.nkeys * sizeof(struct kidx_entry) ||
	    h.enttab_off != h.contab_off + h.nconsoles * sizeof(uint64_t) ||
	    h.enttab_off + h.nents * sizeof(struct kidx_entry) != h.file_size) {
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
 * length, or -1. The records live between the header and the tables. */
static int
record(struct kidx *k, uint64_t off, const unsigned char **payload,
    uint32_t *len)
{
	uint64_t end = k->h.keytab_off;
	uint32_t hdr[2];

	if (off < sizeof(struct kidx_header) || off > end || end - off < 8 ||
	    kread(k, off, hdr, sizeof(hdr)) != 0)
		return -1;
	if (end - off - 8 < hdr[0])
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
	buf = xmalloc(k->len + 1);
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
	/* a console granted twice is dropped by mgr_console_list_sort */
	if (mgr_console_list_add(out, s[0], s[1], s[2], s[3], err, errlen)
	    != 0)
		return corrupt(err, errlen, "console fails validation");
	return KIDX_OK;
}

static enum kidx_status
entity_consoles(struct kidx *k, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen)
{
	struct kidx_entry e;
	uint64_t i, h = str_hash(entity_id);
	enum kidx_status st;

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
		/* many consoles: one read of the file beats a pread per
		 * record (100,000 consoles for one user) */
		if (n > 256 && load_whole(k) != 0)
			return corrupt(err, errlen, "cannot read the index");
		/* the record buffer is reused by console_at: copy */
		idx = xmalloc((size_t)n * 4 + 1);
		memcpy(idx, rest + 4, (size_t)n * 4);
		for (j = 0; j < n; j++) {
			if ((st = console_at(k, idx[j], out, err, errlen)) !=
			    KIDX_OK) {
				free(idx);
				return st;
			}
		}
		free(idx);
	}
	if (k->bad)
		return corrupt(err, errlen, "table");
	return KIDX_OK;
}

enum kidx_status
kidx_find_consoles(struct kidx *k, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen)
{
	enum kidx_status st;

	if (!kidx_has_consoles(k))
		return corrupt(err, errlen, "no consoles in this index");
	if ((st = entity_consoles(k, entity_id, out, err, errlen)) != KIDX_OK ||
	    (strcmp(entity_id, SERCON_EVERYONE) != 0 &&
	    (st = entity_consoles(k, SERCON_EVERYONE, out, err, errlen)) !=
	    KIDX_OK)) {
		mgr_console_list_free(out);
		return st;
	}
	mgr_console_list_sort(out);
	return KIDX_OK;
}

/* keyindex.h: the compact key index that lets sercon-proxy-keys answer in
 * a few microseconds whatever the number of keys: one file, read by a few
 * preads (nothing of it stays resident in the process), with a
 * table of keys sorted by a hash of the key blob and a table of entities
 * (with the consoles granted to them), both searched by bisection. Written
 * as a stream (a manager's answer is never held whole) into a temporary
 * file, then put in place by atomic rename. Every record
 * carries a checksum and is validated again when read: an index that fails
 * any check is reported corrupt and never used in part. */
#ifndef SERCON_KEYINDEX_H
#define SERCON_KEYINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/contract.h"
#include "manager/records.h"

/* What the index was built from: the inventory's identity (backend file)
 * or the time of the manager's answer (remote backends), and a tag
 * identifying the configuration (backend, path) it belongs to. */
struct kidx_source {
	uint64_t tag;
	uint64_t dev, ino, size, mtime_ns, ctime_ns;
	int64_t built_at;      /* unix time */
};

/* entity_id (or SERCON_EVERYONE) may use consoles->v[console]. */
struct kidx_grant {
	const char *entity_id;
	size_t console;
};

struct kidx;

enum kidx_status { KIDX_OK = 0, KIDX_MISSING = 1, KIDX_CORRUPT = 2 };

/* The streaming writer: open, add keys (checked by the caller), consoles
 * and grants in any order, then commit (the tables are sorted and written,
 * the file renamed over path) or abort (nothing changes). Out of memory is
 * fatal; write errors are reported by commit. */
struct kidx_writer;
struct kidx_writer *kidx_writer_open(const char *path,
    const struct kidx_source *src, bool with_consoles, char *err,
    size_t errlen);
void kidx_writer_key(struct kidx_writer *w, const struct mgr_key *k);
/* A key sink (records.h) that adds to w. */
struct mgr_key_sink kidx_writer_sink(struct kidx_writer *w);
/* Adds a console; returns its number for kidx_writer_grant. */
size_t kidx_writer_console(struct kidx_writer *w, const struct mgr_console *c);
void kidx_writer_grant(struct kidx_writer *w, const char *entity_id,
    size_t console);
/* What the index is built from, when known only once the writing has
 * begun (an inventory read as it is written). */
void kidx_writer_source(struct kidx_writer *w, const struct kidx_source *src);
size_t kidx_writer_nkeys(const struct kidx_writer *w);
int kidx_writer_commit(struct kidx_writer *w, char *err, size_t errlen);
void kidx_writer_abort(struct kidx_writer *w);

/* Writes the index to path by atomic replace (a temporary file beside it,
 * then rename). consoles/grants may be NULL/0. Returns 0, or -1 with a
 * reason (errno kept from the failing call). */
int kidx_write(const char *path, const struct kidx_source *src,
    const struct mgr_key_list *keys, const struct mgr_console_list *consoles,
    const struct kidx_grant *grants, size_t ngrants, char *err,
    size_t errlen);

/* Opens and checks the header. KIDX_MISSING when there is no file,
 * KIDX_CORRUPT (with a reason) when it is not a valid index, or not a
 * regular file owned by this account (never blocks on a FIFO). */
enum kidx_status kidx_open(const char *path, struct kidx **out, char *err,
    size_t errlen);
const struct kidx_source *kidx_source(const struct kidx *k);
bool kidx_has_consoles(const struct kidx *k);
size_t kidx_nkeys(const struct kidx *k);

/* Appends the keys matching type and blob (all keys when blob is NULL).
 * KIDX_CORRUPT when a record read fails its checks (out is then empty). */
enum kidx_status kidx_find_keys(struct kidx *k, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen);
/* The consoles granted to entity_id or to everyone, sorted by name. */
enum kidx_status kidx_find_consoles(struct kidx *k,
    const char *entity_id, struct mgr_console_list *out, char *err,
    size_t errlen);
void kidx_close(struct kidx *k);

/* FNV-1a, 64 bits: the hash of the tables, exposed for tests. */
uint64_t kidx_hash(const void *data, size_t len);

#endif

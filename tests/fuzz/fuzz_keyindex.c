/* fuzz_keyindex.c: libFuzzer target of the key index reader (src/lib/
 * manager/keyindex.c): kidx_open on the fuzzed bytes as a file, then every
 * lookup (all keys, one key, an entity's consoles, everyone's).
 *
 * The index guards its header and each record with a checksum, which
 * random bytes would almost never match: before reading, this target
 * repairs the header's file size and checksum and the checksum of every
 * record a table points at (the layout of keyindex.c's comment), so the
 * fuzzer explores the reader's bounds and shape checks behind them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/contract.h"
#include "core/text.h"
#include "manager/keyindex.h"
#include "fuzz.h"

/* keyindex.c's header in u64 words: magic, version, tag, dev, ino, size,
 * mtime_ns, ctime_ns, built_at, flags, then these, the check last. */
#define W_NKEYS 10
#define W_KEYTAB 11
#define W_NCONS 12
#define W_CONTAB 13
#define W_NENTS 14
#define W_ENTTAB 15
#define W_FILESIZE 16
#define W_CHECK 17
#define HDR_SIZE ((W_CHECK + 1) * 8)

static uint64_t
word(const uint8_t *f, size_t i)
{
	uint64_t v;

	memcpy(&v, f + i * 8, 8);
	return v;
}

static void
set_word(uint8_t *f, size_t i, uint64_t v)
{
	memcpy(f + i * 8, &v, 8);
}

/* Fixes the checksum of the record at off, if it lies in the file. */
static void
fix_record(uint8_t *f, size_t size, uint64_t off)
{
	uint32_t len, check;

	if (off < HDR_SIZE || off > size || size - off < 8)
		return;
	memcpy(&len, f + off, 4);
	if (len > size - off - 8)
		return;
	check = (uint32_t)kidx_hash(f + off + 8, len);
	memcpy(f + off + 4, &check, 4);
}

/* Walks a table of n entries of stride bytes whose record offset sits at
 * offset at in each entry. */
static void
fix_table(uint8_t *f, size_t size, uint64_t tab, uint64_t n, size_t stride,
    size_t at)
{
	uint64_t i, off;

	for (i = 0; i < n && tab <= size && (size - tab) / stride > i; i++) {
		memcpy(&off, f + tab + i * stride + at, 8);
		fix_record(f, size, off);
	}
}

static void
repair(uint8_t *f, size_t size)
{
	if (size < HDR_SIZE)
		return;
	set_word(f, W_FILESIZE, size);
	set_word(f, W_CHECK, kidx_hash(f, W_CHECK * 8));
	fix_table(f, size, word(f, W_KEYTAB), word(f, W_NKEYS), 16, 8);
	fix_table(f, size, word(f, W_CONTAB), word(f, W_NCONS), 8, 0);
	fix_table(f, size, word(f, W_ENTTAB), word(f, W_NENTS), 16, 8);
}

static void
check_keys(const struct mgr_key_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!text_valid_entity_id(l->v[i].entity_id))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mgr_key_list keys, one;
	struct mgr_console_list cons;
	struct kidx *k;
	const char *path;
	char err[256];
	uint8_t *f;

	if ((f = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(f, data, size);
	repair(f, size);
	path = fuzz_file(f, size);
	free(f);
	if (kidx_open(path, &k, err, sizeof(err)) != KIDX_OK)
		return 0;
	(void)kidx_source(k);
	memset(&keys, 0, sizeof(keys));
	if (kidx_find_keys(k, NULL, NULL, &keys, err, sizeof(err)) ==
	    KIDX_OK) {
		if (keys.n != kidx_nkeys(k))
			abort();
		check_keys(&keys);
		/* A lookup by blob (a fuzzed table need not be sorted, so
		 * it may miss: only its safety is checked). */
		if (keys.n > 0) {
			memset(&one, 0, sizeof(one));
			if (kidx_find_keys(k, keys.v[0].type, keys.v[0].blob,
			    &one, err, sizeof(err)) == KIDX_OK)
				check_keys(&one);
			mgr_key_list_free(&one);
		}
	}
	if (kidx_has_consoles(k)) {
		memset(&cons, 0, sizeof(cons));
		if (kidx_find_consoles(k, keys.n > 0 ? keys.v[0].entity_id :
		    "alice", &cons, err, sizeof(err)) == KIDX_OK)
			mgr_console_list_free(&cons);
		memset(&cons, 0, sizeof(cons));
		if (kidx_find_consoles(k, SERCON_EVERYONE, &cons, err,
		    sizeof(err)) == KIDX_OK)
			mgr_console_list_free(&cons);
	}
	mgr_key_list_free(&keys);
	kidx_close(k);
	return 0;
}

/* inventory.h: the inventory file of backend "file" (docs/design.md),
 * validated entry by entry, streamed (into the key index) or held in
 * memory (without a cache_dir). be_file.c implements it; file_policy.c
 * builds the key index from it. */
#ifndef SERCON_INVENTORY_H
#define SERCON_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include "core/contract.h"
#include "manager/records.h"

struct inv_console {
	struct mgr_console c;
	char **users;          /* entity ids, or SERCON_EVERYONE */
	size_t nusers;
};

struct inventory {
	struct mgr_key_list keys;          /* every valid key, with owner */
	struct inv_console *consoles;
	size_t nconsoles, cap;
	size_t skipped;                    /* entries and keys left out */
};

/* Where a streamed inventory goes: each valid key (keys.add, as a key
 * list is streamed), each valid console with the entity ids (or
 * SERCON_EVERYONE) it is granted to, borrowed for the call. */
struct inv_sink {
	struct mgr_key_sink keys;
	void (*console)(void *ctx, const struct mgr_console *c,
	    const char *const *users, size_t nusers);
	void *ctx;
};

/* Reads the inventory at path into sink as a stream, never holding it
 * whole; st gets the identity of the file read, *skipped the entries and
 * keys left out. Same conventions as inv_parse; what the sink got is
 * provisional until it returned 0. */
int inv_stream(const char *path, const struct inv_sink *sink, struct stat *st,
    size_t *skipped, char *err, size_t errlen);

/* Parses inventory text; name is the file name used in messages. Invalid
 * entries and keys are skipped and logged (one line each, naming the file,
 * the entry and the field); only a document that is not an inventory at
 * all is an error (-1 with a reason). */
int inv_parse(const char *text, size_t len, const char *name,
    struct inventory *inv, char *err, size_t errlen);
/* inv_parse of a file; st (may be NULL) gets the identity of the file
 * that was read. */
int inv_load(const char *path, struct inventory *inv, struct stat *st,
    char *err, size_t errlen);
/* The consoles entity_id may use, sorted by VM name. */
int inv_consoles_for(const struct inventory *inv, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen);
void inv_free(struct inventory *inv);

#endif

/* inventory.h: the inventory file of backend "file" (docs/design.md),
 * parsed and validated in full. be_file.c implements it; file_policy.c
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

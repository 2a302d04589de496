/* manager.h: the two questions sercon asks its manager, "which keys exist"
 * and "which consoles may entity X use", whatever the backend behind them
 * (inventory file, external command, oVirt engine). Every record handed out
 * here has been validated (see text.h): callers trust it. */
#ifndef SERCON_MANAGER_H
#define SERCON_MANAGER_H

#include <stddef.h>
#include "core/config.h"

struct mgr_key {
	char *entity_id;       /* owner's id */
	char *entity;          /* owner's name */
	char *type;            /* "ssh-ed25519", ... */
	char *blob;            /* base64 of the public key */
};

struct mgr_key_list {
	struct mgr_key *v;
	size_t n, cap;
};

struct mgr_console {
	char *vm_id;
	char *vm_name;
	char *host;            /* text_valid_host() */
	char *console;         /* text_valid_console(): socket file name */
};

struct mgr_console_list {
	struct mgr_console *v;
	size_t n, cap;
};

/* Keys whose type and blob match (all keys when blob is NULL). Returns 0
 * (possibly with no keys), -1 when the manager could not answer: the reason
 * has been logged and is in err. */
int mgr_find_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen);

/* Consoles the entity may use, sorted by VM name. Same return convention. */
int mgr_list_consoles(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen);

/* List helpers: the add functions copy their arguments; they validate them
 * and return -1 (with a reason) for a record that must be skipped. */
int mgr_key_list_add(struct mgr_key_list *l, const char *entity_id,
    const char *entity, const char *type, const char *blob, char *err,
    size_t errlen);
void mgr_key_list_free(struct mgr_key_list *l);
int mgr_console_list_add(struct mgr_console_list *l, const char *vm_id,
    const char *vm_name, const char *host, const char *console, char *err,
    size_t errlen);
void mgr_console_list_sort(struct mgr_console_list *l);
void mgr_console_list_free(struct mgr_console_list *l);

#endif

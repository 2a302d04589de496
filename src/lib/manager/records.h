/* records.h: the manager's records (a user's key, a console) and the lists
 * that carry them, at the bottom of the manager part: every backend, the
 * console cache, the key index and the dispatcher use these and nothing
 * above them. A record in a list has been validated (see text.h and
 * sshkey.h): whoever holds one may trust it. */
#ifndef SERCON_RECORDS_H
#define SERCON_RECORDS_H

#include <stddef.h>

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

/* Where a streamed key list goes (a list, or the key index being
 * written): add() gets each key that passed mgr_key_check, borrowed for
 * the call. Returns 0, or -1 to stop the stream (the reason in err). */
struct mgr_key_sink {
	int (*add)(void *ctx, const struct mgr_key *k, char *err,
	    size_t errlen);
	void *ctx;
};

/* Room for one more element in an array of n elements of size, cap of
 * them allocated: doubles as needed (out of memory is fatal). */
void *mgr_grow(void *v, size_t *cap, size_t n, size_t size);

/* 0 when the four fields make a valid key record, else -1 with a reason;
 * mgr_key_check_owner checks the first two only (for a key that
 * sshkey_parse_line has checked already). */
int mgr_key_check(const char *entity_id, const char *entity,
    const char *type, const char *blob, char *err, size_t errlen);
int mgr_key_check_owner(const char *entity_id, const char *entity, char *err,
    size_t errlen);

/* The add functions validate and copy their arguments; -1 (with a reason)
 * for a record that must be skipped. */
int mgr_key_list_add(struct mgr_key_list *l, const char *entity_id,
    const char *entity, const char *type, const char *blob, char *err,
    size_t errlen);
void mgr_key_list_free(struct mgr_key_list *l);
/* A sink that appends to l. */
struct mgr_key_sink mgr_key_list_sink(struct mgr_key_list *l);

/* Moves the keys of list that match type/blob (every key when blob is
 * NULL; any type when type is NULL) to out; list is emptied. */
void mgr_keys_filter(struct mgr_key_list *list, const char *type,
    const char *blob, struct mgr_key_list *out);

/* A key that two entities claim must let neither log in (else whoever
 * sets their key to another's lands in the other's consoles): drops every
 * such key from l, logging each key once with all its claimants; a key
 * listed twice for the same entity is kept once. Returns how many keys
 * were refused. */
size_t mgr_keys_refuse_shared(struct mgr_key_list *l);

int mgr_console_list_add(struct mgr_console_list *l, const char *vm_id,
    const char *vm_name, const char *host, const char *console, char *err,
    size_t errlen);
/* Sorts by VM name (then id) and drops exact repeats, in O(n log n). */
void mgr_console_list_sort(struct mgr_console_list *l);
void mgr_console_list_free(struct mgr_console_list *l);

#endif

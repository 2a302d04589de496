/* be_file.c: backend "file", the inventory JSON of docs/design.md
 * (jansson). Validation is strict and local to each entry: an unknown or
 * ill-typed field, or an invalid key, skips that entry or key (logged with
 * the file, the entry and the field) and the rest of the inventory keeps
 * working. A key listed for two users is kept for both: the dispatcher
 * (manager.c) then refuses it for both, whichever comes first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "core/xmalloc.h"
#include "core/file.h"
#include "core/log.h"
#include "manager/inventory.h"
#include "core/sshkey.h"
#include "core/text.h"

/* Far beyond any real inventory; a bound on what a mistake can cost. */
#define INV_FILE_MAX ((size_t)1 << 30)

struct inv_ctx {
	const char *file;
	struct inventory *inv;
	json_t *seen_ids;       /* user ids already taken (a hash set) */
};

/* "users[3] (alice)" for messages; the id is escaped by the logger. */
static void
entry_label(char *buf, size_t len, const char *list, size_t i, json_t *obj,
    const char *idfield)
{
	json_t *id = json_object_get(obj, idfield);

	if (json_is_string(id))
		snprintf(buf, len, "%s[%zu] (%s '%.64s')", list, i, idfield,
		    json_string_value(id));
	else
		snprintf(buf, len, "%s[%zu]", list, i);
}

static void
skip(struct inv_ctx *c, const char *entry, const char *fmt, const char *field)
{
	log_error("inventory %s: %s: skipped: field '%s' %s", c->file, entry,
	    field, fmt);
	c->inv->skipped++;
}

static int
known_fields(struct inv_ctx *c, const char *entry, json_t *obj,
    const char *const *names)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(obj, k, v) {
		for (i = 0; names[i] != NULL; i++)
			if (!strcmp(names[i], k))
				break;
		if (names[i] == NULL) {
			skip(c, entry, "is unknown", k);
			return -1;
		}
	}
	return 0;
}

/* A required (or optional, when *out may stay NULL) string field checked
 * with valid(). */
static int
str_field(struct inv_ctx *c, const char *entry, json_t *obj, const char *name,
    bool required, bool (*valid)(const char *), const char **out)
{
	json_t *v = json_object_get(obj, name);

	*out = NULL;
	if (v == NULL) {
		if (!required)
			return 0;
		skip(c, entry, "is missing", name);
		return -1;
	}
	if (!json_is_string(v)) {
		skip(c, entry, "is not a string", name);
		return -1;
	}
	if (strlen(json_string_value(v)) != json_string_length(v) ||
	    !valid(json_string_value(v))) {
		skip(c, entry, "has an invalid value", name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static bool
valid_id_not_everyone(const char *s)
{
	return text_valid_entity_id(s) && strcmp(s, SERCON_EVERYONE) != 0;
}

static void
parse_user(struct inv_ctx *c, json_t *u, size_t i)
{
	static const char *const fields[] = { "id", "name", "keys", NULL };
	char entry[128], err[160];
	const char *id, *name;
	json_t *keys, *k;
	size_t j;

	entry_label(entry, sizeof(entry), "users", i, u, "id");
	if (!json_is_object(u)) {
		log_error("inventory %s: %s: skipped: not an object", c->file,
		    entry);
		c->inv->skipped++;
		return;
	}
	if (known_fields(c, entry, u, fields) != 0 ||
	    str_field(c, entry, u, "id", true, valid_id_not_everyone,
	    &id) != 0 ||
	    str_field(c, entry, u, "name", false, text_valid_entity_name,
	    &name) != 0)
		return;
	if (name == NULL)
		name = id;
	keys = json_object_get(u, "keys");
	if (keys == NULL) {
		skip(c, entry, "is missing", "keys");
		return;
	}
	if (!json_is_array(keys)) {
		skip(c, entry, "is not an array", "keys");
		return;
	}
	if (json_object_get(c->seen_ids, id) != NULL) {
		skip(c, entry, "repeats another user's id", "id");
		return;
	}
	if (json_object_set_new(c->seen_ids, id, json_true()) != 0)
		abort();
	json_array_foreach(keys, j, k) {
		char *type, *blob;

		if (!json_is_string(k) ||
		    strlen(json_string_value(k)) != json_string_length(k)) {
			log_error("inventory %s: %s: keys[%zu] skipped: not a "
			    "string", c->file, entry, j);
			c->inv->skipped++;
			continue;
		}
		if (sshkey_parse_line(json_string_value(k), &type, &blob, err,
		    sizeof(err)) != 0) {
			log_error("inventory %s: %s: keys[%zu] skipped: %s",
			    c->file, entry, j, err);
			c->inv->skipped++;
			continue;
		}
		if (mgr_key_list_add(&c->inv->keys, id, name, type,
		    blob, err, sizeof(err)) != 0) {
			log_error("inventory %s: %s: keys[%zu] skipped: %s",
			    c->file, entry, j, err);
			c->inv->skipped++;
		}
		free(type);
		free(blob);
	}
}

static bool
valid_user_ref(const char *s)
{
	return text_valid_entity_id(s);
}

static int
console_users(struct inv_ctx *c, const char *entry, json_t *users,
    struct inv_console *ic)
{
	json_t *u;
	size_t j;

	if (users == NULL) {
		skip(c, entry, "is missing", "users");
		return -1;
	}
	if (!json_is_array(users)) {
		skip(c, entry, "is not an array", "users");
		return -1;
	}
	ic->users = xcalloc(json_array_size(users) + 1, sizeof(char *));
	json_array_foreach(users, j, u) {
		const char *s = json_string_value(u);

		if (s == NULL || strlen(s) != json_string_length(u) ||
		    !valid_user_ref(s)) {
			skip(c, entry, "has an invalid element", "users");
			return -1;
		}
		ic->users[ic->nusers++] = xstrdup(s);
	}
	return 0;
}

static void
inv_console_free(struct inv_console *ic)
{
	size_t i;

	for (i = 0; i < ic->nusers; i++)
		free(ic->users[i]);
	free(ic->users);
	free(ic->c.vm_id);
	free(ic->c.vm_name);
	free(ic->c.host);
	free(ic->c.console);
	memset(ic, 0, sizeof(*ic));
}

static void
parse_console(struct inv_ctx *c, json_t *o, size_t i)
{
	static const char *const fields[] = { "vm_id", "vm_name", "host",
	    "console", "users", NULL };
	struct inventory *inv = c->inv;
	struct inv_console ic;
	struct mgr_console_list one = { NULL, 0, 0 };
	const char *vm_id, *vm_name, *host, *console;
	char entry[128], sock[TEXT_NAME_MAX + 8], err[160];

	memset(&ic, 0, sizeof(ic));
	entry_label(entry, sizeof(entry), "consoles", i, o, "vm_id");
	if (!json_is_object(o)) {
		log_error("inventory %s: %s: skipped: not an object", c->file,
		    entry);
		inv->skipped++;
		return;
	}
	if (known_fields(c, entry, o, fields) != 0 ||
	    str_field(c, entry, o, "vm_id", true, text_valid_entity_id,
	    &vm_id) != 0 ||
	    str_field(c, entry, o, "vm_name", true, text_valid_vm_name,
	    &vm_name) != 0 ||
	    str_field(c, entry, o, "host", true, text_valid_host, &host) != 0 ||
	    str_field(c, entry, o, "console", false, text_valid_console,
	    &console) != 0)
		return;
	if (console == NULL) {
		snprintf(sock, sizeof(sock), "%s.sock", vm_id);
		if (!text_valid_console(sock)) {
			skip(c, entry, "is missing and vm_id is no file name",
			    "console");
			return;
		}
		console = sock;
	}
	if (mgr_console_list_add(&one, vm_id, vm_name, host, console, err,
	    sizeof(err)) != 0) {
		log_error("inventory %s: %s: skipped: %s", c->file, entry, err);
		inv->skipped++;
		return;
	}
	ic.c = one.v[0];
	free(one.v);
	if (console_users(c, entry, json_object_get(o, "users"), &ic) != 0) {
		inv_console_free(&ic);
		return;
	}
	inv->consoles = mgr_grow(inv->consoles, &inv->cap, inv->nconsoles,
	    sizeof(*inv->consoles));
	inv->consoles[inv->nconsoles++] = ic;
}

int
inv_parse(const char *text, size_t len, const char *name,
    struct inventory *inv, char *err, size_t errlen)
{
	static const char *const fields[] = { "users", "consoles", NULL };
	struct inv_ctx c = { name, inv, NULL };
	json_error_t jerr;
	json_t *root, *users, *consoles, *v;
	const char *k;
	size_t i;

	memset(inv, 0, sizeof(*inv));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
	    &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "inventory %s:%d: %s", name, jerr.line,
		    jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "inventory %s: not a JSON object", name);
		goto fail;
	}
	json_object_foreach(root, k, v) {
		for (i = 0; fields[i] != NULL; i++)
			if (!strcmp(fields[i], k))
				break;
		if (fields[i] == NULL) {
			snprintf(err, errlen, "inventory %s: field '%.40s' is "
			    "unknown", name, k);
			goto fail;
		}
	}
	users = json_object_get(root, "users");
	consoles = json_object_get(root, "consoles");
	if ((users != NULL && !json_is_array(users)) ||
	    (consoles != NULL && !json_is_array(consoles))) {
		snprintf(err, errlen, "inventory %s: field '%s' is not an "
		    "array", name, users != NULL && !json_is_array(users) ?
		    "users" : "consoles");
		goto fail;
	}
	if ((c.seen_ids = json_object()) == NULL)
		abort();
	json_array_foreach(users, i, v)
		parse_user(&c, v, i);
	json_array_foreach(consoles, i, v)
		parse_console(&c, v, i);
	json_decref(c.seen_ids);
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	inv_free(inv);
	return -1;
}

int
inv_load(const char *path, struct inventory *inv, struct stat *st,
    char *err, size_t errlen)
{
	char *buf, why[512];
	size_t len;
	int rc;

	memset(inv, 0, sizeof(*inv));
	if (file_read(path, INV_FILE_MAX, 0, &buf, &len, st, why,
	    sizeof(why)) != 0) {
		snprintf(err, errlen, "inventory: %s", why);
		return -1;
	}
	rc = inv_parse(buf, len, path, inv, err, errlen);
	free(buf);
	return rc;
}

int
inv_consoles_for(const struct inventory *inv, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen)
{
	size_t i, j;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < inv->nconsoles; i++) {
		const struct inv_console *ic = &inv->consoles[i];

		for (j = 0; j < ic->nusers; j++)
			if (!strcmp(ic->users[j], entity_id) ||
			    !strcmp(ic->users[j], SERCON_EVERYONE))
				break;
		if (j == ic->nusers)
			continue;
		if (mgr_console_list_add(out, ic->c.vm_id, ic->c.vm_name,
		    ic->c.host, ic->c.console, err, errlen) != 0) {
			mgr_console_list_free(out);
			return -1;
		}
	}
	mgr_console_list_sort(out);
	return 0;
}

void
inv_free(struct inventory *inv)
{
	size_t i;

	mgr_key_list_free(&inv->keys);
	for (i = 0; i < inv->nconsoles; i++)
		inv_console_free(&inv->consoles[i]);
	free(inv->consoles);
	memset(inv, 0, sizeof(*inv));
}

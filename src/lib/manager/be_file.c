/* be_file.c: backend "file", the inventory JSON of docs/design.md, read
 * as a stream (mgr_json.c's scanner finds each entry, which is read alone):
 * a key index is built from an inventory of any size without holding it
 * whole. Validation is strict and local to each entry: an unknown or
 * ill-typed field, an invalid key or an entry that is not valid JSON skips
 * that entry or key (logged with the file, the entry and the field) and
 * the rest of the inventory keeps working. A key listed for two users is
 * kept for both: the dispatcher (manager.c) then refuses it for both,
 * whichever comes first. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "core/log.h"
#include "core/sshkey.h"
#include "core/text.h"
#include "manager/inventory.h"
#include "manager/keyindex.h"
#include "manager/mgr_json.h"

/* Far beyond any real inventory; a bound on what a mistake can cost. */
#define INV_FILE_MAX ((size_t)1 << 30)
#define INV_CHUNK (256 * 1024)

/* The user ids seen so far, to skip a user whose id repeats another's: an
 * open-addressing set of offsets into one arena of the ids (a few bytes an
 * id, where a jansson object would spend a hundred). */
struct inv_ids {
	uint32_t *slot;         /* 0: empty, else arena offset + 1 */
	size_t cap, n;
	char *arena;
	size_t alen, acap;
};

static size_t
ids_home(const struct inv_ids *s, const char *id)
{
	return (size_t)kidx_hash(id, strlen(id)) & (s->cap - 1);
}

static void
ids_grow(struct inv_ids *s)
{
	uint32_t *old = s->slot;
	size_t oldcap = s->cap, i, j;

	s->cap = s->cap ? s->cap * 2 : 1024;
	s->slot = xcalloc(s->cap, sizeof(*s->slot));
	for (i = 0; i < oldcap; i++) {
		if (old[i] == 0)
			continue;
		for (j = ids_home(s, s->arena + old[i] - 1); s->slot[j] != 0;
		    j = (j + 1) & (s->cap - 1))
			;
		s->slot[j] = old[i];
	}
	free(old);
}

/* Adds id; false when it was there already. */
static bool
ids_add(struct inv_ids *s, const char *id)
{
	size_t len = strlen(id) + 1, i;

	if ((s->n + 1) * 2 > s->cap)
		ids_grow(s);
	for (i = ids_home(s, id); s->slot[i] != 0; i = (i + 1) & (s->cap - 1))
		if (!strcmp(s->arena + s->slot[i] - 1, id))
			return false;
	if (s->alen + len > s->acap) {
		s->acap = (s->alen + len) * 2;
		s->arena = xreallocarray(s->arena, s->acap, 1);
	}
	memcpy(s->arena + s->alen, id, len);
	s->slot[i] = (uint32_t)s->alen + 1;
	s->alen += len;
	s->n++;
	return true;
}

struct inv_ctx {
	const char *file;
	const struct inv_sink *sink;
	size_t skipped;
	struct inv_ids ids;
	struct mgr_json_obj obj;        /* the entry being read */
	const char **users;             /* a console's, borrowed from obj */
	size_t capusers;
	bool sink_failed;
	char sink_err[256];
	/* the entry being read, named in messages only when one is logged */
	const char *list, *idfield;
	size_t i;
	const struct mgr_json_obj *o;
	char label[128];
};

/* "users[3] (id 'alice')" for messages; the id is escaped by the logger. */
static const char *
entry_label(struct inv_ctx *c)
{
	const char *id = c->o != NULL ? mgr_json_obj_str(c->o, c->idfield) :
	    NULL;

	if (id != NULL)
		snprintf(c->label, sizeof(c->label), "%s[%zu] (%s '%.64s')",
		    c->list, c->i, c->idfield, id);
	else
		snprintf(c->label, sizeof(c->label), "%s[%zu]", c->list, c->i);
	return c->label;
}

static void
skip_entry(struct inv_ctx *c, const char *why)
{
	log_error("inventory %s: %s: skipped: %s", c->file, entry_label(c),
	    why);
	c->skipped++;
}

static void
skip(struct inv_ctx *c, const char *fmt, const char *field)
{
	log_error("inventory %s: %s: skipped: field '%s' %s", c->file,
	    entry_label(c), field, fmt);
	c->skipped++;
}

/* A key of the entry skipped. */
static void
skip_key(struct inv_ctx *c, size_t j, const char *why)
{
	log_error("inventory %s: %s: keys[%zu] skipped: %s", c->file,
	    entry_label(c), j, why);
	c->skipped++;
}

static int
known_fields(struct inv_ctx *c, const struct mgr_json_obj *obj,
    const char *const *names)
{
	size_t i, j;

	for (j = 0; j < obj->n; j++) {
		for (i = 0; names[i] != NULL; i++)
			if (!strcmp(names[i], obj->name[j]))
				break;
		if (names[i] == NULL) {
			skip(c, "is unknown", obj->name[j]);
			return -1;
		}
	}
	return 0;
}

/* A string without NUL bytes. */
static bool
plain_string(const struct mgr_json_val *v)
{
	return v->kind == MJV_STRING && strlen(v->s) == v->len;
}

/* A required (or optional, when *out may stay NULL) string field checked
 * with valid(). */
static int
str_field(struct inv_ctx *c, const struct mgr_json_obj *o, const char *name,
    bool required, bool (*valid)(const char *), const char **out)
{
	const struct mgr_json_val *v = mgr_json_obj_get(o, name);

	*out = NULL;
	if (v == NULL) {
		if (!required)
			return 0;
		skip(c, "is missing", name);
		return -1;
	}
	if (v->kind != MJV_STRING) {
		skip(c, "is not a string", name);
		return -1;
	}
	if (!plain_string(v) || !valid(v->s)) {
		skip(c, "has an invalid value", name);
		return -1;
	}
	*out = v->s;
	return 0;
}

/* A required array field. */
static const struct mgr_json_val *
array_field(struct inv_ctx *c, const struct mgr_json_obj *o,
    const char *name)
{
	const struct mgr_json_val *v = mgr_json_obj_get(o, name);

	if (v == NULL) {
		skip(c, "is missing", name);
		return NULL;
	}
	if (v->kind != MJV_ARRAY) {
		skip(c, "is not an array", name);
		return NULL;
	}
	return v;
}

static bool
valid_id_not_everyone(const char *s)
{
	return text_valid_entity_id(s) && strcmp(s, SERCON_EVERYONE) != 0;
}

static void
user_key(struct inv_ctx *c, size_t j, const char *id, const char *name,
    const struct mgr_json_val *v)
{
	struct mgr_key k;
	char err[160], *type, *blob;

	if (!plain_string(v)) {
		skip_key(c, j, "not a string");
		return;
	}
	if (sshkey_parse_line(v->s, &type, &blob, err, sizeof(err)) != 0) {
		skip_key(c, j, err);
		return;
	}
	/* the key was checked by sshkey_parse_line */
	if (mgr_key_check_owner(id, name, err, sizeof(err)) != 0)
		skip_key(c, j, err);
	else {
		k.entity_id = (char *)id;
		k.entity = (char *)name;
		k.type = type;
		k.blob = blob;
		if (!c->sink_failed && c->sink->keys.add(c->sink->keys.ctx, &k,
		    c->sink_err, sizeof(c->sink_err)) != 0)
			c->sink_failed = true;
	}
	free(type);
	free(blob);
}

/* The entry o (NULL: not an object) is named by idfield in messages and
 * has only the fields named. */
static int
entry_start(struct inv_ctx *c, const struct mgr_json_obj *o,
    const char *idfield, const char *const *fields)
{
	c->idfield = idfield;
	c->o = o;
	if (o == NULL) {
		skip_entry(c, "not an object");
		return -1;
	}
	return known_fields(c, o, fields);
}

static void
parse_user(struct inv_ctx *c, const struct mgr_json_obj *u)
{
	static const char *const fields[] = { "id", "name", "keys", NULL };
	const struct mgr_json_val *keys;
	const char *id, *name;
	size_t j;

	if (entry_start(c, u, "id", fields) != 0 ||
	    str_field(c, u, "id", true, valid_id_not_everyone, &id) != 0 ||
	    str_field(c, u, "name", false, text_valid_entity_name,
	    &name) != 0 ||
	    (keys = array_field(c, u, "keys")) == NULL)
		return;
	if (name == NULL)
		name = id;
	if (!ids_add(&c->ids, id)) {
		skip(c, "repeats another user's id", "id");
		return;
	}
	for (j = 0; j < keys->n; j++)
		user_key(c, j, id, name, &u->elems[keys->first + j]);
}

static void
parse_console(struct inv_ctx *c, const struct mgr_json_obj *o)
{
	static const char *const fields[] = { "vm_id", "vm_name", "host",
	    "console", "users", NULL };
	const struct mgr_json_val *users;
	struct mgr_console_list one = { NULL, 0, 0 };
	const char *vm_id, *vm_name, *host, *console;
	char sock[TEXT_NAME_MAX + 8], err[160];
	size_t j;

	if (entry_start(c, o, "vm_id", fields) != 0 ||
	    str_field(c, o, "vm_id", true, text_valid_entity_id,
	    &vm_id) != 0 ||
	    str_field(c, o, "vm_name", true, text_valid_vm_name,
	    &vm_name) != 0 ||
	    str_field(c, o, "host", true, text_valid_host, &host) != 0 ||
	    str_field(c, o, "console", false, text_valid_console,
	    &console) != 0)
		return;
	if (console == NULL) {
		snprintf(sock, sizeof(sock), "%s.sock", vm_id);
		if (!text_valid_console(sock)) {
			skip(c, "is missing and vm_id is no file name",
			    "console");
			return;
		}
		console = sock;
	}
	if ((users = array_field(c, o, "users")) == NULL)
		return;
	c->users = mgr_grow(c->users, &c->capusers, users->n,
	    sizeof(*c->users));
	for (j = 0; j < users->n; j++) {
		const struct mgr_json_val *u = &o->elems[users->first + j];

		if (!plain_string(u) || !text_valid_entity_id(u->s)) {
			skip(c, "has an invalid element", "users");
			return;
		}
		c->users[j] = u->s;
	}
	/* checked as every console record is */
	if (mgr_console_list_add(&one, vm_id, vm_name, host, console, err,
	    sizeof(err)) != 0) {
		skip_entry(c, err);
		return;
	}
	c->sink->console(c->sink->ctx, &one.v[0], c->users, users->n);
	mgr_console_list_free(&one);
}

/* One entry of "users" (array 0) or "consoles" (array 1), raw. */
static void
inv_entry(void *ctx, int array, size_t i, char *buf, size_t len)
{
	struct inv_ctx *c = ctx;
	char why[200];
	int rc;

	c->list = array == 0 ? "users" : "consoles";
	c->i = i;
	c->o = NULL;
	if (buf == NULL) {
		snprintf(why, sizeof(why), "larger than %d bytes",
		    MGR_JSON_ENTRY_MAX);
		skip_entry(c, why);
		return;
	}
	/* a \u0000 is read, then refused by the field's check */
	rc = mgr_json_obj_read(&c->obj, buf, len, MGR_JSON_NUL, why,
	    sizeof(why));
	if (rc < 0) {
		skip_entry(c, why);
		return;
	}
	if (array == 0)
		parse_user(c, rc == 0 ? &c->obj : NULL);
	else
		parse_console(c, rc == 0 ? &c->obj : NULL);
}

static void
inv_ctx_free(struct inv_ctx *c)
{
	free(c->ids.slot);
	free(c->ids.arena);
	free(c->users);
	mgr_json_obj_free(&c->obj);
}

/* Feeds the inventory to the stream piece by piece: from text, or from
 * fd when text is NULL. */
static int
inv_feed(struct mgr_json_stream *js, const char *text, size_t len, int fd,
    const char *name, char *err, size_t errlen)
{
	char *buf, why[256];
	ssize_t r;
	size_t total = 0;

	if (text != NULL)
		return mgr_json_feed(js, text, len, err, errlen);
	buf = xmalloc(INV_CHUNK);
	for (;;) {
		if ((r = read(fd, buf, INV_CHUNK)) < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read %s: %s", name,
			    strerror(errno));
			break;
		}
		if (r == 0) {
			free(buf);
			return 0;
		}
		if ((total += (size_t)r) > INV_FILE_MAX) {
			snprintf(err, errlen, "%s is too large", name);
			break;
		}
		if (mgr_json_feed(js, buf, (size_t)r, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s", why);
			break;
		}
	}
	free(buf);
	return -1;
}

/* The inventory in text (len bytes), or read from fd, into sink. */
static int
inv_read(const char *text, size_t len, int fd, const char *name,
    const struct inv_sink *sink, size_t *skipped, char *err, size_t errlen)
{
	struct inv_ctx c;
	struct mgr_json_stream *js;
	char why[256];
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.file = name;
	c.sink = sink;
	js = mgr_json_doc_begin("users", "consoles", inv_entry, &c);
	if (inv_feed(js, text, len, fd, name, why, sizeof(why)) != 0)
		mgr_json_free(js);
	else if (mgr_json_doc_end(js, why, sizeof(why)) == 0)
		rc = 0;
	if (rc != 0)
		snprintf(err, errlen, "inventory %s: %s", name, why);
	else if (c.sink_failed) {
		snprintf(err, errlen, "inventory %s: %s", name, c.sink_err);
		rc = -1;
	}
	*skipped = c.skipped;
	inv_ctx_free(&c);
	return rc;
}

/* Opens the inventory at path; st gets its identity. Returns the
 * descriptor, or -1 with a reason. */
static int
inv_open(const char *path, struct stat *st, char *err, size_t errlen)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, st) != 0) {
		snprintf(err, errlen, "inventory: cannot read %s: %s", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (S_ISREG(st->st_mode) && (uintmax_t)st->st_size > INV_FILE_MAX) {
		snprintf(err, errlen, "inventory: %s is too large", path);
		close(fd);
		return -1;
	}
	return fd;
}

int
inv_stream(const char *path, const struct inv_sink *sink, struct stat *st,
    size_t *skipped, char *err, size_t errlen)
{
	int fd, rc;

	*skipped = 0;
	if ((fd = inv_open(path, st, err, errlen)) < 0)
		return -1;
	rc = inv_read(NULL, 0, fd, path, sink, skipped, err, errlen);
	close(fd);
	return rc;
}

/* ---- the inventory in memory (no key index) -------------------------- */

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

static int
mem_key(void *ctx, const struct mgr_key *k, char *err, size_t errlen)
{
	struct inventory *inv = ctx;

	return mgr_key_list_add(&inv->keys, k->entity_id, k->entity, k->type,
	    k->blob, err, errlen);
}

static void
mem_console(void *ctx, const struct mgr_console *c,
    const char *const *users, size_t nusers)
{
	struct inventory *inv = ctx;
	struct inv_console *ic;
	size_t i;

	inv->consoles = mgr_grow(inv->consoles, &inv->cap, inv->nconsoles,
	    sizeof(*inv->consoles));
	ic = &inv->consoles[inv->nconsoles++];
	ic->c.vm_id = xstrdup(c->vm_id);
	ic->c.vm_name = xstrdup(c->vm_name);
	ic->c.host = xstrdup(c->host);
	ic->c.console = xstrdup(c->console);
	ic->users = xcalloc(nusers + 1, sizeof(char *));
	for (i = 0; i < nusers; i++)
		ic->users[i] = xstrdup(users[i]);
	ic->nusers = nusers;
}

static int
inv_to_memory(const char *text, size_t len, int fd, const char *name,
    struct inventory *inv, char *err, size_t errlen)
{
	struct inv_sink sink = { { mem_key, inv }, mem_console, inv };
	int rc;

	memset(inv, 0, sizeof(*inv));
	rc = inv_read(text, len, fd, name, &sink, &inv->skipped, err, errlen);
	if (rc != 0)
		inv_free(inv);
	return rc;
}

int
inv_parse(const char *text, size_t len, const char *name,
    struct inventory *inv, char *err, size_t errlen)
{
	return inv_to_memory(text, len, -1, name, inv, err, errlen);
}

int
inv_load(const char *path, struct inventory *inv, struct stat *st,
    char *err, size_t errlen)
{
	struct stat sb;
	int fd, rc;

	memset(inv, 0, sizeof(*inv));
	if ((fd = inv_open(path, st != NULL ? st : &sb, err, errlen)) < 0)
		return -1;
	rc = inv_to_memory(NULL, 0, fd, path, inv, err, errlen);
	close(fd);
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

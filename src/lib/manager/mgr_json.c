/* mgr_json.c: README.API v1 JSON from key_list / console_list commands and
 * from the oVirt engine, turned into validated records; see mgr_json.h.
 * The scanner below only finds where the envelope's members and the
 * array's entries begin and end (strings, escapes, nesting); it never
 * interprets an entry, which jansson then parses alone and strictly. What
 * breaks the structure itself (an unclosed bracket, a stray byte between
 * entries) makes the whole answer unusable: nothing after it can be
 * trusted to be where it seems. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "core/xmalloc.h"
#include "core/log.h"
#include "manager/mgr_json.h"
#include "core/sshkey.h"
#include "core/text.h"

#define MGR_JSON_MAX_ENTRIES 1000000
#define MGR_JSON_SKIPS_LOGGED 5        /* then one summary line */
#define MGR_JSON_DEPTH 64
#define MGR_JSON_NAME_MAX 64

enum mj_state {
	MJ_START, MJ_NAME_OR_END, MJ_NAME, MJ_COLON, MJ_VALUE, MJ_AFTER_VALUE,
	MJ_ARRAY_FIRST, MJ_ARRAY_NEXT, MJ_ARRAY_ELEM, MJ_CAPTURE, MJ_DONE
};

/* MJ_ARRAY + a: the array members[a] */
enum mj_member { MJ_CONTENT, MJ_VERSION, MJ_ARRAY, MJ_OTHER = MJ_ARRAY + 2 };

struct mgr_json_stream {
	const char *content;           /* "key_list" | "console_list"; NULL:
	                                * a document (mgr_json_doc_begin) */
	const char *members[2];        /* the arrays: "keys" | "consoles" */
	const char *member;            /* the one being read */
	void (*entry)(struct mgr_json_stream *, const struct mgr_json_obj *,
	    size_t);
	mgr_json_entry_fn raw;         /* a document's entries */
	void *raw_ctx;
	struct mgr_json_obj obj;       /* the entry being read */
	struct mgr_key_sink sink;      /* keys */
	struct mgr_console_list *out;  /* consoles */
	enum mgr_json_source src;
	size_t nentries, idx, skipped;
	bool sink_failed;
	char sink_err[256];
	bool seen[MJ_OTHER], content_ok, version_ok;
	/* the scanner */
	enum mj_state st;
	size_t pos;
	bool after_comma;
	char name[MGR_JSON_NAME_MAX + 1];
	size_t namelen;
	bool name_esc, name_long;
	enum mj_member cur;
	/* the value being captured */
	char *cap;
	size_t caplen, capcap;
	bool cap_over, in_str, esc, scalar, in_array;
	char stack[MGR_JSON_DEPTH];
	int depth;
};

/* Logs why an entry was skipped: the first few in full, so that a manager
 * answering thousands of bad entries cannot flood the log. */
static void mgr_json_skip(struct mgr_json_stream *s, const char *fmt, ...)
    LOG_PRINTF(2, 3);

static void
mgr_json_skip(struct mgr_json_stream *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (++s->skipped > MGR_JSON_SKIPS_LOGGED)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_warn("%s", buf);
}

/* ---- the entries ------------------------------------------------------ */

/* One line of a "key" member: "TYPE BASE64 [COMMENT]". */
static void
mgr_json_key_line(struct mgr_json_stream *s, size_t i, const char *id,
    const char *name, const char *line)
{
	struct mgr_key k;
	char err[256], *type, *blob;

	if (sshkey_parse_line(line, &type, &blob, err, sizeof(err)) != 0) {
		mgr_json_skip(s, "manager keys[%zu] (entity %s) skipped: %s",
		    i, id, err);
		return;
	}
	/* the key itself was checked by sshkey_parse_line */
	if (mgr_key_check_owner(id, name, err, sizeof(err)) != 0)
		mgr_json_skip(s, "manager keys[%zu] (entity %s) skipped: %s",
		    i, id, err);
	else {
		k.entity_id = (char *)id;
		k.entity = (char *)name;
		k.type = type;
		k.blob = blob;
		if (!s->sink_failed && s->sink.add(s->sink.ctx, &k,
		    s->sink_err, sizeof(s->sink_err)) != 0)
			s->sink_failed = true;
	}
	free(type);
	free(blob);
}

/* The engine stores a user's keys as one text and splits it by lines;
 * accept the same from any source. */
static void
mgr_json_key_fields(struct mgr_json_stream *s, size_t i, const char *id,
    const char *name, const char *key)
{
	const char *p, *nl;
	char *line;

	if (id == NULL || key == NULL) {
		mgr_json_skip(s, "manager keys[%zu] skipped: not an object "
		    "with string entityid and key", i);
		return;
	}
	if (name == NULL)
		name = id;
	for (p = key; *p != '\0'; p = *nl != '\0' ? nl + 1 : nl) {
		size_t n;

		nl = p + strcspn(p, "\n");
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0 || strspn(p, " \t") >= n)
			continue;
		line = xstrndup(p, n);
		mgr_json_key_line(s, i, id, name, line);
		free(line);
	}
}

/* An entry of the key list (e NULL: it is not an object). */
static void
mgr_json_key_entry(struct mgr_json_stream *s, const struct mgr_json_obj *e,
    size_t i)
{
	if (e == NULL) {
		mgr_json_key_fields(s, i, NULL, NULL, NULL);
		return;
	}
	mgr_json_key_fields(s, i, mgr_json_obj_str(e, "entityid"),
	    mgr_json_obj_str(e, "entity"), mgr_json_obj_str(e, "key"));
}

/* ---- entries read without jansson -----------------------------------
 * The common entry, an object of a few members whose values are strings or
 * arrays of strings, every name and string printable ASCII without
 * escapes, is read in place (jansson takes most of a rebuild's time
 * otherwise). The reader accepts only what jansson would read the same way;
 * anything else (an escape, a byte outside printable ASCII, a number, a
 * repeated name) makes it return false, buf untouched, for jansson to judge
 * strictly. */

static bool mj_space(char c);

static char *
mj_flat_string(char **pp, char *end, size_t *lenp)
{
	char *p = *pp, *start;

	if (p >= end || *p != '"')
		return NULL;
	start = ++p;
	while (p < end && *p != '"') {
		if (*p == '\\' || (unsigned char)*p < 0x20 ||
		    (unsigned char)*p > 0x7e)
			return NULL;
		p++;
	}
	if (p >= end)
		return NULL;
	*lenp = (size_t)(p - start);
	*pp = p + 1;
	return start;
}

static char *
mj_flat_space(char *p, char *end)
{
	while (p < end && mj_space(*p))
		p++;
	return p;
}

/* A string value, or an array of them, at *pp into v. */
static bool
mj_flat_value(char **pp, char *end, struct mgr_json_obj *o,
    struct mgr_json_val *v)
{
	char *p = *pp;
	struct mgr_json_val *e;

	if (p < end && *p != '[') {
		v->kind = MJV_STRING;
		if ((v->s = mj_flat_string(pp, end, &v->len)) == NULL)
			return false;
		return true;
	}
	v->kind = MJV_ARRAY;
	v->first = o->nelems;
	v->n = 0;
	p = mj_flat_space(p + 1, end);
	if (p < end && *p == ']') {
		*pp = p + 1;
		return true;
	}
	for (;;) {
		o->elems = mgr_grow(o->elems, &o->capelems, o->nelems,
		    sizeof(*o->elems));
		e = &o->elems[o->nelems++];
		e->kind = MJV_STRING;
		if ((e->s = mj_flat_string(&p, end, &e->len)) == NULL)
			return false;
		v->n++;
		p = mj_flat_space(p, end);
		if (p < end && *p == ',') {
			p = mj_flat_space(p + 1, end);
			continue;
		}
		if (p >= end || *p++ != ']')
			return false;
		*pp = p;
		return true;
	}
}

/* Room for one more member in o. */
static void
mj_obj_grow(struct mgr_json_obj *o)
{
	o->name = mgr_grow(o->name, &o->capname, o->n, sizeof(*o->name));
	o->val = mgr_grow(o->val, &o->capval, o->n, sizeof(*o->val));
}

/* The flat object in buf (names and strings not yet terminated). */
#define MJ_FLAT_MAX 8

static bool
mj_flat_parse(char *buf, size_t len, struct mgr_json_obj *o)
{
	char *p = buf, *end = buf + len;
	size_t nlen[MJ_FLAT_MAX], i;

	o->n = 0;
	o->nelems = 0;
	p = mj_flat_space(p, end);
	if (p >= end || *p++ != '{')
		return false;
	p = mj_flat_space(p, end);
	if (p < end && *p == '}')
		return mj_flat_space(p + 1, end) == end;
	for (;;) {
		if (o->n == MJ_FLAT_MAX)
			return false;
		mj_obj_grow(o);
		p = mj_flat_space(p, end);
		if ((o->name[o->n] = mj_flat_string(&p, end, &nlen[o->n])) ==
		    NULL)
			return false;
		for (i = 0; i < o->n; i++)
			if (nlen[i] == nlen[o->n] &&
			    !memcmp(o->name[i], o->name[o->n], nlen[i]))
				return false;   /* jansson reports it */
		p = mj_flat_space(p, end);
		if (p >= end || *p++ != ':')
			return false;
		p = mj_flat_space(p, end);
		if (!mj_flat_value(&p, end, o, &o->val[o->n]))
			return false;
		o->n++;
		p = mj_flat_space(p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p >= end || *p++ != '}')
			return false;
		break;
	}
	if (mj_flat_space(p, end) != end)
		return false;
	/* terminated only now that nothing will go to jansson */
	for (i = 0; i < o->n; i++) {
		((char *)o->name[i])[nlen[i]] = '\0';
		if (o->val[i].kind == MJV_STRING)
			((char *)o->val[i].s)[o->val[i].len] = '\0';
	}
	for (i = 0; i < o->nelems; i++)
		((char *)o->elems[i].s)[o->elems[i].len] = '\0';
	return true;
}

static void
mj_obj_val(struct mgr_json_val *v, json_t *j)
{
	v->kind = json_is_string(j) ? MJV_STRING : json_is_array(j) ?
	    MJV_ARRAY : MJV_OTHER;
	v->s = NULL;
	v->len = 0;
	if (v->kind == MJV_STRING) {
		v->s = json_string_value(j);
		v->len = json_string_length(j);
	}
}

/* The object jansson parsed, in o (strings borrowed from j). */
static void
mj_obj_from(json_t *j, struct mgr_json_obj *o)
{
	const char *name;
	json_t *v, *e;
	size_t i;

	o->n = 0;
	o->nelems = 0;
	json_object_foreach(j, name, v) {
		struct mgr_json_val *mv;

		mj_obj_grow(o);
		o->name[o->n] = name;
		mv = &o->val[o->n++];
		mj_obj_val(mv, v);
		if (mv->kind != MJV_ARRAY)
			continue;
		mv->first = o->nelems;
		mv->n = json_array_size(v);
		json_array_foreach(v, i, e) {
			o->elems = mgr_grow(o->elems, &o->capelems, o->nelems,
			    sizeof(*o->elems));
			mj_obj_val(&o->elems[o->nelems++], e);
		}
	}
}

int
mgr_json_obj_read(struct mgr_json_obj *o, char *buf, size_t len, int flags,
    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v;

	json_decref(o->held);
	o->held = NULL;
	if (mj_flat_parse(buf, len, o))
		return 0;
	/* strict: no repeated member, valid UTF-8 and surrogates, integers
	 * that fit; a \u0000 only with MGR_JSON_NUL (the caller then looks
	 * at the lengths) */
	if ((v = json_loadb(buf, len, JSON_REJECT_DUPLICATES |
	    JSON_DECODE_ANY | ((flags & MGR_JSON_NUL) ? JSON_ALLOW_NUL : 0),
	    &jerr)) == NULL) {
		snprintf(err, errlen, "%s", jerr.text);
		return -1;
	}
	o->held = v;
	if (!json_is_object(v))
		return 1;
	mj_obj_from(v, o);
	return 0;
}

const struct mgr_json_val *
mgr_json_obj_get(const struct mgr_json_obj *o, const char *name)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (!strcmp(o->name[i], name))
			return &o->val[i];
	return NULL;
}

const char *
mgr_json_obj_str(const struct mgr_json_obj *o, const char *name)
{
	const struct mgr_json_val *v = mgr_json_obj_get(o, name);

	return v != NULL && v->kind == MJV_STRING ? v->s : NULL;
}

void
mgr_json_obj_free(struct mgr_json_obj *o)
{
	json_decref(o->held);
	free(o->name);
	free(o->val);
	free(o->elems);
	memset(o, 0, sizeof(*o));
}

static void
mgr_json_console_entry(struct mgr_json_stream *s,
    const struct mgr_json_obj *e, size_t i)
{
	const char *vmid, *vm, *host, *console;
	char err[256], sock[TEXT_NAME_MAX + 8];

	if (e == NULL) {
		mgr_json_skip(s, "manager consoles[%zu] skipped: not an "
		    "object", i);
		return;
	}
	vmid = mgr_json_obj_str(e, "vmid");
	host = mgr_json_obj_str(e, "host");
	if (s->src == MGR_JSON_ENGINE) {
		if ((vm = mgr_json_obj_str(e, "vmname")) == NULL)
			vm = mgr_json_obj_str(e, "vm");
	} else {
		if ((vm = mgr_json_obj_str(e, "vm")) == NULL)
			vm = mgr_json_obj_str(e, "vmname");
	}
	console = mgr_json_obj_str(e, "console");
	if (vmid == NULL || vm == NULL || host == NULL || console == NULL) {
		mgr_json_skip(s, "manager consoles[%zu] skipped: vmid, %s, "
		    "host and console must be strings", i,
		    s->src == MGR_JSON_ENGINE ? "vmname" : "vm");
		return;
	}
	/* The engine names every serial console "default"; on the host it
	 * is the socket named after the VM id (as ovirt-vmconsole-list.py
	 * maps it). */
	if (s->src == MGR_JSON_ENGINE) {
		if ((size_t)snprintf(sock, sizeof(sock), "%s.sock", vmid) >=
		    sizeof(sock)) {
			mgr_json_skip(s, "manager consoles[%zu] skipped: vmid "
			    "too long", i);
			return;
		}
		console = sock;
	}
	if (mgr_console_list_add(s->out, vmid, vm, host, console, err,
	    sizeof(err)) != 0)
		mgr_json_skip(s, "manager consoles[%zu] (vm %s) skipped: %s",
		    i, vmid, err);
}

/* ---- the scanner ------------------------------------------------------ */

static int
mj_fail(struct mgr_json_stream *s, char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s is not JSON: %s (byte %zu)",
	    s->content != NULL ? "manager answer" : "document", why, s->pos);
	return -1;
}

static bool
mj_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Adds len bytes to the value being captured (dropped past
 * MGR_JSON_ENTRY_MAX: the entry is then skipped). */
static void
mj_append_span(struct mgr_json_stream *s, const char *p, size_t len)
{
	if (len > MGR_JSON_ENTRY_MAX - s->caplen) {
		s->cap_over = true;
		return;
	}
	if (s->caplen + len + 1 > s->capcap) {
		size_t ncap = s->capcap ? s->capcap : 4096;

		while (ncap < s->caplen + len + 1)
			ncap *= 2;
		s->cap = xreallocarray(s->cap, ncap, 1);
		s->capcap = ncap;
	}
	memcpy(s->cap + s->caplen, p, len);
	s->caplen += len;
}

static void
mj_append(struct mgr_json_stream *s, char c)
{
	mj_append_span(s, &c, 1);
}

/* The member name just read, decoded (names with escapes through
 * jansson); "" for one too long to be any we know. */
static enum mj_member
mj_member_of(struct mgr_json_stream *s, char *name, size_t len)
{
	char quoted[MGR_JSON_NAME_MAX + 3];
	json_t *v;

	snprintf(name, len, "%s", s->name_long ? "" : s->name);
	if (!s->name_long && memchr(s->name, '\\', s->namelen) != NULL) {
		snprintf(quoted, sizeof(quoted), "\"%s\"", s->name);
		v = json_loads(quoted, JSON_DECODE_ANY, NULL);
		snprintf(name, len, "%s", json_is_string(v) &&
		    strlen(json_string_value(v)) == json_string_length(v) ?
		    json_string_value(v) : "");
		json_decref(v);
	}
	if (s->members[0] != NULL && !strcmp(name, s->members[0]))
		return MJ_ARRAY;
	if (s->members[1] != NULL && !strcmp(name, s->members[1]))
		return MJ_ARRAY + 1;
	if (s->content == NULL)
		return MJ_OTHER;
	if (!strcmp(name, "content"))
		return MJ_CONTENT;
	if (!strcmp(name, "version"))
		return MJ_VERSION;
	return MJ_OTHER;
}

static int
mj_start_capture(struct mgr_json_stream *s, char c, bool in_array, char *err,
    size_t errlen)
{
	if (c == ',' || c == ']' || c == '}' || c == ':')
		return mj_fail(s, err, errlen, "a value is missing");
	s->caplen = 0;
	s->cap_over = false;
	s->in_str = c == '"';
	s->esc = false;
	s->scalar = c != '"' && c != '{' && c != '[';
	s->in_array = in_array;
	s->depth = 0;
	if (c == '{' || c == '[')
		s->stack[s->depth++] = c;
	mj_append(s, c);
	s->st = MJ_CAPTURE;
	return 0;
}

/* A captured envelope member or array entry is complete. */
static int
mj_value_done(struct mgr_json_stream *s, char *err, size_t errlen)
{
	char why[160];
	json_t *v;

	if (s->in_array) {
		size_t i = s->idx++;

		s->st = MJ_ARRAY_NEXT;
		if (++s->nentries > MGR_JSON_MAX_ENTRIES) {
			snprintf(err, errlen, "%s has more than %d entries",
			    s->content != NULL ? "manager answer" : "document",
			    MGR_JSON_MAX_ENTRIES);
			return -1;
		}
		if (s->raw != NULL) {
			s->cap[s->caplen] = '\0';
			s->raw(s->raw_ctx, s->cur - MJ_ARRAY, i,
			    s->cap_over ? NULL : s->cap, s->caplen);
			return 0;
		}
		if (s->cap_over) {
			mgr_json_skip(s, "manager %s[%zu] skipped: larger than "
			    "%d bytes", s->member, i, MGR_JSON_ENTRY_MAX);
			return 0;
		}
		switch (mgr_json_obj_read(&s->obj, s->cap, s->caplen, 0, why,
		    sizeof(why))) {
		case 0:
			s->entry(s, &s->obj, i);
			break;
		case 1:
			s->entry(s, NULL, i);
			break;
		default:
			mgr_json_skip(s, "manager %s[%zu] skipped: %s",
			    s->member, i, why);
		}
		return 0;
	}
	s->st = MJ_AFTER_VALUE;
	if (s->cur == MJ_OTHER || s->cap_over)
		return 0;
	v = json_loadb(s->cap, s->caplen, JSON_DECODE_ANY, NULL);
	if (s->cur == MJ_CONTENT)
		s->content_ok = json_is_string(v) &&
		    !strcmp(json_string_value(v), s->content);
	else    /* the helpers print 1, the engine "1" */
		s->version_ok = (json_is_integer(v) &&
		    json_integer_value(v) == 1) || (json_is_string(v) &&
		    !strcmp(json_string_value(v), "1"));
	json_decref(v);
	return 0;
}

/* One byte of a value being captured: 0 consumed, 1 the value ended
 * before this byte (not consumed), -1 the structure is broken. */
static int
mj_capture(struct mgr_json_stream *s, char c, char *err, size_t errlen)
{
	if (s->in_str) {
		mj_append(s, c);
		if (s->esc)
			s->esc = false;
		else if (c == '\\')
			s->esc = true;
		else if (c == '"') {
			s->in_str = false;
			if (s->depth == 0)
				return mj_value_done(s, err, errlen);
		}
		return 0;
	}
	if (s->scalar) {
		if (mj_space(c) || c == ',' || c == ']' || c == '}')
			return mj_value_done(s, err, errlen) != 0 ? -1 : 1;
		mj_append(s, c);
		return 0;
	}
	mj_append(s, c);
	if (c == '"')
		s->in_str = true;
	else if (c == '{' || c == '[') {
		if (s->depth == MGR_JSON_DEPTH)
			return mj_fail(s, err, errlen, "nested too deep");
		s->stack[s->depth++] = c;
	} else if (c == '}' || c == ']') {
		if (s->stack[--s->depth] != (c == '}' ? '{' : '['))
			return mj_fail(s, err, errlen, "brackets do not match");
		if (s->depth == 0)
			return mj_value_done(s, err, errlen);
	}
	return 0;
}

/* One byte outside a captured value. */
static int
mj_step(struct mgr_json_stream *s, char c, char *err, size_t errlen)
{
	char name[MGR_JSON_NAME_MAX + 1];

	if (s->st != MJ_NAME && mj_space(c))
		return 0;
	switch (s->st) {
	case MJ_START:
		if (c != '{')
			return mj_fail(s, err, errlen, "not an object");
		s->st = MJ_NAME_OR_END;
		s->after_comma = false;
		return 0;
	case MJ_NAME_OR_END:
		if (c == '}' && !s->after_comma) {
			s->st = MJ_DONE;
			return 0;
		}
		if (c != '"')
			return mj_fail(s, err, errlen, "a member name is "
			    "expected");
		s->namelen = 0;
		s->name_esc = s->name_long = false;
		s->st = MJ_NAME;
		return 0;
	case MJ_NAME:
		if ((unsigned char)c < 0x20)
			return mj_fail(s, err, errlen, "control character in "
			    "a name");
		if (c == '"' && !s->name_esc) {
			s->name[s->namelen] = '\0';
			s->st = MJ_COLON;
			return 0;
		}
		s->name_esc = !s->name_esc && c == '\\';
		if (s->namelen < MGR_JSON_NAME_MAX)
			s->name[s->namelen++] = c;
		else
			s->name_long = true;
		return 0;
	case MJ_COLON:
		if (c != ':')
			return mj_fail(s, err, errlen, "':' is expected");
		s->cur = mj_member_of(s, name, sizeof(name));
		if (s->cur == MJ_OTHER && s->content == NULL) {
			snprintf(err, errlen, "field '%.40s' is unknown", name);
			return -1;
		}
		if (s->cur != MJ_OTHER) {
			if (s->seen[s->cur]) {
				snprintf(err, errlen, "%s repeats \"%s\"",
				    s->content != NULL ? "manager answer" :
				    "document", name);
				return -1;
			}
			s->seen[s->cur] = true;
		}
		s->st = MJ_VALUE;
		return 0;
	case MJ_VALUE:
		if (s->cur == MJ_ARRAY || s->cur == MJ_ARRAY + 1) {
			s->member = s->members[s->cur - MJ_ARRAY];
			if (c != '[') {
				snprintf(err, errlen, "%s has no \"%s\" array",
				    s->content != NULL ? "manager answer" :
				    "document", s->member);
				return -1;
			}
			s->idx = 0;
			s->st = MJ_ARRAY_FIRST;
			return 0;
		}
		return mj_start_capture(s, c, false, err, errlen);
	case MJ_ARRAY_FIRST:
		if (c == ']') {
			s->st = MJ_AFTER_VALUE;
			return 0;
		}
		return mj_start_capture(s, c, true, err, errlen);
	case MJ_ARRAY_ELEM:
		return mj_start_capture(s, c, true, err, errlen);
	case MJ_ARRAY_NEXT:
		if (c == ',')
			s->st = MJ_ARRAY_ELEM;
		else if (c == ']')
			s->st = MJ_AFTER_VALUE;
		else
			return mj_fail(s, err, errlen, "',' or ']' is "
			    "expected");
		return 0;
	case MJ_AFTER_VALUE:
		if (c == ',') {
			s->st = MJ_NAME_OR_END;
			s->after_comma = true;
		} else if (c == '}')
			s->st = MJ_DONE;
		else
			return mj_fail(s, err, errlen, "',' or '}' is "
			    "expected");
		return 0;
	case MJ_DONE:
		return mj_fail(s, err, errlen, "data after the object");
	case MJ_CAPTURE:
		break;
	}
	return mj_fail(s, err, errlen, "internal state");
}

int
mgr_json_feed(struct mgr_json_stream *s, const char *buf, size_t len,
    char *err, size_t errlen)
{
	size_t i;
	int r;

	for (i = 0; i < len; i++, s->pos++) {
		/* the plain run of a string in one piece: most of the bytes */
		if (s->st == MJ_CAPTURE && s->in_str && !s->esc) {
			const char *q = memchr(buf + i, '"', len - i), *b;
			size_t j = q != NULL ? (size_t)(q - buf) : len;

			/* (memchr: the string's bytes a word at a time) */
			if ((b = memchr(buf + i, '\\', j - i)) != NULL)
				j = (size_t)(b - buf);
			if (j > i) {
				mj_append_span(s, buf + i, j - i);
				s->pos += j - i;
				i = j;
				if (i == len)
					break;
			}
		}
		if (s->st == MJ_CAPTURE) {
			if ((r = mj_capture(s, buf[i], err, errlen)) < 0)
				return -1;
			if (r == 0)
				continue;
		}
		if (mj_step(s, buf[i], err, errlen) != 0)
			return -1;
	}
	if (s->sink_failed) {
		snprintf(err, errlen, "%s", s->sink_err);
		return -1;
	}
	return 0;
}

static struct mgr_json_stream *
mj_new(const char *content, const char *member)
{
	struct mgr_json_stream *s = xcalloc(1, sizeof(*s));

	s->content = content;
	s->members[0] = s->member = member;
	s->st = MJ_START;
	return s;
}

struct mgr_json_stream *
mgr_json_keys_begin(const struct mgr_key_sink *sink)
{
	struct mgr_json_stream *s = mj_new("key_list", "keys");

	s->entry = mgr_json_key_entry;
	s->sink = *sink;
	return s;
}

void
mgr_json_free(struct mgr_json_stream *s)
{
	if (s == NULL)
		return;
	free(s->cap);
	mgr_json_obj_free(&s->obj);
	free(s);
}

/* The envelope, judged once the whole answer has been read. */
static int
mj_end(struct mgr_json_stream *s, char *err, size_t errlen)
{
	int rc = -1;

	/* a number ending the input has no delimiter after it */
	if (s->st == MJ_CAPTURE && s->scalar && !s->in_array &&
	    mj_value_done(s, err, errlen) != 0)
		goto out;
	if (s->st != MJ_DONE)
		mj_fail(s, err, errlen, s->pos == 0 ? "it is empty" :
		    "it ends early");
	else if (s->content == NULL)
		rc = 0;         /* a document: no envelope to judge */
	else if (!s->content_ok)
		snprintf(err, errlen, "manager answer's content is not "
		    "\"%s\"", s->content);
	else if (!s->version_ok)
		snprintf(err, errlen, "manager answer's version is not 1");
	else if (!s->seen[MJ_ARRAY])
		snprintf(err, errlen, "manager answer has no \"%s\" array",
		    s->member);
	else if (s->sink_failed)
		snprintf(err, errlen, "%s", s->sink_err);
	else
		rc = 0;
	if (rc == 0 && s->skipped > MGR_JSON_SKIPS_LOGGED)
		log_warn("manager %s: %zu more entries skipped", s->member,
		    s->skipped - MGR_JSON_SKIPS_LOGGED);
out:
	mgr_json_free(s);
	return rc;
}

int
mgr_json_keys_end(struct mgr_json_stream *s, char *err, size_t errlen)
{
	return mj_end(s, err, errlen);
}

int
mgr_json_feeder_feed(void *ctx, const char *buf, size_t len)
{
	struct mgr_json_feeder *f = ctx;

	return mgr_json_feed(f->json, buf, len, f->err, sizeof(f->err));
}

struct mgr_json_stream *
mgr_json_doc_begin(const char *array0, const char *array1,
    mgr_json_entry_fn entry, void *ctx)
{
	struct mgr_json_stream *s = mj_new(NULL, array0);

	s->members[1] = array1;
	s->raw = entry;
	s->raw_ctx = ctx;
	return s;
}

int
mgr_json_doc_end(struct mgr_json_stream *s, char *err, size_t errlen)
{
	return mj_end(s, err, errlen);
}

int
mgr_json_keys(const char *buf, size_t len, struct mgr_key_list *out,
    char *err, size_t errlen)
{
	struct mgr_key_sink sink = mgr_key_list_sink(out);
	struct mgr_json_stream *s = mgr_json_keys_begin(&sink);

	if (mgr_json_feed(s, buf, len, err, errlen) != 0) {
		mgr_json_free(s);
		mgr_key_list_free(out);
		return -1;
	}
	if (mgr_json_keys_end(s, err, errlen) != 0) {
		mgr_key_list_free(out);
		return -1;
	}
	return 0;
}

int
mgr_json_consoles(const char *buf, size_t len, enum mgr_json_source src,
    struct mgr_console_list *out, char *err, size_t errlen)
{
	struct mgr_json_stream *s = mj_new("console_list", "consoles");

	s->entry = mgr_json_console_entry;
	s->out = out;
	s->src = src;
	if (mgr_json_feed(s, buf, len, err, errlen) != 0) {
		mgr_json_free(s);
		mgr_console_list_free(out);
		return -1;
	}
	if (mj_end(s, err, errlen) != 0) {
		mgr_console_list_free(out);
		return -1;
	}
	mgr_console_list_sort(out);
	return 0;
}

char *
mgr_json_engine_request(const char *user_id)
{
	json_t *o;
	char *s = NULL;

	if (user_id == NULL)
		o = json_pack("{s:s, s:i, s:s, s:s, s:s}", "command",
		    "public_keys", "version", 1, "key_fp", "", "key_type", "",
		    "key_content", "");
	else
		o = json_pack("{s:s, s:i, s:s}", "command",
		    "available_consoles", "version", 1, "user_id", user_id);
	if (o != NULL)
		s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

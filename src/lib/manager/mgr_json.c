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

enum mj_member { MJ_CONTENT, MJ_VERSION, MJ_ARRAY, MJ_OTHER };

struct mgr_json_stream {
	const char *content;           /* "key_list" | "console_list" */
	const char *member;            /* "keys" | "consoles" */
	void (*entry)(struct mgr_json_stream *, json_t *, size_t);
	struct mgr_key_sink sink;      /* keys */
	struct mgr_console_list *out;  /* consoles */
	enum mgr_json_source src;
	size_t nentries, skipped;
	bool sink_failed;
	char sink_err[256];
	bool seen[3], content_ok, version_ok;
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

/* The string member name of obj, NULL when absent or not a string. */
static const char *
mgr_json_str(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
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

static void
mgr_json_key_entry(struct mgr_json_stream *s, json_t *e, size_t i)
{
	if (!json_is_object(e)) {
		mgr_json_key_fields(s, i, NULL, NULL, NULL);
		return;
	}
	mgr_json_key_fields(s, i, mgr_json_str(e, "entityid"),
	    mgr_json_str(e, "entity"), mgr_json_str(e, "key"));
}

/* The common key entry, an object of a few string members whose names
 * and values are printable ASCII without escapes, read in place without
 * jansson (which takes most of a rebuild's time otherwise). It accepts
 * only what jansson would read the same way; anything else (an escape, a
 * byte outside printable ASCII, a number, a repeated name) returns false,
 * buf untouched, and goes to jansson, which judges it strictly. On
 * success the closing quotes in buf are overwritten with NULs. */
#define MJ_FLAT_MAX 8

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

/* The flat object in buf: n names and values (not yet terminated). */
static int
mj_flat_parse(char *buf, size_t len, char **str, size_t *slen)
{
	char *p = buf, *end = buf + len;
	int n = 0;

	p = mj_flat_space(p, end);
	if (p >= end || *p++ != '{')
		return -1;
	for (;;) {
		if (n == 2 * MJ_FLAT_MAX)
			return -1;
		p = mj_flat_space(p, end);
		if ((str[n] = mj_flat_string(&p, end, &slen[n])) == NULL)
			return -1;
		p = mj_flat_space(p, end);
		if (p >= end || *p++ != ':')
			return -1;
		p = mj_flat_space(p, end);
		if ((str[n + 1] = mj_flat_string(&p, end, &slen[n + 1])) ==
		    NULL)
			return -1;
		n += 2;
		p = mj_flat_space(p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p >= end || *p++ != '}')
			return -1;
		break;
	}
	return mj_flat_space(p, end) == end ? n : -1;
}

static bool
mj_flat_entry(struct mgr_json_stream *s, char *buf, size_t len, size_t i)
{
	char *str[2 * MJ_FLAT_MAX];
	size_t slen[2 * MJ_FLAT_MAX];
	const char *id = NULL, *name = NULL, *key = NULL;
	int n, j, k;

	if ((n = mj_flat_parse(buf, len, str, slen)) < 0)
		return false;
	for (j = 0; j < n; j += 2)
		for (k = 0; k < j; k += 2)
			if (slen[j] == slen[k] &&
			    !memcmp(str[j], str[k], slen[j]))
				return false;   /* jansson reports it */
	for (j = 0; j < n; j++)
		str[j][slen[j]] = '\0';
	for (j = 0; j < n; j += 2) {
		if (!strcmp(str[j], "entityid"))
			id = str[j + 1];
		else if (!strcmp(str[j], "entity"))
			name = str[j + 1];
		else if (!strcmp(str[j], "key"))
			key = str[j + 1];
	}
	mgr_json_key_fields(s, i, id, name, key);
	return true;
}

static void
mgr_json_console_entry(struct mgr_json_stream *s, json_t *e, size_t i)
{
	const char *vmid, *vm, *host, *console;
	char err[256], sock[TEXT_NAME_MAX + 8];

	if (!json_is_object(e)) {
		mgr_json_skip(s, "manager consoles[%zu] skipped: not an "
		    "object", i);
		return;
	}
	vmid = mgr_json_str(e, "vmid");
	host = mgr_json_str(e, "host");
	if (s->src == MGR_JSON_ENGINE) {
		if ((vm = mgr_json_str(e, "vmname")) == NULL)
			vm = mgr_json_str(e, "vm");
	} else {
		if ((vm = mgr_json_str(e, "vm")) == NULL)
			vm = mgr_json_str(e, "vmname");
	}
	console = mgr_json_str(e, "console");
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
	snprintf(err, errlen, "manager answer is not JSON: %s (byte %zu)", why,
	    s->pos);
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
	if (!strcmp(name, "content"))
		return MJ_CONTENT;
	if (!strcmp(name, "version"))
		return MJ_VERSION;
	if (!strcmp(name, s->member))
		return MJ_ARRAY;
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
	json_error_t jerr;
	json_t *v;

	if (s->in_array) {
		size_t i = s->nentries++;

		s->st = MJ_ARRAY_NEXT;
		if (s->nentries > MGR_JSON_MAX_ENTRIES) {
			snprintf(err, errlen, "manager answer has more than %d "
			    "%s", MGR_JSON_MAX_ENTRIES, s->member);
			return -1;
		}
		if (s->cap_over) {
			mgr_json_skip(s, "manager %s[%zu] skipped: larger than "
			    "%d bytes", s->member, i, MGR_JSON_ENTRY_MAX);
			return 0;
		}
		if (s->entry == mgr_json_key_entry &&
		    mj_flat_entry(s, s->cap, s->caplen, i))
			return 0;
		/* strict: no \u0000, no repeated field, valid UTF-8 and
		 * surrogates, integers that fit */
		if ((v = json_loadb(s->cap, s->caplen, JSON_REJECT_DUPLICATES |
		    JSON_DECODE_ANY, &jerr)) == NULL) {
			mgr_json_skip(s, "manager %s[%zu] skipped: %s",
			    s->member, i, jerr.text);
			return 0;
		}
		s->entry(s, v, i);
		json_decref(v);
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
		if (s->cur != MJ_OTHER) {
			if (s->seen[s->cur]) {
				snprintf(err, errlen, "manager answer repeats "
				    "\"%s\"", name);
				return -1;
			}
			s->seen[s->cur] = true;
		}
		s->st = MJ_VALUE;
		return 0;
	case MJ_VALUE:
		if (s->cur == MJ_ARRAY) {
			if (c != '[') {
				snprintf(err, errlen, "manager answer has no "
				    "\"%s\" array", s->member);
				return -1;
			}
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
			size_t j = i;

			while (j < len && buf[j] != '"' && buf[j] != '\\')
				j++;
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
	s->member = member;
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

/* mgr_json.c: README.API v1 JSON from key_list / console_list commands and
 * from the oVirt engine, turned into validated lists; see mgr_json.h. The
 * document must be well formed as a whole; within it, one bad entry is
 * skipped and logged so that it never locks the other users out. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "manager/mgr_json.h"
#include "core/sshkey.h"
#include "core/text.h"

#define MGR_JSON_MAX_ENTRIES 1000000
#define MGR_JSON_SKIPS_LOGGED 5        /* then one summary line */

/* Logs why an entry was skipped: the first few in full, so that a manager
 * answering thousands of bad entries cannot flood the log. */
static void mgr_json_skip(size_t *skipped, const char *fmt, ...)
    LOG_PRINTF(2, 3);

static void
mgr_json_skip(size_t *skipped, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (++*skipped > MGR_JSON_SKIPS_LOGGED)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_warn("%s", buf);
}

static void
mgr_json_skip_summary(size_t skipped, const char *what)
{
	if (skipped > MGR_JSON_SKIPS_LOGGED)
		log_warn("manager %s: %zu more entries skipped", what,
		    skipped - MGR_JSON_SKIPS_LOGGED);
}

/* The string member name of obj, NULL when absent or not a string. */
static const char *
mgr_json_str(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Parses the envelope shared by both answers and returns the array named
 * member (borrowed from *root, which the caller must json_decref). */
static json_t *
mgr_json_envelope(const char *buf, size_t len, const char *content,
    const char *member, json_t **root, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v, *arr;

	*root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*root == NULL) {
		snprintf(err, errlen, "manager answer is not JSON: %s (line "
		    "%d, column %d)", jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(*root)) {
		snprintf(err, errlen, "manager answer is not a JSON object");
		goto fail;
	}
	v = json_object_get(*root, "content");
	if (!json_is_string(v) || strcmp(json_string_value(v), content)) {
		snprintf(err, errlen, "manager answer's content is not "
		    "\"%s\"", content);
		goto fail;
	}
	/* The helpers print 1, the engine "1". */
	v = json_object_get(*root, "version");
	if (!((json_is_integer(v) && json_integer_value(v) == 1) ||
	    (json_is_string(v) && !strcmp(json_string_value(v), "1")))) {
		snprintf(err, errlen, "manager answer's version is not 1");
		goto fail;
	}
	arr = json_object_get(*root, member);
	if (!json_is_array(arr)) {
		snprintf(err, errlen, "manager answer has no \"%s\" array",
		    member);
		goto fail;
	}
	if (json_array_size(arr) > MGR_JSON_MAX_ENTRIES) {
		snprintf(err, errlen, "manager answer has more than %d %s",
		    MGR_JSON_MAX_ENTRIES, member);
		goto fail;
	}
	return arr;
fail:
	json_decref(*root);
	*root = NULL;
	return NULL;
}

/* One line of a "key" member: "TYPE BASE64 [COMMENT]". */
static void
mgr_json_key_line(struct mgr_key_list *out, size_t i, const char *id,
    const char *name, const char *line, size_t *skipped)
{
	char err[256], *type, *blob;

	if (sshkey_parse_line(line, &type, &blob, err, sizeof(err)) != 0) {
		mgr_json_skip(skipped, "manager keys[%zu] (entity %s) "
		    "skipped: %s", i, id, err);
		return;
	}
	if (mgr_key_list_add(out, id, name, type, blob, err,
	    sizeof(err)) != 0)
		mgr_json_skip(skipped, "manager keys[%zu] (entity %s) "
		    "skipped: %s", i, id, err);
	free(type);
	free(blob);
}

/* The engine stores a user's keys as one text and splits it by lines;
 * accept the same from any source. */
static void
mgr_json_key_entry(struct mgr_key_list *out, size_t i, json_t *e,
    size_t *skipped)
{
	const char *id, *name, *key, *p, *nl;
	char *line;

	if (!json_is_object(e) || (id = mgr_json_str(e, "entityid")) == NULL ||
	    (key = mgr_json_str(e, "key")) == NULL) {
		mgr_json_skip(skipped, "manager keys[%zu] skipped: not an "
		    "object with string entityid and key", i);
		return;
	}
	if ((name = mgr_json_str(e, "entity")) == NULL)
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
		mgr_json_key_line(out, i, id, name, line, skipped);
		free(line);
	}
}

int
mgr_json_keys(const char *buf, size_t len, struct mgr_key_list *out,
    char *err, size_t errlen)
{
	json_t *root, *arr, *e;
	size_t i, skipped = 0;

	if ((arr = mgr_json_envelope(buf, len, "key_list", "keys", &root, err,
	    errlen)) == NULL)
		return -1;
	json_array_foreach(arr, i, e)
		mgr_json_key_entry(out, i, e, &skipped);
	json_decref(root);
	mgr_json_skip_summary(skipped, "keys");
	return 0;
}

static void
mgr_json_console_entry(struct mgr_console_list *out, size_t i, json_t *e,
    enum mgr_json_source src, size_t *skipped)
{
	const char *vmid, *vm, *host, *console;
	char err[256], sock[TEXT_NAME_MAX + 8];

	if (!json_is_object(e)) {
		mgr_json_skip(skipped, "manager consoles[%zu] skipped: not an "
		    "object", i);
		return;
	}
	vmid = mgr_json_str(e, "vmid");
	host = mgr_json_str(e, "host");
	if (src == MGR_JSON_ENGINE) {
		if ((vm = mgr_json_str(e, "vmname")) == NULL)
			vm = mgr_json_str(e, "vm");
	} else {
		if ((vm = mgr_json_str(e, "vm")) == NULL)
			vm = mgr_json_str(e, "vmname");
	}
	console = mgr_json_str(e, "console");
	if (vmid == NULL || vm == NULL || host == NULL || console == NULL) {
		mgr_json_skip(skipped, "manager consoles[%zu] skipped: vmid, "
		    "%s, host and console must be strings", i,
		    src == MGR_JSON_ENGINE ? "vmname" : "vm");
		return;
	}
	/* The engine names every serial console "default"; on the host it
	 * is the socket named after the VM id (as ovirt-vmconsole-list.py
	 * maps it). */
	if (src == MGR_JSON_ENGINE) {
		if ((size_t)snprintf(sock, sizeof(sock), "%s.sock", vmid) >=
		    sizeof(sock)) {
			mgr_json_skip(skipped, "manager consoles[%zu] "
			    "skipped: vmid too long", i);
			return;
		}
		console = sock;
	}
	if (mgr_console_list_add(out, vmid, vm, host, console, err,
	    sizeof(err)) != 0)
		mgr_json_skip(skipped, "manager consoles[%zu] (vm %s) "
		    "skipped: %s", i, vmid, err);
}

int
mgr_json_consoles(const char *buf, size_t len, enum mgr_json_source src,
    struct mgr_console_list *out, char *err, size_t errlen)
{
	json_t *root, *arr, *e;
	size_t i, skipped = 0;

	if ((arr = mgr_json_envelope(buf, len, "console_list", "consoles",
	    &root, err, errlen)) == NULL)
		return -1;
	json_array_foreach(arr, i, e)
		mgr_json_console_entry(out, i, e, src, &skipped);
	json_decref(root);
	mgr_json_skip_summary(skipped, "consoles");
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

/* mgr_json.h: the JSON that remote managers speak. Reads ovirt-vmconsole's
 * README.API v1 answers (what a key_list / console_list command prints,
 * and what the oVirt engine's vmconsole-proxy service returns) into
 * validated records, and builds the engine's request data.
 *
 * An answer is read as a stream, in two passes over each piece: a tolerant
 * scanner finds the envelope's members and the array's entries (strings,
 * nesting), then each entry alone is parsed strictly by jansson. So one bad
 * entry (a \u0000, a repeated field, a lone surrogate, invalid UTF-8, a
 * number that overflows) is skipped and logged while the others are kept,
 * and a key list of any size is never held whole in memory. */
#ifndef SERCON_MGR_JSON_H
#define SERCON_MGR_JSON_H

#include <stddef.h>

#include "manager/records.h"

enum mgr_json_source {
	MGR_JSON_COMMAND,      /* consoles: {vmid, vm, host, console} */
	MGR_JSON_ENGINE        /* consoles: {vmid, vmname, host,
	                        * console:"default"}: socket <vmid>.sock */
};

#define MGR_JSON_ENTRY_MAX (1024 * 1024)    /* bytes of one entry */

/* A key list being read: {"content":"key_list","version":1 or "1",
 * "keys":[{entityid,entity,key}]}. A "key" may hold several lines, one key
 * each. Each valid key goes to the sink as soon as its entry is read; the
 * envelope is judged at the end, so that what the sink got is provisional
 * until mgr_json_keys_end returned 0. */
struct mgr_json_stream;
struct mgr_json_stream *mgr_json_keys_begin(const struct mgr_key_sink *sink);
/* Feeds the next piece. Returns 0, or -1 with a reason when the answer as
 * a whole is unusable (then only mgr_json_free may follow). */
int mgr_json_feed(struct mgr_json_stream *s, const char *buf, size_t len,
    char *err, size_t errlen);
/* Ends the answer: 0 when it was a complete, valid key list, else -1
 * with a reason. Frees s either way. */
int mgr_json_keys_end(struct mgr_json_stream *s, char *err, size_t errlen);
void mgr_json_free(struct mgr_json_stream *s);

/* A document read the same way with no envelope of its own (the
 * inventory): an object whose only members are the arrays array0 and
 * array1 (array1 may be NULL; either may be missing). Each entry goes to
 * entry as its raw text as soon as it is read: array 0 or 1, its index i,
 * buf (NUL-terminated, the callee's to modify until it returns) and len;
 * buf NULL when the entry is larger than MGR_JSON_ENTRY_MAX. Another
 * member, one repeated or not an array, or a broken structure makes the
 * whole document unusable (mgr_json_feed or mgr_json_doc_end fails). */
typedef void (*mgr_json_entry_fn)(void *ctx, int array, size_t i, char *buf,
    size_t len);
struct mgr_json_stream *mgr_json_doc_begin(const char *array0,
    const char *array1, mgr_json_entry_fn entry, void *ctx);
int mgr_json_doc_end(struct mgr_json_stream *s, char *err, size_t errlen);

/* One entry, an object, read: each member's value a string, an array
 * (its elements in elems[first .. first + n - 1], each a string or
 * another value) or another value. The common entry (up to 8 members,
 * strings and arrays of strings, printable ASCII without escapes) is read
 * in place without jansson; anything else is parsed by jansson, strictly
 * (no repeated member, valid UTF-8; a \u0000 only with MGR_JSON_NUL, the
 * string's len then tells it). Strings point into buf or into what o
 * holds, valid until the next read or mgr_json_obj_free. */
#define MGR_JSON_NUL 1

struct mgr_json_val {
	enum { MJV_STRING, MJV_ARRAY, MJV_OTHER } kind;
	const char *s;             /* MJV_STRING: len bytes and a NUL */
	size_t len;
	size_t first, n;           /* MJV_ARRAY */
};

struct mgr_json_obj {
	size_t n;                  /* members */
	const char **name;
	struct mgr_json_val *val;
	size_t capname, capval;
	struct mgr_json_val *elems;
	size_t nelems, capelems;
	void *held;                /* jansson's value, when it read it */
};

/* Reads buf (len bytes, modified in place) into o (zeroed before the
 * first read): 0 an object, 1 valid JSON that is not an object, -1 not
 * valid JSON (jansson's reason in err). */
int mgr_json_obj_read(struct mgr_json_obj *o, char *buf, size_t len,
    int flags, char *err, size_t errlen);
/* The member name (NULL when absent); its string value (NULL when absent
 * or not a string). */
const struct mgr_json_val *mgr_json_obj_get(const struct mgr_json_obj *o,
    const char *name);
const char *mgr_json_obj_str(const struct mgr_json_obj *o, const char *name);
void mgr_json_obj_free(struct mgr_json_obj *o);

/* A key list read piece by piece from a callback (http.c's stream,
 * child.c's): mgr_json_feeder_feed feeds json, keeping the reason it gave
 * up in err (empty: none). */
struct mgr_json_feeder {
	struct mgr_json_stream *json;
	char err[512];
};
int mgr_json_feeder_feed(void *ctx, const char *buf, size_t len);

/* The whole answer at once into out (empty before; emptied again on
 * failure). Same conventions. */
int mgr_json_keys(const char *buf, size_t len, struct mgr_key_list *out,
    char *err, size_t errlen);

/* {"content":"console_list","version":1 or "1","consoles":[...]}, the
 * console entries as described for src, sorted. Same conventions. */
int mgr_json_consoles(const char *buf, size_t len, enum mgr_json_source src,
    struct mgr_console_list *out, char *err, size_t errlen);

/* The engine's request data: {"command":"public_keys","version":1,...} when
 * user_id is NULL, else {"command":"available_consoles","version":1,
 * "user_id":ID}. Returns a malloc'd string, NULL when jansson cannot
 * encode it (user_id is not UTF-8, or jansson ran out of memory). */
char *mgr_json_engine_request(const char *user_id);

#endif

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

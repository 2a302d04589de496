/* mgr_json.h: the JSON that remote managers speak. Parses ovirt-vmconsole's
 * README.API v1 answers (what a key_list / console_list command prints, and
 * what the oVirt engine's vmconsole-proxy service returns) into validated
 * manager lists, and builds the engine's request data. */
#ifndef SERCON_MGR_JSON_H
#define SERCON_MGR_JSON_H

#include <stddef.h>

#include "manager/manager.h"

enum mgr_json_source {
	MGR_JSON_COMMAND,      /* consoles: {vmid, vm, host, console} */
	MGR_JSON_ENGINE        /* consoles: {vmid, vmname, host,
	                        * console:"default"}: socket <vmid>.sock */
};

/* {"content":"key_list","version":1 or "1","keys":[{entityid,entity,key}]}.
 * A "key" may hold several lines, one key each. Entries that fail
 * validation are skipped and logged; the rest are added to out. Returns 0,
 * or -1 with a reason when the document as a whole is unusable. */
int mgr_json_keys(const char *buf, size_t len, struct mgr_key_list *out,
    char *err, size_t errlen);

/* {"content":"console_list","version":1 or "1","consoles":[...]}, the
 * console entries as described for src. Same conventions as above. */
int mgr_json_consoles(const char *buf, size_t len, enum mgr_json_source src,
    struct mgr_console_list *out, char *err, size_t errlen);

/* The engine's request data: {"command":"public_keys","version":1,...} when
 * user_id is NULL, else {"command":"available_consoles","version":1,
 * "user_id":ID}. Returns a malloc'd string, NULL when jansson cannot
 * encode it (user_id is not UTF-8, or jansson ran out of memory). */
char *mgr_json_engine_request(const char *user_id);

#endif

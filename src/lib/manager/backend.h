/* backend.h: the remote manager backends (command, engine) behind one
 * small operations table, as curl's TLS backends are. A backend answers
 * with complete lists and knows nothing of caching, indexing or freshness
 * (that is remote.c's and cache.c's), nor of the dispatcher above it. Each
 * operation returns 0 or -1 with a one-line reason in err. */
#ifndef SERCON_BACKEND_H
#define SERCON_BACKEND_H

#include "core/config.h"
#include "manager/records.h"

struct mgr_backend {
	const char *name;
	/* The key list, streamed into sink (each key checked). type/blob:
	 * the key sshd offered, or NULL, for templates that name it. A sink
	 * must treat what it got as provisional until keys() returned 0. */
	int (*keys)(const struct sercon_config *cfg, const char *type,
	    const char *blob, const struct mgr_key_sink *sink, char *err,
	    size_t errlen);
	/* The consoles entity_id may use, sorted. */
	int (*consoles)(const struct sercon_config *cfg, const char *entity_id,
	    struct mgr_console_list *out, char *err, size_t errlen);
};

/* backend = command: ovirt-vmconsole README.API v1 helpers (be_command.c) */
extern const struct mgr_backend mgr_backend_command;
/* backend = engine: oVirt engine, signed tickets over HTTPS (be_engine.c) */
extern const struct mgr_backend mgr_backend_engine;

#endif

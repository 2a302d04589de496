/* backend.h: what each manager backend provides to manager.c. A backend
 * answers with complete lists; manager.c owns caching, indexing and
 * freshness. Each returns 0 or -1 with a one-line reason in err. */
#ifndef SERCON_BACKEND_H
#define SERCON_BACKEND_H

#include "manager/manager.h"

/* backend = file: the inventory JSON (be_file.c) */
int be_file_keys(const struct sercon_config *cfg, struct mgr_key_list *out,
    char *err, size_t errlen);
int be_file_consoles(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen);

/* backend = command: ovirt-vmconsole README.API v1 helpers (be_command.c).
 * type/blob are the key sshd offered (may be NULL) for the {keytype},
 * {key} and {keyfp} substitutions. */
int be_command_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen);
int be_command_consoles(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen);

/* backend = engine: oVirt engine, signed tickets over HTTPS (be_engine.c) */
int be_engine_keys(const struct sercon_config *cfg, struct mgr_key_list *out,
    char *err, size_t errlen);
int be_engine_consoles(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen);

#endif

/* proxy_keys.h: what sercon-proxy-keys prints: the authorized_keys lines
 * that bind each key to sercon-proxy-shell with its owner's identity. */
#ifndef SERCON_PROXY_KEYS_H
#define SERCON_PROXY_KEYS_H

#include <stdio.h>
#include "core/config.h"
#include "manager/manager.h"

/* One authorized_keys line (with its newline) for k, malloc'd. shell is
 * the forced command's program path. */
char *pkeys_line(const char *shell, const struct mgr_key *k);

/* Prints the lines for the keys matching type/blob (all keys when blob is
 * NULL). Returns the number printed, or -1 when the manager failed (the
 * reason logged and in err). */
long pkeys_print(const struct sercon_config *cfg, const char *type,
    const char *blob, FILE *out, char *err, size_t errlen);

#endif

/* proxy_keys.c: the authorized_keys lines of sercon-proxy-keys; see
 * proxy_keys.h. Every field of a line comes from a validated record, and
 * the identity is percent-encoded so that the forced command's words hold
 * nothing sshd's or a shell's parsing could take apart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "proxy/proxy_keys.h"
#include "core/text.h"

char *
pkeys_line(const char *shell, const struct mgr_key *k)
{
	char *id = text_pct_encode(k->entity_id);
	char *name = text_pct_encode(k->entity);
	char *line;

	line = xasprintf("restrict,pty,command=\"%s accept --entity-id=%s "
	    "--entity=%s\" %s %s\n", shell, id, name, k->type, k->blob);
	free(id);
	free(name);
	return line;
}

long
pkeys_print(const struct sercon_config *cfg, const char *type,
    const char *blob, FILE *out, char *err, size_t errlen)
{
	struct mgr_key_list keys;
	long printed = 0;
	size_t i;

	if (mgr_find_keys(cfg, type, blob, &keys, err, errlen) != 0)
		return -1;
	for (i = 0; i < keys.n; i++) {
		char *line = pkeys_line(SERCON_LIBEXECDIR "/sercon-proxy-shell",
		    &keys.v[i]);

		if (fputs(line, out) >= 0)
			printed++;
		free(line);
		log_debug("key of entity %s offered", keys.v[i].entity_id);
	}
	mgr_key_list_free(&keys);
	return printed;
}

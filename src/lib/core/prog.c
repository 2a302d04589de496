/* prog.c: the shared prologue of the mains; see prog.h. */
#include <stdbool.h>
#include <stdio.h>

#include "core/config.h"
#include "core/log.h"
#include "core/prog.h"

int
prog_load_config(struct sercon_config *cfg, int flags)
{
	char err[512];

	if (cfg_load_installed(cfg, err, sizeof(err)) != 0) {
		if ((flags & PROG_SILENT) == 0 && (flags & PROG_TELL_USER))
			log_user_error("configuration: %s", err);
		else if ((flags & PROG_SILENT) == 0)
			log_error("configuration: %s", err);
		cfg_free(cfg);
		return -1;
	}
	log_set_socket(cfg->log_socket);
	log_set_debug(cfg->debug || (flags & PROG_DEBUG) != 0);
	return 0;
}

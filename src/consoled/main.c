/* sercon-consoled: the host's console daemon (sercon-consoled(8)). Reads
 * the configuration, then runs the event loop of host/consoled.h until
 * SIGTERM. Started by sercon-consoled.service as the sercon user. */
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "host/consoled.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: sercon-consoled [--debug]\n"
	    "  holds every VM console socket of [host] console_dir and shares\n"
	    "  each among the sessions sercon-host-shell attaches through\n"
	    "  [host] attach_socket (see sercon-consoled(8))\n");
}

int
main(int argc, char **argv)
{
	struct sercon_config cfg;
	char err[512];
	bool debug = false;
	int i, status;

	log_init("sercon-consoled");
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--debug"))
			debug = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			log_user_error("unknown option '%.60s' (try --help)",
			    argv[i]);
			return 2;
		}
	}
	if (cfg_load_installed(&cfg, err, sizeof(err)) != 0) {
		log_user_error("configuration: %s", err);
		cfg_free(&cfg);
		return 1;
	}
	log_set_socket(cfg.log_socket);
	log_set_debug(cfg.debug || debug);
	status = consoled_run(&cfg);
	cfg_free(&cfg);
	return status;
}

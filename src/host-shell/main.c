/* sercon-host-shell: the ForceCommand of the host sshd. Reads what the
 * proxy asked for from SSH_ORIGINAL_COMMAND, then relays the session to a
 * VM's serial console socket (connect), or prints info or help. Exit
 * statuses are listed in host_shell.h and sercon-host-shell(8). */
#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "host/host_shell.h"
#include "core/log.h"

static int
run(const struct sercon_config *cfg, const struct host_args *a)
{
	switch (a->cmd) {
	case HOST_CMD_CONNECT:
		return host_connect(cfg, a);
	case HOST_CMD_INFO:
		return host_info(stdout, SERCON_PKIDIR);
	case HOST_CMD_STATUS:
		return host_status(stdout, cfg);
	case HOST_CMD_HELP:
	case HOST_CMD_NONE:
		break;
	}
	host_usage(stdout);
	return HOST_EXIT_OK;
}

int
main(void)
{
	struct sercon_config cfg;
	struct host_args args;
	char err[512];
	int status;

	log_init("sercon-host-shell");
	/* stderr is the user's console: debug events go to syslog only. */
	log_set_debug_echo(false);
	if (cfg_load_installed(&cfg, err, sizeof(err)) != 0) {
		log_user_error("configuration: %s", err);
		cfg_free(&cfg);
		return HOST_EXIT_FAIL;
	}
	log_set_socket(cfg.log_socket);
	log_set_debug(cfg.debug);
	if (host_args_parse(getenv("SSH_ORIGINAL_COMMAND"), &args, err,
	    sizeof(err)) != 0) {
		log_user_error("%s (try: help)", err);
		host_args_free(&args);
		cfg_free(&cfg);
		return HOST_EXIT_USAGE;
	}
	if (args.debug)
		log_set_debug(true);
	log_debug("command: %s", getenv("SSH_ORIGINAL_COMMAND"));
	status = run(&cfg, &args);
	host_args_free(&args);
	cfg_free(&cfg);
	return status;
}

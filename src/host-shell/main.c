/* sercon-host-shell: the ForceCommand of the host sshd. Reads what the
 * proxy asked for from SSH_ORIGINAL_COMMAND, then relays the session to a
 * VM's serial console socket (connect), or prints info or help. Exit
 * statuses are listed in host_shell.h and sercon-host-shell(8). */
#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/log.h"
#include "core/prog.h"
#include "host/host_shell.h"

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
	int usage, status;

	/* stderr is the user's console: debug events go to syslog only. */
	prog_start("sercon-host-shell", PROG_QUIET_DEBUG);
	/* The arguments first: a usage error is reported as one (status 2)
	 * even when the configuration is broken too; the configuration is
	 * still read, if it can be, for the log socket. */
	usage = host_args_parse(getenv("SSH_ORIGINAL_COMMAND"), &args, err,
	    sizeof(err));
	if (prog_load_config(&cfg, usage != 0 ? PROG_SILENT :
	    PROG_TELL_USER | (args.debug ? PROG_DEBUG : 0)) != 0 &&
	    usage == 0) {
		host_args_free(&args);
		return HOST_EXIT_FAIL;
	}
	if (usage != 0) {
		log_user_error("%s (try: help)", err);
		host_args_free(&args);
		cfg_free(&cfg);
		return HOST_EXIT_USAGE;
	}
	log_debug("command: %s", getenv("SSH_ORIGINAL_COMMAND"));
	status = run(&cfg, &args);
	host_args_free(&args);
	cfg_free(&cfg);
	return status;
}

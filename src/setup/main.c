/* sercon-setup: PKI, enrolment, the manager switch and diagnostics. This
 * main only picks the subcommand; the work is in src/lib/setup/.
 * Exit status: 0 done, 1 failed (or check found problems), 2 usage. */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/prog.h"
#include "setup/setup.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *what;
} commands[] = {
	{ "ca", setup_cmd_ca, "ca create: make the certificate authority" },
	{ "proxy", setup_cmd_proxy, "the proxy's keys and certificates" },
	{ "host", setup_cmd_host, "a hypervisor host's key and certificate" },
	{ "request", setup_cmd_request, "make a key, print it for signing" },
	{ "sign", setup_cmd_sign, "sign a public key with the CA" },
	{ "install-cert", setup_cmd_install_cert, "install a certificate" },
	{ "renew", setup_cmd_renew, "re-sign certificates that expire soon" },
	{ "engine", setup_cmd_engine, "use an oVirt engine as the manager" },
	{ "check", setup_cmd_check, "diagnose this machine's set-up" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: sercon-setup COMMAND [OPTIONS]   (sercon %s)\n\n",
	    PACKAGE_VERSION);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].what);
	fprintf(f, "\nsercon-setup COMMAND --help tells more; see "
	    "sercon-setup(8).\n");
}

int
main(int argc, char **argv)
{
	size_t i;

	prog_start("sercon-setup", 0);
	if (argc < 2) {
		usage(stderr);
		return SETUP_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return SETUP_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("sercon-setup %s\n", PACKAGE_VERSION);
		return SETUP_EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	log_user_error("unknown command '%s' (sercon-setup --help lists them)",
	    argv[1]);
	return SETUP_EXIT_USAGE;
}

/* host_shell.h: what sercon-host-shell does, behind its small main: the
 * command line it accepts in SSH_ORIGINAL_COMMAND (sercon's spelling and
 * ovirt-vmconsole-host-shell's), and the connect / info / help commands. */
#ifndef SERCON_HOST_SHELL_H
#define SERCON_HOST_SHELL_H

#include <stdbool.h>
#include <stdio.h>

#include "core/config.h"
#include "core/contract.h"
#include "host/hello.h"

enum host_cmd { HOST_CMD_NONE, HOST_CMD_CONNECT, HOST_CMD_INFO, HOST_CMD_HELP,
	HOST_CMD_STATUS };

struct host_args {
	bool debug;
	char *entity_id;         /* NULL when not given; percent-decoded */
	char *entity;
	enum host_cmd cmd;
	char *console;           /* connect: as given, validated later */
	enum sess_mode mode;     /* --read-only/--watch, --takeover */
	struct replay_spec replay;   /* --replay=N|all|arrival */
	int proto;               /* --proto=1: framed; 0: raw bytes */
	bool mode_given, options_given;
};

/* Parses SSH_ORIGINAL_COMMAND (NULL: none). Returns 0, or -1 with a
 * one-line reason in err (a usage error). Always host_args_free(). */
int host_args_parse(const char *line, struct host_args *a, char *err,
    size_t errlen);
void host_args_free(struct host_args *a);

void host_usage(FILE *f);
/* Prints package, version, the CA key and the host certificate found in
 * pkidir; returns an exit status. */
int host_info(FILE *f, const char *pkidir);
/* Relays between stdin/stdout and the console's socket until one side
 * closes; returns an exit status. */
int host_connect(const struct sercon_config *cfg, const struct host_args *a);
/* Prints what sercon-consoled says about its consoles and sessions. */
int host_status(FILE *f, const struct sercon_config *cfg);

#endif

/* sercon-proxy-wait: the last part of a sercon-proxy-shell session. The
 * shell starts ssh to the host, then becomes this small, statically linked
 * program (same pid, so ssh is still its child) to wait for the session
 * while holding next to no memory; it then logs the outcome and tells the
 * user what the host's exit status means. Run only by sercon-proxy-shell,
 * with the argv of core/contract.h:
 *   sercon-proxy-wait PID DEBUG LOG_SOCKET ENTITY_ID VM VMID HOST
 * Exit status: ssh's (see sercon-proxy-shell(8)); 1 on a wrong call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "core/contract.h"
#include "core/log.h"
#include "core/prog.h"
#include "proxy/dial.h"

int
main(int argc, char **argv)
{
	char *end;
	long pid;
	int status;

	/* The session's log lines are the shell's. */
	prog_start("sercon-proxy-shell", 0);
	if (argc != WAIT_ARGC) {
		log_user_error("sercon-proxy-wait is run by sercon-proxy-shell "
		    "only");
		return 1;
	}
	/* No configuration to read: the shell passed what it had. */
	log_set_socket(argv[WAIT_ARG_LOG_SOCKET]);
	log_set_debug(strcmp(argv[WAIT_ARG_DEBUG], "1") == 0);
	errno = 0;
	pid = strtol(argv[WAIT_ARG_PID], &end, 10);
	if (errno != 0 || *end != '\0' || pid <= 1) {
		log_user_error("sercon-proxy-wait: bad process id");
		return 1;
	}
	if (dial_wait((pid_t)pid, &status) != 0) {
		log_user_error("cannot wait for the session: %s",
		    strerror(errno));
		return 1;
	}
	dial_report(status, argv[WAIT_ARG_ENTITY_ID], argv[WAIT_ARG_VM],
	    argv[WAIT_ARG_VMID], argv[WAIT_ARG_HOST]);
	return status;
}

/* sercon-proxy-wait: the last part of a sercon-proxy-shell session. The
 * shell starts ssh to the host, then becomes this small, statically linked
 * program (same pid, so ssh is still its child) to wait for the session
 * while holding next to no memory; it then logs the outcome and tells the
 * user what the host's exit status means. Run only by sercon-proxy-shell:
 *   sercon-proxy-wait PID DEBUG LOG_SOCKET ENTITY_ID VM VMID HOST
 * Exit status: ssh's (see sercon-proxy-shell(8)); 1 on a wrong call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "proxy/dial.h"
#include "core/log.h"

int
main(int argc, char **argv)
{
	char *end;
	long pid;
	int status;

	log_init("sercon-proxy-shell");
	if (argc != 8) {
		log_user_error("sercon-proxy-wait is run by sercon-proxy-shell "
		    "only");
		return 1;
	}
	log_set_socket(argv[3]);
	log_set_debug(strcmp(argv[2], "1") == 0);
	errno = 0;
	pid = strtol(argv[1], &end, 10);
	if (errno != 0 || *end != '\0' || pid <= 1) {
		log_user_error("sercon-proxy-wait: bad process id");
		return 1;
	}
	if (dial_wait((pid_t)pid, &status) != 0) {
		log_user_error("cannot wait for the session: %s",
		    strerror(errno));
		return 1;
	}
	dial_report(status, argv[4], argv[5], argv[6], argv[7]);
	return status;
}

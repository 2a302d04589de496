/* sercon-proxy-keys: the AuthorizedKeysCommand of the proxy sshd
 * (`sercon-proxy-keys %u %t %k`). Prints the authorized_keys lines of the
 * offered key, or of every key when none is given, for the sercon user.
 * Exit status: 0 (also when nothing matches or USER is another account),
 * 1 the manager or the configuration failed (nothing printed), 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/prog.h"
#include "proxy/proxy_keys.h"

int
main(int argc, char **argv)
{
	struct sercon_config cfg;
	char err[512];
	long n;

	prog_start("sercon-proxy-keys", 0);
	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: sercon-proxy-keys USER [KEYTYPE KEY]\n");
		return 2;
	}
	if (strcmp(argv[1], SERCON_USER) != 0)
		return 0;
	if (prog_load_config(&cfg, 0) != 0)
		return 1;
	/* A backstop: sshd waits for us, so we never outlive the manager's
	 * time limit by much, whatever happens below. */
	alarm((unsigned int)cfg.timeout * 2 + 1);
	n = pkeys_print(&cfg, argc == 4 ? argv[2] : NULL,
	    argc == 4 ? argv[3] : NULL, stdout, err, sizeof(err));
	cfg_free(&cfg);
	if (n < 0)
		return 1;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_error("cannot write the key lines");
		return 1;
	}
	return 0;
}

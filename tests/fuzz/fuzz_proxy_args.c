/* fuzz_proxy_args.c: libFuzzer target of pshell_parse (src/lib/proxy/
 * proxy_shell.c), the grammar of what a user types after `ssh proxy`.
 * An accepted request names its VM at most once. */
#include <stdint.h>
#include <stdlib.h>

#include "proxy/proxy_shell.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_cstr(data, size), err[256];
	struct pshell_req req;

	err[0] = '\0';
	if (pshell_parse(line, &req, err, sizeof(err)) == 0) {
		if ((req.vm_id != NULL) + (req.vm_name != NULL) +
		    (req.target != NULL) > 1)
			abort();
		if (req.cmd != PSHELL_CONNECT && (req.vm_id != NULL ||
		    req.vm_name != NULL || req.target != NULL))
			abort();
		pshell_req_free(&req);
	} else if (err[0] == '\0') {
		abort();
	}
	free(line);
	return 0;
}

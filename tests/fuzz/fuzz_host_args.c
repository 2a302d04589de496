/* fuzz_host_args.c: libFuzzer target of host_args_parse (src/lib/host/
 * host_args.c), the host shell's command grammar, sercon's spelling and
 * ovirt-vmconsole-host-shell's. An accepted command line must be a
 * consistent request: a connect names its console, validated entities. */
#include <stdint.h>
#include <stdlib.h>

#include "core/text.h"
#include "host/host_shell.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_cstr(data, size), err[256];
	struct host_args a;

	err[0] = '\0';
	if (host_args_parse(line, &a, err, sizeof(err)) == 0) {
		if (a.cmd == HOST_CMD_NONE ||
		    (a.cmd == HOST_CMD_CONNECT) != (a.console != NULL))
			abort();
		if (a.entity_id != NULL && !text_valid_entity_id(a.entity_id))
			abort();
		if (a.entity != NULL && !text_valid_entity_name(a.entity))
			abort();
	} else if (err[0] == '\0') {
		abort();
	}
	host_args_free(&a);
	free(line);
	return 0;
}

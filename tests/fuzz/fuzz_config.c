/* fuzz_config.c: libFuzzer target of the configuration reader (src/lib/
 * core/config.c: libinih and sercon's key table), through cfg_load_file on
 * a file holding the input. A file that loads leaves every integer in its range. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/config.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sercon_config cfg;
	const char *path = fuzz_file(data, size);
	char err[512];

	cfg_defaults(&cfg);
	if (cfg_load_file(&cfg, path, false, err, sizeof(err)) == 0) {
		if (cfg.host_port < 1 || cfg.host_port > 65535 ||
		    cfg.timeout < 1 || cfg.timeout > 600 ||
		    cfg.cache_ttl < 0 || cfg.cache_stale_max < 0 ||
		    cfg_backend_name(cfg.backend) == NULL)
			abort();
	}
	/* A second file over the first, as conf.d does. */
	(void)cfg_load_file(&cfg, path, true, err, sizeof(err));
	cfg_free(&cfg);
	return 0;
}

/* fuzz_sshkey.c: libFuzzer target of the public key parser (src/lib/core/
 * sshkey.c): "TYPE BASE64 [COMMENT]" lines from the manager, and the
 * base64 decoder under them. What parses is an allowed type whose blob
 * decodes and checks again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sshkey.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_cstr(data, size), *type = NULL, *blob = NULL;
	char err[256];
	unsigned char *raw = NULL;
	long n;

	if (sshkey_parse_line(line, &type, &blob, err, sizeof(err)) == 0) {
		if (!sshkey_type_allowed(type) ||
		    sshkey_check(type, blob, err, sizeof(err)) != 0 ||
		    (n = sshkey_b64_decode(blob, &raw)) <= 0)
			abort();
		free(raw);
		raw = NULL;
		free(type);
		free(blob);
	}
	/* The decoder alone, on the raw text. */
	if ((n = sshkey_b64_decode(line, &raw)) >= 0)
		free(raw);
	free(line);
	return 0;
}

/* fuzz_pki_cert.c: libFuzzer target of pki_cert_parse (src/lib/setup/
 * pki.c): a certificate file's line as sercon-setup reads it, parsed from
 * the certificate's own bytes and its signature verified. What it accepts
 * names a key and a CA that parse as public key lines, principals that
 * the matcher finds again, and prints them escaped for a terminal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sshkey.h"
#include "setup/pki.h"
#include "fuzz.h"

static void
check_line(const char *line)
{
	char err[256], *type, *blob;

	if (line == NULL || sshkey_parse_line(line, &type, &blob, err,
	    sizeof(err)) != 0)
		abort();
	free(type);
	free(blob);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pki_cert c;
	char err[256], buf[128], *text;
	const unsigned char *p;

	if ((text = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(text, data, size);
	if (pki_cert_parse(text, size, &c, err, sizeof(err)) == 0) {
		check_line(c.key_line);
		check_line(c.ca_line);
		if (c.key_fp == NULL || c.ca_fp == NULL ||
		    strncmp(c.key_fp, "SHA256:", 7) != 0)
			abort();
		if (c.nprincipals == 1 &&
		    strchr(c.principals[0], ',') == NULL &&
		    !pki_cert_has_principals(&c, c.principals[0]))
			abort();
		pki_cert_principals_str(&c, buf, sizeof(buf));
		for (p = (const unsigned char *)buf; *p != '\0'; p++)
			if (*p < 0x20 || *p == 0x7f)
				abort();
		pki_cert_free(&c);
	}
	free(text);
	return 0;
}

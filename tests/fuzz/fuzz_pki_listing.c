/* fuzz_pki_listing.c: libFuzzer target of pki_cert_parse (src/lib/setup/
 * pki.c), the reader of `ssh-keygen -L` text, which a certificate's own
 * strings (key id, principals) are printed into. A listing that parses
 * has a fingerprint of its key and of its CA, and principals that the
 * matcher finds again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "setup/pki.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), err[256];
	struct pki_cert c;
	size_t i;

	if (pki_cert_parse(text, &c, err, sizeof(err)) == 0) {
		if (c.key_fp == NULL || c.ca_fp == NULL ||
		    c.nprincipals > PKI_MAX_PRINCIPALS ||
		    c.noptions > PKI_MAX_OPTIONS)
			abort();
		for (i = 0; i < c.nprincipals; i++)
			if (c.principals[i] == NULL ||
			    strchr(c.principals[i], '\n') != NULL)
				abort();
		if (c.nprincipals == 1 &&
		    strchr(c.principals[0], ',') == NULL &&
		    !pki_cert_has_principals(&c, c.principals[0]))
			abort();
		(void)pki_cert_has_principals(&c, "sercon-proxy");
		pki_cert_free(&c);
	}
	free(text);
	return 0;
}

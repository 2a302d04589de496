/* fuzz_sshcert.c: libFuzzer target of the OpenSSH certificate and key
 * blob parsers (src/lib/core/sshkey.c: sshcert_parse, sshkey_blob_check),
 * on the binary wire format (PROTOCOL.certkeys) so that mutations land in
 * the fields rather than in base64. A certificate that parses has a known
 * type, at most the allowed principals and options, a certified key and a
 * CA key that check as plain keys, and signs a prefix of its own bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sshkey.h"
#include "fuzz.h"

static void
check_cert(const uint8_t *blob, size_t len, const struct sshcert *c)
{
	char err[256], *t = NULL;
	size_t i;

	if ((c->cert_type != SSHCERT_USER && c->cert_type != SSHCERT_HOST) ||
	    c->nprincipals > SSHCERT_MAX_PRINCIPALS ||
	    c->ncritical > SSHCERT_MAX_OPTIONS ||
	    c->nextensions > SSHCERT_MAX_OPTIONS ||
	    c->signed_len == 0 || c->signed_len >= len ||
	    memcmp(c->signed_data, blob, c->signed_len) != 0)
		abort();
	for (i = 0; i < c->nprincipals; i++)
		if (c->principals[i] == NULL)
			abort();
	if (sshkey_blob_check(c->key, c->key_len, &t, err, sizeof(err)) != 0 ||
	    strcmp(t, c->key_type) != 0)
		abort();
	free(t);
	if (sshkey_blob_check(c->ca_key, c->ca_key_len, &t, err,
	    sizeof(err)) != 0 || strcmp(t, c->ca_type) != 0)
		abort();
	free(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshcert c;
	char err[256], *type = NULL;
	uint8_t *blob;

	/* An exact-size copy, so ASan sees a read past the end. */
	if ((blob = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(blob, data, size);
	if (sshcert_parse(blob, size, &c, err, sizeof(err)) == 0) {
		check_cert(blob, size, &c);
		sshcert_free(&c);
	}
	if (sshkey_blob_check(blob, size, &type, err, sizeof(err)) == 0) {
		if (type == NULL || !sshkey_type_allowed(type))
			abort();
		free(type);
	}
	free(blob);
	return 0;
}

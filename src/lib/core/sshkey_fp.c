/* sshkey_fp.c: the SHA-256 fingerprint of a public key; see sshkey.h.
 * Apart from sshkey.c because it needs libcrypto, which the lean programs
 * (keys helper, proxy shell, waiter) must not load. */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "core/sshkey.h"
#include "core/xmalloc.h"

char *
sshkey_fingerprint(const char *blob)
{
	unsigned char *raw = NULL, md[EVP_MAX_MD_SIZE];
	unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned int mdlen = 0;
	char *fp = NULL;
	long n;
	int len;

	if ((n = sshkey_b64_decode(blob, &raw)) < 0)
		return NULL;
	if (EVP_Digest(raw, (size_t)n, md, &mdlen, EVP_sha256(), NULL) == 1) {
		len = EVP_EncodeBlock(b64, md, (int)mdlen);
		while (len > 0 && b64[len - 1] == '=')
			b64[--len] = '\0';
		fp = xasprintf("SHA256:%s", (const char *)b64);
	}
	free(raw);
	return fp;
}

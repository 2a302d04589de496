/* sshkey.h: the one parser of OpenSSH public keys and certificates in
 * sercon. Keys come from the manager ("TYPE BASE64 [COMMENT]"), from the
 * PKI directory and from certificates; certificates are read from their
 * own wire format (PROTOCOL.certkeys), never from a text listing. */
#ifndef SERCON_SSHKEY_H
#define SERCON_SSHKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSHKEY_BLOB_MAX 16384          /* base64 characters */

/* True when type is a plain public key type sercon accepts (ed25519, rsa,
 * ecdsa, and their security-key variants): no certificates, no DSA. */
bool sshkey_type_allowed(const char *type);

/* Checks a binary SSH wire-format public key: its embedded type is one of
 * sercon's and its fields are exactly those of that type. On success
 * *type (may be NULL) is a malloc'd copy of the type. Returns 0, or -1
 * with a reason. A fuzzing entry point. */
int sshkey_blob_check(const unsigned char *blob, size_t len, char **type,
    char *err, size_t errlen);

/* Checks that blob is canonical base64 of an SSH wire-format key whose
 * embedded type string equals type. Returns 0, or -1 with a reason. */
int sshkey_check(const char *type, const char *blob, char *err,
    size_t errlen);

/* Splits "TYPE BASE64 [COMMENT]" (leading and trailing blanks allowed, the
 * comment is dropped) and checks it with sshkey_check. On success *type and
 * *blob are malloc'd copies. Returns 0, or -1 with a reason. */
int sshkey_parse_line(const char *line, char **type, char **blob, char *err,
    size_t errlen);

/* "SHA256:<unpadded base64 of the SHA-256 of the key blob>", as
 * ssh-keygen -l prints it, of the base64 blob (canonical, as
 * sshkey_b64_decode takes it). Malloc'd, or NULL when blob is not base64.
 * In sshkey_fp.c, so that the programs that never need it link no
 * libcrypto. */
char *sshkey_fingerprint(const char *blob);

/* Decodes base64 (with padding, no blanks) into a malloc'd buffer.
 * Returns the length, or -1 when s is not canonical base64. */
long sshkey_b64_decode(const char *s, unsigned char **out);
/* Encodes len bytes as base64 with padding (malloc'd). */
char *sshkey_b64_encode(const unsigned char *b, size_t len);

/* Certificates (PROTOCOL.certkeys). */
#define SSHCERT_USER            1
#define SSHCERT_HOST            2
#define SSHCERT_MAX_PRINCIPALS  256
#define SSHCERT_MAX_OPTIONS     64

/* A critical option or an extension: a name and its raw data. */
struct sshcert_opt {
	char *name;
	unsigned char *data;
	size_t len;
};

/* Every field of a certificate, validated for shape (not signature). */
struct sshcert {
	char *type;                /* "ssh-ed25519-cert-v01@openssh.com" */
	char *key_type;            /* "ssh-ed25519" */
	unsigned char *key;        /* the certified key as a plain key blob */
	size_t key_len;
	uint64_t serial;
	uint32_t cert_type;        /* SSHCERT_USER or SSHCERT_HOST */
	char *key_id;
	char **principals;         /* any bytes but NUL, newlines included */
	size_t nprincipals;
	uint64_t valid_after, valid_before;
	struct sshcert_opt *critical;
	size_t ncritical;
	struct sshcert_opt *extensions;
	size_t nextensions;
	char *ca_type;             /* type of the signature key */
	unsigned char *ca_key;     /* the signature key blob */
	size_t ca_key_len;
	unsigned char *sig;        /* the signature blob */
	size_t sig_len;
	unsigned char *signed_data; /* the bytes the signature covers */
	size_t signed_len;
};

/* Parses a certificate blob (the base64-decoded second word of a
 * *-cert-v01@openssh.com line). Every field must be present, well formed
 * and unique (an option or extension name appears once), nothing may
 * follow the signature; the certified key and the signature key must be
 * keys of sercon's types. Returns 0, or -1 with a reason (c is then
 * empty). A fuzzing entry point. */
int sshcert_parse(const unsigned char *blob, size_t len, struct sshcert *c,
    char *err, size_t errlen);
/* Parses "TYPE BASE64 [COMMENT]" (one line, an ending newline allowed)
 * whose TYPE must equal the blob's embedded type. A fuzzing entry point
 * (text of len bytes; a NUL inside is refused). */
int sshcert_parse_text(const char *text, size_t len, struct sshcert *c,
    char *err, size_t errlen);
void sshcert_free(struct sshcert *c);

/* Reads one uint32-length-prefixed string of a wire buffer at *off. */
int sshkey_wire_string(const unsigned char *b, size_t len, size_t *off,
    const unsigned char **field, size_t *flen);

#endif

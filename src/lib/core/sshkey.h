/* sshkey.h: parsing and validation of OpenSSH public keys as they appear in
 * the manager's answers ("TYPE BASE64 [COMMENT]"). Only plain public key
 * types are accepted: no options, no certificates. */
#ifndef SERCON_SSHKEY_H
#define SERCON_SSHKEY_H

#include <stdbool.h>
#include <stddef.h>

#define SSHKEY_BLOB_MAX 16384          /* base64 characters */

/* True when type is a plain public key type sercon accepts. */
bool sshkey_type_allowed(const char *type);

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

#endif

/* sshkey.c: parsing and validation of OpenSSH public keys; see sshkey.h.
 * A key from the manager is never passed on as raw text: its base64 must
 * decode to the SSH wire format, whose embedded type must match the type
 * word and whose fields must be exactly those of that type. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sshkey.h"
#include "core/xmalloc.h"

struct key_kind {
	const char *type;
	const char *curve;      /* ecdsa: the embedded curve name */
	int nfields;            /* length-prefixed fields after the type */
};

static const struct key_kind key_kinds[] = {
	{ "ssh-ed25519", NULL, 1 },
	{ "ssh-rsa", NULL, 2 },
	{ "ecdsa-sha2-nistp256", "nistp256", 2 },
	{ "ecdsa-sha2-nistp384", "nistp384", 2 },
	{ "ecdsa-sha2-nistp521", "nistp521", 2 },
	{ "sk-ssh-ed25519@openssh.com", NULL, 2 },
	{ "sk-ecdsa-sha2-nistp256@openssh.com", "nistp256", 3 },
};

static const struct key_kind *
kind_find(const char *type)
{
	size_t i;

	for (i = 0; i < sizeof(key_kinds) / sizeof(key_kinds[0]); i++)
		if (!strcmp(key_kinds[i].type, type))
			return &key_kinds[i];
	return NULL;
}

bool
sshkey_type_allowed(const char *type)
{
	return kind_find(type) != NULL;
}

static int
b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
sshkey_b64_decode(const char *s, unsigned char **out)
{
	size_t n = strlen(s), i, o = 0, pad = 0;
	unsigned char *buf;

	*out = NULL;
	if (n == 0 || n % 4 != 0 || n > SSHKEY_BLOB_MAX)
		return -1;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	buf = xmalloc(n / 4 * 3);
	for (i = 0; i < n; i += 4) {
		int v[4], k;
		uint32_t w;

		for (k = 0; k < 4; k++) {
			if (i + k >= n - pad) {
				v[k] = 0;
				continue;
			}
			if ((v[k] = b64_val((unsigned char)s[i + k])) < 0)
				goto bad;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		    (uint32_t)v[2] << 6 | (uint32_t)v[3];
		buf[o++] = (unsigned char)(w >> 16);
		if (i + 4 < n || pad < 2)
			buf[o++] = (unsigned char)(w >> 8);
		if (i + 4 < n || pad < 1)
			buf[o++] = (unsigned char)w;
		/* canonical: the bits under the padding are zero */
		if (i + 4 == n && ((pad == 1 && (v[2] & 3) != 0) ||
		    (pad == 2 && (v[1] & 15) != 0)))
			goto bad;
	}
	*out = buf;
	return (long)o;
bad:
	free(buf);
	return -1;
}

/* Reads one uint32-length-prefixed field at *off. */
static int
wire_field(const unsigned char *b, size_t len, size_t *off,
    const unsigned char **field, size_t *flen)
{
	uint32_t n;

	if (len - *off < 4)
		return -1;
	n = (uint32_t)b[*off] << 24 | (uint32_t)b[*off + 1] << 16 |
	    (uint32_t)b[*off + 2] << 8 | (uint32_t)b[*off + 3];
	*off += 4;
	if (len - *off < n)
		return -1;
	*field = b + *off;
	*flen = n;
	*off += n;
	return 0;
}

static int
field_is(const unsigned char *f, size_t flen, const char *s)
{
	return flen == strlen(s) && memcmp(f, s, flen) == 0;
}

int
sshkey_check(const char *type, const char *blob, char *err, size_t errlen)
{
	const struct key_kind *kind = kind_find(type);
	const unsigned char *f;
	unsigned char *bin;
	size_t off = 0, flen;
	long len;
	int i, rc = -1;

	if (kind == NULL) {
		snprintf(err, errlen, "key type '%.40s' is not accepted",
		    type);
		return -1;
	}
	if ((len = sshkey_b64_decode(blob, &bin)) < 0) {
		snprintf(err, errlen, "%s key is not valid base64", type);
		return -1;
	}
	if (wire_field(bin, (size_t)len, &off, &f, &flen) != 0 ||
	    !field_is(f, flen, type)) {
		snprintf(err, errlen, "%s key does not embed its type", type);
		goto out;
	}
	for (i = 0; i < kind->nfields; i++) {
		if (wire_field(bin, (size_t)len, &off, &f, &flen) != 0 ||
		    flen == 0) {
			snprintf(err, errlen, "%s key is truncated", type);
			goto out;
		}
		if (i == 0 && kind->curve != NULL &&
		    !field_is(f, flen, kind->curve)) {
			snprintf(err, errlen, "%s key names another curve",
			    type);
			goto out;
		}
		if (i == 0 && kind->nfields <= 2 && kind->curve == NULL &&
		    strstr(type, "ed25519") != NULL && flen != 32) {
			snprintf(err, errlen, "%s key has a bad length", type);
			goto out;
		}
	}
	if (off != (size_t)len) {
		snprintf(err, errlen, "%s key has trailing data", type);
		goto out;
	}
	rc = 0;
out:
	free(bin);
	return rc;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int
sshkey_parse_line(const char *line, char **type, char **blob, char *err,
    size_t errlen)
{
	const char *p = line, *t, *b;
	size_t tlen, blen;

	*type = *blob = NULL;
	for (; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 && !is_blank(*p)) {
			snprintf(err, errlen, "key contains a control character");
			return -1;
		}
	for (p = line; is_blank(*p); p++)
		;
	t = p;
	while (*p != '\0' && !is_blank(*p))
		p++;
	tlen = (size_t)(p - t);
	while (is_blank(*p))
		p++;
	b = p;
	while (*p != '\0' && !is_blank(*p))
		p++;
	blen = (size_t)(p - b);
	if (tlen == 0 || blen == 0) {
		snprintf(err, errlen, "key is not 'TYPE BASE64 [COMMENT]'");
		return -1;
	}
	if (blen > SSHKEY_BLOB_MAX || tlen > 64) {
		snprintf(err, errlen, "key is too long");
		return -1;
	}
	*type = xstrndup(t, tlen);
	*blob = xstrndup(b, blen);
	if (sshkey_check(*type, *blob, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	free(*type);
	free(*blob);
	*type = *blob = NULL;
	return -1;
}

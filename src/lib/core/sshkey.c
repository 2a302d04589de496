/* sshkey.c: parsing and validation of OpenSSH public keys and
 * certificates; see sshkey.h. A key is never passed on as raw text: its
 * base64 must decode to the SSH wire format, whose embedded type must match
 * the type word and whose fields must be exactly those of that type. A
 * certificate is read field by field from its blob (PROTOCOL.certkeys). */
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

/* The value of a base64 digit, -1 for another byte: computed without a
 * branch on the data, which mixes the alphabet's ranges at random (a key
 * index rebuild decodes 100k keys). */
static int
b64_val(unsigned char c)
{
	int v = -1;

	v += ((c >= 'A') & (c <= 'Z')) * (c - 'A' + 1);
	v += ((c >= 'a') & (c <= 'z')) * (c - 'a' + 27);
	v += ((c >= '0') & (c <= '9')) * (c - '0' + 53);
	v += (c == '+') * 63;
	v += (c == '/') * 64;
	return v;
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

int
sshkey_wire_string(const unsigned char *b, size_t len, size_t *off,
    const unsigned char **field, size_t *flen)
{
	uint32_t n;

	if (*off > len || len - *off < 4)
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

/* The fields of a key of that kind, after its type string (or, in a
 * certificate, after the nonce). */
static int
key_fields(const struct key_kind *kind, const unsigned char *b, size_t len,
    size_t *off, char *err, size_t errlen)
{
	const unsigned char *f;
	size_t flen;
	int i;

	for (i = 0; i < kind->nfields; i++) {
		if (sshkey_wire_string(b, len, off, &f, &flen) != 0 ||
		    flen == 0) {
			snprintf(err, errlen, "%s key is truncated", kind->type);
			return -1;
		}
		if (i == 0 && kind->curve != NULL &&
		    !field_is(f, flen, kind->curve)) {
			snprintf(err, errlen, "%s key names another curve",
			    kind->type);
			return -1;
		}
		if (i == 0 && kind->curve == NULL &&
		    strstr(kind->type, "ed25519") != NULL && flen != 32) {
			snprintf(err, errlen, "%s key has a bad length",
			    kind->type);
			return -1;
		}
	}
	return 0;
}

/* A printable copy of a type name from the wire, for messages. */
static void
type_name(const unsigned char *f, size_t flen, char *out, size_t outlen)
{
	size_t i, n = 0;

	for (i = 0; i < flen && n + 1 < outlen && i < 40; i++)
		out[n++] = f[i] >= 0x21 && f[i] < 0x7f ? (char)f[i] : '?';
	out[n] = '\0';
}

int
sshkey_blob_check(const unsigned char *blob, size_t len, char **typep,
    char *err, size_t errlen)
{
	const struct key_kind *kind = NULL;
	const unsigned char *f;
	size_t off = 0, flen, i;

	if (typep != NULL)
		*typep = NULL;
	if (sshkey_wire_string(blob, len, &off, &f, &flen) != 0) {
		snprintf(err, errlen, "key does not embed its type");
		return -1;
	}
	for (i = 0; i < sizeof(key_kinds) / sizeof(key_kinds[0]); i++)
		if (field_is(f, flen, key_kinds[i].type))
			kind = &key_kinds[i];
	if (kind == NULL) {
		char name[48];

		type_name(f, flen, name, sizeof(name));
		snprintf(err, errlen, "key type '%s' is not accepted", name);
		return -1;
	}
	if (key_fields(kind, blob, len, &off, err, errlen) != 0)
		return -1;
	if (off != len) {
		snprintf(err, errlen, "%s key has trailing data", kind->type);
		return -1;
	}
	if (typep != NULL)
		*typep = xstrdup(kind->type);
	return 0;
}

int
sshkey_check(const char *type, const char *blob, char *err, size_t errlen)
{
	const unsigned char *f;
	unsigned char *bin;
	size_t off = 0, flen;
	long len;
	int rc = -1;

	if (kind_find(type) == NULL) {
		snprintf(err, errlen, "key type '%.40s' is not accepted",
		    type);
		return -1;
	}
	if ((len = sshkey_b64_decode(blob, &bin)) < 0) {
		snprintf(err, errlen, "%s key is not valid base64", type);
		return -1;
	}
	if (sshkey_wire_string(bin, (size_t)len, &off, &f, &flen) != 0 ||
	    !field_is(f, flen, type)) {
		snprintf(err, errlen, "%s key does not embed its type", type);
		goto out;
	}
	rc = sshkey_blob_check(bin, (size_t)len, NULL, err, errlen);
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

char *
sshkey_b64_encode(const unsigned char *b, size_t len)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t w = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 |
		    b[i + 2];

		*o++ = alphabet[w >> 18 & 63];
		*o++ = alphabet[w >> 12 & 63];
		*o++ = alphabet[w >> 6 & 63];
		*o++ = alphabet[w & 63];
	}
	if (i < len) {
		uint32_t w = (uint32_t)b[i] << 16 |
		    (i + 1 < len ? (uint32_t)b[i + 1] << 8 : 0);

		*o++ = alphabet[w >> 18 & 63];
		*o++ = alphabet[w >> 12 & 63];
		*o++ = i + 1 < len ? alphabet[w >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/* Certificates. */

#define CERT_SUFFIX "-cert-v01@openssh.com"

/* The certificate type of a plain key type: "ssh-ed25519" gives
 * "ssh-ed25519-cert-v01@openssh.com", "sk-ssh-ed25519@openssh.com" gives
 * "sk-ssh-ed25519-cert-v01@openssh.com". */
static void
cert_type_of(const struct key_kind *kind, char *out, size_t outlen)
{
	size_t n = strlen(kind->type);
	const char *at = strchr(kind->type, '@');

	if (at != NULL)
		n = (size_t)(at - kind->type);
	snprintf(out, outlen, "%.*s%s", (int)n, kind->type, CERT_SUFFIX);
}

static int
wire_u64(const unsigned char *b, size_t len, size_t *off, uint64_t *v)
{
	size_t i;

	if (*off > len || len - *off < 8)
		return -1;
	*v = 0;
	for (i = 0; i < 8; i++)
		*v = *v << 8 | b[*off + i];
	*off += 8;
	return 0;
}

static int
wire_u32(const unsigned char *b, size_t len, size_t *off, uint32_t *v)
{
	uint64_t w = 0;
	size_t i;

	if (*off > len || len - *off < 4)
		return -1;
	for (i = 0; i < 4; i++)
		w = w << 8 | b[*off + i];
	*off += 4;
	*v = (uint32_t)w;
	return 0;
}

/* A string field as a C string: any bytes but NUL (a NUL would let the
 * certificate say one thing and the C string another). */
static char *
wire_cstring(const unsigned char *f, size_t flen)
{
	char *s;

	if (memchr(f, '\0', flen) != NULL)
		return NULL;
	s = xmalloc(flen + 1);
	memcpy(s, f, flen);
	s[flen] = '\0';
	return s;
}

static void *
xmemdup(const void *p, size_t n)
{
	void *d = xmalloc(n);

	memcpy(d, p, n);
	return d;
}

/* The valid principals: a string that packs strings. */
static int
cert_principals(struct sshcert *c, const unsigned char *f, size_t flen,
    char *err, size_t errlen)
{
	const unsigned char *p;
	size_t off = 0, plen, n = 0;

	while (off < flen) {
		if (sshkey_wire_string(f, flen, &off, &p, &plen) != 0) {
			snprintf(err, errlen, "certificate principals are "
			    "malformed");
			return -1;
		}
		n++;
	}
	if (n > SSHCERT_MAX_PRINCIPALS) {
		snprintf(err, errlen, "certificate has too many principals");
		return -1;
	}
	c->principals = xmalloc(n * sizeof(*c->principals));
	for (off = 0; c->nprincipals < n; c->nprincipals++) {
		(void)sshkey_wire_string(f, flen, &off, &p, &plen);
		if (plen == 0 ||
		    (c->principals[c->nprincipals] = wire_cstring(p,
		    plen)) == NULL) {
			snprintf(err, errlen, "certificate principal is empty "
			    "or holds a NUL byte");
			return -1;
		}
	}
	return 0;
}

/* Critical options or extensions: pairs of a name and a data string,
 * each name once. */
static int
cert_options(struct sshcert_opt **optsp, size_t *np, const unsigned char *f,
    size_t flen, const char *what, char *err, size_t errlen)
{
	const unsigned char *name, *data;
	size_t off = 0, nlen, dlen, n = 0, i;
	struct sshcert_opt *opts;

	while (off < flen) {
		if (sshkey_wire_string(f, flen, &off, &name, &nlen) != 0 ||
		    sshkey_wire_string(f, flen, &off, &data, &dlen) != 0) {
			snprintf(err, errlen, "certificate %s are malformed",
			    what);
			return -1;
		}
		n++;
	}
	if (n > SSHCERT_MAX_OPTIONS) {
		snprintf(err, errlen, "certificate has too many %s", what);
		return -1;
	}
	*optsp = opts = xmalloc(n * sizeof(*opts));
	for (off = 0; *np < n; (*np)++) {
		(void)sshkey_wire_string(f, flen, &off, &name, &nlen);
		(void)sshkey_wire_string(f, flen, &off, &data, &dlen);
		if (nlen == 0 ||
		    (opts[*np].name = wire_cstring(name, nlen)) == NULL) {
			snprintf(err, errlen, "certificate %s name is empty "
			    "or holds a NUL byte", what);
			return -1;
		}
		opts[*np].data = xmemdup(data, dlen);
		opts[*np].len = dlen;
		for (i = 0; i < *np; i++)
			if (strcmp(opts[i].name, opts[*np].name) == 0) {
				(*np)++;
				snprintf(err, errlen, "certificate %s repeat "
				    "a name", what);
				return -1;
			}
	}
	return 0;
}

void
sshcert_free(struct sshcert *c)
{
	size_t i;

	free(c->type);
	free(c->key_type);
	free(c->key);
	free(c->key_id);
	for (i = 0; i < c->nprincipals; i++)
		free(c->principals[i]);
	free(c->principals);
	for (i = 0; i < c->ncritical; i++) {
		free(c->critical[i].name);
		free(c->critical[i].data);
	}
	free(c->critical);
	for (i = 0; i < c->nextensions; i++) {
		free(c->extensions[i].name);
		free(c->extensions[i].data);
	}
	free(c->extensions);
	free(c->ca_type);
	free(c->ca_key);
	free(c->sig);
	free(c->signed_data);
	memset(c, 0, sizeof(*c));
}

/* The certificate's type and the plain key kind it certifies. */
static const struct key_kind *
cert_kind(const unsigned char *f, size_t flen)
{
	char ctype[80];
	size_t i;

	for (i = 0; i < sizeof(key_kinds) / sizeof(key_kinds[0]); i++) {
		cert_type_of(&key_kinds[i], ctype, sizeof(ctype));
		if (field_is(f, flen, ctype))
			return &key_kinds[i];
	}
	return NULL;
}

/* Builds the plain key blob of the certified key: its type string and
 * the key fields that follow the nonce in the certificate. */
static void
cert_plain_key(struct sshcert *c, const struct key_kind *kind,
    const unsigned char *fields, size_t flen)
{
	size_t tlen = strlen(kind->type);

	c->key_len = 4 + tlen + flen;
	c->key = xmalloc(c->key_len);
	c->key[0] = (unsigned char)(tlen >> 24);
	c->key[1] = (unsigned char)(tlen >> 16);
	c->key[2] = (unsigned char)(tlen >> 8);
	c->key[3] = (unsigned char)tlen;
	memcpy(c->key + 4, kind->type, tlen);
	memcpy(c->key + 4 + tlen, fields, flen);
	c->key_type = xstrdup(kind->type);
}

static int
cert_parse_fields(const unsigned char *b, size_t len, struct sshcert *c,
    char *err, size_t errlen)
{
	const struct key_kind *kind;
	const unsigned char *f;
	size_t off = 0, flen, kstart;
	char name[48];

	if (sshkey_wire_string(b, len, &off, &f, &flen) != 0) {
		snprintf(err, errlen, "certificate does not embed its type");
		return -1;
	}
	if ((kind = cert_kind(f, flen)) == NULL) {
		type_name(f, flen, name, sizeof(name));
		snprintf(err, errlen, "certificate type '%s' is not accepted",
		    name);
		return -1;
	}
	c->type = wire_cstring(f, flen);
	if (sshkey_wire_string(b, len, &off, &f, &flen) != 0) {   /* nonce */
		snprintf(err, errlen, "certificate is truncated");
		return -1;
	}
	kstart = off;
	if (key_fields(kind, b, len, &off, err, errlen) != 0)
		return -1;
	cert_plain_key(c, kind, b + kstart, off - kstart);
	if (wire_u64(b, len, &off, &c->serial) != 0 ||
	    wire_u32(b, len, &off, &c->cert_type) != 0) {
		snprintf(err, errlen, "certificate is truncated");
		return -1;
	}
	if (c->cert_type != SSHCERT_USER && c->cert_type != SSHCERT_HOST) {
		snprintf(err, errlen, "certificate is neither a user nor a "
		    "host certificate");
		return -1;
	}
	if (sshkey_wire_string(b, len, &off, &f, &flen) != 0 ||
	    (c->key_id = wire_cstring(f, flen)) == NULL) {
		snprintf(err, errlen, "certificate key id is truncated or "
		    "holds a NUL byte");
		return -1;
	}
	if (sshkey_wire_string(b, len, &off, &f, &flen) != 0) {
		snprintf(err, errlen, "certificate is truncated");
		return -1;
	}
	if (cert_principals(c, f, flen, err, errlen) != 0)
		return -1;
	if (wire_u64(b, len, &off, &c->valid_after) != 0 ||
	    wire_u64(b, len, &off, &c->valid_before) != 0 ||
	    sshkey_wire_string(b, len, &off, &f, &flen) != 0) {
		snprintf(err, errlen, "certificate is truncated");
		return -1;
	}
	if (cert_options(&c->critical, &c->ncritical, f, flen,
	    "critical options", err, errlen) != 0)
		return -1;
	if (sshkey_wire_string(b, len, &off, &f, &flen) != 0) {
		snprintf(err, errlen, "certificate is truncated");
		return -1;
	}
	if (cert_options(&c->extensions, &c->nextensions, f, flen,
	    "extensions", err, errlen) != 0)
		return -1;
	if (sshkey_wire_string(b, len, &off, &f, &flen) != 0 ||  /* reserved */
	    sshkey_wire_string(b, len, &off, &f, &flen) != 0) {
		snprintf(err, errlen, "certificate is truncated");
		return -1;
	}
	if (sshkey_blob_check(f, flen, &c->ca_type, err, errlen) != 0) {
		char why[200];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "certificate signature key: %s", why);
		return -1;
	}
	c->ca_key = xmemdup(f, flen);
	c->ca_key_len = flen;
	c->signed_len = off;
	c->signed_data = xmemdup(b, off);
	if (sshkey_wire_string(b, len, &off, &f, &flen) != 0 || flen == 0) {
		snprintf(err, errlen, "certificate signature is missing");
		return -1;
	}
	c->sig = xmemdup(f, flen);
	c->sig_len = flen;
	if (off != len) {
		snprintf(err, errlen, "certificate has trailing data");
		return -1;
	}
	return 0;
}

int
sshcert_parse(const unsigned char *blob, size_t len, struct sshcert *c,
    char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (cert_parse_fields(blob, len, c, err, errlen) != 0) {
		sshcert_free(c);
		return -1;
	}
	return 0;
}

int
sshcert_parse_text(const char *text, size_t len, struct sshcert *c,
    char *err, size_t errlen)
{
	const char *p = text, *end = text + len, *t, *b;
	unsigned char *bin = NULL;
	char *b64;
	size_t tlen, blen;
	long n;
	int rc;

	memset(c, 0, sizeof(*c));
	if (len > 0 && text[len - 1] == '\n')
		end--;
	for (; p < end; p++)
		if (*p == '\0' || *p == '\n' || *p == '\r') {
			snprintf(err, errlen, "a certificate is one line");
			return -1;
		}
	for (p = text; p < end && is_blank(*p); p++)
		;
	for (t = p; p < end && !is_blank(*p); p++)
		;
	tlen = (size_t)(p - t);
	for (; p < end && is_blank(*p); p++)
		;
	for (b = p; p < end && !is_blank(*p); p++)
		;
	blen = (size_t)(p - b);
	if (tlen == 0 || blen == 0 || blen > SSHKEY_BLOB_MAX) {
		snprintf(err, errlen, "not a certificate line 'TYPE BASE64 "
		    "[COMMENT]'");
		return -1;
	}
	b64 = xmalloc(blen + 1);
	memcpy(b64, b, blen);
	b64[blen] = '\0';
	n = sshkey_b64_decode(b64, &bin);
	free(b64);
	if (n < 0) {
		snprintf(err, errlen, "certificate is not valid base64");
		return -1;
	}
	rc = sshcert_parse(bin, (size_t)n, c, err, errlen);
	free(bin);
	if (rc == 0 && (strlen(c->type) != tlen ||
	    memcmp(c->type, t, tlen) != 0)) {
		snprintf(err, errlen, "certificate line names another type "
		    "than its blob");
		sshcert_free(c);
		return -1;
	}
	return rc;
}

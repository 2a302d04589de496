/* pki_cert.c: a certificate as sercon-setup decides on it. The fields come
 * from the certificate's own bytes (core/sshkey.c parses them), the
 * signature is verified with the key the certificate names (pki_sig.c),
 * and the callers compare that key with the CAs they trust. Nothing is
 * read from a text listing: a principal may hold any byte but NUL,
 * newlines included, and cannot add fields. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sshkey.h"
#include "core/text.h"
#include "core/xmalloc.h"
#include "setup/pki.h"
#include "setup/pki_sig.h"

#define PKI_CERT_FILE_MAX (64 * 1024)

void
pki_cert_free(struct pki_cert *c)
{
	size_t i;

	free(c->key_line);
	free(c->key_fp);
	free(c->ca_line);
	free(c->ca_fp);
	free(c->key_id);
	for (i = 0; i < c->nprincipals; i++)
		free(c->principals[i]);
	free(c->principals);
	for (i = 0; i < c->noptions; i++)
		free(c->options[i]);
	memset(c, 0, sizeof(*c));
}

/* "TYPE BASE64" of a plain key blob. */
static char *
cert_key_line(const char *type, const unsigned char *blob, size_t len)
{
	char *b64 = sshkey_b64_encode(blob, len), *line;

	line = xasprintf("%s %s", type, b64);
	free(b64);
	return line;
}

/* The data of force-command and source-address: one string. */
static char *
cert_opt_string(const struct sshcert_opt *o)
{
	const unsigned char *f;
	size_t off = 0, flen;

	if (sshkey_wire_string(o->data, o->len, &off, &f, &flen) != 0 ||
	    off != o->len || flen == 0 || memchr(f, '\0', flen) != NULL)
		return NULL;
	return xstrndup((const char *)f, flen);
}

/* One critical option as the ssh-keygen -O argument that makes it. */
static char *
cert_critical_arg(const struct sshcert_opt *o)
{
	char *v, *arg;

	if (strcmp(o->name, "verify-required") == 0 && o->len == 0)
		return xstrdup("verify-required");
	if (strcmp(o->name, "force-command") != 0 &&
	    strcmp(o->name, "source-address") != 0)
		return NULL;
	if ((v = cert_opt_string(o)) == NULL)
		return NULL;
	arg = xasprintf("%s=%s", o->name, v);
	free(v);
	return arg;
}

/* One extension as its -O argument: the standard ones by name, others as
 * extension:NAME[=VALUE]. */
static char *
cert_extension_arg(const struct sshcert_opt *o)
{
	static const char *const known[] = {
		"permit-X11-forwarding", "permit-agent-forwarding",
		"permit-port-forwarding", "permit-pty", "permit-user-rc",
		"no-touch-required", NULL
	};
	char *v = NULL, *arg;
	size_t i;

	if (strchr(o->name, '=') != NULL)
		return NULL;
	for (i = 0; known[i] != NULL; i++)
		if (strcmp(o->name, known[i]) == 0)
			return o->len == 0 ? xstrdup(o->name) : NULL;
	if (o->len != 0 && (v = cert_opt_string(o)) == NULL)
		return NULL;
	arg = xasprintf("extension:%s%s%s", o->name, v != NULL ? "=" : "",
	    v != NULL ? v : "");
	free(v);
	return arg;
}

static int
cert_options(struct pki_cert *c, const struct sshcert *sc, char *err,
    size_t errlen)
{
	size_t i;
	char *arg;

	if (c->is_host) {
		/* sercon issues none, and sshd gives a host certificate's
		 * options no meaning: refuse rather than drop them. */
		if (sc->ncritical != 0 || sc->nextensions != 0) {
			snprintf(err, errlen, "host certificate carries "
			    "options");
			return -1;
		}
		return 0;
	}
	c->options[c->noptions++] = xstrdup("clear");
	for (i = 0; i < sc->ncritical + sc->nextensions; i++) {
		arg = i < sc->ncritical ? cert_critical_arg(&sc->critical[i]) :
		    cert_extension_arg(&sc->extensions[i - sc->ncritical]);
		if (arg == NULL || c->noptions == PKI_MAX_OPTIONS) {
			free(arg);
			snprintf(err, errlen, "certificate option sercon "
			    "cannot reproduce");
			return -1;
		}
		c->options[c->noptions++] = arg;
	}
	return 0;
}

/* The certificate's times: 0 is "since always", the largest value (or
 * anything past time_t) "forever". */
static void
cert_times(struct pki_cert *c, const struct sshcert *sc)
{
	const uint64_t tmax = (uint64_t)INT64_MAX;

	c->valid_from = sc->valid_after > tmax ? (time_t)INT64_MAX :
	    (time_t)sc->valid_after;
	c->valid_to = sc->valid_before >= tmax ? PKI_FOREVER :
	    (time_t)sc->valid_before;
}

static int
cert_fill(struct pki_cert *c, const struct sshcert *sc, char *err,
    size_t errlen)
{
	size_t i;

	c->is_host = sc->cert_type == SSHCERT_HOST;
	c->key_line = cert_key_line(sc->key_type, sc->key, sc->key_len);
	c->ca_line = cert_key_line(sc->ca_type, sc->ca_key, sc->ca_key_len);
	if (pki_fingerprint_line(c->key_line, &c->key_fp, err, errlen) != 0 ||
	    pki_fingerprint_line(c->ca_line, &c->ca_fp, err, errlen) != 0)
		return -1;
	c->key_id = xstrdup(sc->key_id);
	c->serial = sc->serial;
	cert_times(c, sc);
	c->principals = xcalloc(sc->nprincipals + 1, sizeof(*c->principals));
	for (i = 0; i < sc->nprincipals; i++)
		c->principals[c->nprincipals++] = xstrdup(sc->principals[i]);
	return cert_options(c, sc, err, errlen);
}

int
pki_cert_parse(const char *text, size_t len, struct pki_cert *c, char *err,
    size_t errlen)
{
	struct sshcert sc;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (sshcert_parse_text(text, len, &sc, err, errlen) != 0)
		return -1;
	/* A CA never certifies itself into a chain: OpenSSH refuses a
	 * certificate as the signature key, and so does sshkey_blob_check. */
	if (pki_sig_verify(sc.ca_key, sc.ca_key_len, sc.sig, sc.sig_len,
	    sc.signed_data, sc.signed_len, err, errlen) != 0)
		goto out;
	if (cert_fill(c, &sc, err, errlen) != 0) {
		pki_cert_free(c);
		goto out;
	}
	rc = 0;
out:
	sshcert_free(&sc);
	return rc;
}

int
pki_cert_read(const char *path, struct pki_cert *c, char *err, size_t errlen)
{
	char *text, why[256];
	int rc;

	memset(c, 0, sizeof(*c));
	if (pki_read_file(path, PKI_CERT_FILE_MAX, &text, err, errlen) != 0)
		return -1;
	rc = pki_cert_parse(text, strlen(text), c, why, sizeof(why));
	if (rc != 0)
		snprintf(err, errlen, "%s: %s", path, why);
	free(text);
	return rc;
}

bool
pki_cert_has_principals(const struct pki_cert *c, const char *names)
{
	const char *p = names, *comma;
	size_t i, n = 0;

	for (;;) {
		bool found = false;
		size_t len;

		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		for (i = 0; i < c->nprincipals; i++)
			if (strlen(c->principals[i]) == len &&
			    strncmp(c->principals[i], p, len) == 0)
				found = true;
		if (!found)
			return false;
		n++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return n == c->nprincipals;
}

const char *
pki_cert_principals_str(const struct pki_cert *c, char *buf, size_t len)
{
	size_t i, off = 0;
	char safe[256];

	buf[0] = '\0';
	for (i = 0; i < c->nprincipals && off + 1 < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
		    text_safe_buf(safe, sizeof(safe), c->principals[i]));

		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	if (c->nprincipals == 0)
		snprintf(buf, len, "(none)");
	return buf;
}

/* ticket.c: signs requests for the oVirt engine the way its TicketEncoder
 * does (v2 signature only: RSA-PSS with SHA-256; no SHA-1 anywhere), with
 * OpenSSL's EVP interface. See ticket.h. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/xmalloc.h"
#include "manager/ticket.h"

#define TICKET_SALT_LEN 8

struct ticket_signer {
	EVP_PKEY *key;
	char *cert_pem;            /* the certificate, re-encoded as PEM */
};

static void
ticket_ssl_error(char *err, size_t errlen, const char *what,
    const char *path)
{
	char buf[200];
	unsigned long e = ERR_get_error();

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "unknown error");
	ERR_clear_error();
	snprintf(err, errlen, "%s %s: %s", what, path, buf);
}

static X509 *
ticket_read_cert(const char *path, char *err, size_t errlen)
{
	X509 *cert;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "cannot read ticket_certificate %s: %s",
		    path, strerror(errno));
		return NULL;
	}
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (cert == NULL)
		ticket_ssl_error(err, errlen, "no PEM certificate in", path);
	return cert;
}

static EVP_PKEY *
ticket_read_key(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *key;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "cannot read ticket_key %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (key == NULL)
		ticket_ssl_error(err, errlen, "no PEM private key in", path);
	return key;
}

static char *
ticket_cert_pem(X509 *cert)
{
	BIO *bio;
	char *data, *pem = NULL;
	long len;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (PEM_write_bio_X509(bio, cert) == 1 &&
	    (len = BIO_get_mem_data(bio, &data)) > 0) {
		pem = xmalloc((size_t)len + 1);
		memcpy(pem, data, (size_t)len);
		pem[len] = '\0';
	}
	BIO_free(bio);
	return pem;
}

static char *ticket_sign(EVP_PKEY *key, const char *const fields[],
    size_t nfields, char *err, size_t errlen);

/* The certificate carries the engine's ticket EKU. */
static int
ticket_check_eku(X509 *cert, const char *path, char *err, size_t errlen)
{
	EXTENDED_KEY_USAGE *eku;
	char oid[80];
	int i, found = 0;

	if ((eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL,
	    NULL)) != NULL) {
		for (i = 0; i < sk_ASN1_OBJECT_num(eku) && !found; i++)
			found = OBJ_obj2txt(oid, sizeof(oid),
			    sk_ASN1_OBJECT_value(eku, i), 1) > 0 &&
			    !strcmp(oid, TICKET_EKU);
		EXTENDED_KEY_USAGE_free(eku);
	}
	ERR_clear_error();
	if (found)
		return 0;
	snprintf(err, errlen, "ticket_certificate %s lacks the extended key "
	    "usage " TICKET_EKU " that the engine requires of ticket "
	    "certificates: have the engine's CA issue one with it", path);
	return -1;
}

static void
ticket_asn1_time(const ASN1_TIME *t, char *buf, size_t len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int n = 0;

	buf[0] = '\0';
	if (bio != NULL && ASN1_TIME_print(bio, t) == 1 &&
	    (n = BIO_read(bio, buf, (int)len - 1)) > 0)
		buf[n] = '\0';
	BIO_free(bio);
}

/* Valid at now, and a key usage (when there is one) that signs. */
static int
ticket_check_validity(X509 *cert, const char *path, time_t now, char *err,
    size_t errlen)
{
	char when[64];
	uint32_t ku;

	if (X509_cmp_time(X509_get0_notBefore(cert), &now) > 0) {
		ticket_asn1_time(X509_get0_notBefore(cert), when, sizeof(when));
		snprintf(err, errlen, "ticket_certificate %s is not valid "
		    "before %s: check the clocks, or issue it again", path,
		    when);
		return -1;
	}
	if (X509_cmp_time(X509_get0_notAfter(cert), &now) < 0) {
		ticket_asn1_time(X509_get0_notAfter(cert), when, sizeof(when));
		snprintf(err, errlen, "ticket_certificate %s expired on %s: "
		    "have the engine's CA issue a new one", path, when);
		return -1;
	}
	ku = X509_get_key_usage(cert);
	if (ku != UINT32_MAX && (ku & KU_DIGITAL_SIGNATURE) == 0) {
		snprintf(err, errlen, "ticket_certificate %s has a key usage "
		    "without digitalSignature: tickets are signatures", path);
		return -1;
	}
	return 0;
}

/* The key belongs to the certificate and makes the signatures the engine
 * checks (an RSA-PSS key restricted to other parameters would not). */
static int
ticket_check_key(X509 *cert, EVP_PKEY *key, const char *cert_path,
    const char *key_path, char *err, size_t errlen)
{
	const char *probe[1] = { "sercon" };
	char why[256], *sig;

	if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA &&
	    EVP_PKEY_base_id(key) != EVP_PKEY_RSA_PSS) {
		snprintf(err, errlen, "ticket_key %s is not an RSA key (the "
		    "engine verifies RSA-PSS signatures)", key_path);
		return -1;
	}
	if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "ticket_key %s does not belong to "
		    "ticket_certificate %s", key_path, cert_path);
		return -1;
	}
	if ((sig = ticket_sign(key, probe, 1, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "ticket_key %s cannot make RSA-PSS "
		    "SHA-256 signatures (%s): use a plain RSA key of 2048 "
		    "bits or more", key_path, why);
		return -1;
	}
	free(sig);
	return 0;
}

static struct ticket_signer *
ticket_signer_load_at(const char *cert_path, const char *key_path,
    time_t now, char *err, size_t errlen)
{
	struct ticket_signer *s;
	X509 *cert;

	if (cert_path == NULL || key_path == NULL) {
		snprintf(err, errlen, "ticket_certificate and ticket_key must "
		    "be set for backend engine");
		return NULL;
	}
	if ((cert = ticket_read_cert(cert_path, err, errlen)) == NULL)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	if (ticket_check_eku(cert, cert_path, err, errlen) != 0 ||
	    ticket_check_validity(cert, cert_path, now, err, errlen) != 0 ||
	    (s->key = ticket_read_key(key_path, err, errlen)) == NULL ||
	    ticket_check_key(cert, s->key, cert_path, key_path, err,
	    errlen) != 0)
		goto fail;
	if ((s->cert_pem = ticket_cert_pem(cert)) == NULL) {
		snprintf(err, errlen, "cannot encode ticket_certificate %s",
		    cert_path);
		goto fail;
	}
	X509_free(cert);
	return s;
fail:
	X509_free(cert);
	ticket_signer_free(s);
	return NULL;
}

struct ticket_signer *
ticket_signer_load(const char *cert_path, const char *key_path, char *err,
    size_t errlen)
{
	return ticket_signer_load_at(cert_path, key_path, time(NULL), err,
	    errlen);
}

int
ticket_check(const char *cert_path, const char *key_path, time_t now,
    char *err, size_t errlen)
{
	struct ticket_signer *s;

	if ((s = ticket_signer_load_at(cert_path, key_path, now, err,
	    errlen)) == NULL)
		return -1;
	ticket_signer_free(s);
	return 0;
}

void
ticket_signer_free(struct ticket_signer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->key);
	free(s->cert_pem);
	free(s);
}

char *
ticket_b64_encode(const unsigned char *buf, size_t len)
{
	size_t outlen = 4 * ((len + 2) / 3) + 1;
	char *out;

	if (len > 0x3fffffff)
		return NULL;
	out = xmalloc(outlen);
	EVP_EncodeBlock((unsigned char *)out, buf, (int)len);
	return out;
}

static int
ticket_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y%m%d%H%M%S", &tm) != 14)
		return -1;
	return 0;
}

/* RSA-PSS, SHA-256, MGF1 SHA-256, salt as long as the key allows: the
 * parameters the engine's decoder expects of a v2_signature. */
static char *
ticket_sign(EVP_PKEY *key, const char *const fields[], size_t nfields,
    char *err, size_t errlen)
{
	EVP_MD_CTX *md;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig = NULL;
	size_t i, siglen = 0;
	char *out = NULL;

	if ((md = EVP_MD_CTX_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_MAX) != 1)
		goto ssl_fail;
	for (i = 0; i < nfields; i++) {
		if (EVP_DigestSignUpdate(md, fields[i], strlen(fields[i])) != 1)
			goto ssl_fail;
	}
	if (EVP_DigestSignFinal(md, NULL, &siglen) != 1)
		goto ssl_fail;
	sig = xmalloc(siglen);
	if (EVP_DigestSignFinal(md, sig, &siglen) != 1)
		goto ssl_fail;
	if ((out = ticket_b64_encode(sig, siglen)) == NULL)
		snprintf(err, errlen, "the signature is too long");
	free(sig);
	EVP_MD_CTX_free(md);
	return out;
ssl_fail:
	ticket_ssl_error(err, errlen, "cannot sign with", "ticket_key");
	free(sig);
	EVP_MD_CTX_free(md);
	return NULL;
}

static int
ticket_set(json_t *obj, const char *name, const char *value)
{
	return json_object_set_new(obj, name, json_string(value));
}

char *
ticket_encode(const struct ticket_signer *s, const char *data, time_t now,
    char *err, size_t errlen)
{
	unsigned char rnd[TICKET_SALT_LEN];
	char from[32], to[32], *salt = NULL, *sig = NULL, *text = NULL;
	char *out = NULL;
	const char *fields[4];
	json_t *obj = NULL;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		ticket_ssl_error(err, errlen, "no random bytes for", "salt");
		return NULL;
	}
	if (ticket_time(now, from, sizeof(from)) != 0 ||
	    ticket_time(now + TICKET_LIFETIME, to, sizeof(to)) != 0) {
		snprintf(err, errlen, "cannot format the ticket's lifetime");
		return NULL;
	}
	salt = ticket_b64_encode(rnd, sizeof(rnd));
	/* The order of TICKET_SIGNED_FIELDS. */
	fields[0] = salt;
	fields[1] = from;
	fields[2] = to;
	fields[3] = data;
	if ((sig = ticket_sign(s->key, fields, 4, err, errlen)) == NULL)
		goto done;
	if ((obj = json_object()) == NULL ||
	    ticket_set(obj, "salt", salt) != 0 ||
	    ticket_set(obj, "validFrom", from) != 0 ||
	    ticket_set(obj, "validTo", to) != 0 ||
	    ticket_set(obj, "data", data) != 0 ||
	    ticket_set(obj, "signedFields", TICKET_SIGNED_FIELDS) != 0 ||
	    ticket_set(obj, "v2_signature", sig) != 0 ||
	    ticket_set(obj, "certificate", s->cert_pem) != 0 ||
	    (text = json_dumps(obj, JSON_COMPACT)) == NULL) {
		snprintf(err, errlen, "cannot build the ticket (data must be "
		    "UTF-8)");
		goto done;
	}
	if ((out = ticket_b64_encode((unsigned char *)text,
	    strlen(text))) == NULL)
		snprintf(err, errlen, "the ticket is too long");
done:
	json_decref(obj);
	free(text);
	free(sig);
	free(salt);
	return out;
}

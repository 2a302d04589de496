/* test_ticket.c: engine tickets (src/lib/manager/ticket.c). A key and certificate
 * are made here with libcrypto; each ticket is decoded and its signature
 * checked with libcrypto the way the engine's TicketDecoder checks it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "manager/ticket.h"

struct fixture {
	char dir[64];
	char cert[128], key[128], eckey[128], otherkey[128];
	EVP_PKEY *pkey;
	X509 *x509;
};

static EVP_PKEY *
make_key(int type)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(type, NULL);
	EVP_PKEY *k = NULL;

	assert_non_null(c);
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	if (type == EVP_PKEY_RSA)
		assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048), 1);
	else
		assert_int_equal(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(c,
		    NID_X9_62_prime256v1), 1);
	assert_int_equal(EVP_PKEY_keygen(c, &k), 1);
	EVP_PKEY_CTX_free(c);
	return k;
}

static void
write_key(const char *path, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(f);
}

/* Adds extension nid with value (openssl config syntax) to cert. */
static void
add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(cert, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A self-signed certificate of key at path: valid from now + from to
 * now + to seconds, with the extended key usage eku and the key usage ku
 * (NULL: none). */
static void
write_cert(const char *path, EVP_PKEY *key, long from, long to,
    const char *eku, const char *ku)
{
	X509 *x = X509_new();
	X509_NAME *name;
	FILE *f;

	assert_non_null(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 2);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"sercon-test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (eku != NULL)
		add_ext(x, NID_ext_key_usage, eku);
	if (ku != NULL)
		add_ext(x, NID_key_usage, ku);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	X509_free(x);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	EVP_PKEY *other;
	X509_NAME *name;
	FILE *f;

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_ticket.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->cert, sizeof(fx->cert), "%s/cert.pem", fx->dir);
	snprintf(fx->key, sizeof(fx->key), "%s/key.pem", fx->dir);
	snprintf(fx->eckey, sizeof(fx->eckey), "%s/ec.pem", fx->dir);
	snprintf(fx->otherkey, sizeof(fx->otherkey), "%s/other.pem", fx->dir);

	fx->pkey = make_key(EVP_PKEY_RSA);
	fx->x509 = X509_new();
	assert_non_null(fx->x509);
	ASN1_INTEGER_set(X509_get_serialNumber(fx->x509), 1);
	X509_gmtime_adj(X509_getm_notBefore(fx->x509), -60);
	X509_gmtime_adj(X509_getm_notAfter(fx->x509), 3600);
	X509_set_pubkey(fx->x509, fx->pkey);
	name = X509_get_subject_name(fx->x509);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"sercon-test", -1, -1, 0);
	X509_set_issuer_name(fx->x509, name);
	add_ext(fx->x509, NID_ext_key_usage, TICKET_EKU ",clientAuth");
	assert_true(X509_sign(fx->x509, fx->pkey, EVP_sha256()) > 0);
	f = fopen(fx->cert, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, fx->x509), 1);
	fclose(f);
	write_key(fx->key, fx->pkey);
	other = make_key(EVP_PKEY_EC);
	write_key(fx->eckey, other);
	EVP_PKEY_free(other);
	other = make_key(EVP_PKEY_RSA);
	write_key(fx->otherkey, other);
	EVP_PKEY_free(other);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->cert);
	unlink(fx->key);
	unlink(fx->eckey);
	unlink(fx->otherkey);
	rmdir(fx->dir);
	EVP_PKEY_free(fx->pkey);
	X509_free(fx->x509);
	free(fx);
	return 0;
}

static unsigned char *
b64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s);
	unsigned char *out = malloc(n / 4 * 3 + 1);
	int r;

	assert_non_null(out);
	r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	assert_true(r >= 0);
	*len = (size_t)r;
	while (n > 0 && s[n - 1] == '=') {
		(*len)--;
		n--;
	}
	out[*len] = '\0';
	return out;
}

static json_t *
decode_ticket(const char *ticket)
{
	unsigned char *raw;
	json_t *obj;
	size_t len;

	raw = b64_decode(ticket, &len);
	obj = json_loadb((const char *)raw, len, 0, NULL);
	free(raw);
	assert_non_null(obj);
	return obj;
}

static const char *
field(json_t *obj, const char *name)
{
	const char *v = json_string_value(json_object_get(obj, name));

	assert_non_null(v);
	return v;
}

/* What the engine's TicketDecoder does with a v2 ticket: the signed fields'
 * values in order, RSA-PSS SHA-256, MGF1 SHA-256, salt of
 * ceil((bits - 1) / 8) - 32 - 2 bytes. Returns 1 when the signature holds. */
static int
engine_verify(json_t *obj, EVP_PKEY *pub)
{
	char *fields = strdup(field(obj, "signedFields")), *f, *save = NULL;
	int saltlen = (EVP_PKEY_bits(pub) - 1 + 7) / 8 - 32 - 2;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *sig;
	size_t siglen;
	int ok;

	assert_non_null(fields);
	assert_int_equal(EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL,
	    pub), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx,
	    RSA_PKCS1_PSS_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen), 1);
	for (f = strtok_r(fields, ",", &save); f != NULL;
	    f = strtok_r(NULL, ",", &save)) {
		const char *v = field(obj, f);

		assert_int_equal(EVP_DigestVerifyUpdate(md, v, strlen(v)), 1);
	}
	sig = b64_decode(field(obj, "v2_signature"), &siglen);
	ok = EVP_DigestVerifyFinal(md, sig, siglen);
	free(sig);
	free(fields);
	EVP_MD_CTX_free(md);
	return ok;
}

static void
test_encode_verifies(void **state)
{
	struct fixture *fx = *state;
	const char *data = "{\"command\":\"public_keys\",\"version\":1}";
	struct ticket_signer *s;
	unsigned char *salt;
	char err[256], *t;
	json_t *obj;
	size_t n;

	s = ticket_signer_load(fx->cert, fx->key, err, sizeof(err));
	assert_non_null(s);
	/* 2026-01-02 03:04:05 UTC */
	t = ticket_encode(s, data, 1767323045, err, sizeof(err));
	assert_non_null(t);
	assert_null(strchr(t, '\n'));
	obj = decode_ticket(t);
	assert_string_equal(field(obj, "signedFields"),
	    "salt,validFrom,validTo,data");
	assert_string_equal(field(obj, "validFrom"), "20260102030405");
	assert_string_equal(field(obj, "validTo"), "20260102030410");
	/* data travels as a JSON string inside the ticket's JSON */
	assert_string_equal(field(obj, "data"), data);
	salt = b64_decode(field(obj, "salt"), &n);
	assert_int_equal(n, 8);
	free(salt);
	assert_non_null(strstr(field(obj, "certificate"),
	    "-----BEGIN CERTIFICATE-----\n"));
	/* no SHA-1 era fields */
	assert_null(json_object_get(obj, "digest"));
	assert_null(json_object_get(obj, "signature"));
	assert_int_equal(engine_verify(obj, fx->pkey), 1);
	json_decref(obj);
	free(t);
	ticket_signer_free(s);
}

static void
test_certificate_is_ours(void **state)
{
	struct fixture *fx = *state;
	struct ticket_signer *s;
	char err[256], *t;
	const char *pem;
	json_t *obj;
	BIO *bio;
	X509 *x;

	s = ticket_signer_load(fx->cert, fx->key, err, sizeof(err));
	assert_non_null(s);
	t = ticket_encode(s, "{}", 1767323045, err, sizeof(err));
	assert_non_null(t);
	obj = decode_ticket(t);
	pem = field(obj, "certificate");
	bio = BIO_new_mem_buf(pem, (int)strlen(pem));
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	assert_non_null(x);
	assert_int_equal(X509_cmp(x, fx->x509), 0);
	/* and its key verifies the signature */
	assert_int_equal(engine_verify(obj, X509_get0_pubkey(x)), 1);
	X509_free(x);
	BIO_free(bio);
	json_decref(obj);
	free(t);
	ticket_signer_free(s);
}

static void
test_tampered_fails(void **state)
{
	struct fixture *fx = *state;
	struct ticket_signer *s;
	char err[256], *t;
	json_t *obj;

	s = ticket_signer_load(fx->cert, fx->key, err, sizeof(err));
	assert_non_null(s);
	t = ticket_encode(s, "{\"command\":\"available_consoles\","
	    "\"user_id\":\"alice\",\"version\":1}", 1767323045, err,
	    sizeof(err));
	assert_non_null(t);
	obj = decode_ticket(t);
	json_object_set_new(obj, "data", json_string("{\"command\":"
	    "\"available_consoles\",\"user_id\":\"admin\",\"version\":1}"));
	assert_int_not_equal(engine_verify(obj, fx->pkey), 1);
	json_decref(obj);
	obj = decode_ticket(t);
	json_object_set_new(obj, "validTo", json_string("20990101000000"));
	assert_int_not_equal(engine_verify(obj, fx->pkey), 1);
	json_decref(obj);
	free(t);
	ticket_signer_free(s);
}

static void
test_salt_is_random(void **state)
{
	struct fixture *fx = *state;
	struct ticket_signer *s;
	char err[256], *a, *b;
	json_t *oa, *ob;

	s = ticket_signer_load(fx->cert, fx->key, err, sizeof(err));
	assert_non_null(s);
	a = ticket_encode(s, "{}", 1767323045, err, sizeof(err));
	b = ticket_encode(s, "{}", 1767323045, err, sizeof(err));
	assert_non_null(a);
	assert_non_null(b);
	oa = decode_ticket(a);
	ob = decode_ticket(b);
	assert_string_not_equal(field(oa, "salt"), field(ob, "salt"));
	assert_string_not_equal(field(oa, "v2_signature"),
	    field(ob, "v2_signature"));
	json_decref(oa);
	json_decref(ob);
	free(a);
	free(b);
	ticket_signer_free(s);
}

static void
test_bad_keys(void **state)
{
	struct fixture *fx = *state;
	char err[256];

	assert_null(ticket_signer_load(fx->cert, fx->eckey, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "not an RSA key"));
	assert_null(ticket_signer_load(fx->cert, fx->otherkey, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "does not belong"));
	assert_null(ticket_signer_load(fx->key, fx->key, err, sizeof(err)));
	assert_non_null(strstr(err, "no PEM certificate"));
	assert_null(ticket_signer_load(fx->cert, fx->cert, err, sizeof(err)));
	assert_non_null(strstr(err, "no PEM private key"));
	assert_null(ticket_signer_load("/nonexistent/cert.pem", fx->key, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "cannot read ticket_certificate"));
	assert_null(ticket_signer_load(NULL, fx->key, err, sizeof(err)));
	assert_non_null(strstr(err, "must be set"));
}

/* What the engine's decoder would refuse (with HTTP 500, hiding the
 * reason) is refused here, with a message that says what to fix. */
static void
test_certificate_checks(void **state)
{
	struct fixture *fx = *state;
	char path[160], err[512];
	time_t now = time(NULL);

	snprintf(path, sizeof(path), "%s/check.pem", fx->dir);
	assert_int_equal(ticket_check(fx->cert, fx->key, now, err,
	    sizeof(err)), 0);

	write_cert(path, fx->pkey, -60, 3600, "clientAuth", NULL);
	assert_int_equal(ticket_check(path, fx->key, now, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "lacks the extended key usage "
	    TICKET_EKU));
	assert_null(ticket_signer_load(path, fx->key, err, sizeof(err)));
	write_cert(path, fx->pkey, -60, 3600, NULL, NULL);
	assert_int_equal(ticket_check(path, fx->key, now, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, TICKET_EKU));

	write_cert(path, fx->pkey, -7200, -3600, TICKET_EKU, NULL);
	assert_int_equal(ticket_check(path, fx->key, now, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "expired on"));
	/* the same certificate was fine an hour and a half ago */
	assert_int_equal(ticket_check(path, fx->key, now - 5400, err,
	    sizeof(err)), 0);

	write_cert(path, fx->pkey, 3600, 7200, TICKET_EKU, NULL);
	assert_int_equal(ticket_check(path, fx->key, now, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "not valid before"));

	write_cert(path, fx->pkey, -60, 3600, TICKET_EKU, "keyEncipherment");
	assert_int_equal(ticket_check(path, fx->key, now, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "digitalSignature"));
	write_cert(path, fx->pkey, -60, 3600, TICKET_EKU,
	    "digitalSignature");
	assert_int_equal(ticket_check(path, fx->key, now, err, sizeof(err)),
	    0);
	unlink(path);
}

static void
test_non_utf8_data(void **state)
{
	struct fixture *fx = *state;
	struct ticket_signer *s;
	char err[256];

	s = ticket_signer_load(fx->cert, fx->key, err, sizeof(err));
	assert_non_null(s);
	assert_null(ticket_encode(s, "{\"x\":\"\xff\"}", 0, err, sizeof(err)));
	assert_non_null(strstr(err, "UTF-8"));
	ticket_signer_free(s);
}

static void
test_b64(void **state)
{
	char *s;

	s = ticket_b64_encode((const unsigned char *)"", 0);
	assert_string_equal(s, "");
	free(s);
	s = ticket_b64_encode((const unsigned char *)"f", 1);
	assert_string_equal(s, "Zg==");
	free(s);
	s = ticket_b64_encode((const unsigned char *)"foobar", 6);
	assert_string_equal(s, "Zm9vYmFy");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_verifies),
		cmocka_unit_test(test_certificate_is_ours),
		cmocka_unit_test(test_tampered_fails),
		cmocka_unit_test(test_salt_is_random),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_certificate_checks),
		cmocka_unit_test(test_non_utf8_data),
		cmocka_unit_test(test_b64),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

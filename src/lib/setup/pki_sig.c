/* pki_sig.c: OpenSSH signatures checked with libcrypto (see pki_sig.h).
 * The key is rebuilt from its SSH wire fields as an X.509
 * SubjectPublicKeyInfo (the one construction OpenSSL 1.1.1 and 3 share
 * without deprecated calls); the signature follows RFC 8709 (Ed25519),
 * RFC 8332 (RSA SHA-2), RFC 5656 (ECDSA) and PROTOCOL.u2f (security
 * keys). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "core/sshkey.h"
#include "core/xmalloc.h"
#include "setup/pki_sig.h"

/* The wire fields of a key, after its type (at most 3 are used). */
struct sig_key {
	char type[64];
	const unsigned char *f[3];
	size_t flen[3];
	int nf;
};

static int
sig_split(const unsigned char *b, size_t len, struct sig_key *k)
{
	const unsigned char *t;
	size_t off = 0, tlen;

	memset(k, 0, sizeof(*k));
	if (sshkey_wire_string(b, len, &off, &t, &tlen) != 0 ||
	    tlen >= sizeof(k->type))
		return -1;
	memcpy(k->type, t, tlen);
	while (off < len && k->nf < 3) {
		if (sshkey_wire_string(b, len, &off, &k->f[k->nf],
		    &k->flen[k->nf]) != 0)
			return -1;
		k->nf++;
	}
	return off == len ? 0 : -1;
}

static int
sig_starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A DER length of n into out (at most 5 bytes); returns its size. */
static size_t
der_len(size_t n, unsigned char *out)
{
	if (n < 0x80) {
		out[0] = (unsigned char)n;
		return 1;
	}
	if (n < 0x100) {
		out[0] = 0x81;
		out[1] = (unsigned char)n;
		return 2;
	}
	out[0] = 0x82;
	out[1] = (unsigned char)(n >> 8);
	out[2] = (unsigned char)n;
	return 3;
}

/* DER of RSAPublicKey { INTEGER n, INTEGER e } from SSH mpints (which
 * are minimal two's complement big-endian, as DER's integers). */
static unsigned char *
der_rsa(const unsigned char *e, size_t elen, const unsigned char *n,
    size_t nlen, size_t *outlen)
{
	unsigned char hn[4], he[4], hs[4], *out, *p;
	size_t ln, le, ls, body;

	if (nlen == 0 || elen == 0 || nlen > 4096 || elen > 64 ||
	    (n[0] & 0x80) != 0 || (e[0] & 0x80) != 0)
		return NULL;
	ln = der_len(nlen, hn);
	le = der_len(elen, he);
	body = 1 + ln + nlen + 1 + le + elen;
	ls = der_len(body, hs);
	*outlen = 1 + ls + body;
	out = xmalloc(*outlen);
	p = out;
	*p++ = 0x30;
	memcpy(p, hs, ls);
	p += ls;
	*p++ = 0x02;
	memcpy(p, hn, ln);
	p += ln;
	memcpy(p, n, nlen);
	p += nlen;
	*p++ = 0x02;
	memcpy(p, he, le);
	p += le;
	memcpy(p, e, elen);
	return out;
}

/* An EVP_PKEY from an X509_PUBKEY made of an algorithm and its key bits. */
static EVP_PKEY *
sig_spki(int alg_nid, int param_nid, const unsigned char *bits, size_t blen)
{
	X509_PUBKEY *pub = X509_PUBKEY_new();
	unsigned char *enc;
	EVP_PKEY *pkey = NULL;

	if (pub == NULL)
		return NULL;
	if ((enc = OPENSSL_malloc(blen)) == NULL) {
		X509_PUBKEY_free(pub);
		return NULL;
	}
	memcpy(enc, bits, blen);
	/* On success enc belongs to pub. */
	if (X509_PUBKEY_set0_param(pub, OBJ_nid2obj(alg_nid),
	    param_nid == NID_undef ? V_ASN1_NULL : V_ASN1_OBJECT,
	    param_nid == NID_undef ? NULL : OBJ_nid2obj(param_nid), enc,
	    (int)blen) != 1) {
		OPENSSL_free(enc);
		X509_PUBKEY_free(pub);
		return NULL;
	}
	/* Through DER: set0_param does not decode the key, d2i does. */
	{
		unsigned char *der = NULL;
		const unsigned char *q;
		int n = i2d_X509_PUBKEY(pub, &der);

		q = der;
		if (n > 0)
			pkey = d2i_PUBKEY(NULL, &q, n);
		OPENSSL_free(der);
	}
	X509_PUBKEY_free(pub);
	return pkey;
}

static int
sig_curve(const char *type, int *nid, const EVP_MD **md)
{
	if (strstr(type, "nistp256") != NULL) {
		*nid = NID_X9_62_prime256v1;
		*md = EVP_sha256();
	} else if (strstr(type, "nistp384") != NULL) {
		*nid = NID_secp384r1;
		*md = EVP_sha384();
	} else if (strstr(type, "nistp521") != NULL) {
		*nid = NID_secp521r1;
		*md = EVP_sha512();
	} else
		return -1;
	return 0;
}

/* The public key as libcrypto's; *md the digest the key type signs with
 * (NULL for Ed25519). */
static EVP_PKEY *
sig_pkey(const struct sig_key *k, const EVP_MD **md)
{
	int nid;

	*md = NULL;
	if (strcmp(k->type, "ssh-ed25519") == 0 ||
	    strcmp(k->type, "sk-ssh-ed25519@openssh.com") == 0) {
		if (k->nf < 1 || k->flen[0] != 32)
			return NULL;
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
		    k->f[0], 32);
	}
	if (strcmp(k->type, "ssh-rsa") == 0) {
		unsigned char *der;
		size_t dlen;
		EVP_PKEY *pkey;

		if (k->nf != 2 || (der = der_rsa(k->f[0], k->flen[0], k->f[1],
		    k->flen[1], &dlen)) == NULL)
			return NULL;
		pkey = sig_spki(NID_rsaEncryption, NID_undef, der, dlen);
		free(der);
		return pkey;
	}
	if (sig_starts(k->type, "ecdsa-sha2-") ||
	    sig_starts(k->type, "sk-ecdsa-sha2-")) {
		if (k->nf < 2 || sig_curve(k->type, &nid, md) != 0)
			return NULL;
		return sig_spki(NID_X9_62_id_ecPublicKey, nid, k->f[1],
		    k->flen[1]);
	}
	return NULL;
}

/* DER ECDSA-Sig-Value from the SSH (mpint r, mpint s) blob. */
static unsigned char *
sig_ecdsa_der(const unsigned char *b, size_t len, size_t *outlen)
{
	const unsigned char *r, *s;
	size_t off = 0, rlen, slen;
	ECDSA_SIG *es;
	BIGNUM *br, *bs;
	unsigned char *der = NULL;
	int n;

	if (sshkey_wire_string(b, len, &off, &r, &rlen) != 0 ||
	    sshkey_wire_string(b, len, &off, &s, &slen) != 0 || off != len ||
	    rlen == 0 || slen == 0 || rlen > 67 || slen > 67 ||
	    (r[0] & 0x80) != 0 || (s[0] & 0x80) != 0)
		return NULL;
	if ((es = ECDSA_SIG_new()) == NULL)
		return NULL;
	br = BN_bin2bn(r, (int)rlen, NULL);
	bs = BN_bin2bn(s, (int)slen, NULL);
	if (br == NULL || bs == NULL || ECDSA_SIG_set0(es, br, bs) != 1) {
		BN_free(br);
		BN_free(bs);
		ECDSA_SIG_free(es);
		return NULL;
	}
	if ((n = i2d_ECDSA_SIG(es, &der)) > 0)
		*outlen = (size_t)n;
	ECDSA_SIG_free(es);
	return n > 0 ? der : NULL;
}

/* One-shot verification of sig over msg. */
static int
sig_check(EVP_PKEY *pkey, const EVP_MD *md, const unsigned char *sig,
    size_t siglen, const unsigned char *msg, size_t msglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) == 1 &&
	    EVP_DigestVerify(ctx, sig, siglen, msg, msglen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* PROTOCOL.u2f: a security key signs SHA256(application) || flags ||
 * counter || SHA256(message). */
static unsigned char *
sig_sk_message(const struct sig_key *k, const unsigned char *tail,
    const unsigned char *msg, size_t msglen, size_t *outlen)
{
	const unsigned char *app = k->f[k->nf - 1];
	size_t applen = k->flen[k->nf - 1];
	unsigned char *out;

	out = xmalloc(32 + 5 + 32);
	if (EVP_Digest(app, applen, out, NULL, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(msg, msglen, out + 37, NULL, EVP_sha256(),
	    NULL) != 1) {
		free(out);
		return NULL;
	}
	memcpy(out + 32, tail, 5);
	*outlen = 32 + 5 + 32;
	return out;
}

static int
sig_verify(const struct sig_key *k, const unsigned char *sig, size_t siglen,
    const unsigned char *data, size_t datalen, char *err, size_t errlen)
{
	const unsigned char *alg, *s;
	size_t off = 0, alglen, slen, msglen = datalen;
	const unsigned char *msg = data;
	unsigned char *sk_msg = NULL, *der = NULL, *padded = NULL;
	const EVP_MD *md = NULL;
	EVP_PKEY *pkey = NULL;
	int sk = sig_starts(k->type, "sk-"), rc = -1;
	char want[64];

	if (sshkey_wire_string(sig, siglen, &off, &alg, &alglen) != 0 ||
	    sshkey_wire_string(sig, siglen, &off, &s, &slen) != 0 ||
	    off + (sk ? 5 : 0) != siglen) {
		snprintf(err, errlen, "the signature is malformed");
		return -1;
	}
	if (strcmp(k->type, "ssh-rsa") == 0) {
		if (alglen == 12 && memcmp(alg, "rsa-sha2-256", 12) == 0)
			md = EVP_sha256();
		else if (alglen == 12 && memcmp(alg, "rsa-sha2-512", 12) == 0)
			md = EVP_sha512();
		else {
			snprintf(err, errlen, "the RSA signature is not "
			    "rsa-sha2-256 or rsa-sha2-512");
			return -1;
		}
	} else {
		snprintf(want, sizeof(want), "%s", k->type);
		if (alglen != strlen(want) || memcmp(alg, want, alglen) != 0) {
			snprintf(err, errlen, "the signature's algorithm is "
			    "not the key's");
			return -1;
		}
	}
	if (sk && (msg = sk_msg = sig_sk_message(k, sig + off, data, datalen,
	    &msglen)) == NULL)
		goto bad;
	{
		const EVP_MD *kmd;

		if ((pkey = sig_pkey(k, &kmd)) == NULL) {
			snprintf(err, errlen, "the signing key is not usable");
			goto out;
		}
		if (md == NULL)
			md = kmd;
	}
	if (strcmp(k->type, "ssh-rsa") == 0) {
		size_t mod = (size_t)EVP_PKEY_size(pkey);

		/* As OpenSSH: a signature shorter than the modulus is
		 * left-padded with zeros. */
		if (slen > mod)
			goto bad;
		if (slen < mod) {
			padded = xcalloc(1, mod);
			memcpy(padded + mod - slen, s, slen);
			s = padded;
			slen = mod;
		}
	} else if (md != NULL) {            /* ECDSA */
		if ((der = sig_ecdsa_der(s, slen, &slen)) == NULL)
			goto bad;
		s = der;
	} else if (slen != 64)              /* Ed25519 */
		goto bad;
	if (sig_check(pkey, md, s, slen, msg, msglen) != 0)
		goto bad;
	rc = 0;
	goto out;
bad:
	snprintf(err, errlen, "the signature does not verify with the "
	    "signing key");
out:
	EVP_PKEY_free(pkey);
	OPENSSL_free(der);
	free(padded);
	free(sk_msg);
	return rc;
}

int
pki_sig_verify(const unsigned char *key, size_t keylen,
    const unsigned char *sig, size_t siglen, const unsigned char *data,
    size_t datalen, char *err, size_t errlen)
{
	struct sig_key k;
	char *type = NULL;

	if (sshkey_blob_check(key, keylen, &type, err, errlen) != 0)
		return -1;
	free(type);
	if (sig_split(key, keylen, &k) != 0 || k.nf < 1) {
		snprintf(err, errlen, "the signing key is malformed");
		return -1;
	}
	return sig_verify(&k, sig, siglen, data, datalen, err, errlen);
}

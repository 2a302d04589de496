/* test_cert.c: OpenSSH certificates read from their own bytes
 * (core/sshkey.c) and their signatures verified (setup/pki_sig.c,
 * setup/pki_cert.c). Certificates come from two places: ssh-keygen at test
 * time (every CA key type sercon signs with), and a builder here that
 * writes hostile blobs byte by byte and signs them with a key made by
 * libcrypto: a principal that carries a whole forged listing, repeated
 * names, a NUL, truncation at every length, trailing bytes, a signature
 * from another key, an RSA SHA-1 signature. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/sshkey.h"
#include "setup/pki.h"
#include "setup/pki_sig.h"

/* A growing byte buffer in SSH wire format. */
struct wbuf {
	unsigned char *p;
	size_t len, cap;
};

static void
put(struct wbuf *b, const void *d, size_t n)
{
	if (n == 0)
		return;
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void
put_u32(struct wbuf *b, uint32_t v)
{
	unsigned char x[4] = { v >> 24, v >> 16, v >> 8, v };

	put(b, x, 4);
}

static void
put_u64(struct wbuf *b, uint64_t v)
{
	put_u32(b, (uint32_t)(v >> 32));
	put_u32(b, (uint32_t)v);
}

static void
put_str(struct wbuf *b, const void *d, size_t n)
{
	put_u32(b, (uint32_t)n);
	put(b, d, n);
}

static void
put_cstr(struct wbuf *b, const char *s)
{
	put_str(b, s, strlen(s));
}

static EVP_PKEY *
ed_new(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *k = NULL;

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_keygen(ctx, &k), 1);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static void
ed_raw(EVP_PKEY *k, unsigned char pub[32])
{
	size_t n = 32;

	assert_int_equal(EVP_PKEY_get_raw_public_key(k, pub, &n), 1);
	assert_int_equal(n, 32);
}

/* "ssh-ed25519" key blob of k. */
static void
ed_blob(struct wbuf *b, EVP_PKEY *k)
{
	unsigned char pub[32];

	ed_raw(k, pub);
	put_cstr(b, "ssh-ed25519");
	put_str(b, pub, 32);
}

/* An "ssh-ed25519" signature blob by k over data. */
static void
ed_sign(struct wbuf *b, EVP_PKEY *k, const unsigned char *data, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[64];
	size_t n = sizeof(sig);
	struct wbuf s = { 0 };

	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &n, data, len), 1);
	EVP_MD_CTX_free(ctx);
	put_cstr(&s, "ssh-ed25519");
	put_str(&s, sig, n);
	put_str(b, s.p, s.len);
	free(s.p);
}

/* What the builder writes. Strings are (bytes, length) so that a NUL can
 * be written. */
struct spec {
	uint32_t type;
	const char *princ[4];
	size_t plen[4];
	size_t nprinc;
	const char *ext[4];
	size_t next;
	EVP_PKEY *ca;               /* the key the certificate names */
	EVP_PKEY *signer;           /* the key that signs (NULL: ca) */
	bool trailing;
};

static EVP_PKEY *subject_key;
static EVP_PKEY *ca_key, *other_ca_key;

static void
spec_init(struct spec *s, uint32_t type)
{
	memset(s, 0, sizeof(*s));
	s->type = type;
	s->princ[0] = "sercon-proxy";
	s->plen[0] = strlen(s->princ[0]);
	s->nprinc = 1;
	s->ext[0] = "permit-pty";
	s->next = type == SSHCERT_USER ? 1 : 0;
	s->ca = ca_key;
}

static void
build(const struct spec *s, struct wbuf *out)
{
	struct wbuf p = { 0 }, e = { 0 }, ca = { 0 };
	unsigned char pub[32];
	size_t i;

	ed_raw(subject_key, pub);
	put_cstr(out, "ssh-ed25519-cert-v01@openssh.com");
	put_str(out, "0123456789abcdef0123456789abcdef", 32);   /* nonce */
	put_str(out, pub, 32);
	put_u64(out, 7);                                      /* serial */
	put_u32(out, s->type);
	put_cstr(out, "test id");
	for (i = 0; i < s->nprinc; i++)
		put_str(&p, s->princ[i], s->plen[i]);
	put_str(out, p.p, p.len);
	put_u64(out, 0);                                      /* after */
	put_u64(out, UINT64_MAX);                             /* before */
	put_str(out, "", 0);                                  /* critical */
	for (i = 0; i < s->next; i++) {
		put_cstr(&e, s->ext[i]);
		put_str(&e, "", 0);
	}
	put_str(out, e.p, e.len);
	put_str(out, "", 0);                                  /* reserved */
	ed_blob(&ca, s->ca);
	put_str(out, ca.p, ca.len);
	ed_sign(out, s->signer != NULL ? s->signer : s->ca, out->p, out->len);
	if (s->trailing)
		put(out, "\0\0\0\0", 4);
	free(p.p);
	free(e.p);
	free(ca.p);
}

/* The certificate line of a blob. */
static char *
cert_text(const struct wbuf *b)
{
	char *b64 = sshkey_b64_encode(b->p, b->len), *line;
	size_t n = strlen(b64) + 64;

	line = malloc(n);
	assert_non_null(line);
	snprintf(line, n, "ssh-ed25519-cert-v01@openssh.com %s comment\n", b64);
	free(b64);
	return line;
}

/* The "TYPE BASE64" line of an Ed25519 key. */
static char *
key_line(EVP_PKEY *k)
{
	struct wbuf b = { 0 };
	char *b64, *line;

	ed_blob(&b, k);
	b64 = sshkey_b64_encode(b.p, b.len);
	line = malloc(strlen(b64) + 16);
	assert_non_null(line);
	sprintf(line, "ssh-ed25519 %s", b64);
	free(b64);
	free(b.p);
	return line;
}

static int
group_setup(void **state)
{
	(void)state;
	subject_key = ed_new();
	ca_key = ed_new();
	other_ca_key = ed_new();
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(subject_key);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_ca_key);
	return 0;
}

/* Parses through pki_cert_parse; returns its result, c filled on 0. */
static int
parse_spec(const struct spec *s, struct pki_cert *c, char *err, size_t elen)
{
	struct wbuf b = { 0 };
	char *text;
	int rc;

	build(s, &b);
	text = cert_text(&b);
	rc = pki_cert_parse(text, strlen(text), c, err, elen);
	free(text);
	free(b.p);
	return rc;
}

static void
test_built_cert_is_read(void **state)
{
	struct spec s;
	struct pki_cert c;
	char err[256], *ca = key_line(ca_key), *k = key_line(subject_key);

	(void)state;
	spec_init(&s, SSHCERT_USER);
	if (parse_spec(&s, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_false(c.is_host);
	assert_string_equal(c.ca_line, ca);
	assert_string_equal(c.key_line, k);
	assert_string_equal(c.key_id, "test id");
	assert_int_equal(c.serial, 7);
	assert_true(c.valid_to == PKI_FOREVER);
	assert_int_equal(c.valid_from, 0);
	assert_true(pki_cert_has_principals(&c, "sercon-proxy"));
	assert_int_equal(c.noptions, 2);
	assert_string_equal(c.options[0], "clear");
	assert_string_equal(c.options[1], "permit-pty");
	pki_cert_free(&c);
	free(ca);
	free(k);
}

/* The attack on the text listing: a certificate of an untrusted CA whose
 * principal holds the lines a trusted host certificate would print. Read
 * from its bytes it stays a user certificate of the untrusted CA, with one
 * principal that holds newlines. */
static void
test_principal_newline_is_data(void **state)
{
	static const char forged[] = "sercon-proxy\n"
	    "        Type: ssh-ed25519-cert-v01@openssh.com host certificate\n"
	    "        Signing CA: ED25519 SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAA (using ssh-ed25519)\n"
	    "        Principals: \n"
	    "                sercon-proxy";
	struct spec s;
	struct pki_cert c;
	char err[256], *trusted = key_line(ca_key), buf[512];

	(void)state;
	spec_init(&s, SSHCERT_USER);
	s.princ[0] = forged;
	s.plen[0] = strlen(forged);
	s.ca = other_ca_key;
	assert_int_equal(parse_spec(&s, &c, err, sizeof(err)), 0);
	assert_false(c.is_host);
	assert_string_not_equal(c.ca_line, trusted);
	assert_int_equal(c.nprincipals, 1);
	assert_string_equal(c.principals[0], forged);
	assert_false(pki_cert_has_principals(&c, "sercon-proxy"));
	/* printed escaped, on one line */
	pki_cert_principals_str(&c, buf, sizeof(buf));
	assert_null(strchr(buf, '\n'));
	pki_cert_free(&c);
	free(trusted);
}

static void
expect_refused(const struct spec *s, const char *why)
{
	struct pki_cert c;
	char err[256] = "";

	assert_int_equal(parse_spec(s, &c, err, sizeof(err)), -1);
	assert_null(c.ca_line);
	assert_null(c.principals);
	if (strstr(err, why) == NULL)
		fail_msg("error '%s' lacks '%s'", err, why);
}

static void
test_hostile_fields_refused(void **state)
{
	struct spec s;

	(void)state;
	spec_init(&s, SSHCERT_USER);
	s.ext[1] = "permit-pty";               /* a name twice */
	s.next = 2;
	expect_refused(&s, "repeat");
	spec_init(&s, SSHCERT_USER);
	s.princ[0] = "sercon-proxy\0evil";     /* a NUL */
	s.plen[0] = 17;
	expect_refused(&s, "NUL");
	spec_init(&s, SSHCERT_USER);
	s.trailing = true;
	expect_refused(&s, "trailing");
	spec_init(&s, 3);                      /* neither user nor host */
	expect_refused(&s, "neither");
	spec_init(&s, SSHCERT_USER);
	s.signer = other_ca_key;               /* names one CA, signed by another */
	expect_refused(&s, "does not verify");
	spec_init(&s, SSHCERT_HOST);
	s.ext[0] = "permit-pty";               /* a host certificate with options */
	s.next = 1;
	expect_refused(&s, "options");
}

/* A repeated extension is refused without a leak (ASan and valgrind run
 * this test); so is every other early exit. */
static void
test_repeat_at_every_position(void **state)
{
	struct spec s;

	(void)state;
	spec_init(&s, SSHCERT_USER);
	s.ext[0] = "permit-X11-forwarding";
	s.ext[1] = "permit-pty";
	s.ext[2] = "permit-X11-forwarding";
	s.next = 3;
	expect_refused(&s, "repeat");
}

/* Every prefix of a good certificate is refused, never read past. */
static void
test_truncated_at_every_length(void **state)
{
	struct spec s;
	struct wbuf b = { 0 };
	struct sshcert sc;
	char err[256];
	size_t n;

	(void)state;
	spec_init(&s, SSHCERT_HOST);
	build(&s, &b);
	assert_int_equal(sshcert_parse(b.p, b.len, &sc, err, sizeof(err)), 0);
	assert_int_equal(sc.cert_type, SSHCERT_HOST);
	sshcert_free(&sc);
	for (n = 0; n < b.len; n++) {
		unsigned char *copy = malloc(n + 1);

		assert_non_null(copy);
		memcpy(copy, b.p, n);
		assert_int_equal(sshcert_parse(copy, n, &sc, err, sizeof(err)),
		    -1);
		assert_null(sc.type);
		free(copy);
	}
	free(b.p);
}

/* Each signed byte counts: flipping any one breaks the signature (or the
 * shape). */
static void
test_every_byte_is_signed(void **state)
{
	struct spec s;
	struct wbuf b = { 0 };
	struct pki_cert c;
	char err[256], *text;
	size_t i;

	(void)state;
	spec_init(&s, SSHCERT_USER);
	build(&s, &b);
	for (i = 0; i < b.len; i += 3) {
		b.p[i] ^= 0x01;
		text = cert_text(&b);
		assert_int_equal(pki_cert_parse(text, strlen(text), &c, err,
		    sizeof(err)), -1);
		free(text);
		b.p[i] ^= 0x01;
	}
	free(b.p);
}

static void
test_text_shape(void **state)
{
	struct spec s;
	struct wbuf b = { 0 };
	struct sshcert sc;
	char err[256], *text, *two;
	size_t n;

	(void)state;
	spec_init(&s, SSHCERT_USER);
	build(&s, &b);
	text = cert_text(&b);
	assert_int_equal(sshcert_parse_text(text, strlen(text), &sc, err,
	    sizeof(err)), 0);
	sshcert_free(&sc);
	/* the type word must be the blob's */
	text[4] = 'r';
	text[5] = 's';
	text[6] = 'a';
	assert_int_equal(sshcert_parse_text(text, strlen(text), &sc, err,
	    sizeof(err)), -1);
	text[4] = 'e';
	text[5] = 'd';
	text[6] = '2';
	/* two lines */
	n = strlen(text) * 2 + 1;
	two = malloc(n);
	assert_non_null(two);
	snprintf(two, n, "%s%s", text, text);
	assert_int_equal(sshcert_parse_text(two, strlen(two), &sc, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "one line"));
	/* a NUL inside */
	assert_int_equal(sshcert_parse_text(text, strlen(text) + 1, &sc, err,
	    sizeof(err)), -1);
	/* a plain key is no certificate */
	assert_int_equal(sshcert_parse_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"
	    "AAAAILRDQrSy8ckPfUNwKPSRWRCq0jCXBYzL1UsG0y/FFcAA", 80, &sc, err,
	    sizeof(err)), -1);
	free(two);
	free(text);
	free(b.p);
}

/* ssh-keygen at test time. */
static char tmpdir[64];

static void
run(const char *const *argv)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("%s %s failed", argv[0], argv[1]);
}

static void
keygen(const char *name, const char *type, const char *bits)
{
	char path[128], pub[140];
	const char *argv[] = { SSH_KEYGEN_PATH, "-q", "-t", type, "-N", "",
	    "-f", path, bits != NULL ? "-b" : NULL, bits, NULL };

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	snprintf(pub, sizeof(pub), "%s.pub", path);
	unlink(path);
	unlink(pub);
	run(argv);
}

/* Signs key.pub with the CA named ca (alg: ssh-keygen -t, or NULL) as a
 * host certificate for principals, and reads it back. */
static int
keygen_cert(const char *ca, const char *alg, const char *principals,
    struct pki_cert *c, char *err, size_t errlen)
{
	char capath[128], pub[128], cert[128];
	const char *argv[16];
	size_t n = 0;

	snprintf(capath, sizeof(capath), "%s/%s", tmpdir, ca);
	snprintf(pub, sizeof(pub), "%s/key.pub", tmpdir);
	snprintf(cert, sizeof(cert), "%s/key-cert.pub", tmpdir);
	argv[n++] = SSH_KEYGEN_PATH;
	argv[n++] = "-q";
	argv[n++] = "-s";
	argv[n++] = capath;
	if (alg != NULL) {
		argv[n++] = "-t";
		argv[n++] = alg;
	}
	argv[n++] = "-I";
	argv[n++] = "id";
	argv[n++] = "-h";
	argv[n++] = "-n";
	argv[n++] = principals;
	argv[n++] = pub;
	argv[n] = NULL;
	unlink(cert);
	run(argv);
	return pki_cert_read(cert, c, err, errlen);
}

static int
keygen_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_cert.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
keygen_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Every CA type sercon may meet, signing as ssh-keygen does: the
 * signature verifies, and the CA read from the certificate is the CA. */
static void
test_keygen_every_ca_type(void **state)
{
	static const struct {
		const char *type, *bits, *alg;
	} cas[] = {
		{ "ed25519", NULL, NULL },
		{ "rsa", "2048", "rsa-sha2-512" },
		{ "rsa", "2048", "rsa-sha2-256" },
		{ "ecdsa", "256", NULL },
		{ "ecdsa", "384", NULL },
		{ "ecdsa", "521", NULL },
	};
	char err[256], path[160], *want;
	struct pki_cert c;
	size_t i;

	(void)state;
	keygen("key", "ed25519", NULL);
	for (i = 0; i < sizeof(cas) / sizeof(cas[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "ca%zu", i);
		keygen(name, cas[i].type, cas[i].bits);
		if (keygen_cert(name, cas[i].alg, "a.example,b", &c, err,
		    sizeof(err)) != 0)
			fail_msg("CA %s %s: %s", cas[i].type,
			    cas[i].bits != NULL ? cas[i].bits : "", err);
		snprintf(path, sizeof(path), "%s/%s.pub", tmpdir, name);
		assert_int_equal(pki_pubkey_read(path, &want, err,
		    sizeof(err)), 0);
		assert_string_equal(c.ca_line, want);
		assert_true(c.is_host);
		assert_true(pki_cert_has_principals(&c, "b,a.example"));
		free(want);
		pki_cert_free(&c);
	}
}

/* OpenSSH no longer accepts SHA-1 RSA signatures on certificates, nor
 * does sercon. */
static void
test_keygen_rsa_sha1_refused(void **state)
{
	char err[256];
	struct pki_cert c;

	(void)state;
	keygen("rsaca", "rsa", "2048");
	assert_int_equal(keygen_cert("rsaca", "ssh-rsa", "a", &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "rsa-sha2"));
}

/* The injection through ssh-keygen itself: it writes the principal as
 * given, newlines and all. */
static void
test_keygen_principal_newline(void **state)
{
	char err[256];
	struct pki_cert c;

	(void)state;
	keygen("key", "ed25519", NULL);
	keygen("evilca", "ed25519", NULL);
	assert_int_equal(keygen_cert("evilca", NULL, "x\n        Principals: "
	    "\n                good.example", &c, err, sizeof(err)), 0);
	assert_int_equal(c.nprincipals, 1);
	assert_non_null(strchr(c.principals[0], '\n'));
	assert_false(pki_cert_has_principals(&c, "good.example"));
	pki_cert_free(&c);
}

/* The signature checker on its own: a good Ed25519 signature, then the
 * same with another message, another key, another algorithm name. */
static void
test_sig_verify_direct(void **state)
{
	struct wbuf key = { 0 }, sig = { 0 }, okey = { 0 };
	const unsigned char msg[] = "message";
	char err[256];
	size_t off = 0, slen;
	const unsigned char *s;

	(void)state;
	ed_blob(&key, ca_key);
	ed_blob(&okey, other_ca_key);
	ed_sign(&sig, ca_key, msg, sizeof(msg));
	/* ed_sign wrapped the blob in a string: unwrap it */
	assert_int_equal(sshkey_wire_string(sig.p, sig.len, &off, &s, &slen),
	    0);
	assert_int_equal(pki_sig_verify(key.p, key.len, s, slen, msg,
	    sizeof(msg), err, sizeof(err)), 0);
	assert_int_equal(pki_sig_verify(key.p, key.len, s, slen, msg,
	    sizeof(msg) - 1, err, sizeof(err)), -1);
	assert_int_equal(pki_sig_verify(okey.p, okey.len, s, slen, msg,
	    sizeof(msg), err, sizeof(err)), -1);
	assert_int_equal(pki_sig_verify(key.p, key.len - 1, s, slen, msg,
	    sizeof(msg), err, sizeof(err)), -1);
	free(key.p);
	free(okey.p);
	free(sig.p);
}

/* A security-key Ed25519 signature (PROTOCOL.u2f): the key signs
 * SHA256(application) || flags || counter || SHA256(message), and the
 * blob carries flags and counter after the signature. Made here with a
 * plain Ed25519 key standing for the token. */
static void
test_sig_verify_sk_ed25519(void **state)
{
	static const char app[] = "ssh:";
	const unsigned char msg[] = "certificate bytes";
	const unsigned char tail[5] = { 0x01, 0, 0, 0, 42 };  /* UP, counter */
	unsigned char pub[32], signed_data[32 + 5 + 32], sig[64];
	struct wbuf key = { 0 }, blob = { 0 };
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = sizeof(sig);
	char err[256];

	(void)state;
	ed_raw(ca_key, pub);
	put_cstr(&key, "sk-ssh-ed25519@openssh.com");
	put_str(&key, pub, 32);
	put_cstr(&key, app);
	assert_int_equal(EVP_Digest(app, strlen(app), signed_data, NULL,
	    EVP_sha256(), NULL), 1);
	memcpy(signed_data + 32, tail, 5);
	assert_int_equal(EVP_Digest(msg, sizeof(msg), signed_data + 37, NULL,
	    EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, ca_key), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &n, signed_data,
	    sizeof(signed_data)), 1);
	EVP_MD_CTX_free(ctx);
	put_cstr(&blob, "sk-ssh-ed25519@openssh.com");
	put_str(&blob, sig, n);
	put(&blob, tail, 5);
	assert_int_equal(pki_sig_verify(key.p, key.len, blob.p, blob.len, msg,
	    sizeof(msg), err, sizeof(err)), 0);
	/* the counter is signed too */
	blob.p[blob.len - 1] ^= 1;
	assert_int_equal(pki_sig_verify(key.p, key.len, blob.p, blob.len, msg,
	    sizeof(msg), err, sizeof(err)), -1);
	/* and a plain Ed25519 signature does not pass for a security key's */
	assert_int_equal(pki_sig_verify(key.p, key.len, blob.p, blob.len - 5,
	    msg, sizeof(msg), err, sizeof(err)), -1);
	free(key.p);
	free(blob.p);
}

/* An SSH mpint from a big-endian magnitude. */
static void
put_mpint(struct wbuf *b, const unsigned char *m, size_t n)
{
	while (n > 0 && m[0] == 0) {
		m++;
		n--;
	}
	if (n > 0 && (m[0] & 0x80) != 0) {
		put_u32(b, (uint32_t)n + 1);
		put(b, "", 1);
		put(b, m, n);
	} else
		put_str(b, m, n);
}

/* A security-key ECDSA P-256 signature: ECDSA-SHA256 over the same
 * construction, (mpint r, mpint s) as the signature string. */
static void
test_sig_verify_sk_ecdsa(void **state)
{
	static const char app[] = "ssh:";
	const unsigned char msg[] = "certificate bytes";
	const unsigned char tail[5] = { 0x05, 0, 0, 1, 0 };
	unsigned char signed_data[32 + 5 + 32], der[160], *p, rb[66], sb[66];
	const unsigned char *q;
	struct wbuf key = { 0 }, blob = { 0 }, rs = { 0 };
	EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY *ec = NULL;
	ECDSA_SIG *es;
	const BIGNUM *r, *sv;
	size_t n = sizeof(der);
	int dlen, rl, sl;
	char err[256];

	(void)state;
	assert_int_equal(EVP_PKEY_keygen_init(kctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kctx,
	    NID_X9_62_prime256v1), 1);
	assert_int_equal(EVP_PKEY_keygen(kctx, &ec), 1);
	EVP_PKEY_CTX_free(kctx);
	/* the uncompressed point closes the SubjectPublicKeyInfo */
	p = der;
	dlen = i2d_PUBKEY(ec, &p);
	assert_true(dlen > 65);
	put_cstr(&key, "sk-ecdsa-sha2-nistp256@openssh.com");
	put_cstr(&key, "nistp256");
	put_str(&key, der + dlen - 65, 65);
	put_cstr(&key, app);
	assert_int_equal(EVP_Digest(app, strlen(app), signed_data, NULL,
	    EVP_sha256(), NULL), 1);
	memcpy(signed_data + 32, tail, 5);
	assert_int_equal(EVP_Digest(msg, sizeof(msg), signed_data + 37, NULL,
	    EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, ec),
	    1);
	assert_int_equal(EVP_DigestSign(ctx, der, &n, signed_data,
	    sizeof(signed_data)), 1);
	EVP_MD_CTX_free(ctx);
	q = der;
	assert_non_null(es = d2i_ECDSA_SIG(NULL, &q, (long)n));
	ECDSA_SIG_get0(es, &r, &sv);
	rl = BN_bn2bin(r, rb);
	sl = BN_bn2bin(sv, sb);
	put_mpint(&rs, rb, (size_t)rl);
	put_mpint(&rs, sb, (size_t)sl);
	ECDSA_SIG_free(es);
	put_cstr(&blob, "sk-ecdsa-sha2-nistp256@openssh.com");
	put_str(&blob, rs.p, rs.len);
	put(&blob, tail, 5);
	assert_int_equal(pki_sig_verify(key.p, key.len, blob.p, blob.len, msg,
	    sizeof(msg), err, sizeof(err)), 0);
	blob.p[blob.len - 5] ^= 4;             /* the flags are signed */
	assert_int_equal(pki_sig_verify(key.p, key.len, blob.p, blob.len, msg,
	    sizeof(msg), err, sizeof(err)), -1);
	EVP_PKEY_free(ec);
	free(key.p);
	free(blob.p);
	free(rs.p);
}

int
main(void)
{
	const struct CMUnitTest built[] = {
		cmocka_unit_test(test_built_cert_is_read),
		cmocka_unit_test(test_principal_newline_is_data),
		cmocka_unit_test(test_hostile_fields_refused),
		cmocka_unit_test(test_repeat_at_every_position),
		cmocka_unit_test(test_truncated_at_every_length),
		cmocka_unit_test(test_every_byte_is_signed),
		cmocka_unit_test(test_text_shape),
		cmocka_unit_test(test_sig_verify_direct),
		cmocka_unit_test(test_sig_verify_sk_ed25519),
		cmocka_unit_test(test_sig_verify_sk_ecdsa),
	};
	const struct CMUnitTest keygen_made[] = {
		cmocka_unit_test(test_keygen_every_ca_type),
		cmocka_unit_test(test_keygen_rsa_sha1_refused),
		cmocka_unit_test(test_keygen_principal_newline),
	};
	int rc;

	rc = cmocka_run_group_tests(built, group_setup, group_teardown);
	rc |= cmocka_run_group_tests(keygen_made, keygen_setup,
	    keygen_teardown);
	return rc;
}

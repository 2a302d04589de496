/* test_pki.c: the PKI layer of sercon-setup (src/lib/setup/pki.c): parsing of
 * `ssh-keygen -L` listings, argument validation, and a real round trip
 * through ssh-keygen (key, CA, certificate, read back). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "core/atomic.h"
#include "setup/pki.h"

static const char user_listing[] =
"k-cert.pub:\n"
"        Type: ssh-ed25519-cert-v01@openssh.com user certificate\n"
"        Public key: ED25519-CERT SHA256:gxKYgN8GlGm9J6aHyx1lFIfE4jKN4+OS8iJMt5yvgyw\n"
"        Signing CA: ED25519 SHA256:b3BwbP2Gd/oqQnxXVYA5dz5NUM91Zylhp6spNJ/RHqs (using ssh-ed25519)\n"
"        Key ID: \"my id\"\n"
"        Serial: 5\n"
"        Valid: from 2026-11-22T05:57:05 to 2027-11-22T06:57:05\n"
"        Principals: \n"
"                sercon-proxy\n"
"                b\n"
"        Critical Options: \n"
"                force-command /bin/echo hi there\n"
"                source-address 127.0.0.1/32,::1\n"
"        Extensions: \n"
"                permit-pty\n";

static const char host_listing[] =
"k-cert.pub:\n"
"        Type: ssh-ed25519-cert-v01@openssh.com host certificate\n"
"        Public key: ED25519-CERT SHA256:gxKYgN8GlGm9J6aHyx1lFIfE4jKN4+OS8iJMt5yvgyw\n"
"        Signing CA: RSA SHA256:b3BwbP2Gd/oqQnxXVYA5dz5NUM91Zylhp6spNJ/RHqs (using rsa-sha2-512)\n"
"        Key ID: \"x\"\n"
"        Serial: 0\n"
"        Valid: forever\n"
"        Principals: \n"
"                a.example\n"
"        Critical Options: (none)\n"
"        Extensions: (none)\n";

static void
test_parse_user(void **state)
{
	struct pki_cert c;
	char err[128];

	assert_int_equal(pki_cert_parse(user_listing, &c, err, sizeof(err)), 0);
	assert_false(c.is_host);
	assert_string_equal(c.key_fp,
	    "SHA256:gxKYgN8GlGm9J6aHyx1lFIfE4jKN4+OS8iJMt5yvgyw");
	assert_string_equal(c.ca_fp,
	    "SHA256:b3BwbP2Gd/oqQnxXVYA5dz5NUM91Zylhp6spNJ/RHqs");
	assert_string_equal(c.key_id, "my id");
	assert_int_equal(c.serial, 5);
	assert_int_equal(c.valid_from, 1795327025);     /* 2026-11-22 05:57:05 */
	assert_int_equal(c.valid_to, 1826866625);       /* 2027-11-22 06:57:05 */
	assert_int_equal(c.nprincipals, 2);
	assert_string_equal(c.principals[0], "sercon-proxy");
	assert_true(pki_cert_has_principals(&c, "b,sercon-proxy"));
	assert_false(pki_cert_has_principals(&c, "sercon-proxy"));
	assert_int_equal(c.noptions, 4);
	assert_string_equal(c.options[0], "clear");
	assert_string_equal(c.options[1], "force-command=/bin/echo hi there");
	assert_string_equal(c.options[2], "source-address=127.0.0.1/32,::1");
	assert_string_equal(c.options[3], "permit-pty");
	pki_cert_free(&c);
}

static void
test_parse_host_forever(void **state)
{
	struct pki_cert c;
	char err[128];

	assert_int_equal(pki_cert_parse(host_listing, &c, err, sizeof(err)), 0);
	assert_true(c.is_host);
	assert_int_equal(c.valid_from, 0);
	assert_true(c.valid_to == PKI_FOREVER);
	assert_int_equal(c.noptions, 0);
	assert_true(pki_cert_has_principals(&c, "a.example"));
	pki_cert_free(&c);
}

/* A listing with one line changed is refused, never half-read. */
static void
expect_refused(const char *from, const char *to)
{
	struct pki_cert c;
	char err[128], *text, *at;
	size_t n = strlen(user_listing) + strlen(to) + 1;

	text = malloc(n);
	assert_non_null(text);
	at = strstr(user_listing, from);
	assert_non_null(at);
	snprintf(text, n, "%.*s%s%s", (int)(at - user_listing), user_listing,
	    to, at + strlen(from));
	assert_int_equal(pki_cert_parse(text, &c, err, sizeof(err)), -1);
	assert_null(c.key_fp);
	assert_int_equal(c.nprincipals, 0);
	free(text);
}

static void
test_parse_refuses(void **state)
{
	expect_refused("user certificate", "odd certificate");
	expect_refused("SHA256:gxKY", "MD5:gxKY");
	expect_refused("\"my id\"", "my id");
	expect_refused("Serial: 5", "Serial: x5");
	expect_refused("from 2026-11-22T05:57:05", "from yesterday");
	expect_refused("sercon-proxy\n", "bad\x01principal\n");
}

static void
test_parse_refuses_unknown(void **state)
{
	expect_refused("source-address 127.0.0.1/32,::1",
	    "UNKNOWN OPTION 0000");
	expect_refused("        Key ID", "        Kay ID");
	expect_refused("        Valid:", "        Serial: 1\n        Velid:");
	expect_refused("Valid: from 2026-11-22T05:57:05 to "
	    "2027-11-22T06:57:05\n", "");
}

static void
test_validity(void **state)
{
	char out[64], err[128];

	assert_int_equal(pki_validity_arg(NULL, out, sizeof(out), err,
	    sizeof(err)), 0);
	assert_string_equal(out, "-1h:+365d");
	assert_int_equal(pki_validity_arg("90d", out, sizeof(out), err,
	    sizeof(err)), 0);
	assert_string_equal(out, "-1h:+90d");
	assert_int_equal(pki_validity_arg("-5m:+1d", out, sizeof(out), err,
	    sizeof(err)), 0);
	assert_string_equal(out, "-5m:+1d");
	assert_int_equal(pki_validity_arg("1d; rm", out, sizeof(out), err,
	    sizeof(err)), -1);
	assert_int_equal(pki_validity_arg(":1d", out, sizeof(out), err,
	    sizeof(err)), -1);
}

static void
test_names(void **state)
{
	char err[128];

	assert_int_equal(pki_check_names("a.example,b,127.0.0.1", err,
	    sizeof(err)), 0);
	assert_int_equal(pki_check_names("", err, sizeof(err)), -1);
	assert_int_equal(pki_check_names("a,,b", err, sizeof(err)), -1);
	assert_int_equal(pki_check_names("-oProxyCommand=x", err,
	    sizeof(err)), -1);
	assert_int_equal(pki_check_names("a b", err, sizeof(err)), -1);
}

static void
test_pubkey_norm(void **state)
{
	char *line, err[128];

	assert_int_equal(pki_pubkey_norm("  ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"
	    "AAAAIB3  comment here\n", &line, err, sizeof(err)), 0);
	assert_string_equal(line, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB3");
	free(line);
	assert_int_equal(pki_pubkey_norm("ssh-dss AAAAB3NzaC1kc3MAAACBAP",
	    &line, err, sizeof(err)), -1);
	assert_null(line);
	assert_int_equal(pki_pubkey_norm("ssh-ed25519 AAAA$(reboot)AAAAAAAAAA",
	    &line, err, sizeof(err)), -1);
	assert_int_equal(pki_pubkey_norm("command=\"x\" ssh-ed25519 AAAAC3Nz"
	    "aC1lZDI1NTE5AAAAIB3", &line, err, sizeof(err)), -1);
}

/* Real ssh-keygen: a CA, a key, a user certificate read back. */
static void
test_round_trip(void **state)
{
	char dir[] = "/tmp/test_pki.XXXXXX", ca[128], key[128], pub[128];
	char err[256], *line = NULL, *cert = NULL, cert_path[160];
	char **fps = NULL, **kfps = NULL;
	static char *const opts[] = { "clear", "permit-pty", NULL };
	struct pki_sign_req req;
	struct pki_cert c;
	struct stat st;
	size_t n, nk;

	assert_non_null(mkdtemp(dir));
	snprintf(ca, sizeof(ca), "%s/ca", dir);
	snprintf(key, sizeof(key), "%s/key", dir);
	snprintf(pub, sizeof(pub), "%s/ca.pub", dir);
	assert_int_equal(pki_keygen(ca, "ed25519", "ca", (uid_t)-1, (gid_t)-1,
	    err, sizeof(err)), 0);
	assert_int_equal(pki_keygen(key, "ed25519", "k", (uid_t)-1, (gid_t)-1,
	    err, sizeof(err)), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(pki_key_public(key, &line, err, sizeof(err)), 0);
	memset(&req, 0, sizeof(req));
	req.ca_key = ca;
	req.pubkey = line;
	req.key_id = "test";
	req.principals = PKI_PROXY_PRINCIPAL;
	req.validity = "-1h:+2d";
	req.serial = 42;
	req.options = opts;
	assert_int_equal(pki_sign(&req, dir, &cert, err, sizeof(err)), 0);
	snprintf(cert_path, sizeof(cert_path), "%s/key-cert.pub", dir);
	assert_int_equal(atomic_write(cert_path, cert, strlen(cert), 0644,
	    (uid_t)-1, (gid_t)-1, 0, err, sizeof(err)), 0);
	assert_int_equal(pki_cert_read(cert_path, &c, err, sizeof(err)), 0);
	assert_false(c.is_host);
	assert_int_equal(c.serial, 42);
	assert_true(pki_cert_has_principals(&c, PKI_PROXY_PRINCIPAL));
	assert_int_equal(c.noptions, 2);
	assert_string_equal(c.options[1], "permit-pty");
	assert_true(c.valid_to - c.valid_from == 2 * 86400 + 3600);
	assert_int_equal(pki_fingerprints(pub, &fps, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(c.ca_fp, fps[0]);
	assert_int_equal(pki_fingerprints(key, &kfps, &nk, err, sizeof(err)),
	    0);
	assert_string_equal(c.key_fp, kfps[0]);
	/* Our own fingerprint agrees with ssh-keygen's, for the key and for
	 * the CA derived from its private key. */
	{
		char *fp = NULL, *cline = NULL, *cfp = NULL;

		assert_int_equal(pki_fingerprint_line(line, &fp, err,
		    sizeof(err)), 0);
		assert_string_equal(fp, kfps[0]);
		assert_int_equal(pki_ca_identity(ca, &cline, &cfp, err,
		    sizeof(err)), 0);
		assert_string_equal(cfp, fps[0]);
		assert_int_equal(strncmp(cline, "ssh-ed25519 ", 12), 0);
		free(fp);
		free(cline);
		free(cfp);
	}
	pki_cert_free(&c);
	pki_strv_free(fps, n);
	pki_strv_free(kfps, nk);
	free(line);
	free(cert);
	unlink(cert_path);
	snprintf(cert_path, sizeof(cert_path), "%s/key.pub", dir);
	unlink(cert_path);
	unlink(key);
	unlink(ca);
	unlink(pub);
	assert_int_equal(rmdir(dir), 0);     /* nothing left behind */
}

/* RSA blobs need base64 padding: the fingerprint must still match. */
static void
test_fingerprint_rsa(void **state)
{
	char dir[] = "/tmp/test_pki.XXXXXX", key[128], pub[160], err[256];
	char *line = NULL, *fp = NULL, **fps = NULL;
	size_t n = 0;

	assert_non_null(mkdtemp(dir));
	snprintf(key, sizeof(key), "%s/rsa", dir);
	snprintf(pub, sizeof(pub), "%s/rsa.pub", dir);
	assert_int_equal(pki_keygen(key, "rsa", "r", (uid_t)-1, (gid_t)-1,
	    err, sizeof(err)), 0);
	assert_int_equal(pki_pubkey_read(pub, &line, err, sizeof(err)), 0);
	assert_int_equal(pki_fingerprint_line(line, &fp, err, sizeof(err)), 0);
	assert_int_equal(pki_fingerprints(pub, &fps, &n, err, sizeof(err)), 0);
	assert_string_equal(fp, fps[0]);
	free(fp);
	assert_int_equal(pki_fingerprint_line("ssh-rsa AAA", &fp, err,
	    sizeof(err)), -1);
	assert_null(fp);
	free(line);
	pki_strv_free(fps, n);
	unlink(key);
	unlink(pub);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_user),
		cmocka_unit_test(test_parse_host_forever),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_parse_refuses_unknown),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_pubkey_norm),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_fingerprint_rsa),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

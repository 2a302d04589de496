/* test_sshkey.c: public key parsing and validation (sshkey.c): real keys
 * pass, anything that is not a plain public key of the type it claims is
 * refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/sshkey.h"
#include "keys_fixture.h"

static void
parse_ok(const char *line, const char *want_type, const char *want_blob)
{
	char *type, *blob, err[200];

	assert_int_equal(sshkey_parse_line(line, &type, &blob, err,
	    sizeof(err)), 0);
	assert_string_equal(type, want_type);
	assert_string_equal(blob, want_blob);
	free(type);
	free(blob);
}

static void
parse_bad(const char *line, const char *reason)
{
	char *type = (char *)1, *blob = (char *)1, err[200] = "";

	assert_int_equal(sshkey_parse_line(line, &type, &blob, err,
	    sizeof(err)), -1);
	assert_null(type);
	assert_null(blob);
	if (reason != NULL && strstr(err, reason) == NULL)
		fail_msg("reason '%s' lacks '%s'", err, reason);
}

static void
test_real_keys(void **state)
{
	parse_ok(ED_LINE, "ssh-ed25519", ED_BLOB);
	parse_ok("ecdsa-sha2-nistp256 " ECDSA_BLOB, "ecdsa-sha2-nistp256",
	    ECDSA_BLOB);
	parse_ok("ssh-rsa " RSA_BLOB " a comment with spaces", "ssh-rsa",
	    RSA_BLOB);
	parse_ok("  \tssh-ed25519\t" ED_BLOB "  ", "ssh-ed25519", ED_BLOB);
}

static void
test_options_refused(void **state)
{
	parse_bad("command=\"/bin/sh\" ssh-ed25519 " ED_BLOB, "not accepted");
	parse_bad("restrict ssh-ed25519 " ED_BLOB, "not accepted");
	parse_bad("no-pty,ssh-ed25519 " ED_BLOB, "not accepted");
}

static void
test_type_mismatch(void **state)
{
	parse_bad("ssh-rsa " ED_BLOB, "embed");
	parse_bad("ecdsa-sha2-nistp384 " ECDSA_BLOB, "embed");
	parse_bad("ssh-ed25519 " RSA_BLOB, "embed");
}

static void
test_certificates_and_unknown(void **state)
{
	parse_bad("ssh-ed25519-cert-v01@openssh.com " CERT_BLOB,
	    "not accepted");
	parse_bad("ssh-dss AAAAB3NzaC1kc3M=", "not accepted");
	parse_bad("x AAAA", "not accepted");
}

static void
test_bad_base64(void **state)
{
	parse_bad("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILRDQrSy8ckPfUNwKPSRW"
	    "RCq0jCXBYzL1UsG0y/FFcA", "base64");          /* length */
	parse_bad("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILRDQrSy8ckPfUNwKPSRW"
	    "RCq0jCXBYzL1UsG0y/FFc!A", "base64");         /* alphabet */
	parse_bad("ssh-ed25519 =AAA", "base64");
	parse_bad("ssh-ed25519 ====", "base64");
}

static void
test_shape(void **state)
{
	/* "ssh-ed25519" + a 31-byte key, and + trailing data */
	parse_bad("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAH7RDQrSy8ckPfUNwKPSRW"
	    "RCq0jCXBYzL1UsG0y/FFcA=", "length");
	parse_bad("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILRDQrSy8ckPfUNwKPSRW"
	    "RCq0jCXBYzL1UsG0y/FFcAAAA==", "trailing");
	parse_bad("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "truncated");
}

static void
test_syntax(void **state)
{
	parse_bad("", "TYPE BASE64");
	parse_bad("ssh-ed25519", "TYPE BASE64");
	parse_bad("ssh-ed25519 " ED_BLOB "\n", "control");
	parse_bad("ssh-ed25519\001 " ED_BLOB, "control");
}

static void
test_b64(void **state)
{
	unsigned char *out;
	long n;

	n = sshkey_b64_decode("aGVsbG8=", &out);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	free(out);
	n = sshkey_b64_decode("aGk=", &out);
	assert_int_equal(n, 2);
	free(out);
	assert_int_equal(sshkey_b64_decode("aGVsbG8", &out), -1);
	assert_int_equal(sshkey_b64_decode("aG=k", &out), -1);
	assert_int_equal(sshkey_b64_decode("aGl=", &out), -1);  /* non-canonical */
	assert_int_equal(sshkey_b64_decode("aGVsbG9=", &out), -1);
	assert_null(out);
	assert_true(sshkey_type_allowed("sk-ssh-ed25519@openssh.com"));
	assert_false(sshkey_type_allowed("ssh-rsa-cert-v01@openssh.com"));
}

/* The binary validator that keys and certificates share, and base64 both
 * ways. */
static void
test_blob_check(void **state)
{
	unsigned char *bin;
	char *type = NULL, *b64, err[200];
	long n;

	(void)state;
	n = sshkey_b64_decode(RSA_BLOB, &bin);
	assert_true(n > 0);
	assert_int_equal(sshkey_blob_check(bin, (size_t)n, &type, err,
	    sizeof(err)), 0);
	assert_string_equal(type, "ssh-rsa");
	free(type);
	b64 = sshkey_b64_encode(bin, (size_t)n);
	assert_string_equal(b64, RSA_BLOB);
	free(b64);
	/* every shorter prefix is refused, and so is one byte more */
	for (; n > 0; n--)
		assert_int_equal(sshkey_blob_check(bin, (size_t)n - 1, &type,
		    err, sizeof(err)), -1);
	assert_null(type);
	free(bin);
	n = sshkey_b64_decode(CERT_BLOB, &bin);
	assert_true(n > 0);
	assert_int_equal(sshkey_blob_check(bin, (size_t)n, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not accepted"));
	free(bin);
	b64 = sshkey_b64_encode((const unsigned char *)"hi", 2);
	assert_string_equal(b64, "aGk=");
	free(b64);
	b64 = sshkey_b64_encode((const unsigned char *)"h", 1);
	assert_string_equal(b64, "aA==");
	free(b64);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_keys),
		cmocka_unit_test(test_options_refused),
		cmocka_unit_test(test_type_mismatch),
		cmocka_unit_test(test_certificates_and_unknown),
		cmocka_unit_test(test_bad_base64),
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_blob_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_pki.c: the ssh-keygen side of sercon-setup's PKI (src/lib/setup/pki.c):
 * argument validation, public key files through the one key parser, and
 * real round trips through ssh-keygen (key, CA, certificate, read back).
 * Certificate parsing itself is tested in test_cert.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "core/atomic.h"
#include "setup/pki.h"
#include "setup/setup.h"
#include "keys_fixture.h"

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

	assert_int_equal(pki_pubkey_norm("  " ED_LINE "  comment here\n"
	    "second line\n", &line, err, sizeof(err)), 0);
	assert_string_equal(line, "ssh-ed25519 " ED_BLOB);
	free(line);
	assert_int_equal(pki_pubkey_norm("ssh-dss AAAAB3NzaC1kc3MAAACBAP",
	    &line, err, sizeof(err)), -1);
	assert_null(line);
	assert_int_equal(pki_pubkey_norm("ssh-ed25519 AAAA$(reboot)AAAAAAAAAA",
	    &line, err, sizeof(err)), -1);
	assert_int_equal(pki_pubkey_norm("command=\"x\" " ED_LINE, &line, err,
	    sizeof(err)), -1);
	/* The one parser: a blob that is not the key it claims to be is
	 * refused here as it is for the manager's keys (this passed the old
	 * base64-alphabet check). */
	assert_int_equal(pki_pubkey_norm("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"
	    "AAAAIB3", &line, err, sizeof(err)), -1);
	assert_int_equal(pki_pubkey_norm("ssh-rsa " ED_BLOB, &line, err,
	    sizeof(err)), -1);
	/* ... and the same types are accepted in both places */
	assert_int_equal(pki_pubkey_norm("ecdsa-sha2-nistp256 " ECDSA_BLOB,
	    &line, err, sizeof(err)), 0);
	free(line);
}

/* ca.pub may hold several CAs; every line is read, a bad one is named. */
static void
test_pubkeys_read(void **state)
{
	char path[] = "/tmp/test_pki_keys.XXXXXX", err[256], **v = NULL;
	size_t n = 0;
	int fd;

	assert_true((fd = mkstemp(path)) >= 0);
	assert_true(write(fd, "# old CA\n" ED_LINE "\n\n" ED2_LINE "\n", 
	    strlen("# old CA\n" ED_LINE "\n\n" ED2_LINE "\n")) > 0);
	close(fd);
	assert_int_equal(pki_pubkeys_read(path, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[1], "ssh-ed25519 " ED2_BLOB);
	assert_true(pki_strv_has(v, n, "ssh-ed25519 " ED_BLOB));
	assert_false(pki_strv_has(v, n, "ssh-ed25519 " ED_BLOB "A"));
	pki_strv_free(v, n);
	assert_true((fd = open(path, O_WRONLY | O_TRUNC)) >= 0);
	assert_true(write(fd, ED_LINE "\nssh-rsa " ED_BLOB "\n", 
	    strlen(ED_LINE "\nssh-rsa " ED_BLOB "\n")) > 0);
	close(fd);
	assert_int_equal(pki_pubkeys_read(path, &v, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2"));
	unlink(path);
}

/* The SHA256 fingerprint ssh-keygen prints for a key file. */
static char *
keygen_fp(const char *path)
{
	char cmd[300], out[512], *fp;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s -l -E sha256 -f '%s'", SSH_KEYGEN_PATH,
	    path);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, sizeof(out), p));
	assert_int_equal(pclose(p), 0);
	fp = strtok(out, " ");
	assert_non_null(fp);
	fp = strtok(NULL, " ");
	assert_non_null(fp);
	return strdup(fp);
}

/* Real ssh-keygen: a CA, a key, a user certificate read back. */
static void
test_round_trip(void **state)
{
	char dir[] = "/tmp/test_pki.XXXXXX", ca[128], key[128], pub[128];
	char err[256], *line = NULL, *cert = NULL, cert_path[160];
	char *ca_fp, *key_fp, *derived = NULL;
	static char *const opts[] = { "clear", "permit-pty", NULL };
	struct pki_sign_req req;
	struct pki_cert c;
	struct stat st;

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
	ca_fp = keygen_fp(pub);
	key_fp = keygen_fp(key);
	assert_string_equal(c.ca_fp, ca_fp);
	assert_string_equal(c.key_fp, key_fp);
	/* the certified key, whole, is the key's derived public half */
	assert_int_equal(pki_key_derive(key, &derived, err, sizeof(err)), 0);
	assert_string_equal(c.key_line, derived);
	assert_string_equal(derived, line);
	free(derived);
	/* Our own fingerprint agrees with ssh-keygen's, for the key and for
	 * the CA derived from its private key. */
	{
		char *fp = NULL, *cline = NULL, *cfp = NULL;

		assert_int_equal(pki_fingerprint_line(line, &fp, err,
		    sizeof(err)), 0);
		assert_string_equal(fp, key_fp);
		assert_int_equal(pki_ca_identity(ca, &cline, &cfp, err,
		    sizeof(err)), 0);
		assert_string_equal(cfp, ca_fp);
		assert_string_equal(cline, c.ca_line);
		assert_int_equal(strncmp(cline, "ssh-ed25519 ", 12), 0);
		free(fp);
		free(cline);
		free(cfp);
	}
	pki_cert_free(&c);
	free(ca_fp);
	free(key_fp);
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
	char *line = NULL, *fp = NULL, *want;

	assert_non_null(mkdtemp(dir));
	snprintf(key, sizeof(key), "%s/rsa", dir);
	snprintf(pub, sizeof(pub), "%s/rsa.pub", dir);
	assert_int_equal(pki_keygen(key, "rsa", "r", (uid_t)-1, (gid_t)-1,
	    err, sizeof(err)), 0);
	assert_int_equal(pki_pubkey_read(pub, &line, err, sizeof(err)), 0);
	assert_int_equal(pki_fingerprint_line(line, &fp, err, sizeof(err)), 0);
	want = keygen_fp(pub);
	assert_string_equal(fp, want);
	free(want);
	free(fp);
	assert_int_equal(pki_fingerprint_line("ssh-rsa AAA", &fp, err,
	    sizeof(err)), -1);
	assert_null(fp);
	free(line);
	unlink(key);
	unlink(pub);
	assert_int_equal(rmdir(dir), 0);
}

/* Issue 9: the signing argv had room for 16 options but not for -h and an
 * RSA CA's -t besides: a host certificate with 16 options was written
 * past the array's end (ASan: stack-buffer-overflow). Now it is sized for
 * what it holds, and a 17th option is refused rather than dropped. */
static void
test_sign_host_many_options(void **state)
{
	char dir[] = "/tmp/test_pki.XXXXXX", ca[128], key[128], err[256];
	char *line = NULL, *cert = NULL, cmd[160];
	char *opts[PKI_MAX_OPTIONS + 2];
	char names[PKI_MAX_OPTIONS + 1][32];
	struct pki_sign_req req;
	size_t i;

	assert_non_null(mkdtemp(dir));
	snprintf(ca, sizeof(ca), "%s/ca", dir);
	snprintf(key, sizeof(key), "%s/key", dir);
	assert_int_equal(pki_keygen(ca, "rsa", "ca", (uid_t)-1, (gid_t)-1,
	    err, sizeof(err)), 0);
	assert_int_equal(pki_keygen(key, "ed25519", "k", (uid_t)-1, (gid_t)-1,
	    err, sizeof(err)), 0);
	assert_int_equal(pki_key_public(key, &line, err, sizeof(err)), 0);
	for (i = 0; i < PKI_MAX_OPTIONS + 1; i++) {
		snprintf(names[i], sizeof(names[i]), "extension:x%zu@test", i);
		opts[i] = names[i];
	}
	opts[PKI_MAX_OPTIONS] = NULL;
	memset(&req, 0, sizeof(req));
	req.ca_key = ca;
	req.pubkey = line;
	req.is_host = true;
	req.key_id = "test";
	req.principals = "a.example";
	req.validity = "-1h:+2d";
	req.options = opts;
	/* ssh-keygen may take or refuse options on a host certificate;
	 * what matters is that the argv holds them all. */
	(void)pki_sign(&req, dir, &cert, err, sizeof(err));
	free(cert);
	cert = NULL;
	opts[PKI_MAX_OPTIONS] = names[PKI_MAX_OPTIONS];
	opts[PKI_MAX_OPTIONS + 1] = NULL;
	assert_int_equal(pki_sign(&req, dir, &cert, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "options"));
	assert_null(cert);
	free(line);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static int
as_user_fails(void *arg, char *msg, size_t len)
{
	(void)arg;
	snprintf(msg, len, "the check failed");
	return -1;
}

static int
as_user_works(void *arg, char *msg, size_t len)
{
	(void)arg;
	snprintf(msg, len, "fine");
	return 0;
}

/* Zeros where the next call's locals will be: a wait status read without
 * being written then says "exited 0". */
static void __attribute__((noinline))
stack_zero(void)
{
	volatile char pad[16384];
	size_t i;

	for (i = 0; i < sizeof(pad); i++)
		pad[i] = 0;
}

/* Issue 9: check read the child's wait status after waitpid had failed.
 * With SIGCHLD ignored the kernel reaps the child and waitpid fails with
 * ECHILD; a failed check must not then pass on an unwritten status. */
static void
test_as_user_waitpid_fails(void **state)
{
	struct sigaction sa, old;
	char msg[256];
	int rc;

	(void)state;
	assert_int_equal(setup_as_user(NULL, as_user_works, NULL, msg,
	    sizeof(msg)), 0);
	assert_string_equal(msg, "fine");
	assert_int_equal(setup_as_user(NULL, as_user_fails, NULL, msg,
	    sizeof(msg)), -1);
	assert_string_equal(msg, "the check failed");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGCHLD, &sa, &old), 0);
	stack_zero();
	rc = setup_as_user(NULL, as_user_fails, NULL, msg, sizeof(msg));
	assert_int_equal(sigaction(SIGCHLD, &old, NULL), 0);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(msg, "waitpid"));
}

/* The other proxies a host accepts: names as the principals file can hold
 * them, lists from sercon.conf, and the files written once. */
static void
test_accept(void **state)
{
	char dir[] = "/tmp/test_pki.XXXXXX", pf[128], ca[128], err[256], cmd[160];
	char **v = NULL, *text = NULL;
	char *names[] = { "ovirt-vmconsole-proxy", "sercon-proxy",
	    "ovirt-vmconsole-proxy" };
	char *cas[1];
	size_t n = 0;
	FILE *f;

	(void)state;
	assert_true(setup_principal_valid("ovirt-vmconsole-proxy"));
	assert_true(setup_principal_valid("a.b@c+d_e"));
	assert_false(setup_principal_valid(""));
	assert_false(setup_principal_valid("-x"));
	assert_false(setup_principal_valid("a b"));
	assert_false(setup_principal_valid("#a"));
	assert_false(setup_principal_valid("a\nb"));
	assert_false(setup_principal_valid("command=\"x\""));
	setup_csv_split(" a, b ,,c ", &v, &n);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	assert_string_equal(v[2], "c");
	pki_strv_free(v, n);
	setup_csv_split(NULL, &v, &n);
	assert_int_equal(n, 0);

	assert_non_null(mkdtemp(dir));
	snprintf(pf, sizeof(pf), "%s/authorized_principals", dir);
	snprintf(ca, sizeof(ca), "%s/other-ca.pub", dir);
	assert_non_null(f = fopen(pf, "w"));
	fputs("# comment\nsercon-proxy", f);        /* no final newline */
	fclose(f);
	assert_non_null(f = fopen(ca, "w"));
	fputs(ED_LINE "\n" ED2_LINE "\n", f);
	fclose(f);
	cas[0] = ca;
	assert_int_equal(setup_accept_apply(dir, pf, names, 3, cas, 1, err,
	    sizeof(err)), 0);
	assert_int_equal(pki_read_file(pf, 4096, &text, err, sizeof(err)), 0);
	assert_string_equal(text, "# comment\nsercon-proxy\n"
	    "ovirt-vmconsole-proxy\n");
	free(text);
	assert_int_equal(setup_principals_read(pf, &v, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 2);
	pki_strv_free(v, n);
	snprintf(cmd, sizeof(cmd), "%s/ca.pub", dir);
	assert_int_equal(pki_pubkeys_read(cmd, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_true(pki_strv_has(v, n, "ssh-ed25519 " ED2_BLOB));
	pki_strv_free(v, n);
	/* again: nothing added twice */
	assert_int_equal(setup_accept_apply(dir, pf, names, 1, cas, 1, err,
	    sizeof(err)), 0);
	assert_int_equal(pki_pubkeys_read(cmd, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	pki_strv_free(v, n);
	/* a bad name is refused before anything is written */
	names[0] = "bad name";
	assert_int_equal(setup_accept_apply(dir, pf, names, 1, NULL, 0, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not a principal"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_pubkey_norm),
		cmocka_unit_test(test_pubkeys_read),
		cmocka_unit_test(test_sign_host_many_options),
		cmocka_unit_test(test_as_user_waitpid_fails),
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_fingerprint_rsa),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

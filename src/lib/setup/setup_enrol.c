/* setup_enrol.c: enrolment across machines, the CA staying on the manager:
 * `request` makes a key here and prints its public half, `sign` (on the CA
 * machine) prints a certificate for it, `install-cert` puts the
 * certificate in the slot whose key it certifies. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/file.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "setup/setup.h"

#define ENROL_FILE_MAX (64 * 1024)

static const char request_usage[] =
"usage: sercon-setup request --role host|proxy|proxy-host|proxy-user\n"
"           [--name FQDN[,NAME...]] [--pki-dir DIR] [--key-type TYPE]\n"
"\n"
"Makes this machine's key(s) for the role (an existing key is kept) and\n"
"prints the public half, one line per key, for `sercon-setup sign` on the\n"
"machine that holds the CA. Role proxy means both proxy-host and proxy-user.\n";

static const char sign_usage[] =
"usage: sercon-setup sign --role host|proxy-host|proxy-user [--name NAMES]\n"
"           [--ca-dir DIR] [--validity V] PUBKEY\n"
"\n"
"Signs the public key in the file PUBKEY (- for standard input) with the CA\n"
"and prints the certificate. host and proxy-host certificates carry the\n"
"names given with --name; a proxy-user certificate carries the principal\n"
PKI_PROXY_PRINCIPAL " (options clear, permit-pty).\n"
"  --ca-dir DIR         the CA (default " SERCON_PKIDIR ")\n"
"  --validity V         90d, 52w, or an ssh-keygen -V interval (default 365d,\n"
"                       starting one hour ago for clock skew)\n";

static const char install_usage[] =
"usage: sercon-setup install-cert [--pki-dir DIR] [--ca-pub FILE] CERT\n"
"\n"
"Installs the certificate in the file CERT next to the key it certifies\n"
"(host-ssh_host_key, proxy-ssh_host_key or proxy-ssh_user_key), after\n"
"checking its signature, that it is the right kind for that slot and that\n"
"the CA which signed it is trusted: ca.pub here, or the CA key given with\n"
"--ca-pub, which is then added to ca.pub and, as @cert-authority, to\n"
"known_hosts (a machine that is proxy and host dials its own host).\n";

static const struct option enrol_longopts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "role", required_argument, NULL, 'r' },
	{ "name", required_argument, NULL, 'n' },
	{ "ca-dir", required_argument, NULL, 'c' },
	{ "pki-dir", required_argument, NULL, 'p' },
	{ "validity", required_argument, NULL, 'V' },
	{ "key-type", required_argument, NULL, 't' },
	{ "ca-pub", required_argument, NULL, 'a' },
	{ NULL, 0, NULL, 0 }
};

struct enrol_opts {
	const char *role, *names, *ca_dir, *pki_dir, *validity, *key_type;
	const char *ca_pub;
};

/* Parses the options; returns -1 after printing help, a usage status, or
 * 0. allowed lists the option letters the subcommand takes. */
static int
enrol_parse(const char *cmd, const char *usage, const char *allowed,
    int argc, char **argv, struct enrol_opts *o)
{
	char err[SETUP_ERR_MAX];
	int ch;

	memset(o, 0, sizeof(*o));
	o->pki_dir = SERCON_PKIDIR;
	o->key_type = "ed25519";
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", enrol_longopts, NULL)) != -1) {
		if (ch == 'h') {
			fputs(usage, stdout);
			return -1;
		}
		if (ch == '?' || strchr(allowed, ch) == NULL)
			return setup_usage_error(cmd, "unknown option");
		switch (ch) {
		case 'r': o->role = optarg; break;
		case 'n': o->names = optarg; break;
		case 'c': o->ca_dir = optarg; break;
		case 'p': o->pki_dir = optarg; break;
		case 'V': o->validity = optarg; break;
		case 't': o->key_type = optarg; break;
		case 'a': o->ca_pub = optarg; break;
		}
	}
	if (o->ca_dir == NULL)
		o->ca_dir = o->pki_dir;
	if (o->names != NULL && pki_check_names(o->names, err,
	    sizeof(err)) != 0)
		return setup_usage_error(cmd, err);
	if (strcmp(o->key_type, "ed25519") != 0 &&
	    strcmp(o->key_type, "rsa") != 0)
		return setup_usage_error(cmd, "--key-type is ed25519 or rsa");
	return 0;
}

int
setup_cmd_request(int argc, char **argv)
{
	struct enrol_opts o;
	enum pki_slot slots[2];
	size_t n = 0, i;
	char err[SETUP_ERR_MAX], key[PATH_MAX];
	char *line;
	int rc;

	if ((rc = enrol_parse("request", request_usage, "rnpt", argc, argv,
	    &o)) != 0)
		return rc < 0 ? SETUP_EXIT_OK : rc;
	if (optind != argc)
		return setup_usage_error("request", "unexpected argument");
	if (o.role == NULL)
		return setup_usage_error("request", "--role is required");
	if (strcmp(o.role, "proxy") == 0) {
		slots[n++] = PKI_PROXY_HOST;
		slots[n++] = PKI_PROXY_USER;
	} else if ((rc = pki_slot_by_role(o.role)) >= 0)
		slots[n++] = (enum pki_slot)rc;
	else
		return setup_usage_error("request", "--role is host, proxy, "
		    "proxy-host or proxy-user");
	if (file_mkdir_p(o.pki_dir, 0755, err, sizeof(err)) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if (setup_path(key, sizeof(key), o.pki_dir,
		    pki_slot_key(slots[i])) != 0) {
			snprintf(err, sizeof(err), "path too long");
			goto fail;
		}
		/* Standard output is the key: the rest goes to stderr. */
		if (setup_ensure_key(o.pki_dir, slots[i], o.key_type, stderr,
		    err, sizeof(err)) != 0)
			goto fail;
		if (pki_key_public(key, &line, err, sizeof(err)) != 0)
			goto fail;
		printf("%s sercon-%s%s%s\n", line, pki_slot_role(slots[i]),
		    o.names != NULL ? ":" : "", o.names != NULL ? o.names : "");
		fprintf(stderr, "sign it where the CA is: sercon-setup sign "
		    "--role %s%s%s FILE\n", pki_slot_role(slots[i]),
		    o.names != NULL && pki_slot_is_host(slots[i]) ?
		    " --name " : "", o.names != NULL &&
		    pki_slot_is_host(slots[i]) ? o.names : "");
		free(line);
	}
	fprintf(stderr, "then here: sercon-setup install-cert --ca-pub "
	    "CA.PUB CERTFILE\n");
	return SETUP_EXIT_OK;
fail:
	log_user_error("request: %s", err);
	return SETUP_EXIT_FAIL;
}

/* The key text from a file or standard input ("-"). */
static int
enrol_read_input(const char *path, char **text, char *err, size_t errlen)
{
	size_t len = 0, r;
	char *buf;

	if (strcmp(path, "-") != 0)
		return pki_read_file(path, ENROL_FILE_MAX, text, err, errlen);
	buf = xmalloc(ENROL_FILE_MAX + 1);
	while (len < ENROL_FILE_MAX &&
	    (r = fread(buf + len, 1, ENROL_FILE_MAX - len, stdin)) > 0)
		len += r;
	if (ferror(stdin) || len == ENROL_FILE_MAX) {
		snprintf(err, errlen, "cannot read the key from standard "
		    "input");
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	*text = buf;
	return 0;
}

int
setup_cmd_sign(int argc, char **argv)
{
	static char *const user_opts[] = { "clear", "permit-pty", NULL };
	struct enrol_opts o;
	struct pki_sign_req req;
	char validity[80], err[SETUP_ERR_MAX], ca[PATH_MAX], key_id[300];
	char *text = NULL, *pub = NULL, *cert = NULL, *nl;
	int rc, slot;

	if ((rc = enrol_parse("sign", sign_usage, "rncpV", argc, argv,
	    &o)) != 0)
		return rc < 0 ? SETUP_EXIT_OK : rc;
	if (optind != argc - 1)
		return setup_usage_error("sign", "one PUBKEY file is needed");
	if (o.role == NULL || (slot = pki_slot_by_role(o.role)) < 0)
		return setup_usage_error("sign", "--role is host, proxy-host "
		    "or proxy-user");
	if (pki_slot_is_host((enum pki_slot)slot) && o.names == NULL)
		return setup_usage_error("sign", "--name is required for a "
		    "host certificate");
	if (pki_validity_arg(o.validity, validity, sizeof(validity), err,
	    sizeof(err)) != 0)
		return setup_usage_error("sign", err);
	if (setup_path(ca, sizeof(ca), o.ca_dir, "ca") != 0)
		return setup_usage_error("sign", "--ca-dir is too long");
	if (enrol_read_input(argv[optind], &text, err, sizeof(err)) != 0)
		goto fail;
	/* Exactly one key: a second line is a mistake worth stopping for. */
	if ((nl = strchr(text, '\n')) != NULL && nl[strspn(nl, " \t\r\n")] !=
	    '\0') {
		snprintf(err, sizeof(err), "%s holds more than one line: sign "
		    "one key at a time", argv[optind]);
		goto fail;
	}
	if (pki_pubkey_norm(text, &pub, err, sizeof(err)) != 0)
		goto fail;
	if (access(ca, R_OK) != 0) {
		snprintf(err, sizeof(err), "no CA at %s (--ca-dir)", ca);
		goto fail;
	}
	snprintf(key_id, sizeof(key_id), "sercon-%s:%s", o.role,
	    o.names != NULL ? o.names : PKI_PROXY_PRINCIPAL);
	memset(&req, 0, sizeof(req));
	req.ca_key = ca;
	req.pubkey = pub;
	req.is_host = pki_slot_is_host((enum pki_slot)slot);
	req.key_id = key_id;
	req.principals = req.is_host ? o.names : PKI_PROXY_PRINCIPAL;
	req.validity = validity;
	req.serial = (unsigned long long)time(NULL);
	req.options = req.is_host ? NULL : user_opts;
	if (pki_sign(&req, o.ca_dir, &cert, err, sizeof(err)) != 0)
		goto fail;
	fputs(cert, stdout);
	fprintf(stderr, "signed a %s certificate for %s (validity %s)\n",
	    req.is_host ? "host" : "user", req.principals, validity);
	log_info("signed a %s certificate for %s", o.role, req.principals);
	free(text);
	free(pub);
	free(cert);
	return SETUP_EXIT_OK;
fail:
	log_user_error("sign: %s", err);
	free(text);
	free(pub);
	free(cert);
	return SETUP_EXIT_FAIL;
}

/* The slot whose key the certificate certifies; -1 when none. Each slot's
 * public key is derived from its private key and compared whole. */
static int
enrol_find_slot(const char *pki_dir, const char *key_line)
{
	char key[PATH_MAX], err[SETUP_ERR_MAX];
	int s, found = -1;

	for (s = 0; s < PKI_NSLOTS && found < 0; s++) {
		char *line = NULL;

		if (setup_path(key, sizeof(key), pki_dir,
		    pki_slot_key((enum pki_slot)s)) != 0 ||
		    access(key, F_OK) != 0)
			continue;
		if (pki_key_derive(key, &line, err, sizeof(err)) != 0)
			continue;
		if (strcmp(line, key_line) == 0)
			found = s;
		free(line);
	}
	return found;
}

/* Is the signing CA among the keys of a file? Compared as key blobs. */
static int
enrol_ca_known(const char *ca_file, const char *ca_line, size_t *nkeys,
    char *err, size_t errlen)
{
	char **lines = NULL;
	size_t n = 0;
	int found;

	if (pki_pubkeys_read(ca_file, &lines, &n, err, errlen) != 0)
		return -1;
	found = pki_strv_has(lines, n, ca_line) ? 1 : 0;
	if (nkeys != NULL)
		*nkeys = n;
	pki_strv_free(lines, n);
	return found;
}

/* One line "TYPE-cert-v01@openssh.com BASE64 [COMMENT]\n". */
static bool
enrol_cert_line(const char *text)
{
	static const char suffix[] = "-cert-v01@openssh.com";
	size_t tlen = strcspn(text, " \n"), slen = sizeof(suffix) - 1;
	const char *nl = strchr(text, '\n');

	return tlen > slen && text[tlen] == ' ' &&
	    strncmp(text + tlen - slen, suffix, slen) == 0 &&
	    (nl == NULL || nl[1] == '\0');
}

int
setup_cmd_install_cert(int argc, char **argv)
{
	struct enrol_opts o;
	struct pki_cert c;
	char err[SETUP_ERR_MAX], dst[PATH_MAX], ca_file[PATH_MAX], until[40];
	char *text = NULL, principals[512];
	const char *cert_file;
	size_t nkeys = 0;
	int rc, slot, known;

	memset(&c, 0, sizeof(c));
	if ((rc = enrol_parse("install-cert", install_usage, "pa", argc, argv,
	    &o)) != 0)
		return rc < 0 ? SETUP_EXIT_OK : rc;
	if (optind != argc - 1)
		return setup_usage_error("install-cert", "one CERT file is "
		    "needed");
	cert_file = argv[optind];
	if (pki_read_file(cert_file, ENROL_FILE_MAX, &text, err,
	    sizeof(err)) != 0)
		goto fail;
	if (!enrol_cert_line(text)) {
		snprintf(err, sizeof(err), "%s is not one OpenSSH certificate "
		    "line", cert_file);
		goto fail;
	}
	if (pki_cert_read(cert_file, &c, err, sizeof(err)) != 0)
		goto fail;
	if ((slot = enrol_find_slot(o.pki_dir, c.key_line)) < 0) {
		snprintf(err, sizeof(err), "the certificate is for key %s, "
		    "which is none of this machine's keys in %s (run "
		    "`sercon-setup request` here first)", c.key_fp, o.pki_dir);
		goto fail;
	}
	if (c.is_host != pki_slot_is_host((enum pki_slot)slot)) {
		snprintf(err, sizeof(err), "the certificate is a %s "
		    "certificate but %s needs a %s certificate (sign it with "
		    "--role %s)", c.is_host ? "host" : "user",
		    pki_slot_key((enum pki_slot)slot), c.is_host ? "user" :
		    "host", pki_slot_role((enum pki_slot)slot));
		goto fail;
	}
	if (c.nprincipals == 0) {
		snprintf(err, sizeof(err), "the certificate names no "
		    "principals: it would be valid for any name");
		goto fail;
	}
	if (!c.is_host && !pki_cert_has_principals(&c, PKI_PROXY_PRINCIPAL)) {
		snprintf(err, sizeof(err), "a proxy user certificate must "
		    "carry exactly the principal " PKI_PROXY_PRINCIPAL);
		goto fail;
	}
	if (c.valid_to != PKI_FOREVER && c.valid_to <= time(NULL)) {
		snprintf(err, sizeof(err), "the certificate has expired");
		goto fail;
	}
	if (o.ca_pub != NULL)
		snprintf(ca_file, sizeof(ca_file), "%s", o.ca_pub);
	else if (setup_path(ca_file, sizeof(ca_file), o.pki_dir,
	    "ca.pub") != 0 || access(ca_file, F_OK) != 0) {
		snprintf(err, sizeof(err), "no ca.pub in %s: give the CA's "
		    "public key with --ca-pub FILE", o.pki_dir);
		goto fail;
	}
	if ((known = enrol_ca_known(ca_file, c.ca_line, &nkeys, err,
	    sizeof(err))) < 0)
		goto fail;
	if (!known) {
		snprintf(err, sizeof(err), "the certificate was signed by CA "
		    "%s, which %s does not hold", c.ca_fp, ca_file);
		goto fail;
	}
	if (o.ca_pub != NULL) {
		if (nkeys != 1) {
			snprintf(err, sizeof(err), "--ca-pub: use a file with "
			    "the one CA key that signed the certificate");
			goto fail;
		}
		/* known_hosts too, whatever the slot: a machine that is
		 * host and proxy dials its own host, whose certificate this
		 * CA signs. */
		if (setup_trust_ca(o.pki_dir, c.ca_line, true, err,
		    sizeof(err)) != 0)
			goto fail;
	}
	if (setup_path(dst, sizeof(dst), o.pki_dir,
	    pki_slot_key((enum pki_slot)slot)) != 0 ||
	    strlen(dst) + 10 > sizeof(dst)) {
		snprintf(err, sizeof(err), "path too long");
		goto fail;
	}
	strcat(dst, "-cert.pub");
	if (atomic_write(dst, text, strlen(text), 0644, (uid_t)-1,
	    (gid_t)-1, 0, err, sizeof(err)) != 0)
		goto fail;
	printf("installed %s: %s certificate for %s, valid until %s\n", dst,
	    c.is_host ? "host" : "user",
	    pki_cert_principals_str(&c, principals, sizeof(principals)),
	    setup_time_str(c.valid_to, until, sizeof(until)));
	log_info("installed certificate %s", dst);
	pki_cert_free(&c);
	free(text);
	return SETUP_EXIT_OK;
fail:
	log_user_error("install-cert: %s", err);
	pki_cert_free(&c);
	free(text);
	return SETUP_EXIT_FAIL;
}

/* setup_pki.c: `sercon-setup ca create`, `proxy` and `host`, which build a
 * machine's PKI directory from a CA at hand, and the helpers the other
 * subcommands share. Each step is idempotent and says what it did. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/atomic.h"
#include "core/config.h"
#include "core/file.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "setup/setup.h"

#define SETUP_FILE_MAX (256 * 1024)

static const char ca_usage[] =
"usage: sercon-setup ca create [--ca-dir DIR] [--key-type ed25519|rsa]\n"
"\n"
"Creates the certificate authority: DIR/ca (private, 0600) and DIR/ca.pub.\n"
"Keeps an existing CA. DIR defaults to the PKI directory (" SERCON_PKIDIR ").\n"
"  --ca-dir DIR         where the CA lives\n"
"  --pki-dir DIR        the PKI directory (default " SERCON_PKIDIR ")\n"
"  --key-type TYPE      ed25519 (default) or rsa (signs with rsa-sha2-512)\n";

static const char proxy_usage[] =
"usage: sercon-setup proxy --name FQDN[,NAME...] [--ca-dir DIR] [options]\n"
"\n"
"Gives this machine the proxy's keys and certificates: proxy-ssh_host_key\n"
"(host certificate for the names), proxy-ssh_user_key (user certificate,\n"
"principal " PKI_PROXY_PRINCIPAL "), ca.pub and known_hosts.\n"
"  --name NAMES         the names users dial, comma-separated\n"
"  --ca-dir DIR         the CA (default: the PKI directory)\n"
"  --pki-dir DIR        the PKI directory (default " SERCON_PKIDIR ")\n"
"  --validity V         90d, 52w, or an ssh-keygen -V interval (default 365d)\n"
"  --key-type TYPE      type of new keys: ed25519 (default) or rsa\n";

static const char host_usage[] =
"usage: sercon-setup host --name FQDN[,NAME...] [--ca-dir DIR] [options]\n"
"       sercon-setup host --accept-proxy-principal NAME --accept-ca FILE\n"
"\n"
"Gives this hypervisor host its key and host certificate (host-ssh_host_key)\n"
"and ca.pub, which its sshd trusts for the proxy's user certificate.\n"
"Then makes the host sshd accept the other proxies of [host]\n"
"accept_proxy_principals and accept_proxy_ca in sercon.conf and of the\n"
"--accept options (without --name, only that is done).\n"
"  --name NAMES         the names the manager reports for this host\n"
"  --ca-dir DIR         the CA (default: the PKI directory)\n"
"  --pki-dir DIR        the PKI directory (default " SERCON_PKIDIR ")\n"
"  --validity V         90d, 52w, or an ssh-keygen -V interval (default 365d)\n"
"  --key-type TYPE      type of new keys: ed25519 (default) or rsa\n"
"  --accept-proxy-principal NAME\n"
"                       accept proxy user certificates for NAME too (an\n"
"                       ovirt-vmconsole proxy: ovirt-vmconsole-proxy);\n"
"                       added to " SETUP_PRINCIPALS_FILE "\n"
"  --accept-ca FILE     accept proxy user certificates signed by the CA\n"
"                       key(s) in FILE too; added to ca.pub\n"
"Both may be repeated. List them in sercon.conf as well, so that a later\n"
"`sercon-setup host` restores them after an upgrade replaced the files.\n";

int
setup_usage_error(const char *cmd, const char *what)
{
	log_user_error("%s: %s (see sercon-setup %s --help)", cmd, what, cmd);
	return SETUP_EXIT_USAGE;
}

int
setup_path(char *out, size_t outlen, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, outlen, "%s/%s", dir, name) >= outlen)
		return -1;
	return 0;
}

const char *
setup_time_str(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == PKI_FOREVER) {
		snprintf(buf, len, "never");
		return buf;
	}
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
	return buf;
}

/* Does text hold line (compared up to the end of line)? */
static bool
setup_has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') &&
		    (p[n] == '\0' || p[n] == '\n' || p[n] == ' '))
			return true;
		p += n;
	}
	return false;
}

/* Appends line to dir/name unless it is there already. */
static int
setup_add_line(const char *dir, const char *name, const char *line,
    char *err, size_t errlen)
{
	char path[PATH_MAX];
	char *old = NULL, *text;
	size_t olen, n;
	int rc;

	if (setup_path(path, sizeof(path), dir, name) != 0) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	if (access(path, F_OK) == 0 &&
	    pki_read_file(path, SETUP_FILE_MAX, &old, err, errlen) != 0)
		return -1;
	if (old != NULL && setup_has_line(old, line)) {
		printf("%s already trusts the CA\n", path);
		free(old);
		return 0;
	}
	olen = old != NULL ? strlen(old) : 0;
	n = olen + strlen(line) + 3;
	text = xmalloc(n);
	snprintf(text, n, "%s%s%s\n", old != NULL ? old : "",
	    olen > 0 && old[olen - 1] != '\n' ? "\n" : "", line);
	rc = atomic_write(path, text, strlen(text), 0644, (uid_t)-1,
	    (gid_t)-1, 0, err, errlen);
	if (rc == 0)
		printf("%s %s\n", old != NULL ? "added the CA to" : "wrote",
		    path);
	free(text);
	free(old);
	return rc;
}

int
setup_trust_ca(const char *pki_dir, const char *ca_line, bool known_hosts,
    char *err, size_t errlen)
{
	char kh[20000];

	if (setup_add_line(pki_dir, "ca.pub", ca_line, err, errlen) != 0)
		return -1;
	if (!known_hosts)
		return 0;
	if ((size_t)snprintf(kh, sizeof(kh), "@cert-authority * %s",
	    ca_line) >= sizeof(kh)) {
		snprintf(err, errlen, "CA key too long");
		return -1;
	}
	return setup_add_line(pki_dir, "known_hosts", kh, err, errlen);
}

int
setup_ensure_key(const char *pki_dir, enum pki_slot s, const char *key_type,
    FILE *out, char *err, size_t errlen)
{
	char path[PATH_MAX], comment[64];
	uid_t uid;
	gid_t gid;
	struct stat st;

	if (setup_path(path, sizeof(path), pki_dir, pki_slot_key(s)) != 0) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	(void)pki_sercon_ids(&uid, &gid);
	if (lstat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "%s is not a regular file", path);
			return -1;
		}
		/* Keep the key, but put its owner and mode right. */
		if (chmod(path, 0600) != 0 || (uid != (uid_t)-1 &&
		    chown(path, uid, gid) != 0)) {
			snprintf(err, errlen, "cannot set mode or owner of %s: "
			    "%s", path, strerror(errno));
			return -1;
		}
		fprintf(out, "kept key %s\n", path);
		return 0;
	}
	snprintf(comment, sizeof(comment), "sercon-%s", pki_slot_role(s));
	if (pki_keygen(path, key_type, comment, uid, gid, err, errlen) != 0)
		return -1;
	fprintf(out, "created key %s (%s)\n", path, key_type);
	log_info("created key %s", path);
	return 0;
}

int
setup_sign_slot(const char *pki_dir, const char *ca_dir, enum pki_slot s,
    const char *principals, const char *validity, char *const *options,
    const char *key_id, char *err, size_t errlen)
{
	static char *const user_opts[] = { "clear", "permit-pty", NULL };
	char key[PATH_MAX], ca[PATH_MAX], cert_path[PATH_MAX], until[40];
	struct pki_sign_req req;
	struct pki_cert c;
	char *pub = NULL, *cert = NULL;
	int rc = -1;

	if (setup_path(key, sizeof(key), pki_dir, pki_slot_key(s)) != 0 ||
	    setup_path(ca, sizeof(ca), ca_dir, "ca") != 0 ||
	    (size_t)snprintf(cert_path, sizeof(cert_path), "%s-cert.pub",
	    key) >= sizeof(cert_path)) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	if (pki_key_public(key, &pub, err, errlen) != 0)
		return -1;
	memset(&req, 0, sizeof(req));
	req.ca_key = ca;
	req.pubkey = pub;
	req.is_host = pki_slot_is_host(s);
	req.key_id = key_id;
	req.principals = principals;
	req.validity = validity;
	req.serial = (unsigned long long)time(NULL);
	req.options = options != NULL ? options :
	    (req.is_host ? NULL : user_opts);
	if (pki_sign(&req, pki_dir, &cert, err, errlen) != 0)
		goto out;
	if (atomic_write(cert_path, cert, strlen(cert), 0644, (uid_t)-1,
	    (gid_t)-1, 0, err, errlen) != 0)
		goto out;
	if (pki_cert_read(cert_path, &c, err, errlen) != 0)
		goto out;
	printf("signed %s: %s certificate for %s, valid until %s\n",
	    cert_path, req.is_host ? "host" : "user", principals,
	    setup_time_str(c.valid_to, until, sizeof(until)));
	log_info("signed %s for %s", cert_path, principals);
	pki_cert_free(&c);
	rc = 0;
out:
	free(pub);
	free(cert);
	return rc;
}

/* Is the slot's certificate what we would issue now, and not near its end?
 * Then it is kept (idempotence). */
static bool
setup_cert_current(const char *pki_dir, enum pki_slot s, const char *ca_line,
    const char *principals)
{
	char key[PATH_MAX], cert[PATH_MAX], err[SETUP_ERR_MAX];
	struct pki_cert c;
	char *kline = NULL;
	bool ok;

	if (setup_path(key, sizeof(key), pki_dir, pki_slot_key(s)) != 0 ||
	    (size_t)snprintf(cert, sizeof(cert), "%s-cert.pub", key) >=
	    sizeof(cert) || access(cert, F_OK) != 0)
		return false;
	if (pki_cert_read(cert, &c, err, sizeof(err)) != 0)
		return false;
	if (pki_key_derive(key, &kline, err, sizeof(err)) != 0) {
		pki_cert_free(&c);
		return false;
	}
	ok = c.is_host == pki_slot_is_host(s) &&
	    strcmp(c.key_line, kline) == 0 && strcmp(c.ca_line, ca_line) == 0 &&
	    pki_cert_has_principals(&c, principals) &&
	    (c.valid_to == PKI_FOREVER ||
	    c.valid_to > time(NULL) + PKI_RENEW_DAYS * 86400L) &&
	    c.valid_from <= time(NULL) &&
	    (c.is_host || (c.noptions == 2 &&
	    strcmp(c.options[1], "permit-pty") == 0));
	pki_cert_free(&c);
	free(kline);
	return ok;
}

/* Reads the CA of ca_dir: its public line and fingerprint. */
static int
setup_load_ca(const char *ca_dir, char **line, char **fp, char *err,
    size_t errlen)
{
	char ca[PATH_MAX];

	*line = *fp = NULL;
	if (setup_path(ca, sizeof(ca), ca_dir, "ca") != 0) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	if (access(ca, R_OK) != 0) {
		snprintf(err, errlen, "no CA at %s: create one with "
		    "`sercon-setup ca create --ca-dir %s`, or enrol this "
		    "machine with request, sign and install-cert", ca, ca_dir);
		return -1;
	}
	return pki_ca_identity(ca, line, fp, err, errlen);
}

struct setup_role_opts {
	const char *pki_dir;
	const char *ca_dir;
	const char *names;
	const char *key_type;
	char validity[80];
	char *accept_names[SETUP_ACCEPT_MAX];     /* host only */
	size_t naccept_names;
	char *accept_cas[SETUP_ACCEPT_MAX];
	size_t naccept_cas;
};

static int
setup_role_parse(const char *cmd, const char *usage, int argc, char **argv,
    struct setup_role_opts *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "name", required_argument, NULL, 'n' },
		{ "ca-dir", required_argument, NULL, 'c' },
		{ "pki-dir", required_argument, NULL, 'p' },
		{ "validity", required_argument, NULL, 'V' },
		{ "key-type", required_argument, NULL, 't' },
		{ "accept-proxy-principal", required_argument, NULL, 'P' },
		{ "accept-ca", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 }
	};
	const char *validity = NULL;
	char err[SETUP_ERR_MAX];
	int ch;

	memset(o, 0, sizeof(*o));
	o->pki_dir = SERCON_PKIDIR;
	o->key_type = "ed25519";
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			fputs(usage, stdout);
			return -1;
		case 'n': o->names = optarg; break;
		case 'c': o->ca_dir = optarg; break;
		case 'p': o->pki_dir = optarg; break;
		case 'V': validity = optarg; break;
		case 't': o->key_type = optarg; break;
		case 'P':
		case 'A':
			if (strcmp(cmd, "host") != 0)
				return setup_usage_error(cmd, "--accept-* "
				    "options are for sercon-setup host");
			if ((ch == 'P' ? o->naccept_names : o->naccept_cas) ==
			    SETUP_ACCEPT_MAX)
				return setup_usage_error(cmd, "too many "
				    "--accept options");
			if (ch == 'P' && !setup_principal_valid(optarg))
				return setup_usage_error(cmd, "--accept-proxy-"
				    "principal is letters, digits and ._@+-");
			if (ch == 'P')
				o->accept_names[o->naccept_names++] = optarg;
			else
				o->accept_cas[o->naccept_cas++] = optarg;
			break;
		default:
			return setup_usage_error(cmd, "unknown option");
		}
	}
	if (optind != argc)
		return setup_usage_error(cmd, "unexpected argument");
	if (o->ca_dir == NULL)
		o->ca_dir = o->pki_dir;
	if (strcmp(o->key_type, "ed25519") != 0 &&
	    strcmp(o->key_type, "rsa") != 0)
		return setup_usage_error(cmd, "--key-type is ed25519 or rsa");
	if (o->names != NULL && pki_check_names(o->names, err,
	    sizeof(err)) != 0)
		return setup_usage_error(cmd, err);
	if (pki_validity_arg(validity, o->validity, sizeof(o->validity), err,
	    sizeof(err)) != 0)
		return setup_usage_error(cmd, err);
	return 0;
}

int
setup_cmd_ca(int argc, char **argv)
{
	struct setup_role_opts o;
	char ca[PATH_MAX], pub[PATH_MAX], err[SETUP_ERR_MAX];
	char *line = NULL, *fp = NULL;
	int rc;

	if (argc < 2 || strcmp(argv[1], "create") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0)) {
			fputs(ca_usage, stdout);
			return SETUP_EXIT_OK;
		}
		return setup_usage_error("ca", "the subcommand is `ca create`");
	}
	if ((rc = setup_role_parse("ca", ca_usage, argc - 1, argv + 1, &o)) != 0)
		return rc < 0 ? SETUP_EXIT_OK : rc;
	if (o.names != NULL)
		return setup_usage_error("ca", "--name is not for the CA");
	if (setup_path(ca, sizeof(ca), o.ca_dir, "ca") != 0 ||
	    setup_path(pub, sizeof(pub), o.ca_dir, "ca.pub") != 0)
		return setup_usage_error("ca", "--ca-dir is too long");
	if (file_mkdir_p(o.ca_dir, strcmp(o.ca_dir, o.pki_dir) == 0 ?
	    0755 : 0700, err, sizeof(err)) != 0)
		goto fail;
	if (access(ca, F_OK) == 0) {
		if (chmod(ca, 0600) != 0) {
			snprintf(err, sizeof(err), "cannot chmod %s: %s", ca,
			    strerror(errno));
			goto fail;
		}
		if (access(pub, F_OK) != 0) {
			size_t ll;
			char *text;

			if (pki_key_public(ca, &line, err, sizeof(err)) != 0)
				goto fail;
			ll = strlen(line);
			text = xmalloc(ll + 2);
			memcpy(text, line, ll);
			memcpy(text + ll, "\n", 2);
			rc = atomic_write(pub, text, ll + 1, 0644,
			    (uid_t)-1, (gid_t)-1, 0, err, sizeof(err));
			free(text);
			if (rc == 0)
				printf("wrote %s from the CA's private key\n",
				    pub);
			free(line);
			if (rc != 0)
				goto fail;
		}
		if (pki_ca_identity(ca, &line, &fp, err, sizeof(err)) != 0)
			goto fail;
		printf("kept CA %s (%s)\n", ca, fp);
		free(line);
		free(fp);
		return SETUP_EXIT_OK;
	}
	if (pki_keygen(ca, o.key_type, "sercon-ca", (uid_t)-1, (gid_t)-1, err,
	    sizeof(err)) != 0)
		goto fail;
	if (pki_ca_identity(ca, &line, &fp, err, sizeof(err)) != 0)
		goto fail;
	printf("created CA %s (%s, %s)\n", ca, o.key_type, fp);
	log_info("created CA %s (%s)", ca, fp);
	free(line);
	free(fp);
	return SETUP_EXIT_OK;
fail:
	log_user_error("ca create: %s", err);
	return SETUP_EXIT_FAIL;
}

/* The common body of `proxy` and `host`. */
static int
setup_machine(const char *cmd, const struct setup_role_opts *o,
    const enum pki_slot *slots, size_t nslots)
{
	char err[SETUP_ERR_MAX], key_id[300];
	char *ca_line = NULL, *ca_fp = NULL;
	size_t i;

	if (o->names == NULL)
		return setup_usage_error(cmd, "--name is required");
	if (setup_load_ca(o->ca_dir, &ca_line, &ca_fp, err, sizeof(err)) != 0)
		goto fail;
	if (file_mkdir_p(o->pki_dir, 0755, err, sizeof(err)) != 0 ||
	    setup_trust_ca(o->pki_dir, ca_line, strcmp(cmd, "proxy") == 0,
	    err, sizeof(err)) != 0)
		goto fail;
	for (i = 0; i < nslots; i++) {
		enum pki_slot s = slots[i];
		const char *princ = pki_slot_is_host(s) ? o->names :
		    PKI_PROXY_PRINCIPAL;

		if (setup_ensure_key(o->pki_dir, s, o->key_type, stdout, err,
		    sizeof(err)) != 0)
			goto fail;
		if (setup_cert_current(o->pki_dir, s, ca_line, princ)) {
			printf("kept certificate %s/%s-cert.pub\n", o->pki_dir,
			    pki_slot_key(s));
			continue;
		}
		snprintf(key_id, sizeof(key_id), "sercon-%s:%s",
		    pki_slot_role(s), o->names);
		if (setup_sign_slot(o->pki_dir, o->ca_dir, s, princ,
		    o->validity, NULL, key_id, err, sizeof(err)) != 0)
			goto fail;
	}
	free(ca_line);
	free(ca_fp);
	return SETUP_EXIT_OK;
fail:
	log_user_error("%s: %s", cmd, err);
	free(ca_line);
	free(ca_fp);
	return SETUP_EXIT_FAIL;
}

int
setup_cmd_proxy(int argc, char **argv)
{
	static const enum pki_slot slots[] = { PKI_PROXY_HOST, PKI_PROXY_USER };
	struct setup_role_opts o;
	int rc;

	if ((rc = setup_role_parse("proxy", proxy_usage, argc, argv, &o)) != 0)
		return rc < 0 ? SETUP_EXIT_OK : rc;
	return setup_machine("proxy", &o, slots, 2);
}

/* The other proxies of sercon.conf and of the command line, applied. */
static int
setup_host_accept(const struct setup_role_opts *o, bool need_some)
{
	struct sercon_config cfg;
	char err[SETUP_ERR_MAX];
	char **names = NULL, **cas = NULL;
	size_t nn = 0, nc = 0, i;
	int rc = SETUP_EXIT_FAIL;

	if (cfg_load_installed(&cfg, err, sizeof(err)) != 0) {
		log_user_error("host: %s (see sercon.conf(5))", err);
		cfg_free(&cfg);
		return SETUP_EXIT_FAIL;
	}
	setup_csv_split(cfg.accept_proxy_principals, &names, &nn);
	setup_csv_split(cfg.accept_proxy_ca, &cas, &nc);
	names = xreallocarray(names, nn + o->naccept_names + 1, sizeof(*names));
	cas = xreallocarray(cas, nc + o->naccept_cas + 1, sizeof(*cas));
	for (i = 0; i < o->naccept_names; i++)
		names[nn++] = xstrdup(o->accept_names[i]);
	for (i = 0; i < o->naccept_cas; i++)
		cas[nc++] = xstrdup(o->accept_cas[i]);
	if (need_some && nn == 0 && nc == 0)
		rc = setup_usage_error("host", "--name is required");
	else if (setup_accept_apply(o->pki_dir, SETUP_PRINCIPALS_FILE, names, nn,
	    cas, nc, err, sizeof(err)) != 0)
		log_user_error("host: %s", err);
	else
		rc = SETUP_EXIT_OK;
	pki_strv_free(names, nn);
	pki_strv_free(cas, nc);
	cfg_free(&cfg);
	return rc;
}

int
setup_cmd_host(int argc, char **argv)
{
	static const enum pki_slot slots[] = { PKI_HOST_HOST };
	struct setup_role_opts o;
	int rc;

	if ((rc = setup_role_parse("host", host_usage, argc, argv, &o)) != 0)
		return rc < 0 ? SETUP_EXIT_OK : rc;
	if (o.names != NULL &&
	    (rc = setup_machine("host", &o, slots, 1)) != SETUP_EXIT_OK)
		return rc;
	/* Without --name, the other proxies are all there is to do. */
	return setup_host_accept(&o, o.names == NULL);
}

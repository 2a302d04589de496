/* pki.c: keys and certificates made by ssh-keygen (see pki.h), always run
 * from an argv with TZ=UTC, and the public key files of the PKI directory.
 * Certificates are read back in pki_cert.c, from their own bytes. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "core/atomic.h"
#include "core/child.h"
#include "core/file.h"
#include "core/sshkey.h"
#include "core/xmalloc.h"
#include "setup/pki.h"
#include "core/text.h"

#define PKI_TIMEOUT_MS (60 * 1000)
#define PKI_OUT_CAP    (64 * 1024)
#define PKI_FILE_MAX   (64 * 1024)

static char *const pki_env[] = {
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "TZ=UTC", NULL
};

static const struct {
	const char *key;
	const char *role;
	bool host;
} pki_slots[PKI_NSLOTS] = {
	[PKI_HOST_HOST] = { "host-ssh_host_key", "host", true },
	[PKI_PROXY_HOST] = { "proxy-ssh_host_key", "proxy-host", true },
	[PKI_PROXY_USER] = { "proxy-ssh_user_key", "proxy-user", false },
};

const char *
pki_slot_key(enum pki_slot s)
{
	return pki_slots[s].key;
}

bool
pki_slot_is_host(enum pki_slot s)
{
	return pki_slots[s].host;
}

const char *
pki_slot_role(enum pki_slot s)
{
	return pki_slots[s].role;
}

int
pki_slot_by_role(const char *role)
{
	int i;

	for (i = 0; i < PKI_NSLOTS; i++)
		if (strcmp(pki_slots[i].role, role) == 0)
			return i;
	return -1;
}

/* Runs ssh-keygen with argv (argv[0] filled in here). Returns 0 when it
 * exited 0; its output is in res either way. */
static int
pki_keygen_run(char **argv, struct child_result *res, char *err,
    size_t errlen)
{
	argv[0] = SSH_KEYGEN_PATH;
	if (child_run(argv, pki_env, PKI_TIMEOUT_MS, PKI_OUT_CAP, 1,
	    res, err, errlen) != 0)
		return -1;
	if (res->timed_out || res->truncated || res->status != 0) {
		snprintf(err, errlen, "%s %s failed (exit status %d)",
		    SSH_KEYGEN_PATH, argv[1], res->status);
		child_result_free(res);
		return -1;
	}
	return 0;
}

void
pki_strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A private temporary directory next to the final files (same file system,
 * so rename works). */
static int
pki_tmpdir(const char *dir, char *out, size_t outlen, char *err,
    size_t errlen)
{
	if ((size_t)snprintf(out, outlen, "%s/.sercon-setup.XXXXXX", dir) >=
	    outlen) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	if (mkdtemp(out) == NULL) {
		snprintf(err, errlen, "cannot create a directory in %s: %s",
		    dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void
pki_rmtmp(const char *tmp, const char *const *names)
{
	char path[PATH_MAX + 64];

	for (; *names != NULL; names++) {
		snprintf(path, sizeof(path), "%s/%s", tmp, *names);
		(void)unlink(path);
	}
	(void)rmdir(tmp);
}

static char *
pki_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int
pki_keygen(const char *path, const char *type, const char *comment,
    uid_t uid, gid_t gid, char *err, size_t errlen)
{
	static const char *const names[] = { "key", "key.pub", NULL };
	char tmp[PATH_MAX], key[PATH_MAX + 32], pub[PATH_MAX + 32];
	char dst[PATH_MAX + 8];
	char *argv[] = { NULL, "-q", "-t", (char *)type, "-N", "", "-C",
	    (char *)comment, "-f", key, NULL, NULL, NULL };
	struct child_result res;
	char *dir = pki_dirname(path);
	int rc = -1;

	if (strcmp(type, "ed25519") != 0 && strcmp(type, "rsa") != 0) {
		snprintf(err, errlen, "key type must be ed25519 or rsa");
		free(dir);
		return -1;
	}
	if (pki_tmpdir(dir, tmp, sizeof(tmp), err, errlen) != 0) {
		free(dir);
		return -1;
	}
	free(dir);
	snprintf(key, sizeof(key), "%s/key", tmp);
	snprintf(pub, sizeof(pub), "%s/key.pub", tmp);
	if (strcmp(type, "rsa") == 0) {
		argv[10] = "-b";
		argv[11] = "4096";
	}
	if (pki_keygen_run(argv, &res, err, errlen) != 0)
		goto out;
	child_result_free(&res);
	if (chmod(key, 0600) != 0 || chmod(pub, 0644) != 0 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(key, uid, gid) != 0)) {
		snprintf(err, errlen, "cannot set mode or owner of %s: %s",
		    path, strerror(errno));
		goto out;
	}
	snprintf(dst, sizeof(dst), "%s.pub", path);
	if (rename(pub, dst) != 0 || rename(key, path) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	pki_rmtmp(tmp, names);
	return rc;
}

/* The fixed words of the signing command line: the program, -q, -s CA,
 * -t ALG, -I, -n, -V, -z (each with its value), -h, the key, and the
 * terminating NULL. Each -O option adds two. */
#define PKI_SIGN_ARGV_FIXED 18

int
pki_sign(const struct pki_sign_req *req, const char *tmpdir, char **cert,
    char *err, size_t errlen)
{
	static const char *const names[] = { "key.pub", "key-cert.pub", NULL };
	char tmp[PATH_MAX], pub[PATH_MAX + 32], out[PATH_MAX + 32];
	char cpath[PATH_MAX + 8], serial[32];
	char **argv = NULL;
	struct child_result res;
	char *ca_pub = NULL, ebuf[64];
	size_t i, n = 0, nopts = 0, cap;
	int rc = -1;

	*cert = NULL;
	while (req->options != NULL && req->options[nopts] != NULL)
		nopts++;
	if (nopts > PKI_MAX_OPTIONS) {
		snprintf(err, errlen, "more than %d certificate options",
		    PKI_MAX_OPTIONS);
		return -1;
	}
	cap = PKI_SIGN_ARGV_FIXED + 2 * nopts;
	if (pki_tmpdir(tmpdir, tmp, sizeof(tmp), err, errlen) != 0)
		return -1;
	snprintf(pub, sizeof(pub), "%s/key.pub", tmp);
	snprintf(out, sizeof(out), "%s/key-cert.pub", tmp);
	snprintf(serial, sizeof(serial), "%llu", req->serial);
	if (atomic_write(pub, req->pubkey, strlen(req->pubkey), 0644,
	    (uid_t)-1, (gid_t)-1, 0, err, errlen) != 0)
		goto out;
	argv = xcalloc(cap, sizeof(*argv));
	argv[n++] = NULL;
	argv[n++] = "-q";
	argv[n++] = "-s";
	argv[n++] = (char *)req->ca_key;
	/* An RSA CA signs with SHA-512, never with SHA-1. */
	snprintf(cpath, sizeof(cpath), "%s.pub", req->ca_key);
	if (pki_read_file(cpath, PKI_FILE_MAX, &ca_pub, ebuf,
	    sizeof(ebuf)) == 0 && strncmp(ca_pub, "ssh-rsa ", 8) == 0) {
		argv[n++] = "-t";
		argv[n++] = "rsa-sha2-512";
	}
	argv[n++] = "-I";
	argv[n++] = (char *)req->key_id;
	argv[n++] = "-n";
	argv[n++] = (char *)req->principals;
	argv[n++] = "-V";
	argv[n++] = (char *)req->validity;
	argv[n++] = "-z";
	argv[n++] = serial;
	if (req->is_host)
		argv[n++] = "-h";
	for (i = 0; i < nopts; i++) {
		argv[n++] = "-O";
		argv[n++] = req->options[i];
	}
	argv[n++] = pub;
	argv[n] = NULL;
	if (pki_keygen_run(argv, &res, err, errlen) != 0)
		goto out;
	child_result_free(&res);
	if (pki_read_file(out, PKI_FILE_MAX, cert, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	free(argv);
	free(ca_pub);
	pki_rmtmp(tmp, names);
	return rc;
}

int
pki_validity_arg(const char *user, char *out, size_t outlen, char *err,
    size_t errlen)
{
	size_t n;

	if (user == NULL || *user == '\0') {
		snprintf(out, outlen, "-1h:+%dd", PKI_DEFAULT_DAYS);
		return 0;
	}
	n = strlen(user);
	if (n > 64 || strspn(user, "0123456789smhdwSMHDW:+-TZ") != n ||
	    user[0] == ':') {
		snprintf(err, errlen, "validity '%.64s' is not a duration "
		    "such as 90d or an ssh-keygen -V interval", user);
		return -1;
	}
	if (strchr(user, ':') != NULL || user[0] == '+' || user[0] == '-')
		snprintf(out, outlen, "%s", user);
	else
		snprintf(out, outlen, "-1h:+%s", user);
	return 0;
}

int
pki_check_names(const char *names, char *err, size_t errlen)
{
	const char *p = names, *comma;
	char name[TEXT_HOST_MAX + 1];
	size_t n = 0;

	if (names == NULL || *names == '\0') {
		snprintf(err, errlen, "--name is required (the machine's "
		    "names, comma-separated)");
		return -1;
	}
	for (;;) {
		size_t len;

		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len == 0 || len > TEXT_HOST_MAX) {
			snprintf(err, errlen, "empty or too long name in "
			    "--name");
			return -1;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		if (!text_valid_host(name)) {
			/* Raw: whoever prints err escapes it, once. */
			snprintf(err, errlen, "'%s' is not a host name", name);
			return -1;
		}
		if (++n > PKI_MAX_PRINCIPALS) {
			snprintf(err, errlen, "too many names");
			return -1;
		}
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

int
pki_read_file(const char *path, size_t max, char **out, char *err,
    size_t errlen)
{
	return file_read(path, max, FILE_NOFOLLOW | FILE_TEXT, out, NULL, NULL,
	    err, errlen);
}


int
pki_pubkey_norm(const char *text, char **line, char *err, size_t errlen)
{
	char *first, *type, *blob, why[200];
	size_t n = strcspn(text, "\r\n");
	int rc;

	*line = NULL;
	first = xstrndup(text, n);
	rc = sshkey_parse_line(first, &type, &blob, why, sizeof(why));
	free(first);
	if (rc != 0) {
		snprintf(err, errlen, "not an OpenSSH public key (%s)", why);
		return -1;
	}
	*line = xasprintf("%s %s", type, blob);
	free(type);
	free(blob);
	return 0;
}

int
pki_pubkeys_read(const char *path, char ***linesp, size_t *np, char *err,
    size_t errlen)
{
	char *text, *p, *nl, **v = NULL, *line;
	size_t n = 0, lineno = 0;

	*linesp = NULL;
	*np = 0;
	if (pki_read_file(path, PKI_FILE_MAX, &text, err, errlen) != 0)
		return -1;
	for (p = text; *p != '\0'; p = nl) {
		char why[200];

		lineno++;
		nl = p + strcspn(p, "\n");
		if (*nl == '\n')
			*nl++ = '\0';
		p += strspn(p, " \t\r");
		if (*p == '\0' || *p == '#')
			continue;
		if (pki_pubkey_norm(p, &line, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s line %zu: %s", path, lineno,
			    why);
			pki_strv_free(v, n);
			free(text);
			return -1;
		}
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = line;
	}
	free(text);
	if (n == 0) {
		snprintf(err, errlen, "%s holds no key", path);
		return -1;
	}
	*linesp = v;
	*np = n;
	return 0;
}

bool
pki_strv_has(char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

int
pki_pubkey_read(const char *path, char **line, char *err, size_t errlen)
{
	char *text;
	int rc;

	*line = NULL;
	if (pki_read_file(path, PKI_FILE_MAX, &text, err, errlen) != 0)
		return -1;
	rc = pki_pubkey_norm(text, line, err, errlen);
	if (rc != 0) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", err);
		snprintf(err, errlen, "%s: %s", path, msg);
	}
	free(text);
	return rc;
}

int
pki_key_public(const char *key, char **line, char *err, size_t errlen)
{
	char *argv[] = { NULL, "-y", "-f", (char *)key, NULL };
	char pub[PATH_MAX + 8];
	struct child_result res;
	int rc;

	*line = NULL;
	snprintf(pub, sizeof(pub), "%s.pub", key);
	if (access(pub, F_OK) == 0)
		return pki_pubkey_read(pub, line, err, errlen);
	if (pki_keygen_run(argv, &res, err, errlen) != 0) {
		snprintf(err, errlen, "cannot read the key %s", key);
		return -1;
	}
	rc = pki_pubkey_norm(res.out, line, err, errlen);
	child_result_free(&res);
	return rc;
}

int
pki_fingerprint_line(const char *line, char **fp, char *err, size_t errlen)
{
	const char *b64 = strchr(line, ' ');

	if (b64 == NULL || (*fp = sshkey_fingerprint(b64 + 1)) == NULL) {
		*fp = NULL;
		snprintf(err, errlen, "cannot compute the key's fingerprint");
		return -1;
	}
	return 0;
}

int
pki_key_derive(const char *key, char **line, char *err, size_t errlen)
{
	char *argv[] = { NULL, "-y", "-f", (char *)key, NULL };
	struct child_result res;
	int rc;

	*line = NULL;
	if (pki_keygen_run(argv, &res, err, errlen) != 0) {
		snprintf(err, errlen, "cannot read the private key %s", key);
		return -1;
	}
	rc = pki_pubkey_norm(res.out, line, err, errlen);
	child_result_free(&res);
	return rc;
}

int
pki_ca_identity(const char *ca_key, char **line, char **fp, char *err,
    size_t errlen)
{
	*fp = NULL;
	if (pki_key_derive(ca_key, line, err, errlen) != 0)
		return -1;
	if (pki_fingerprint_line(*line, fp, err, errlen) != 0) {
		free(*line);
		*line = NULL;
		return -1;
	}
	return 0;
}

int
pki_sercon_ids(uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(SERCON_USER);

	if (pw == NULL) {
		*uid = (uid_t)-1;
		*gid = (gid_t)-1;
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* pki.c: keys and certificates through ssh-keygen (see pki.h). ssh-keygen
 * is always run from an argv with TZ=UTC; what it prints about a
 * certificate is parsed strictly, and anything unexpected is an error. */
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

void
pki_cert_free(struct pki_cert *c)
{
	size_t i;

	free(c->key_fp);
	free(c->ca_fp);
	free(c->key_id);
	for (i = 0; i < c->nprincipals; i++)
		free(c->principals[i]);
	for (i = 0; i < c->noptions; i++)
		free(c->options[i]);
	memset(c, 0, sizeof(*c));
}

/* A fingerprint as ssh-keygen prints it: "SHA256:" and base64. */
static bool
pki_valid_fp(const char *s, size_t len)
{
	size_t i;

	if (len < 8 || len > 100 || strncmp(s, "SHA256:", 7) != 0)
		return false;
	for (i = 7; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '+' &&
		    s[i] != '/' && s[i] != '=')
			return false;
	return true;
}

/* "2027-11-22T06:57:05" (UTC) */
static int
pki_parse_time(const char *s, size_t len, time_t *out)
{
	struct tm tm;
	char buf[32];
	char *end;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(&tm, 0, sizeof(tm));
	end = strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	*out = timegm(&tm);
	return 0;
}

static int
pki_parse_valid(const char *v, struct pki_cert *c)
{
	const char *to;

	c->valid_from = 0;
	c->valid_to = PKI_FOREVER;
	if (strcmp(v, "forever") == 0)
		return 0;
	if (strncmp(v, "from ", 5) == 0) {
		if ((to = strstr(v, " to ")) == NULL)
			return -1;
		if (pki_parse_time(v + 5, (size_t)(to - v - 5),
		    &c->valid_from) != 0)
			return -1;
		return pki_parse_time(to + 4, strlen(to + 4), &c->valid_to);
	}
	if (strncmp(v, "after ", 6) == 0)
		return pki_parse_time(v + 6, strlen(v + 6), &c->valid_from);
	if (strncmp(v, "before ", 7) == 0)
		return pki_parse_time(v + 7, strlen(v + 7), &c->valid_to);
	return -1;
}

/* One critical option line of the listing into a -O argument. */
static char *
pki_critical_option(const char *line)
{
	char buf[1024];

	if (strncmp(line, "force-command ", 14) == 0 &&
	    text_valid_entity_name(line + 14))
		snprintf(buf, sizeof(buf), "force-command=%s", line + 14);
	else if (strncmp(line, "source-address ", 15) == 0 &&
	    strspn(line + 15, "0123456789abcdefABCDEF.:/,") ==
	    strlen(line + 15))
		snprintf(buf, sizeof(buf), "source-address=%s", line + 15);
	else if (strcmp(line, "verify-required") == 0)
		snprintf(buf, sizeof(buf), "verify-required");
	else
		return NULL;
	return xstrdup(buf);
}

/* One extension line into a -O argument: a plain name only. */
static char *
pki_extension(const char *line)
{
	static const char *const known[] = {
		"permit-X11-forwarding", "permit-agent-forwarding",
		"permit-port-forwarding", "permit-pty", "permit-user-rc",
		"no-touch-required", NULL
	};
	char buf[300];
	size_t i;

	if (*line == '\0' || strlen(line) > 200 ||
	    strspn(line, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.@") != strlen(line))
		return NULL;
	for (i = 0; known[i] != NULL; i++)
		if (strcmp(line, known[i]) == 0)
			return xstrdup(line);
	snprintf(buf, sizeof(buf), "extension:%s", line);
	return xstrdup(buf);
}

enum pki_list { L_NONE, L_PRINCIPALS, L_CRITICAL, L_EXTENSIONS };

static int
pki_list_item(struct pki_cert *c, enum pki_list list, const char *v,
    char *err, size_t errlen)
{
	char *o;

	switch (list) {
	case L_PRINCIPALS:
		if (c->nprincipals == PKI_MAX_PRINCIPALS ||
		    !text_valid_entity_id(v)) {
			snprintf(err, errlen, "unexpected principal");
			return -1;
		}
		c->principals[c->nprincipals++] = xstrdup(v);
		return 0;
	case L_CRITICAL:
	case L_EXTENSIONS:
		o = list == L_CRITICAL ? pki_critical_option(v) :
		    pki_extension(v);
		if (o == NULL || c->noptions == PKI_MAX_OPTIONS) {
			free(o);
			snprintf(err, errlen, "certificate option sercon "
			    "cannot reproduce");
			return -1;
		}
		c->options[c->noptions++] = o;
		return 0;
	default:
		snprintf(err, errlen, "unexpected line in ssh-keygen -L output");
		return -1;
	}
}

/* "Name: value" with value after the colon and its blanks. */
static const char *
pki_field(const char *line, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	line += n + 1;
	while (*line == ' ')
		line++;
	return line;
}

static int
pki_cert_line(struct pki_cert *c, const char *line, bool indented2,
    enum pki_list *list, int *seen, char *err, size_t errlen)
{
	const char *v, *sp;

	if (indented2)
		return pki_list_item(c, *list, line, err, errlen);
	*list = L_NONE;
	if ((v = pki_field(line, "Type")) != NULL) {
		if ((sp = strchr(v, ' ')) == NULL)
			goto bad;
		if (strcmp(sp, " host certificate") == 0)
			c->is_host = true;
		else if (strcmp(sp, " user certificate") != 0)
			goto bad;
		*seen |= 1;
	} else if ((v = pki_field(line, "Public key")) != NULL) {
		if ((sp = strchr(v, ' ')) == NULL ||
		    !pki_valid_fp(sp + 1, strlen(sp + 1)))
			goto bad;
		c->key_fp = xstrdup(sp + 1);
		*seen |= 2;
	} else if ((v = pki_field(line, "Signing CA")) != NULL) {
		const char *fp, *end;

		if ((fp = strchr(v, ' ')) == NULL)
			goto bad;
		fp++;
		if ((end = strchr(fp, ' ')) == NULL)
			end = fp + strlen(fp);
		if (!pki_valid_fp(fp, (size_t)(end - fp)))
			goto bad;
		c->ca_fp = xstrndup(fp, (size_t)(end - fp));
		*seen |= 4;
	} else if ((v = pki_field(line, "Key ID")) != NULL) {
		size_t n = strlen(v);

		if (n < 2 || v[0] != '"' || v[n - 1] != '"')
			goto bad;
		c->key_id = xstrndup(v + 1, n - 2);
		*seen |= 8;
	} else if ((v = pki_field(line, "Serial")) != NULL) {
		char *end;

		errno = 0;
		c->serial = strtoull(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0')
			goto bad;
		*seen |= 16;
	} else if ((v = pki_field(line, "Valid")) != NULL) {
		if (pki_parse_valid(v, c) != 0)
			goto bad;
		*seen |= 32;
	} else if ((v = pki_field(line, "Principals")) != NULL) {
		*list = L_PRINCIPALS;
	} else if ((v = pki_field(line, "Critical Options")) != NULL) {
		*list = L_CRITICAL;
	} else if ((v = pki_field(line, "Extensions")) != NULL) {
		*list = L_EXTENSIONS;
	} else
		goto bad;
	if (*list != L_NONE && *v != '\0' && strcmp(v, "(none)") != 0)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "unexpected line in ssh-keygen -L output");
	return -1;
}

int
pki_cert_parse(const char *listing, struct pki_cert *c, char *err,
    size_t errlen)
{
	enum pki_list list = L_NONE;
	const char *p = listing, *nl;
	char line[1024];
	int seen = 0, first = 1;

	memset(c, 0, sizeof(*c));
	if (errlen > 0)
		err[0] = '\0';
	for (; *p != '\0'; p = nl + 1) {
		size_t len, ind;

		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		len = (size_t)(nl - p);
		if (len >= sizeof(line))
			goto bad;
		memcpy(line, p, len);
		line[len] = '\0';
		while (len > 0 && line[len - 1] == ' ')
			line[--len] = '\0';
		ind = strspn(line, " \t");
		if (first) {
			first = 0;     /* "path:" */
			if (ind != 0)
				goto bad;
		} else if (len > 0 && (ind == 0 ||
		    pki_cert_line(c, line + ind, ind > 8, &list, &seen, err,
		    errlen) != 0))
			goto bad;
		if (*nl == '\0')
			break;
	}
	if (seen != 63) {
		snprintf(err, errlen, "incomplete ssh-keygen -L output");
		goto fail;
	}
	if (!c->is_host) {
		/* Reproducible as: clear, then each extension/option. */
		size_t i;

		if (c->noptions == PKI_MAX_OPTIONS)
			goto bad;
		for (i = c->noptions; i > 0; i--)
			c->options[i] = c->options[i - 1];
		c->options[0] = xstrdup("clear");
		c->noptions++;
	} else if (c->noptions != 0)
		goto bad;
	return 0;
bad:
	if (errlen > 0 && err[0] == '\0')
		snprintf(err, errlen, "unexpected line in ssh-keygen -L output");
fail:
	pki_cert_free(c);
	return -1;
}

int
pki_cert_read(const char *path, struct pki_cert *c, char *err, size_t errlen)
{
	char *argv[] = { NULL, "-L", "-f", (char *)path, NULL };
	struct child_result res;
	int rc;

	if (access(path, R_OK) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (pki_keygen_run(argv, &res, err, errlen) != 0) {
		snprintf(err, errlen, "%s is not a certificate ssh-keygen "
		    "can read", path);
		return -1;
	}
	rc = pki_cert_parse(res.out, c, err, errlen);
	child_result_free(&res);
	return rc;
}

bool
pki_cert_has_principals(const struct pki_cert *c, const char *names)
{
	const char *p = names, *comma;
	size_t i, n = 0;

	for (;;) {
		bool found = false;
		size_t len;

		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		for (i = 0; i < c->nprincipals; i++)
			if (strlen(c->principals[i]) == len &&
			    strncmp(c->principals[i], p, len) == 0)
				found = true;
		if (!found)
			return false;
		n++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return n == c->nprincipals;
}

int
pki_fingerprints(const char *path, char ***fpsp, size_t *np, char *err,
    size_t errlen)
{
	char *argv[] = { NULL, "-l", "-E", "sha256", "-f", (char *)path, NULL };
	struct child_result res;
	char **fps = NULL;
	size_t n = 0;
	char *line, *save = NULL;

	*fpsp = NULL;
	*np = 0;
	if (access(path, R_OK) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (pki_keygen_run(argv, &res, err, errlen) != 0) {
		snprintf(err, errlen, "%s holds no key ssh-keygen can read",
		    path);
		return -1;
	}
	for (line = strtok_r(res.out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *fp = strchr(line, ' '), *end;

		if (fp == NULL)
			continue;
		fp++;
		if ((end = strchr(fp, ' ')) == NULL)
			end = fp + strlen(fp);
		if (!pki_valid_fp(fp, (size_t)(end - fp)))
			continue;
		fps = xreallocarray(fps, n + 1, sizeof(*fps));
		fps[n++] = xstrndup(fp, (size_t)(end - fp));
	}
	child_result_free(&res);
	if (n == 0) {
		snprintf(err, errlen, "%s holds no key", path);
		return -1;
	}
	*fpsp = fps;
	*np = n;
	return 0;
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

int
pki_sign(const struct pki_sign_req *req, const char *tmpdir, char **cert,
    char *err, size_t errlen)
{
	static const char *const names[] = { "key.pub", "key-cert.pub", NULL };
	char tmp[PATH_MAX], pub[PATH_MAX + 32], out[PATH_MAX + 32];
	char serial[32];
	char *argv[16 + 2 * PKI_MAX_OPTIONS];
	struct child_result res;
	char *ca_pub = NULL;
	size_t i, n = 0;
	int rc = -1;

	*cert = NULL;
	if (pki_tmpdir(tmpdir, tmp, sizeof(tmp), err, errlen) != 0)
		return -1;
	snprintf(pub, sizeof(pub), "%s/key.pub", tmp);
	snprintf(out, sizeof(out), "%s/key-cert.pub", tmp);
	snprintf(serial, sizeof(serial), "%llu", req->serial);
	if (atomic_write(pub, req->pubkey, strlen(req->pubkey), 0644,
	    (uid_t)-1, (gid_t)-1, 0, err, errlen) != 0)
		goto out;
	argv[n++] = NULL;
	argv[n++] = "-q";
	argv[n++] = "-s";
	argv[n++] = (char *)req->ca_key;
	/* An RSA CA signs with SHA-512, never with SHA-1. */
	{
		char cpath[PATH_MAX + 8];

		snprintf(cpath, sizeof(cpath), "%s.pub", req->ca_key);
		if (pki_read_file(cpath, PKI_FILE_MAX, &ca_pub, err,
		    errlen) == 0 && strncmp(ca_pub, "ssh-rsa ", 8) == 0) {
			argv[n++] = "-t";
			argv[n++] = "rsa-sha2-512";
		}
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
	for (i = 0; req->options != NULL && req->options[i] != NULL &&
	    i < PKI_MAX_OPTIONS; i++) {
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
			char safe[80];

			snprintf(err, errlen, "'%s' is not a host name",
			    text_safe_buf(safe, sizeof(safe), name));
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
	static const char *const types[] = {
		"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256",
		"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", NULL
	};
	const char *p = text, *t, *b;
	size_t tlen, blen, i;
	bool ok = false;

	*line = NULL;
	while (*p == ' ' || *p == '\t')
		p++;
	t = p;
	tlen = strcspn(t, " \t\r\n");
	for (i = 0; types[i] != NULL; i++)
		if (strlen(types[i]) == tlen && strncmp(t, types[i], tlen) == 0)
			ok = true;
	b = t + tlen;
	while (*b == ' ' || *b == '\t')
		b++;
	blen = strspn(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/=");
	if (!ok || blen < 16 || blen > 16384 ||
	    (b[blen] != '\0' && strchr(" \t\r\n", b[blen]) == NULL)) {
		snprintf(err, errlen, "not an OpenSSH public key "
		    "(TYPE BASE64 [COMMENT], ed25519, rsa or ecdsa)");
		return -1;
	}
	*line = xmalloc(tlen + 1 + blen + 1);
	memcpy(*line, t, tlen);
	(*line)[tlen] = ' ';
	memcpy(*line + tlen + 1, b, blen);
	(*line)[tlen + 1 + blen] = '\0';
	return 0;
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
pki_ca_identity(const char *ca_key, char **line, char **fp, char *err,
    size_t errlen)
{
	char *argv[] = { NULL, "-y", "-f", (char *)ca_key, NULL };
	struct child_result res;
	int rc;

	*line = *fp = NULL;
	if (pki_keygen_run(argv, &res, err, errlen) != 0) {
		snprintf(err, errlen, "cannot read the CA key %s", ca_key);
		return -1;
	}
	rc = pki_pubkey_norm(res.out, line, err, errlen);
	child_result_free(&res);
	if (rc == 0 && (rc = pki_fingerprint_line(*line, fp, err,
	    errlen)) != 0) {
		free(*line);
		*line = NULL;
	}
	return rc;
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

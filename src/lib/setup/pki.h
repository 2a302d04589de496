/* pki.h: sercon's OpenSSH PKI. Keys and certificates are made by ssh-keygen
 * (run from an argv, never a shell, pki.c); certificates are read back from
 * their own wire format and their signature is verified (pki_cert.c), so
 * that trust never rests on text a tool printed. */
#ifndef SERCON_PKI_H
#define SERCON_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define PKI_PROXY_PRINCIPAL "sercon-proxy"
#define PKI_MAX_PRINCIPALS  64
#define PKI_MAX_OPTIONS     16
#define PKI_DEFAULT_DAYS    365
#define PKI_RENEW_DAYS      30
#define PKI_FOREVER         ((time_t)-1)

/* The three key slots of a PKI directory (docs/design.md). */
enum pki_slot { PKI_HOST_HOST, PKI_PROXY_HOST, PKI_PROXY_USER, PKI_NSLOTS };

/* File name of the slot's private key ("proxy-ssh_host_key"). */
const char *pki_slot_key(enum pki_slot s);
/* True when the slot holds a host certificate (false: user certificate). */
bool pki_slot_is_host(enum pki_slot s);
/* "host", "proxy-host", "proxy-user": the --role names of `sign`. */
const char *pki_slot_role(enum pki_slot s);
/* The slot of a role name; -1 when unknown. */
int pki_slot_by_role(const char *role);

/* A certificate as sercon-setup uses it: read from the certificate's own
 * bytes (core/sshkey.h), its signature verified by the key it names. Who
 * trusts that key is the caller's decision: compare ca_line. */
struct pki_cert {
	bool is_host;
	char *key_line;            /* "TYPE BASE64" of the certified key */
	char *key_fp;              /* SHA256:... of the certified key */
	char *ca_line;             /* "TYPE BASE64" of the signing CA */
	char *ca_fp;               /* SHA256:... of the signing CA */
	char *key_id;
	unsigned long long serial;
	time_t valid_from;         /* 0: since always */
	time_t valid_to;           /* PKI_FOREVER: never expires */
	char **principals;         /* any bytes but NUL: print escaped */
	size_t nprincipals;
	/* ssh-keygen -O arguments that reproduce the critical options and
	 * extensions ("clear" first for a user certificate). */
	char *options[PKI_MAX_OPTIONS + 2];
	size_t noptions;
};

/* Parses one certificate line ("TYPE-cert-v01@openssh.com BASE64
 * [COMMENT]", len bytes, an ending newline allowed), verifies its
 * signature with the signature key it carries, and fills c. Returns 0, or
 * -1 with a reason (c is then empty). A fuzzing entry point. */
int pki_cert_parse(const char *text, size_t len, struct pki_cert *c,
    char *err, size_t errlen);
/* Reads the certificate file at path with pki_cert_parse. */
int pki_cert_read(const char *path, struct pki_cert *c, char *err,
    size_t errlen);
void pki_cert_free(struct pki_cert *c);
/* True when the certificate carries exactly the comma-separated names. */
bool pki_cert_has_principals(const struct pki_cert *c, const char *names);
/* "a, b, c": the principals escaped for a terminal, in buf. */
const char *pki_cert_principals_str(const struct pki_cert *c, char *buf,
    size_t len);

/* Frees a vector of n strings. */
void pki_strv_free(char **v, size_t n);

/* Generates a key pair at path and path.pub (type "ed25519" or "rsa"),
 * written in a temporary file first and renamed into place. The private
 * key gets mode 0600 and owner uid/gid (-1: unchanged). */
int pki_keygen(const char *path, const char *type, const char *comment,
    uid_t uid, gid_t gid, char *err, size_t errlen);

struct pki_sign_req {
	const char *ca_key;        /* private key of the CA */
	const char *pubkey;        /* "TYPE BASE64 [COMMENT]" line */
	bool is_host;
	const char *key_id;
	const char *principals;    /* comma-separated */
	const char *validity;      /* ssh-keygen -V argument */
	unsigned long long serial;
	char *const *options;      /* -O arguments, NULL-terminated, or NULL */
};
/* Signs and returns the certificate line (malloc'd, with its newline) in
 * *cert. Works in a private temporary directory under tmpdir. */
int pki_sign(const struct pki_sign_req *req, const char *tmpdir, char **cert,
    char *err, size_t errlen);

/* "365d"-style or full ssh-keygen validity: the -V argument, start
 * backdated one hour for clock skew. NULL or "" gives the default year. */
int pki_validity_arg(const char *user, char *out, size_t outlen, char *err,
    size_t errlen);
/* Checks a comma-separated list of host names (text_valid_host each). */
int pki_check_names(const char *names, char *err, size_t errlen);

/* Reads a small file (at most max bytes) into a NUL-terminated buffer. */
int pki_read_file(const char *path, size_t max, char **out, char *err,
    size_t errlen);
/* First line of a public key file, without comment and newline: "TYPE B64".
 * Validated with sshkey_parse_line. */
int pki_pubkey_read(const char *path, char **line, char *err, size_t errlen);
/* Normalises the first line of text, "TYPE BASE64 [COMMENT]", into a
 * malloc'd "TYPE BASE64", validated by sshkey_parse_line (core/sshkey.h,
 * the one key parser). */
int pki_pubkey_norm(const char *text, char **line, char *err, size_t errlen);
/* Every key of a public key file (ca.pub may hold several; blank and '#'
 * lines are skipped, any other line must be a key), normalised. *lines is
 * a malloc'd vector of n strings; free with pki_strv_free. */
int pki_pubkeys_read(const char *path, char ***lines, size_t *n, char *err,
    size_t errlen);
/* True when one of the n strings of v equals s. */
bool pki_strv_has(char *const *v, size_t n, const char *s);

/* The public half of a private key: key.pub when present, else derived
 * with ssh-keygen -y. *line is "TYPE BASE64" (malloc'd). */
int pki_key_public(const char *key, char **line, char *err, size_t errlen);

/* The public half of a private key, always derived from the private key
 * itself (ssh-keygen -y), never from a .pub beside it: what sshd and ssh
 * will present. *line is "TYPE BASE64" (malloc'd). */
int pki_key_derive(const char *key, char **line, char *err, size_t errlen);
/* The public half of a CA's private key (pki_key_derive; ca.pub may list
 * older CAs too), with its SHA256 fingerprint. Both malloc'd. */
int pki_ca_identity(const char *ca_key, char **line, char **fp, char *err,
    size_t errlen);
/* "SHA256:..." of a "TYPE BASE64" line, as ssh-keygen -l prints it. */
int pki_fingerprint_line(const char *line, char **fp, char *err,
    size_t errlen);

/* uid/gid of the sercon account; -1 when it does not exist. */
int pki_sercon_ids(uid_t *uid, gid_t *gid);

#endif

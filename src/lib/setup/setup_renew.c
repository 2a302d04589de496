/* setup_renew.c: `sercon-setup renew`, run daily by sercon-renew.timer.
 * Re-signs the certificates that expire soon or were signed by another CA
 * than the current one, with the same principals, options and key id, and
 * keeps the keys, so that users' known_hosts stay valid. Silent when there
 * is nothing to do. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "setup/setup.h"

static const char renew_usage[] =
"usage: sercon-setup renew [--ca-dir DIR] [--within DAYS] [--pki-dir DIR]\n"
"           [--validity V]\n"
"\n"
"Re-signs each certificate of the PKI directory that expires within DAYS\n"
"(default 30) or was signed by another CA than DIR/ca, keeping its key,\n"
"principals and options. Prints nothing when nothing needs doing.\n"
"  --ca-dir DIR         the CA (default: the PKI directory)\n"
"  --pki-dir DIR        the PKI directory (default " SERCON_PKIDIR ")\n"
"  --validity V         of the new certificates (default 365d)\n";

struct renew_ctx {
	const char *pki_dir, *ca_dir;
	char validity[80];
	long within;              /* seconds */
	char *ca_line, *ca_fp;    /* NULL when there is no CA here */
	bool trusted;             /* the CA is in ca.pub already */
};

static int
renew_parse(int argc, char **argv, struct renew_ctx *r)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "ca-dir", required_argument, NULL, 'c' },
		{ "pki-dir", required_argument, NULL, 'p' },
		{ "within", required_argument, NULL, 'w' },
		{ "validity", required_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *validity = NULL;
	char err[SETUP_ERR_MAX], *end;
	long days;
	int ch;

	memset(r, 0, sizeof(*r));
	r->pki_dir = SERCON_PKIDIR;
	r->within = PKI_RENEW_DAYS * 86400L;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			fputs(renew_usage, stdout);
			return -1;
		case 'c': r->ca_dir = optarg; break;
		case 'p': r->pki_dir = optarg; break;
		case 'V': validity = optarg; break;
		case 'w':
			days = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || days < 0 ||
			    days > 3650)
				return setup_usage_error("renew", "--within is "
				    "a number of days (0-3650)");
			r->within = days * 86400L;
			break;
		default:
			return setup_usage_error("renew", "unknown option");
		}
	}
	if (optind != argc)
		return setup_usage_error("renew", "unexpected argument");
	if (r->ca_dir == NULL)
		r->ca_dir = r->pki_dir;
	if (pki_validity_arg(validity, r->validity, sizeof(r->validity), err,
	    sizeof(err)) != 0)
		return setup_usage_error("renew", err);
	return 0;
}

/* The CA at hand, if any: the private key and its public line. */
static void
renew_load_ca(struct renew_ctx *r)
{
	char ca[PATH_MAX], err[SETUP_ERR_MAX];

	if (setup_path(ca, sizeof(ca), r->ca_dir, "ca") != 0 ||
	    access(ca, R_OK) != 0)
		return;
	if (pki_ca_identity(ca, &r->ca_line, &r->ca_fp, err,
	    sizeof(err)) != 0)
		log_user_error("renew: %s", err);
}

/* Joins the principals with commas into buf. */
static int
renew_principals(const struct pki_cert *c, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < c->nprincipals; i++) {
		int n;

		/* ssh-keygen -n splits at commas: such a name would come
		 * back as two. */
		if (strchr(c->principals[i], ',') != NULL)
			return -1;
		n = snprintf(buf + off, len - off, "%s%s", i ? "," : "",
		    c->principals[i]);

		if (n < 0 || (size_t)n >= len - off)
			return -1;
		off += (size_t)n;
	}
	return c->nprincipals > 0 ? 0 : -1;
}

/* One slot: 0 nothing to do or renewed, -1 a problem (printed). */
static int
renew_slot(struct renew_ctx *r, enum pki_slot s)
{
	char key[PATH_MAX], cert[PATH_MAX], err[SETUP_ERR_MAX], princ[4096];
	char why[128];
	struct pki_cert c;
	time_t now = time(NULL);
	int rc = -1;

	if (setup_path(key, sizeof(key), r->pki_dir, pki_slot_key(s)) != 0 ||
	    (size_t)snprintf(cert, sizeof(cert), "%s-cert.pub", key) >=
	    sizeof(cert))
		return -1;
	if (access(cert, F_OK) != 0)
		return 0;
	if (pki_cert_read(cert, &c, err, sizeof(err)) != 0) {
		log_user_error("renew: %s: %s", cert, err);
		return -1;
	}
	if (c.valid_to != PKI_FOREVER && c.valid_to - now < r->within)
		snprintf(why, sizeof(why), c.valid_to <= now ? "expired" :
		    "expires in %ld days", (long)(c.valid_to - now) / 86400);
	else if (r->ca_line != NULL && strcmp(c.ca_line, r->ca_line) != 0)
		snprintf(why, sizeof(why), "signed by another CA (%s)",
		    c.ca_fp);
	else {
		pki_cert_free(&c);
		return 0;
	}
	if (r->ca_fp == NULL) {
		log_user_error("renew: %s %s and there is no CA in %s: renew "
		    "it with `sercon-setup request`, `sign` and "
		    "`install-cert`", cert, why, r->ca_dir);
		goto out;
	}
	if (renew_principals(&c, princ, sizeof(princ)) != 0) {
		log_user_error("renew: %s names no principals, or one with a "
		    "comma; sign it anew with sercon-setup proxy or host", cert);
		goto out;
	}
	if (!r->trusted) {
		/* Before the new certificate: the peers must trust its CA. */
		if (setup_trust_ca(r->pki_dir, r->ca_line, true, err,
		    sizeof(err)) != 0) {
			log_user_error("renew: %s", err);
			goto out;
		}
		r->trusted = true;
	}
	printf("renewing %s: %s\n", cert, why);
	c.options[c.noptions] = NULL;
	if (setup_sign_slot(r->pki_dir, r->ca_dir, s, princ, r->validity,
	    c.is_host ? NULL : c.options, c.key_id, err, sizeof(err)) != 0) {
		log_user_error("renew: %s", err);
		goto out;
	}
	rc = 0;
out:
	pki_cert_free(&c);
	return rc;
}

/* Is the CA in ca.pub already (then nothing is printed about trust)? */
static bool
renew_ca_trusted(const struct renew_ctx *r)
{
	char path[PATH_MAX], err[SETUP_ERR_MAX];
	char **lines = NULL;
	size_t n = 0;
	bool found;

	if (r->ca_line == NULL || setup_path(path, sizeof(path), r->pki_dir,
	    "ca.pub") != 0 || pki_pubkeys_read(path, &lines, &n, err,
	    sizeof(err)) != 0)
		return false;
	found = pki_strv_has(lines, n, r->ca_line);
	pki_strv_free(lines, n);
	return found;
}

int
setup_cmd_renew(int argc, char **argv)
{
	struct renew_ctx r;
	int rc, s, status = SETUP_EXIT_OK;

	if ((rc = renew_parse(argc, argv, &r)) != 0)
		return rc < 0 ? SETUP_EXIT_OK : rc;
	renew_load_ca(&r);
	r.trusted = renew_ca_trusted(&r);
	for (s = 0; s < PKI_NSLOTS; s++)
		if (renew_slot(&r, (enum pki_slot)s) != 0)
			status = SETUP_EXIT_FAIL;
	free(r.ca_line);
	free(r.ca_fp);
	return status;
}

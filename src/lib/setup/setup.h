/* setup.h: the subcommands of sercon-setup (PKI, enrolment, renewal, the
 * manager switch, diagnostics) and the few helpers they share. Each
 * setup_cmd_* takes the subcommand's own argv (argv[0] is its name) and
 * returns the process exit status. */
#ifndef SERCON_SETUP_H
#define SERCON_SETUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "setup/pki.h"

#define SETUP_EXIT_OK      0   /* done (or nothing to do) */
#define SETUP_EXIT_FAIL    1   /* failed, or check found problems */
#define SETUP_EXIT_USAGE   2   /* bad command line */

/* Room for a message naming a few paths. */
#define SETUP_ERR_MAX      (3 * PATH_MAX)

int setup_cmd_ca(int argc, char **argv);          /* setup_pki.c */
int setup_cmd_proxy(int argc, char **argv);
int setup_cmd_host(int argc, char **argv);
int setup_cmd_request(int argc, char **argv);     /* setup_enrol.c */
int setup_cmd_sign(int argc, char **argv);
int setup_cmd_install_cert(int argc, char **argv);
int setup_cmd_renew(int argc, char **argv);       /* setup_renew.c */
int setup_cmd_engine(int argc, char **argv);      /* setup_engine.c */
int setup_cmd_check(int argc, char **argv);       /* setup_check.c */

/* Shared by the subcommands (setup_pki.c). */

/* Prints one "ERROR: ..." line for a usage problem and returns
 * SETUP_EXIT_USAGE. */
int setup_usage_error(const char *cmd, const char *what);
/* path = dir "/" name; -1 when it does not fit. */
int setup_path(char *out, size_t outlen, const char *dir, const char *name);
/* Adds the CA's "TYPE BASE64" line to dir/ca.pub, and with known_hosts
 * also "@cert-authority * LINE" to dir/known_hosts, unless present. Old
 * CAs stay trusted until their line is removed by hand. */
int setup_trust_ca(const char *pki_dir, const char *ca_line,
    bool known_hosts, char *err, size_t errlen);
/* Makes sure the slot's key exists (generated when missing, mode 0600,
 * owned by the sercon user when it exists); says what it did on out. */
int setup_ensure_key(const char *pki_dir, enum pki_slot s,
    const char *key_type, FILE *out, char *err, size_t errlen);
/* Signs the slot's key with the CA in ca_dir and installs the certificate.
 * options NULL gives the slot's defaults. */
int setup_sign_slot(const char *pki_dir, const char *ca_dir,
    enum pki_slot s, const char *principals, const char *validity,
    char *const *options, const char *key_id, char *err, size_t errlen);
/* The host sshd's AuthorizedPrincipalsFile (conf/host/sshd_config.in). */
#define SETUP_PRINCIPALS_FILE SERCON_DATADIR "/host/authorized_principals"
#define SETUP_ACCEPT_MAX      16   /* --accept-* options of one command */

/* Other proxies a host accepts (setup_accept.c). */
/* A principal the host sshd's principals file can hold as a plain line. */
bool setup_principal_valid(const char *name);
/* Splits "a, b,c" into malloc'd words (empty ones dropped); free with
 * pki_strv_free. NULL csv gives none. */
int setup_csv_split(const char *csv, char ***v, size_t *n);
/* The principals of a principals file (blank and '#' lines skipped). */
int setup_principals_read(const char *path, char ***v, size_t *n, char *err,
    size_t errlen);
/* Adds the principals missing from principals_file and every key of the
 * CA files missing from pki_dir/ca.pub; says what it did on stdout. */
int setup_accept_apply(const char *pki_dir, const char *principals_file,
    char *const *names, size_t nnames, char *const *ca_files, size_t ncas,
    char *err, size_t errlen);

/* What setup_as_user runs: 0 success, else failure; a one-line message
 * in msg either way. */
typedef int (*setup_user_fn)(void *arg, char *msg, size_t len);
/* Runs fn(arg) in a child process that is user (when we are root and the
 * user exists; NULL: as we are) and returns its result and message. -1
 * when the child's fate cannot be learnt (its status is never guessed).
 * (setup_check.c) */
int setup_as_user(const char *user, setup_user_fn fn, void *arg, char *msg,
    size_t len);
/* "2027-11-22 06:57 UTC", or "never" for PKI_FOREVER. */
const char *setup_time_str(time_t t, char *buf, size_t len);

#endif

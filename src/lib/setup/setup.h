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
/* "2027-11-22 06:57 UTC", or "never" for PKI_FOREVER. */
const char *setup_time_str(time_t t, char *buf, size_t len);

#endif

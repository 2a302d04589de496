/* setup_accept.c: the other proxies a host accepts besides sercon's own
 * (an ovirt-vmconsole proxy: principal ovirt-vmconsole-proxy, signed by
 * the oVirt vmconsole CA). The host sshd reads the principals from its
 * AuthorizedPrincipalsFile and the CAs from its TrustedUserCAKeys (ca.pub):
 * `sercon-setup host` adds them there, from [host] accept_proxy_principals
 * and accept_proxy_ca and from --accept-proxy-principal/--accept-ca, and
 * `check host` reports them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/file.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "setup/setup.h"

#define ACCEPT_FILE_MAX (256 * 1024)

bool
setup_principal_valid(const char *name)
{
	size_t n = strlen(name);

	/* No blank (sshd would read key options before it), no '#'
	 * (a comment), no option-looking dash. */
	return n > 0 && n <= 128 && name[0] != '-' &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._@+-") == n;
}

int
setup_csv_split(const char *csv, char ***vp, size_t *np)
{
	const char *p = csv, *end;
	char **v = NULL;
	size_t n = 0;

	*vp = NULL;
	*np = 0;
	while (p != NULL && *p != '\0') {
		size_t len;

		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		end = p + strcspn(p, ",");
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrndup(p, len);
		p = end;
	}
	*vp = v;
	*np = n;
	return 0;
}

int
setup_principals_read(const char *path, char ***vp, size_t *np, char *err,
    size_t errlen)
{
	char *text, *p, *nl, **v = NULL;
	size_t n = 0;

	*vp = NULL;
	*np = 0;
	if (pki_read_file(path, ACCEPT_FILE_MAX, &text, err, errlen) != 0)
		return -1;
	for (p = text; *p != '\0'; p = nl) {
		size_t len;

		nl = p + strcspn(p, "\n");
		if (*nl == '\n')
			*nl++ = '\0';
		p += strspn(p, " \t");
		len = strlen(p);
		while (len > 0 && strchr(" \t\r", p[len - 1]) != NULL)
			p[--len] = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrdup(p);
	}
	free(text);
	*vp = v;
	*np = n;
	return 0;
}

/* Adds the names missing from the principals file at path. */
static int
accept_principals(const char *path, char *const *names, size_t nnames,
    char *err, size_t errlen)
{
	char **have = NULL, *old = NULL, *text;
	size_t nhave = 0, i, len, cap;
	int rc = -1, added = 0;

	if (setup_principals_read(path, &have, &nhave, err, errlen) != 0 ||
	    pki_read_file(path, ACCEPT_FILE_MAX, &old, err, errlen) != 0)
		goto out;
	len = strlen(old);
	cap = len + 2;
	for (i = 0; i < nnames; i++)
		cap += strlen(names[i]) + 1;
	text = xmalloc(cap);
	memcpy(text, old, len + 1);
	if (len > 0 && text[len - 1] != '\n')
		text[len++] = '\n';
	for (i = 0; i < nnames; i++) {
		if (pki_strv_has(have, nhave, names[i]) ||
		    pki_strv_has(names, i, names[i])) {
			printf("the host sshd accepts principal %s already\n",
			    names[i]);
			continue;
		}
		len += (size_t)snprintf(text + len, cap - len, "%s\n",
		    names[i]);
		printf("added proxy principal %s to %s\n", names[i], path);
		log_info("accepting proxy principal %s", names[i]);
		added++;
	}
	rc = added == 0 ? 0 : atomic_write(path, text, len, 0644, (uid_t)-1,
	    (gid_t)-1, 0, err, errlen);
	free(text);
out:
	free(old);
	pki_strv_free(have, nhave);
	return rc;
}

/* Adds every key of each CA file to ca.pub. */
static int
accept_cas(const char *pki_dir, char *const *files, size_t nfiles,
    char *err, size_t errlen)
{
	size_t i, j;

	for (i = 0; i < nfiles; i++) {
		char **keys = NULL;
		size_t nkeys = 0;
		int rc = 0;

		if (pki_pubkeys_read(files[i], &keys, &nkeys, err,
		    errlen) != 0)
			return -1;
		for (j = 0; j < nkeys && rc == 0; j++) {
			rc = setup_trust_ca(pki_dir, keys[j], false, err,
			    errlen);
			if (rc == 0)
				log_info("accepting proxy certificates of the "
				    "CA in %s", files[i]);
		}
		pki_strv_free(keys, nkeys);
		if (rc != 0)
			return -1;
	}
	return 0;
}

int
setup_accept_apply(const char *pki_dir, const char *principals_file,
    char *const *names, size_t nnames, char *const *ca_files, size_t ncas,
    char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < nnames; i++)
		if (!setup_principal_valid(names[i])) {
			snprintf(err, errlen, "'%s' is not a principal name "
			    "(letters, digits, ._@+-)", names[i]);
			return -1;
		}
	if (ncas > 0 && (file_mkdir_p(pki_dir, 0755, err, errlen) != 0 ||
	    accept_cas(pki_dir, ca_files, ncas, err, errlen) != 0))
		return -1;
	if (nnames > 0 && accept_principals(principals_file, names, nnames,
	    err, errlen) != 0)
		return -1;
	return 0;
}

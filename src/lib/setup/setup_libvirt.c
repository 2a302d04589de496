/* setup_libvirt.c: how the VMs' serial consoles get into console_dir.
 * `sercon-setup libvirt DOMAIN` gives a libvirt domain a serial port bound
 * to console_dir/<uuid>.sock, through virsh (the domain's definition is
 * libvirt's: never edited by hand); `sercon-setup ovirt-host` points
 * console_dir at vdsm's directory and gives the account vdsm's console
 * group; and `check host` tries every console socket as the account and
 * names each VM whose console it cannot reach, with the reason. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "core/atomic.h"
#include "core/child.h"
#include "core/config.h"
#include "core/file.h"
#include "core/log.h"
#include "core/text.h"
#include "setup/setup.h"
#include "setup/setup_sys.h"

#define LV_VIRSH       "/usr/bin/virsh"
#define LV_USERMOD     "/usr/sbin/usermod"
#define LV_OUT_CAP     (1024 * 1024)
#define LV_TIMEOUT_MS  (60 * 1000)
#define LV_OVIRT_CONF  "40-ovirt-console.conf"

static const char libvirt_usage[] =
"usage: sercon-setup libvirt [--connect URI] [--print] [--log] DOMAIN\n"
"\n"
"Gives the libvirt domain DOMAIN (name or uuid) a serial port whose console\n"
"is the socket <console_dir>/<uuid>.sock, owned by the " SERCON_USER " account\n"
"(a per-device DAC label), replacing its other serial ports in the domain's\n"
"persistent definition (virsh detach-device/attach-device --config). The\n"
"VM uses it from its next start.\n"
"  --connect URI   libvirt connection (default " SETUP_LIBVIRT_URI ")\n"
"  --print         print the <serial> element and the virsh commands only\n"
"  --log           also keep libvirt's log of the console\n"
"                  (/var/log/libvirt/qemu/DOMAIN-serial0.log)\n";

static const char ovirt_usage[] =
"usage: sercon-setup ovirt-host\n"
"\n"
"Makes sercon's host side use the consoles vdsm (oVirt) gives libvirt:\n"
"console_dir = " SETUP_OVIRT_CONSOLE_DIR " (in conf.d/" LV_OVIRT_CONF "),\n"
"and the " SERCON_USER " account in group " SETUP_OVIRT_GROUP ", which vdsm\n"
"gives each console socket (g+w) once its VM runs.\n";

/* ---- virsh ---------------------------------------------------------------- */

/* Runs virsh -c uri ARGS...; its output in res. Returns its exit status,
 * -1 when it could not run (err says why). virsh's own error lines reach
 * stderr only for the commands that change the domain (where libvirt's
 * reason is the useful one); a failed lookup is ours to word. */
static int
lv_virsh(const char *uri, char *const args[], struct child_result *res,
    char *err, size_t errlen)
{
	bool changes = strcmp(args[0], "attach-device") == 0 ||
	    strcmp(args[0], "detach-device") == 0;
	char *argv[16];
	size_t i = 0;

	argv[i++] = LV_VIRSH;
	argv[i++] = "-q";
	argv[i++] = "-c";
	argv[i++] = (char *)uri;
	for (; *args != NULL && i < sizeof(argv) / sizeof(argv[0]) - 1; args++)
		argv[i++] = *args;
	argv[i] = NULL;
	if (child_run(argv, NULL, LV_TIMEOUT_MS, LV_OUT_CAP, !changes,
	    res, err, errlen) != 0)
		return -1;
	if (res->timed_out) {
		snprintf(err, errlen, "virsh %s timed out", argv[4]);
		return -1;
	}
	return res->status;
}

/* The first line of virsh's output, trimmed, in out. */
static int
lv_virsh_line(const char *uri, char *const args[], char *out, size_t len,
    char *err, size_t errlen)
{
	struct child_result res;
	int st;

	if ((st = lv_virsh(uri, args, &res, err, errlen)) < 0)
		return -1;
	snprintf(out, len, "%s", res.out);
	out[strcspn(out, "\n")] = '\0';
	child_result_free(&res);
	if (st != 0) {
		snprintf(err, errlen, "virsh %s %s failed (status %d)", args[0],
		    args[1] != NULL ? args[1] : "", st);
		return -1;
	}
	return 0;
}

static bool
lv_valid_uuid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* A domain name as libvirt allows it, minus what would need quoting in XML
 * or a path: no '/', '<', '>', '&', quotes, control characters. */
static bool
lv_valid_domain(const char *s)
{
	const unsigned char *p;

	if (*s == '\0' || *s == '-' || strlen(s) > 200)
		return false;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || strchr("/<>&'\"\\", *p) != NULL)
			return false;
	return true;
}

/* The unix-socket paths of the domain's serial ports, one per line, from
 * libvirt's XPath (virsh dumpxml --xpath prints path="..." a line). */
static char *
lv_serial_paths(const char *uri, const char *dom, bool inactive, char *err,
    size_t errlen)
{
	char *args[6];
	size_t i = 0;
	struct child_result res;
	char *out, *p, *q, *w;
	int st;

	args[i++] = "dumpxml";
	if (inactive)
		args[i++] = "--inactive";
	args[i++] = "--xpath";
	args[i++] = "//devices/serial[@type='unix']/source/@path";
	args[i++] = (char *)dom;
	args[i] = NULL;
	if ((st = lv_virsh(uri, args, &res, err, errlen)) < 0)
		return NULL;
	/* No match is an error for virsh: no serial socket at all. */
	if (st != 0) {
		child_result_free(&res);
		return strdup("");
	}
	out = res.out;
	res.out = NULL;
	child_result_free(&res);
	for (p = w = out; (q = strstr(p, "path=\"")) != NULL; ) {
		char *end;

		q += 6;
		if ((end = strchr(q, '"')) == NULL)
			break;
		memmove(w, q, (size_t)(end - q));
		w += end - q;
		*w++ = '\n';
		p = end + 1;
	}
	*w = '\0';
	return out;
}

/* ---- sercon-setup libvirt ------------------------------------------------- */

static int
lv_xml(char *buf, size_t len, const char *path, const char *dom, bool log)
{
	char logline[512] = "";
	int n;

	if (log)
		snprintf(logline, sizeof(logline), "  <log file='/var/log/libvirt/"
		    "qemu/%s-serial0.log' append='on'/>\n", dom);
	/* The DAC label hands the socket libvirt creates to the account
	 * (mode 0775 under libvirt's umask), whatever qemu's user is, and
	 * without the account joining the qemu group (which owns the VMs'
	 * disk images). */
	n = snprintf(buf, len,
	    "<serial type='unix'>\n"
	    "  <source mode='bind' path='%s'>\n"
	    "    <seclabel model='dac' relabel='yes'><label>%s:%s</label></seclabel>\n"
	    "  </source>\n"
	    "  <target port='0'/>\n"
	    "%s"
	    "</serial>\n", path, SERCON_USER, SERCON_USER, logline);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* Writes text to a new temporary file for virsh; its path in path. */
static int
lv_tmpfile(char *path, size_t len, const char *text, char *err, size_t errlen)
{
	size_t n = strlen(text);
	int fd;

	snprintf(path, len, "/tmp/sercon-setup-libvirt.XXXXXX");
	if ((fd = mkstemp(path)) == -1) {
		snprintf(err, errlen, "mkstemp: %s", strerror(errno));
		return -1;
	}
	if (write(fd, text, n) != (ssize_t)n || close(fd) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

/* virsh VERB DOMAIN FILE --config, with xml in FILE. */
static int
lv_device(const char *uri, const char *verb, const char *dom, const char *xml,
    char *err, size_t errlen)
{
	char path[64], line[512];
	int rc;

	if (lv_tmpfile(path, sizeof(path), xml, err, errlen) != 0)
		return -1;
	{
		char *args[] = { (char *)verb, (char *)dom, path, "--config",
		    NULL };

		rc = lv_virsh_line(uri, args, line, sizeof(line), err, errlen);
	}
	unlink(path);
	return rc;
}

/* Detaches every <serial> of the persistent definition. */
static int
lv_detach_serials(const char *uri, const char *dom, char *err, size_t errlen)
{
	char *args[] = { "dumpxml", "--inactive", "--xpath", "//devices/serial",
	    (char *)dom, NULL };
	struct child_result res;
	char *p, *start, *end;
	int st, rc = 0;

	if ((st = lv_virsh(uri, args, &res, err, errlen)) < 0)
		return -1;
	if (st != 0) {              /* no serial port at all */
		child_result_free(&res);
		return 0;
	}
	for (p = res.out; rc == 0 && (start = strstr(p, "<serial")) != NULL;
	    p = end) {
		char save;

		if ((end = strstr(start, "</serial>")) == NULL) {
			snprintf(err, errlen, "virsh dumpxml: unexpected "
			    "<serial> element");
			rc = -1;
			break;
		}
		end += strlen("</serial>");
		save = *end;
		*end = '\0';
		rc = lv_device(uri, "detach-device", dom, start, err, errlen);
		*end = save;
	}
	child_result_free(&res);
	return rc;
}

int
setup_cmd_libvirt(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "connect", required_argument, NULL, 'c' },
		{ "print", no_argument, NULL, 'p' },
		{ "log", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	struct sercon_config cfg;
	const char *uri = SETUP_LIBVIRT_URI, *dom;
	char err[SETUP_ERR_MAX], uuid[128], name[256], path[PATH_MAX];
	char xml[2 * PATH_MAX], state[64], *paths;
	bool print = false, log = false, running;
	int ch, rc = SETUP_EXIT_FAIL;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h': fputs(libvirt_usage, stdout); return SETUP_EXIT_OK;
		case 'c': uri = optarg; break;
		case 'p': print = true; break;
		case 'l': log = true; break;
		default: return setup_usage_error("libvirt", "unknown option");
		}
	}
	if (optind != argc - 1)
		return setup_usage_error("libvirt", "one DOMAIN (name or uuid)");
	dom = argv[optind];
	if (!lv_valid_domain(dom))
		return setup_usage_error("libvirt", "DOMAIN has characters a "
		    "domain name cannot have");
	if (access(LV_VIRSH, X_OK) != 0) {
		fprintf(stderr, "ERROR: %s: %s; install libvirt's client "
		    "(apt-get install libvirt-clients / dnf install "
		    "libvirt-client)\n", LV_VIRSH, strerror(errno));
		return SETUP_EXIT_FAIL;
	}
	if (cfg_load_installed(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "ERROR: configuration: %s\n", err);
		cfg_free(&cfg);
		return SETUP_EXIT_FAIL;
	}
	{
		/* domname takes an id or uuid only: ask it by the uuid. */
		char *a1[] = { "domuuid", (char *)dom, NULL };
		char *a2[] = { "domname", uuid, NULL };

		if (lv_virsh_line(uri, a1, uuid, sizeof(uuid), err,
		    sizeof(err)) != 0 || !lv_valid_uuid(uuid) ||
		    lv_virsh_line(uri, a2, name, sizeof(name), err,
		    sizeof(err)) != 0 || !lv_valid_domain(name)) {
			fprintf(stderr, "ERROR: no libvirt domain '%s' at %s "
			    "(virsh -c %s list --all)\n", dom, uri, uri);
			goto out;
		}
	}
	if (snprintf(path, sizeof(path), "%s/%s.sock", cfg.console_dir,
	    uuid) >= (int)sizeof(path) - 1 ||
	    strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
	    strpbrk(path, "<>&'\"") != NULL) {
		fprintf(stderr, "ERROR: console_dir %s makes a socket path "
		    "that cannot be used (too long, or characters XML would "
		    "need escaped)\n", cfg.console_dir);
		goto out;
	}
	if (lv_xml(xml, sizeof(xml), path, name, log) != 0) {
		fprintf(stderr, "ERROR: console path too long\n");
		goto out;
	}
	if (print) {
		printf("<!-- %s (%s): replace its <serial> elements with: -->\n%s",
		    name, uuid, xml);
		printf("<!-- with virsh: detach each old <serial> (virsh "
		    "detach-device %s OLD.xml --config), then\n     virsh "
		    "attach-device %s THIS.xml --config; it takes effect at "
		    "the VM's next start -->\n", name, name);
		rc = SETUP_EXIT_OK;
		goto out;
	}
	if ((paths = lv_serial_paths(uri, name, true, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "ERROR: %s\n", err);
		goto out;
	}
	if (strcmp(paths, path) == 0 || (strncmp(paths, path,
	    strlen(path)) == 0 && paths[strlen(path)] == '\n' &&
	    paths[strlen(path) + 1] == '\0')) {
		printf("%s (%s): its serial console is already %s\n", name,
		    uuid, path);
		free(paths);
		rc = SETUP_EXIT_OK;
		goto out;
	}
	free(paths);
	if (lv_detach_serials(uri, name, err, sizeof(err)) != 0 ||
	    lv_device(uri, "attach-device", name, xml, err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "ERROR: %s\n", err);
		goto out;
	}
	{
		char *a[] = { "domstate", name, NULL };

		running = lv_virsh_line(uri, a, state, sizeof(state), err,
		    sizeof(err)) == 0 && strcmp(state, "shut off") != 0;
	}
	printf("%s (%s): serial console at %s from its next start%s\n", name,
	    uuid, path, running ? "; it runs now: virsh shutdown (or destroy) "
	    "and virsh start it" : "");
	log_info("libvirt: %s (%s) has its serial console at %s", name, uuid,
	    path);
	rc = SETUP_EXIT_OK;
out:
	cfg_free(&cfg);
	return rc;
}

/* ---- sercon-setup ovirt-host ---------------------------------------------- */

static bool
lv_in_group(const char *user, gid_t primary, gid_t want)
{
	gid_t groups[256];
	int n = (int)(sizeof(groups) / sizeof(groups[0])), i;

	if (primary == want)
		return true;
	if (getgrouplist(user, primary, groups, &n) < 0)
		return false;
	for (i = 0; i < n; i++)
		if (groups[i] == want)
			return true;
	return false;
}

int
setup_cmd_ovirt_host(int argc, char **argv)
{
	static const char conf[] =
	    "# Written by sercon-setup ovirt-host: the consoles vdsm has libvirt\n"
	    "# bind for each VM (group " SETUP_OVIRT_GROUP ", g+w once it runs).\n"
	    "[host]\nconsole_dir = " SETUP_OVIRT_CONSOLE_DIR "\n";
	char path[PATH_MAX], err[SETUP_ERR_MAX];
	char *usermod[] = { LV_USERMOD, "-a", "-G", SETUP_OVIRT_GROUP,
	    SERCON_USER, NULL };
	struct child_result res;
	struct passwd *pw;
	struct group *gr;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		fputs(ovirt_usage, stdout);
		return SETUP_EXIT_OK;
	}
	if (argc != 1)
		return setup_usage_error("ovirt-host", "no arguments");
	if ((pw = getpwnam(SERCON_USER)) == NULL) {
		fprintf(stderr, "ERROR: no account %s: install the sercon "
		    "package first\n", SERCON_USER);
		return SETUP_EXIT_FAIL;
	}
	if ((gr = getgrnam(SETUP_OVIRT_GROUP)) == NULL) {
		fprintf(stderr, "ERROR: no group %s: vdsm hands the console "
		    "sockets to it; on an oVirt host it exists (groupadd "
		    "--system %s if ovirt-vmconsole was removed)\n",
		    SETUP_OVIRT_GROUP, SETUP_OVIRT_GROUP);
		return SETUP_EXIT_FAIL;
	}
	if (lv_in_group(SERCON_USER, pw->pw_gid, gr->gr_gid))
		printf("%s is in group %s already\n", SERCON_USER,
		    SETUP_OVIRT_GROUP);
	else {
		if (child_run(usermod, NULL, 30 * 1000, 4096, 0, &res,
		    err, sizeof(err)) != 0) {
			fprintf(stderr, "ERROR: %s\n", err);
			return SETUP_EXIT_FAIL;
		}
		if (res.status != 0) {
			fprintf(stderr, "ERROR: usermod -a -G %s %s failed "
			    "(status %d)\n", SETUP_OVIRT_GROUP, SERCON_USER,
			    res.status);
			child_result_free(&res);
			return SETUP_EXIT_FAIL;
		}
		child_result_free(&res);
		printf("%s joined group %s\n", SERCON_USER, SETUP_OVIRT_GROUP);
	}
	if (setup_path(path, sizeof(path), SERCON_SYSCONFDIR "/conf.d",
	    LV_OVIRT_CONF) != 0 || file_mkdir_p(SERCON_SYSCONFDIR "/conf.d",
	    0755, err, sizeof(err)) != 0 || atomic_write(path, conf,
	    strlen(conf), 0644, (uid_t)-1, (gid_t)-1, 0, err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "ERROR: %s\n", err);
		return SETUP_EXIT_FAIL;
	}
	printf("wrote %s: console_dir = %s\n", path, SETUP_OVIRT_CONSOLE_DIR);
	printf("next: systemctl disable --now ovirt-vmconsole-host-sshd; "
	    "systemctl restart sercon-host-sshd (it picks up the group when "
	    "it starts); sercon-setup check host\n");
	log_info("ovirt-host: console_dir %s, %s in group %s",
	    SETUP_OVIRT_CONSOLE_DIR, SERCON_USER, SETUP_OVIRT_GROUP);
	return SETUP_EXIT_OK;
}

/* ---- check host: the consoles ------------------------------------------ */

static void
lv_report(const struct setup_sys_ctx *c, enum setup_level level,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
lv_report(const struct setup_sys_ctx *c, enum setup_level level,
    const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->report(c->arg, level, msg);
}

/* connect(2) to one socket, in setup_as_user's child: the errno as the
 * message, so that the parent can say why. */
static int
lv_connect_fn(void *arg, char *msg, size_t len)
{
	const char *path = arg;
	struct sockaddr_un sa;
	int fd, e = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		e = ENAMETOOLONG;
	else if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		e = errno;
	else {
		memcpy(sa.sun_path, path, strlen(path) + 1);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			e = errno;
		close(fd);
	}
	snprintf(msg, len, "%d", e);
	return e == 0 ? 0 : -1;
}

/* connect(2) to the socket as the account: 0, or the errno. */
static int
lv_connect_as(const char *path)
{
	char msg[64], *end;
	long e;

	if (setup_as_user(SERCON_USER, lv_connect_fn, (void *)path, msg,
	    sizeof(msg)) == 0)
		return 0;
	e = strtol(msg, &end, 10);
	return *msg != '\0' && *end == '\0' && e > 0 ? (int)e : EIO;
}

static const char *
lv_name_of(uid_t uid, gid_t gid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);
	struct group *gr = getgrgid(gid);
	char u[64], g[64];

	snprintf(u, sizeof(u), pw != NULL ? "%s" : "%.0s%ld",
	    pw != NULL ? pw->pw_name : "", (long)uid);
	snprintf(g, sizeof(g), gr != NULL ? "%s" : "%.0s%ld",
	    gr != NULL ? gr->gr_name : "", (long)gid);
	snprintf(buf, len, "%s:%s", u, g);
	return buf;
}

/* Why the account cannot connect: from the error and the socket's owner. */
static void
lv_why(const struct setup_sys_ctx *c, const char *path, int e, char *buf,
    size_t len)
{
	char owner[160];
	struct stat st;
	struct group *gr;

	if (e == ECONNREFUSED) {
		snprintf(buf, len, "nothing listens on it (the VM is not "
		    "running, or its qemu is gone and left the socket)");
		return;
	}
	if (e != EACCES || stat(path, &st) != 0) {
		snprintf(buf, len, "%s", strerror(e));
		return;
	}
	lv_name_of(st.st_uid, st.st_gid, owner, sizeof(owner));
	gr = getgrgid(st.st_gid);
	if (st.st_uid != c->uid && !(st.st_mode & S_IWGRP))
		snprintf(buf, len, "permission denied: the socket is %s mode "
		    "%04o, not writable by its group", owner,
		    (unsigned)(st.st_mode & 07777));
	else if (st.st_uid != c->uid && gr != NULL &&
	    !lv_in_group(SERCON_USER, c->gid, st.st_gid))
		snprintf(buf, len, "permission denied: the socket is %s mode "
		    "%04o and %s is not in group %s", owner,
		    (unsigned)(st.st_mode & 07777), SERCON_USER, gr->gr_name);
	else
		snprintf(buf, len, "permission denied: %s cannot search %s "
		    "or write the socket (%s mode %04o)", SERCON_USER,
		    c->cfg->console_dir, owner, (unsigned)(st.st_mode & 07777));
}

/* The running libvirt domains, "uuid name" a line; NULL without libvirt. */
static char *
lv_running_domains(void)
{
	char *args[] = { "list", "--name", NULL }, err[256], *out, *p, *nl;
	struct child_result res;
	size_t cap, used = 0;
	struct stat st;

	if (access(LV_VIRSH, X_OK) != 0 ||
	    (stat("/run/libvirt/libvirt-sock", &st) != 0 &&
	    stat("/var/run/libvirt/libvirt-sock", &st) != 0))
		return NULL;
	if (lv_virsh(SETUP_LIBVIRT_URI, args, &res, err, sizeof(err)) != 0) {
		if (res.out != NULL)
			child_result_free(&res);
		return NULL;
	}
	cap = res.out_len * 2 + 64;
	if ((out = malloc(cap)) == NULL) {
		child_result_free(&res);
		return NULL;
	}
	out[0] = '\0';
	for (p = res.out; *p != '\0'; p = nl) {
		char uuid[128], e2[256];
		char *a[] = { "domuuid", p, NULL };
		int n;

		nl = p + strcspn(p, "\n");
		if (*nl == '\n')
			*nl++ = '\0';
		if (*p == '\0' || !lv_valid_domain(p) ||
		    lv_virsh_line(SETUP_LIBVIRT_URI, a, uuid, sizeof(uuid), e2,
		    sizeof(e2)) != 0 || !lv_valid_uuid(uuid) ||
		    used + strlen(p) + 40 >= cap)
			continue;
		n = snprintf(out + used, cap - used, "%s %s\n", uuid, p);
		used += (size_t)n;
	}
	child_result_free(&res);
	return out;
}

/* The VM of a socket name <uuid>.sock, from the running domains. */
static const char *
lv_vm_of(const char *domains, const char *sock, char *buf, size_t len)
{
	const char *p;
	size_t n = strlen(sock);

	if (domains == NULL || n < 5 || strcmp(sock + n - 5, ".sock") != 0)
		return NULL;
	for (p = domains; *p != '\0'; p = strchr(p, '\n') + 1) {
		if (strncmp(p, sock, n - 5) == 0 && p[n - 5] == ' ') {
			const char *name = p + n - 4;

			snprintf(buf, len, "%.*s", (int)strcspn(name, "\n"),
			    name);
			return buf;
		}
		if (strchr(p, '\n') == NULL)
			break;
	}
	return NULL;
}

static void
lv_check_ovirt(const struct setup_sys_ctx *c)
{
	struct group *gr = getgrnam(SETUP_OVIRT_GROUP);

	if (gr == NULL) {
		lv_report(c, SETUP_PROBLEM, "console_dir is oVirt's %s but "
		    "there is no group %s, which vdsm gives the console "
		    "sockets; fix: is vdsm installed? (groupadd --system %s, "
		    "then sercon-setup ovirt-host)", SETUP_OVIRT_CONSOLE_DIR,
		    SETUP_OVIRT_GROUP, SETUP_OVIRT_GROUP);
		return;
	}
	if (!lv_in_group(SERCON_USER, c->gid, gr->gr_gid))
		lv_report(c, SETUP_PROBLEM, "%s is not in group %s, which vdsm "
		    "gives each console socket; fix: sercon-setup ovirt-host "
		    "(usermod -a -G %s %s), then systemctl restart "
		    "sercon-host-sshd", SERCON_USER, SETUP_OVIRT_GROUP,
		    SETUP_OVIRT_GROUP, SERCON_USER);
	else
		lv_report(c, SETUP_OK, "oVirt layout: %s is in group %s",
		    SERCON_USER, SETUP_OVIRT_GROUP);
}

/* Each running domain whose serial console is not in console_dir. */
static void
lv_check_domains(const struct setup_sys_ctx *c, const char *domains)
{
	const char *p, *dir = c->cfg->console_dir;
	char err[256];

	for (p = domains; p != NULL && *p != '\0'; ) {
		const char *nl = strchr(p, '\n');
		char name[256], *paths, *q;
		bool found = false;

		snprintf(name, sizeof(name), "%.*s",
		    (int)((nl != NULL ? (size_t)(nl - p) : strlen(p)) - 37),
		    p + 37);
		p = nl != NULL ? nl + 1 : p + strlen(p);
		if ((paths = lv_serial_paths(SETUP_LIBVIRT_URI, name, false,
		    err, sizeof(err))) == NULL)
			continue;
		for (q = paths; *q != '\0'; q += strcspn(q, "\n") + 1) {
			size_t n = strlen(dir);

			if (strncmp(q, dir, n) == 0 && q[n] == '/')
				found = true;
			if (q[strcspn(q, "\n")] == '\0')
				break;
		}
		free(paths);
		if (!found)
			lv_report(c, SETUP_WARN, "VM %s: its serial console is "
			    "not a socket in %s, so sercon cannot reach it; fix: "
			    "sercon-setup libvirt %s", name, dir, name);
	}
}

void
setup_check_consoles(const struct setup_sys_ctx *c)
{
	const char *dir = c->cfg->console_dir;
	char *domains = lv_running_domains();
	size_t good = 0, bad = 0;
	struct dirent *de;
	DIR *d;

	if (strcmp(dir, SETUP_OVIRT_CONSOLE_DIR) == 0 ||
	    strcmp(dir, "/run/ovirt-vmconsole-console") == 0)
		lv_check_ovirt(c);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char path[PATH_MAX], why[512], vm[256], label[300];
			const char *name;
			size_t nlen = strlen(de->d_name);
			struct stat st;
			int e;

			/* Consoles are <id>.sock; qemu's QMP sockets and
			 * the like beside them are not for the account. */
			if (de->d_name[0] == '.' || nlen < 6 ||
			    strcmp(de->d_name + nlen - 5, ".sock") != 0 ||
			    setup_path(path, sizeof(path), dir, de->d_name) != 0 ||
			    lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
				continue;
			name = lv_vm_of(domains, de->d_name, vm, sizeof(vm));
			snprintf(label, sizeof(label), "%s%s%s", de->d_name,
			    name != NULL ? ", VM " : "", name != NULL ? name :
			    "");
			if ((e = lv_connect_as(path)) == 0) {
				good++;
				continue;
			}
			bad++;
			lv_why(c, path, e, why, sizeof(why));
			/* A socket nobody listens on is a stopped VM's
			 * leftover, not a fault of the set-up. */
			lv_report(c, e == ECONNREFUSED ? SETUP_WARN :
			    SETUP_PROBLEM, "console %s (%s) is not "
			    "reachable by %s: %s; fix: %s", path, label,
			    SERCON_USER, why, e == ECONNREFUSED ? "start the "
			    "VM, or remove the stale socket" : name != NULL ?
			    "sercon-setup libvirt (it labels the socket for "
			    "the account), then restart the VM" :
			    "give the socket to the account's group with g+w "
			    "(sercon(7): the VMs' consoles)");
		}
		closedir(d);
		if (bad == 0)
			lv_report(c, SETUP_OK, "%zu console socket%s in %s, each "
			    "reachable by %s", good, good == 1 ? "" : "s", dir,
			    SERCON_USER);
	}
	if (domains != NULL)
		lv_check_domains(c, domains);
	free(domains);
}

/* setup_check.c: `sercon-setup check [proxy|host]`, the diagnostics a
 * sysadmin runs first. Each finding is one line: "ok:", "warning:" or
 * "PROBLEM: ... fix: ...". The exit status is non-zero when any problem was
 * found. What the daemons do as the sercon user is tried as that user. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <shadow.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "core/child.h"
#include "core/config.h"
#include "core/log.h"
#include "manager/manager.h"
#include "host/attach.h"
#include "manager/ticket.h"
#include "setup/setup.h"
#include "setup/setup_sys.h"
#include "core/text.h"

#define CHECK_WARN_DAYS 30
#define LOGIN_SHELL SERCON_LIBEXECDIR "/sercon-login-shell"

static const char check_usage[] =
"usage: sercon-setup check [proxy|host] [--pki-dir DIR] [--port N]\n"
"\n"
"Checks this machine's sercon set-up: the " SERCON_USER " account, the files\n"
"of the PKI directory with their owners and modes, the certificates (kind,\n"
"principals, signing CA, signature, time left), `sshd -t` on the installed\n"
"sshd_config, the proxies the host accepts and the console directory (host),\n"
"the manager (proxy) and the daemon's port.\n"
"Without a role, checks the roles whose keys exist. One line per finding;\n"
"each problem comes with its fix. Exit status 1 when there is a problem.\n"
"  --pki-dir DIR        the PKI directory (default " SERCON_PKIDIR ")\n"
"  --port N             the daemon's port (default: proxy " 
"%d, host [proxy] host_port)\n";

struct check_ctx {
	const char *pki_dir;
	int port;
	int problems;
	bool cfg_ok;
	struct sercon_config cfg;
	bool have_user;
	uid_t uid;
	gid_t gid;
	char **ca_lines;           /* keys of ca.pub, "TYPE BASE64" */
	size_t nca;
};

static void LOG_PRINTF(1, 2)
check_ok(const char *fmt, ...)
{
	char buf[2048], safe[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("ok: %s\n", text_safe_buf(safe, sizeof(safe), buf));
}

static void LOG_PRINTF(1, 2)
check_warn(const char *fmt, ...)
{
	char buf[2048], safe[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("warning: %s\n", text_safe_buf(safe, sizeof(safe), buf));
}

/* One problem, its fix after "fix:". */
static void LOG_PRINTF(2, 3)
check_fail(struct check_ctx *ctx, const char *fmt, ...)
{
	char buf[2048], safe[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	text_safe_buf(safe, sizeof(safe), buf);
	printf("PROBLEM: %s\n", safe);
	log_warn("check: %s", buf);     /* log_warn escapes, once */
	ctx->problems++;
}

/* The findings of setup_system.c and setup_libvirt.c (setup_sys.h). */
static void
check_sys_report(void *arg, enum setup_level level, const char *msg)
{
	if (level == SETUP_OK)
		check_ok("%s", msg);
	else if (level == SETUP_WARN)
		check_warn("%s", msg);
	else
		check_fail(arg, "%s", msg);
}

static void
check_sys(struct check_ctx *ctx, const char *role)
{
	struct setup_sys_ctx c = { &ctx->cfg, ctx->uid, ctx->gid,
	    check_sys_report, ctx };

	if (!ctx->have_user)
		return;
	setup_check_units(&c, role);
	if (strcmp(role, "proxy") == 0)
		setup_check_cache_dir(&c);
	else
		setup_check_consoles(&c);
}

static void
check_config(struct check_ctx *ctx)
{
	char err[SETUP_ERR_MAX];

	if (cfg_load_installed(&ctx->cfg, err, sizeof(err)) != 0) {
		check_fail(ctx, "configuration: %s; fix: correct that line "
		    "(see sercon.conf(5))", err);
		cfg_free(&ctx->cfg);
		cfg_defaults(&ctx->cfg);
		return;
	}
	ctx->cfg_ok = true;
	log_set_socket(ctx->cfg.log_socket);
	check_ok("configuration loads (backend %s)",
	    cfg_backend_name(ctx->cfg.backend));
}

static void
check_user(struct check_ctx *ctx)
{
	struct passwd *pw = getpwnam(SERCON_USER);
	struct spwd *sp;
	struct stat st;
	bool bad = false;

	if (pw == NULL) {
		check_fail(ctx, "user %s does not exist; fix: useradd --system "
		    "--user-group --shell %s --home-dir /var/lib/%s "
		    "--create-home %s && usermod -p '*' %s", SERCON_USER,
		    LOGIN_SHELL, SERCON_USER, SERCON_USER, SERCON_USER);
		return;
	}
	ctx->have_user = true;
	ctx->uid = pw->pw_uid;
	ctx->gid = pw->pw_gid;
	if (strstr(pw->pw_shell, "nologin") != NULL ||
	    strstr(pw->pw_shell, "false") != NULL || pw->pw_shell[0] == '\0' ||
	    access(pw->pw_shell, X_OK) != 0) {
		check_fail(ctx, "user %s has shell %s, and sshd runs forced "
		    "commands through it; fix: usermod -s %s %s",
		    SERCON_USER, pw->pw_shell, LOGIN_SHELL, SERCON_USER);
		bad = true;
	} else if (strcmp(pw->pw_shell, LOGIN_SHELL) != 0) {
		check_warn("user %s has shell %s, which stays resident beside "
		    "every session; fix: usermod -s %s %s", SERCON_USER,
		    pw->pw_shell, LOGIN_SHELL, SERCON_USER);
	}
	if (stat(pw->pw_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		check_fail(ctx, "home directory %s of user %s is missing; fix: "
		    "mkdir -p %s", pw->pw_dir, SERCON_USER, pw->pw_dir);
		bad = true;
	}
	if (geteuid() == 0 && (sp = getspnam(SERCON_USER)) != NULL &&
	    sp->sp_pwdp != NULL && sp->sp_pwdp[0] == '!') {
		check_fail(ctx, "user %s is locked ('!'), and sshd refuses "
		    "locked accounts; fix: usermod -p '*' %s", SERCON_USER,
		    SERCON_USER);
		bad = true;
	}
	if (!bad)
		check_ok("user %s (uid %ld) exists, shell %s", SERCON_USER,
		    (long)pw->pw_uid, pw->pw_shell);
}

/* A public file: present, root's, not writable by others. */
static bool
check_public_file(struct check_ctx *ctx, const char *path, const char *fix)
{
	struct stat st;

	if (lstat(path, &st) != 0) {
		check_fail(ctx, "%s is missing; fix: %s", path, fix);
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		check_fail(ctx, "%s is not a regular file; fix: %s", path, fix);
		return false;
	}
	if ((st.st_mode & 022) != 0 || st.st_uid != 0) {
		check_fail(ctx, "%s is mode %04o owner uid %ld, writable by "
		    "others than root; fix: chown root: %s && chmod 644 %s",
		    path, (unsigned)(st.st_mode & 07777), (long)st.st_uid, path,
		    path);
		return false;
	}
	return true;
}

/* The PKI directory: root's, not writable by others (whoever can write it
 * can swap the keys). False only when it is missing. */
static bool
check_pki_dir(struct check_ctx *ctx)
{
	struct stat st;

	if (stat(ctx->pki_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		check_fail(ctx, "PKI directory %s is missing; fix: sercon-setup "
		    "proxy/host --name NAMES (or request + sign + install-cert)",
		    ctx->pki_dir);
		return false;
	}
	if ((st.st_mode & 022) != 0 || st.st_uid != 0) {
		check_fail(ctx, "PKI directory %s is mode %04o owner uid %ld, "
		    "writable by others than root; fix: chown root: %s && "
		    "chmod 755 %s", ctx->pki_dir,
		    (unsigned)(st.st_mode & 07777), (long)st.st_uid,
		    ctx->pki_dir, ctx->pki_dir);
	}
	return true;
}

/* "ca.pub trusts CA SHA256:..., SHA256:...". */
static void
check_ca_list(const char *path, char *const *lines, size_t n)
{
	char list[1024], *fp;
	size_t i, off = 0;

	list[0] = '\0';
	for (i = 0; i < n; i++) {
		char err[128];
		int w;

		if (pki_fingerprint_line(lines[i], &fp, err, sizeof(err)) != 0)
			continue;
		w = snprintf(list + off, sizeof(list) - off, "%s%s",
		    off > 0 ? ", " : "", fp);
		free(fp);
		if (w < 0 || (size_t)w >= sizeof(list) - off)
			break;
		off += (size_t)w;
	}
	check_ok("%s trusts %zu CA%s: %s", path, n, n == 1 ? "" : "s", list);
}

static void
check_ca(struct check_ctx *ctx, bool proxy)
{
	char path[PATH_MAX], kh[PATH_MAX], err[SETUP_ERR_MAX];
	char *ca_line = NULL, *text = NULL, *ok;

	if (setup_path(path, sizeof(path), ctx->pki_dir, "ca.pub") != 0 ||
	    setup_path(kh, sizeof(kh), ctx->pki_dir, "known_hosts") != 0)
		return;
	if (!check_pki_dir(ctx))
		return;
	if (!check_public_file(ctx, path, "copy the CA's ca.pub here, or "
	    "run sercon-setup proxy/host --ca-dir DIR"))
		return;
	if (pki_pubkeys_read(path, &ctx->ca_lines, &ctx->nca, err,
	    sizeof(err)) != 0) {
		check_fail(ctx, "%s; fix: copy the CA's ca.pub here", err);
		return;
	}
	check_ca_list(path, ctx->ca_lines, ctx->nca);
	if (!proxy)
		return;
	if (!check_public_file(ctx, kh, "run sercon-setup proxy, or write "
	    "'@cert-authority * <ca.pub>' into it"))
		return;
	if (pki_pubkey_read(path, &ca_line, err, sizeof(err)) != 0 ||
	    pki_read_file(kh, 256 * 1024, &text, err, sizeof(err)) != 0) {
		check_fail(ctx, "%s; fix: run sercon-setup proxy", err);
	} else if ((ok = strstr(text, ca_line)) == NULL ||
	    strstr(text, "@cert-authority") == NULL) {
		check_fail(ctx, "%s does not trust the CA of ca.pub as "
		    "@cert-authority; fix: echo \"@cert-authority * $(cat %s)\" "
		    ">> %s", kh, path, kh);
	} else
		check_ok("%s trusts the CA for host certificates", kh);
	free(ca_line);
	free(text);
}

/* The private key: 0600, the sercon user's, readable by ssh-keygen. */
static bool
check_key(struct check_ctx *ctx, const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0) {
		check_fail(ctx, "%s is missing; fix: sercon-setup proxy/host "
		    "--name NAMES (or request + sign + install-cert)", path);
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		check_fail(ctx, "%s is not a regular file; fix: remove it and "
		    "run sercon-setup proxy/host again", path);
		return false;
	}
	if ((st.st_mode & 077) != 0) {
		check_fail(ctx, "private key %s is mode %04o, readable by "
		    "others; fix: chmod 600 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
		return false;
	}
	if (ctx->have_user && st.st_uid != ctx->uid) {
		check_fail(ctx, "private key %s belongs to uid %ld, and the "
		    "daemons run as %s; fix: chown %s: %s", path,
		    (long)st.st_uid, SERCON_USER, SERCON_USER, path);
		return false;
	}
	return true;
}

/* The certificate of a slot against its key and ca.pub. */
static void
check_cert(struct check_ctx *ctx, enum pki_slot s)
{
	char key[PATH_MAX], cert[PATH_MAX], err[SETUP_ERR_MAX];
	struct pki_cert c;
	char *kline = NULL;
	time_t now = time(NULL);
	long days;
	bool good = true;

	if (setup_path(key, sizeof(key), ctx->pki_dir, pki_slot_key(s)) != 0 ||
	    (size_t)snprintf(cert, sizeof(cert), "%s-cert.pub", key) >=
	    sizeof(cert))
		return;
	if (!check_key(ctx, key))
		good = false;
	if (!check_public_file(ctx, cert, "sercon-setup renew, or sign the "
	    "key again"))
		return;
	if (pki_cert_read(cert, &c, err, sizeof(err)) != 0) {
		check_fail(ctx, "%s: %s; fix: sign the key again (sercon-setup "
		    "proxy/host, or sign + install-cert)", cert, err);
		return;
	}
	if (pki_key_derive(key, &kline, err, sizeof(err)) != 0) {
		check_fail(ctx, "%s; fix: make the key anew (remove it and "
		    "run sercon-setup proxy/host)", err);
		good = false;
	} else if (strcmp(kline, c.key_line) != 0) {
		check_fail(ctx, "%s certifies another key than %s; fix: "
		    "sign this key (sercon-setup proxy/host, or request + sign "
		    "+ install-cert)", cert, key);
		good = false;
	}
	if (c.is_host != pki_slot_is_host(s)) {
		check_fail(ctx, "%s is a %s certificate where a %s certificate "
		    "belongs; fix: sign with --role %s", cert,
		    c.is_host ? "host" : "user", c.is_host ? "user" : "host",
		    pki_slot_role(s));
		good = false;
	}
	if (!pki_strv_has(ctx->ca_lines, ctx->nca, c.ca_line)) {
		check_fail(ctx, "%s is signed by CA %s, which ca.pub does not "
		    "hold, so the peers reject it; fix: sercon-setup renew "
		    "--ca-dir DIR (with the CA of ca.pub)", cert, c.ca_fp);
		good = false;
	}
	if (c.nprincipals == 0 || (!c.is_host &&
	    !pki_cert_has_principals(&c, PKI_PROXY_PRINCIPAL))) {
		check_fail(ctx, "%s carries the wrong principals (a proxy user "
		    "certificate carries exactly " PKI_PROXY_PRINCIPAL ", a "
		    "host certificate the host's names); fix: sign the key "
		    "again", cert);
		good = false;
	}
	if (c.valid_from > now) {
		check_fail(ctx, "%s is not valid before %s; fix: check the "
		    "clock, or sign the key again", cert,
		    setup_time_str(c.valid_from, err, sizeof(err)));
		good = false;
	}
	if (c.valid_to != PKI_FOREVER && c.valid_to <= now) {
		check_fail(ctx, "%s expired on %s; fix: sercon-setup renew",
		    cert, setup_time_str(c.valid_to, err, sizeof(err)));
		good = false;
	} else if (good) {
		days = c.valid_to == PKI_FOREVER ? -1 :
		    (long)(c.valid_to - now) / 86400;
		if (days >= 0 && days < CHECK_WARN_DAYS)
			check_warn("%s expires in %ld days; sercon-setup renew "
			    "will re-sign it", cert, days);
		{
			char princ[512], left[40];

			if (days < 0)
				snprintf(left, sizeof(left), "never expires");
			else
				snprintf(left, sizeof(left), "%ld day%s left",
				    days, days == 1 ? "" : "s");
			check_ok("%s: %s certificate for %s, signed by %s, %s",
			    cert, c.is_host ? "host" : "user",
			    pki_cert_principals_str(&c, princ, sizeof(princ)),
			    c.ca_fp, left);
		}
	}
	free(kline);
	pki_cert_free(&c);
}

static void
check_sshd(struct check_ctx *ctx, const char *role)
{
	char conf[PATH_MAX], err[SETUP_ERR_MAX];
	char *argv[] = { SSHD_PATH, "-t", "-f", conf, "-E", "/dev/stdout",
	    NULL };
	struct child_result res;

	snprintf(conf, sizeof(conf), "%s/%s/sshd_config", SERCON_DATADIR, role);
	if (access(conf, R_OK) != 0) {
		check_fail(ctx, "%s: %s; fix: reinstall sercon's %s files", conf,
		    strerror(errno), role);
		return;
	}
	if (child_run(argv, NULL, 30 * 1000, 16 * 1024, 1, &res, err,
	    sizeof(err)) != 0) {
		check_fail(ctx, "%s; fix: install OpenSSH's sshd", err);
		return;
	}
	if (res.status == 0)
		check_ok("sshd -t accepts %s", conf);
	else {
		char *nl;

		while ((nl = strchr(res.out, '\n')) != NULL &&
		    nl[1] != '\0')
			*nl = ' ';
		if ((nl = strchr(res.out, '\n')) != NULL)
			*nl = '\0';
		check_fail(ctx, "sshd -t rejects %s: %s; fix: correct what it "
		    "names (snippets in %s/%s-sshd.d/)", conf,
		    res.out[0] != '\0' ? res.out : "run sshd -t -f on it",
		    SERCON_SYSCONFDIR, role);
	}
	child_result_free(&res);
}

int
setup_as_user(const char *user, setup_user_fn fn, void *arg, char *msg,
    size_t len)
{
	struct passwd *pw = user != NULL && geteuid() == 0 ?
	    getpwnam(user) : NULL;
	int p[2], wst;
	ssize_t n;
	size_t off = 0;
	pid_t pid, w;

	msg[0] = '\0';
	if (pipe2(p, O_CLOEXEC) != 0) {
		snprintf(msg, len, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	if ((pid = fork()) == -1) {
		snprintf(msg, len, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		char buf[1024];
		int rc;

		close(p[0]);
		buf[0] = '\0';
		if (pw != NULL && (setgroups(0, NULL) != 0 ||
		    setgid(pw->pw_gid) != 0 ||
		    initgroups(user, pw->pw_gid) != 0 ||
		    setuid(pw->pw_uid) != 0)) {
			snprintf(buf, sizeof(buf), "cannot become %s", user);
			rc = -1;
		} else
			rc = fn(arg, buf, sizeof(buf));
		if (write(p[1], buf, strlen(buf)) < 0)
			rc = -1;
		_exit(rc == 0 ? 0 : 1);
	}
	close(p[1]);
	while (off + 1 < len && (n = read(p[0], msg + off, len - off - 1)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	msg[off] = '\0';
	close(p[0]);
	while ((w = waitpid(pid, &wst, 0)) == -1 && errno == EINTR)
		;
	/* Without the child's status there is no answer: never read wst
	 * after a failed waitpid (SIGCHLD ignored makes it ECHILD). */
	if (w != pid) {
		snprintf(msg, len, "cannot learn how the check ended: "
		    "waitpid: %s", strerror(errno));
		return -1;
	}
	return WIFEXITED(wst) && WEXITSTATUS(wst) == 0 ? 0 : -1;
}

static int
check_console_dir_fn(void *arg, char *msg, size_t len)
{
	struct check_ctx *ctx = arg;

	struct stat st;

	if (stat(ctx->cfg.console_dir, &st) != 0) {
		snprintf(msg, len, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(msg, len, "not a directory");
		return -1;
	}
	if (access(ctx->cfg.console_dir, X_OK) != 0) {
		snprintf(msg, len, "%s", strerror(errno));
		return -1;
	}
	snprintf(msg, len, "ok");
	return 0;
}

static void
check_console_dir(struct check_ctx *ctx)
{
	char msg[1024];

	if (setup_as_user(ctx->have_user ? SERCON_USER : NULL,
	    check_console_dir_fn, ctx, msg, sizeof(msg)) == 0)
		check_ok("console directory %s is reachable by %s",
		    ctx->cfg.console_dir, SERCON_USER);
	else
		check_fail(ctx, "console directory %s: %s (as user %s); fix: "
		    "mkdir -p %s && chown %s: %s (or systemd-tmpfiles "
		    "--create sercon.conf), and point qemu's serial sockets "
		    "there", ctx->cfg.console_dir, msg, SERCON_USER,
		    ctx->cfg.console_dir, SERCON_USER, ctx->cfg.console_dir);
}

static int
check_manager_fn(void *arg, char *msg, size_t len)
{
	struct check_ctx *ctx = arg;
	struct mgr_key_list keys;
	char err[SETUP_ERR_MAX];
	int rc;

	memset(&keys, 0, sizeof(keys));
	rc = mgr_find_keys(&ctx->cfg, NULL, NULL, &keys, err, sizeof(err));
	if (rc == 0)
		snprintf(msg, len, "%zu key%s", keys.n, keys.n == 1 ? "" : "s");
	else
		snprintf(msg, len, "%s", err);
	mgr_key_list_free(&keys);
	return rc;
}

/* backend engine: the ticket certificate as the engine will judge it
 * (read as the sercon user: only it may read the key) */
static int
check_ticket_fn(void *arg, char *msg, size_t len)
{
	struct check_ctx *ctx = arg;

	return ticket_check(ctx->cfg.ticket_certificate, ctx->cfg.ticket_key,
	    time(NULL), msg, len);
}

static void
check_ticket(struct check_ctx *ctx)
{
	char msg[1024];

	if (!ctx->cfg_ok || ctx->cfg.backend != BACKEND_ENGINE)
		return;
	if (setup_as_user(ctx->have_user ? SERCON_USER : NULL,
	    check_ticket_fn, ctx, msg, sizeof(msg)) == 0)
		check_ok("ticket certificate %s: extended key usage "
		    TICKET_EKU ", valid now, its key signs RSA-PSS",
		    ctx->cfg.ticket_certificate);
	else
		check_fail(ctx, "%s", msg);
}

static void
check_manager(struct check_ctx *ctx)
{
	char msg[1024];

	if (!ctx->cfg_ok)
		return;
	if (setup_as_user(ctx->have_user ? SERCON_USER : NULL,
	    check_manager_fn, ctx, msg, sizeof(msg)) == 0)
		check_ok("the manager (backend %s) answers: %s",
		    cfg_backend_name(ctx->cfg.backend), msg);
	else
		check_fail(ctx, "the manager (backend %s) does not answer: %s; "
		    "fix: correct [proxy] in %s/conf.d (or sercon-setup engine)"
		    " and make its files readable by %s",
		    cfg_backend_name(ctx->cfg.backend), msg, SERCON_SYSCONFDIR,
		    SERCON_USER);
}

/* Is port free, or does an sshd listen there? */
static void
check_port(struct check_ctx *ctx, const char *role, int port)
{
	struct sockaddr_in sa;
	struct pollfd pfd;
	char banner[256];
	ssize_t n;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		check_warn("nothing listens on port %d: start "
		    "sercon-%s-sshd (systemctl start sercon-%s-sshd)", port,
		    role, role);
		close(fd);
		return;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	n = poll(&pfd, 1, 3000) == 1 ? read(fd, banner, sizeof(banner) - 1) :
	    -1;
	close(fd);
	if (n > 0) {
		banner[n] = '\0';
		if (strncmp(banner, "SSH-2.0-", 8) == 0) {
			check_ok("an sshd listens on port %d", port);
			return;
		}
	}
	check_fail(ctx, "port %d is taken by something that is not sshd; fix: "
	    "stop it, or move sercon-%s-sshd to another port", port, role);
}

/* The proxies the host sshd accepts: its principals file, and the CAs of
 * accept_proxy_ca in ca.pub. */
static void
check_accept(struct check_ctx *ctx)
{
	char err[SETUP_ERR_MAX], list[1024];
	char **have = NULL, **want = NULL, **cas = NULL;
	size_t nhave = 0, nwant = 0, ncas = 0, i, j, off = 0;

	if (setup_principals_read(SETUP_PRINCIPALS_FILE, &have, &nhave, err,
	    sizeof(err)) != 0) {
		check_fail(ctx, "%s; fix: reinstall sercon's host files, then "
		    "sercon-setup host", err);
		return;
	}
	list[0] = '\0';
	for (i = 0; i < nhave; i++) {
		int w = snprintf(list + off, sizeof(list) - off, "%s%s",
		    i > 0 ? ", " : "", have[i]);

		if (w < 0 || (size_t)w >= sizeof(list) - off)
			break;
		off += (size_t)w;
	}
	if (nhave == 0)
		check_fail(ctx, "%s lists no principal, so no proxy can log "
		    "in; fix: echo %s >> %s", SETUP_PRINCIPALS_FILE,
		    PKI_PROXY_PRINCIPAL, SETUP_PRINCIPALS_FILE);
	else
		check_ok("the host sshd accepts proxy principal%s %s (%s)",
		    nhave == 1 ? "" : "s", list, SETUP_PRINCIPALS_FILE);
	setup_csv_split(ctx->cfg.accept_proxy_principals, &want, &nwant);
	for (i = 0; i < nwant; i++)
		if (!pki_strv_has(have, nhave, want[i]))
			check_fail(ctx, "accept_proxy_principals names %s, "
			    "which %s lacks; fix: sercon-setup host", want[i],
			    SETUP_PRINCIPALS_FILE);
	pki_strv_free(have, nhave);
	pki_strv_free(want, nwant);
	setup_csv_split(ctx->cfg.accept_proxy_ca, &cas, &ncas);
	for (i = 0; i < ncas; i++) {
		char **keys = NULL;
		size_t nkeys = 0;

		if (pki_pubkeys_read(cas[i], &keys, &nkeys, err,
		    sizeof(err)) != 0) {
			check_fail(ctx, "accept_proxy_ca: %s; fix: put the "
			    "proxy CA's public key there, or correct "
			    "accept_proxy_ca", err);
			continue;
		}
		for (j = 0; j < nkeys; j++) {
			char *fp = NULL;

			if (pki_fingerprint_line(keys[j], &fp, err,
			    sizeof(err)) != 0)
				continue;
			if (pki_strv_has(ctx->ca_lines, ctx->nca, keys[j]))
				check_ok("ca.pub accepts proxy certificates "
				    "of CA %s (accept_proxy_ca %s)", fp,
				    cas[i]);
			else
				check_fail(ctx, "accept_proxy_ca names CA %s "
				    "(%s), which ca.pub lacks; fix: "
				    "sercon-setup host", fp, cas[i]);
			free(fp);
		}
		pki_strv_free(keys, nkeys);
	}
	pki_strv_free(cas, ncas);
}

/* sercon-consoled (sercon-consoled(8)) and who is on which console; not
 * running is a warning: sessions are then direct and exclusive. */
static void
check_consoled(struct check_ctx *ctx)
{
	char err[512], *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL || attach_status(ctx->cfg.attach_socket, f, err,
	    sizeof(err)) != 0) {
		if (f == NULL)
			snprintf(err, sizeof(err), "%s", strerror(errno));
		check_warn("%s; sessions are direct and exclusive until it runs "
		    "(systemctl start sercon-consoled)", err);
	} else {
		fflush(f);
		check_ok("sercon-consoled answers on %s", ctx->cfg.attach_socket);
		fputs(text, stdout);
	}
	if (f != NULL)
		fclose(f);
	free(text);
}

static void
check_role(struct check_ctx *ctx, const char *role)
{
	bool proxy = strcmp(role, "proxy") == 0;

	printf("== %s\n", role);
	check_ca(ctx, proxy);
	if (proxy) {
		check_cert(ctx, PKI_PROXY_HOST);
		check_cert(ctx, PKI_PROXY_USER);
	} else
		check_cert(ctx, PKI_HOST_HOST);
	check_sshd(ctx, role);
	if (proxy) {
		check_ticket(ctx);
		check_manager(ctx);
	} else {
		check_accept(ctx);
		check_console_dir(ctx);
		check_consoled(ctx);
	}
	check_port(ctx, role, ctx->port > 0 ? ctx->port : proxy ?
	    SERCON_PROXY_PORT : ctx->cfg.host_port);
	check_sys(ctx, role);
	pki_strv_free(ctx->ca_lines, ctx->nca);
	ctx->ca_lines = NULL;
	ctx->nca = 0;
}

static bool
check_has_key(const struct check_ctx *ctx, enum pki_slot s)
{
	char path[PATH_MAX];

	return setup_path(path, sizeof(path), ctx->pki_dir,
	    pki_slot_key(s)) == 0 && access(path, F_OK) == 0;
}

int
setup_cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "pki-dir", required_argument, NULL, 'p' },
		{ "port", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	struct check_ctx ctx;
	const char *role = NULL;
	char *end;
	long port;
	int ch;

	memset(&ctx, 0, sizeof(ctx));
	ctx.pki_dir = SERCON_PKIDIR;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			printf(check_usage, SERCON_PROXY_PORT);
			return SETUP_EXIT_OK;
		case 'p': ctx.pki_dir = optarg; break;
		case 'P':
			port = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || port < 1 ||
			    port > 65535)
				return setup_usage_error("check", "--port is "
				    "1-65535");
			ctx.port = (int)port;
			break;
		default:
			return setup_usage_error("check", "unknown option");
		}
	}
	if (optind < argc)
		role = argv[optind++];
	if (optind != argc || (role != NULL && strcmp(role, "proxy") != 0 &&
	    strcmp(role, "host") != 0))
		return setup_usage_error("check", "the role is proxy or host");
	check_config(&ctx);
	check_user(&ctx);
	if (role != NULL)
		check_role(&ctx, role);
	else {
		bool any = false;

		if (check_has_key(&ctx, PKI_PROXY_HOST)) {
			check_role(&ctx, "proxy");
			any = true;
		}
		if (check_has_key(&ctx, PKI_HOST_HOST)) {
			check_role(&ctx, "host");
			any = true;
		}
		if (!any)
			check_fail(&ctx, "%s holds neither proxy nor host keys; "
			    "fix: sercon-setup proxy or host --name NAMES",
			    ctx.pki_dir);
	}
	cfg_free(&ctx.cfg);
	if (ctx.problems > 0) {
		printf("%d problem%s found\n", ctx.problems,
		    ctx.problems == 1 ? "" : "s");
		return SETUP_EXIT_FAIL;
	}
	printf("no problems found\n");
	return SETUP_EXIT_OK;
}

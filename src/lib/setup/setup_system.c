/* setup_system.c: the findings of `sercon-setup check` about the machine
 * sercon runs on rather than about sercon's own files: the systemd units
 * and the account their processes run as, the renewal timer, the cache
 * directory tmpfiles.d makes. Without systemd (containers, test rigs)
 * the unit checks say nothing. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/child.h"
#include "setup/setup_sys.h"

#define SYS_MSG_MAX 2048

static void
sys_report(const struct setup_sys_ctx *c, enum setup_level level,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
sys_report(const struct setup_sys_ctx *c, enum setup_level level,
    const char *fmt, ...)
{
	char msg[SYS_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->report(c->arg, level, msg);
}

static bool
sys_systemd_runs(void)
{
	struct stat st;

	return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *
sys_systemctl_path(void)
{
	return access("/usr/bin/systemctl", X_OK) == 0 ? "/usr/bin/systemctl" :
	    "/bin/systemctl";
}

/* `systemctl VERB [ARG] UNIT`: the first line of its output in out (empty
 * when it printed nothing); returns its exit status, -1 when it did not run. */
static int
sys_systemctl(const char *verb, const char *arg, const char *unit, char *out,
    size_t len)
{
	char *argv[6], err[256];
	struct child_result res;
	int i = 0, status;

	argv[i++] = (char *)sys_systemctl_path();
	argv[i++] = (char *)verb;
	if (arg != NULL)
		argv[i++] = (char *)arg;
	argv[i++] = (char *)unit;
	argv[i] = NULL;
	out[0] = '\0';
	if (child_run(argv, NULL, 10 * 1000, 8192, 1, &res, err,
	    sizeof(err)) != 0)
		return -1;
	snprintf(out, len, "%s", res.out);
	out[strcspn(out, "\n")] = '\0';
	status = res.status;
	child_result_free(&res);
	return status;
}

static const char *
sys_user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %ld", (long)uid);
	return buf;
}

/* The real and effective uid of a process, from /proc/PID/status. */
static int
sys_proc_uids(long pid, uid_t *ruid, uid_t *euid, char *comm, size_t clen)
{
	char path[64], line[256];
	long r = -1, e = -1;
	FILE *f;

	snprintf(comm, clen, "?");
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Name:", 5) == 0) {
			char *p = line + 5;
			size_t n;

			while (isspace((unsigned char)*p))
				p++;
			if ((n = strcspn(p, "\n")) >= clen)
				n = clen - 1;
			memcpy(comm, p, n);
			comm[n] = '\0';
		} else if (sscanf(line, "Uid: %ld %ld", &r, &e) == 2)
			break;
	}
	fclose(f);
	if (r < 0 || e < 0)
		return -1;
	*ruid = (uid_t)r;
	*euid = (uid_t)e;
	return 0;
}

/* Every process of the unit's control group must run as the account. */
static void
sys_check_unit_procs(const struct setup_sys_ctx *c, const char *unit)
{
	char cg[PATH_MAX], path[PATH_MAX + 64], name[64], comm[64];
	const char *roots[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified",
	    "/sys/fs/cgroup/systemd" };
	size_t i, n = 0, bad = 0;
	FILE *f = NULL;
	long pid;

	if (sys_systemctl("show", "--property=ControlGroup", unit, cg,
	    sizeof(cg)) != 0 || strncmp(cg, "ControlGroup=/", 14) != 0)
		return;
	for (i = 0; i < sizeof(roots) / sizeof(roots[0]) && f == NULL; i++) {
		snprintf(path, sizeof(path), "%s%s/cgroup.procs", roots[i],
		    cg + 13);
		f = fopen(path, "re");
	}
	if (f == NULL)
		return;
	while (fscanf(f, "%ld", &pid) == 1) {
		uid_t r, e;

		if (sys_proc_uids(pid, &r, &e, comm, sizeof(comm)) != 0)
			continue;
		n++;
		if (r == c->uid && e == c->uid)
			continue;
		bad++;
		sys_report(c, SETUP_PROBLEM, "%s runs %s (pid %ld) as %s, not "
		    "as %s; fix: remove the User=/Group= override that "
		    "`systemctl cat %s` shows, then systemctl restart %s",
		    unit, comm, pid, sys_user_name(e, name, sizeof(name)),
		    SERCON_USER, unit, unit);
	}
	fclose(f);
	if (n > 0 && bad == 0)
		sys_report(c, SETUP_OK, "%s runs, its %zu process%s as %s",
		    unit, n, n == 1 ? "" : "es", SERCON_USER);
}

void
setup_check_units(const struct setup_sys_ctx *c, const char *role)
{
	char unit[64], active[64], enabled[64];

	if (!sys_systemd_runs())
		return;
	snprintf(unit, sizeof(unit), "sercon-%s-sshd.service", role);
	sys_systemctl("is-active", NULL, unit, active, sizeof(active));
	sys_systemctl("is-enabled", NULL, unit, enabled, sizeof(enabled));
	if (strcmp(active, "active") != 0) {
		sys_report(c, SETUP_PROBLEM, "%s is not running (%s, %s); fix: "
		    "systemctl enable --now %s (journalctl -u %s tells why it "
		    "stopped)", unit, active[0] != '\0' ? active : "unknown",
		    enabled[0] != '\0' ? enabled : "unknown", unit, unit);
		return;
	}
	if (strcmp(enabled, "enabled") != 0)
		sys_report(c, SETUP_WARN, "%s runs but is %s: it will not start "
		    "at boot; fix: systemctl enable %s", unit, enabled, unit);
	sys_check_unit_procs(c, unit);
	if (strcmp(role, "host") == 0 || strcmp(role, "proxy") == 0) {
		sys_systemctl("is-active", NULL, "sercon-renew.timer", active,
		    sizeof(active));
		if (strcmp(active, "active") != 0)
			sys_report(c, SETUP_WARN, "sercon-renew.timer is %s: "
			    "certificates will not be renewed; fix: systemctl "
			    "enable --now sercon-renew.timer", active);
	}
}

void
setup_check_cache_dir(const struct setup_sys_ctx *c)
{
	const char *dir = c->cfg->cache_dir;
	char owner[64];
	struct stat st;

	if (dir == NULL)
		return;
	if (lstat(dir, &st) != 0) {
		sys_report(c, SETUP_PROBLEM, "cache_dir %s: %s; fix: "
		    "systemd-tmpfiles --create sercon.conf (or install -d -o %s "
		    "-g %s -m 0750 %s)", dir, strerror(errno), SERCON_USER,
		    SERCON_USER, dir);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		sys_report(c, SETUP_PROBLEM, "cache_dir %s is not a directory; "
		    "fix: remove it, then systemd-tmpfiles --create sercon.conf",
		    dir);
		return;
	}
	if (st.st_uid != c->uid) {
		sys_report(c, SETUP_PROBLEM, "cache_dir %s is owned by %s, not "
		    "%s: the keys helper cannot keep the manager's answers; "
		    "fix: chown %s:%s %s", dir,
		    sys_user_name(st.st_uid, owner, sizeof(owner)),
		    SERCON_USER, SERCON_USER, SERCON_USER, dir);
		return;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		sys_report(c, SETUP_PROBLEM, "cache_dir %s is writable by "
		    "others (mode %04o); fix: chmod 0750 %s", dir,
		    (unsigned)(st.st_mode & 07777), dir);
		return;
	}
	sys_report(c, SETUP_OK, "cache_dir %s belongs to %s, mode %04o", dir,
	    SERCON_USER, (unsigned)(st.st_mode & 07777));
}

/* setup_engine.c: `sercon-setup engine`, what an oVirt engine installer
 * runs: it switches the proxy to the engine backend in conf.d (one file,
 * written by atomic replace), checks that the engine answers a signed
 * public_keys request, and enables the proxy service. --disable undoes it. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/atomic.h"
#include "manager/remote.h"
#include "core/child.h"
#include "core/config.h"
#include "core/file.h"
#include "core/log.h"
#include "manager/manager.h"
#include "setup/setup.h"

#define ENGINE_CONF      "50-engine.conf"
#define ENGINE_SERVICE   "sercon-proxy-sshd"

static const char engine_usage[] =
"usage: sercon-setup engine --url URL --ticket-cert FILE --ticket-key FILE\n"
"           [--engine-ca FILE] [--no-verify-host] [--conf-dir DIR]\n"
"       sercon-setup engine --disable [--conf-dir DIR]\n"
"\n"
"Makes the proxy ask the oVirt engine at URL which keys and consoles exist:\n"
"writes DIR/" ENGINE_CONF " (DIR defaults to " SERCON_SYSCONFDIR "/conf.d),\n"
"checks that the engine answers a signed public_keys request, and enables\n"
ENGINE_SERVICE " when systemd runs. --disable removes the file and\n"
"disables the service.\n"
"  --url URL            the engine, e.g. https://engine.example/ovirt-engine/\n"
"  --ticket-cert FILE   PEM certificate the tickets are signed with\n"
"  --ticket-key FILE    its PEM private key\n"
"  --engine-ca FILE     CA bundle for the engine's TLS (default: the system's)\n"
"  --no-verify-host     do not check the engine's TLS host name\n";

struct engine_opts {
	const char *url, *cert, *key, *ca, *conf_dir;
	bool no_verify_host, disable;
};

static int
engine_parse(int argc, char **argv, struct engine_opts *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "url", required_argument, NULL, 'u' },
		{ "ticket-cert", required_argument, NULL, 'c' },
		{ "ticket-key", required_argument, NULL, 'k' },
		{ "engine-ca", required_argument, NULL, 'a' },
		{ "no-verify-host", no_argument, NULL, 'n' },
		{ "disable", no_argument, NULL, 'd' },
		{ "conf-dir", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->conf_dir = SERCON_SYSCONFDIR "/conf.d";
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			fputs(engine_usage, stdout);
			return -1;
		case 'u': o->url = optarg; break;
		case 'c': o->cert = optarg; break;
		case 'k': o->key = optarg; break;
		case 'a': o->ca = optarg; break;
		case 'n': o->no_verify_host = true; break;
		case 'd': o->disable = true; break;
		case 'C': o->conf_dir = optarg; break;
		default:
			return setup_usage_error("engine", "unknown option");
		}
	}
	if (optind != argc)
		return setup_usage_error("engine", "unexpected argument");
	if (o->disable) {
		if (o->url != NULL || o->cert != NULL || o->key != NULL ||
		    o->ca != NULL)
			return setup_usage_error("engine", "--disable takes no "
			    "other option");
		return 0;
	}
	if (o->url == NULL || o->cert == NULL || o->key == NULL)
		return setup_usage_error("engine", "--url, --ticket-cert and "
		    "--ticket-key are required");
	return 0;
}

/* A value that can stand in an INI line as it is. */
static bool
engine_ini_safe(const char *v)
{
	const unsigned char *p;

	if (*v == '\0' || strlen(v) > 1024)
		return false;
	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == ';' || *p == '#' ||
		    *p == '"' || *p == '\\')
			return false;
	return true;
}

static int
engine_check_file(const char *what, const char *path, char *err,
    size_t errlen)
{
	if (!engine_ini_safe(path) || path[0] != '/') {
		snprintf(err, errlen, "%s must be an absolute path without "
		    "blanks", what);
		return -1;
	}
	if (access(path, R_OK) != 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
engine_validate(const struct engine_opts *o, char *url, size_t urllen,
    char *err, size_t errlen)
{
	size_t n;

	if (!engine_ini_safe(o->url) || (strncmp(o->url, "https://", 8) != 0 &&
	    strncmp(o->url, "http://", 7) != 0)) {
		snprintf(err, errlen, "--url must be an http(s) URL without "
		    "blanks, such as https://engine.example/ovirt-engine/");
		return -1;
	}
	/* The service path is appended: the URL ends with a slash. */
	n = strlen(o->url);
	if ((size_t)snprintf(url, urllen, "%s%s", o->url,
	    o->url[n - 1] == '/' ? "" : "/") >= urllen) {
		snprintf(err, errlen, "--url is too long");
		return -1;
	}
	if (engine_check_file("--ticket-cert", o->cert, err, errlen) != 0 ||
	    engine_check_file("--ticket-key", o->key, err, errlen) != 0 ||
	    (o->ca != NULL && engine_check_file("--engine-ca", o->ca, err,
	    errlen) != 0))
		return -1;
	return 0;
}

/* Runs systemctl with the verb when systemd runs; otherwise says so. */
static void
engine_systemctl(const char *verb)
{
	char *argv[] = { "/usr/bin/systemctl", (char *)verb, "--now",
	    ENGINE_SERVICE, NULL };
	struct child_result res;
	char err[SETUP_ERR_MAX];
	struct stat st;

	if (access(argv[0], X_OK) != 0)
		argv[0] = "/bin/systemctl";
	if (stat("/run/systemd/system", &st) != 0 || access(argv[0], X_OK) != 0) {
		printf("systemd is not running: %s the proxy sshd yourself "
		    "(%s -D -f %s/proxy/sshd_config as the %s user)\n",
		    strcmp(verb, "enable") == 0 ? "start" : "stop", SSHD_PATH,
		    SERCON_DATADIR, SERCON_USER);
		return;
	}
	if (child_run(argv, NULL, 60 * 1000, 64 * 1024, 0, &res, err,
	    sizeof(err)) != 0) {
		log_user_error("engine: %s", err);
		return;
	}
	if (res.status != 0)
		log_user_error("engine: systemctl %s --now %s failed (exit "
		    "status %d)", verb, ENGINE_SERVICE, res.status);
	else
		printf("systemctl %s --now %s: done\n", verb, ENGINE_SERVICE);
	child_result_free(&res);
}

static int
engine_disable(const struct engine_opts *o)
{
	char path[PATH_MAX];

	if (setup_path(path, sizeof(path), o->conf_dir, ENGINE_CONF) != 0)
		return setup_usage_error("engine", "--conf-dir is too long");
	if (unlink(path) == 0) {
		printf("removed %s: the proxy uses the backend of the other "
		    "configuration files again\n", path);
		log_info("engine backend disabled");
	} else if (errno == ENOENT)
		printf("%s does not exist: nothing to remove\n", path);
	else {
		log_user_error("engine: cannot remove %s: %s", path,
		    strerror(errno));
		return SETUP_EXIT_FAIL;
	}
	engine_systemctl("disable");
	return SETUP_EXIT_OK;
}

static int
engine_write(const struct engine_opts *o, const char *url, const char *path,
    char *err, size_t errlen)
{
	char text[8192], stamp[40];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M UTC", &tm);
	n = snprintf(text, sizeof(text),
	    "# Written by sercon-setup engine on %s: the proxy asks the\n"
	    "# oVirt engine. `sercon-setup engine --disable` removes it.\n"
	    "[proxy]\n"
	    "backend = engine\n"
	    "engine_url = %s\n"
	    "%s%s%s"
	    "engine_verify_host = %s\n"
	    "ticket_certificate = %s\n"
	    "ticket_key = %s\n",
	    stamp, url, o->ca != NULL ? "engine_ca = " : "",
	    o->ca != NULL ? o->ca : "", o->ca != NULL ? "\n" : "",
	    o->no_verify_host ? "false" : "true", o->cert, o->key);
	if (n < 0 || (size_t)n >= sizeof(text)) {
		snprintf(err, errlen, "configuration too long");
		return -1;
	}
	if (file_mkdir_p(o->conf_dir, 0755, err, errlen) != 0)
		return -1;
	return atomic_write(path, text, (size_t)n, 0644, (uid_t)-1,
	    (gid_t)-1, 0, err, errlen);
}

/* Loads the configuration, our file included, and asks the engine for its
 * keys. */
static int
engine_probe(const struct engine_opts *o, char *err,
    size_t errlen)
{
	struct sercon_config cfg;
	struct mgr_key_list keys;
	char cerr[512];
	int rc;

	memset(&keys, 0, sizeof(keys));
	if (cfg_load(&cfg, SERCON_DATADIR "/sercon.conf", o->conf_dir, cerr,
	    sizeof(cerr)) != 0) {
		snprintf(err, errlen, "the configuration does not load: %s",
		    cerr);
		cfg_free(&cfg);
		return -1;
	}
	if (cfg.backend != BACKEND_ENGINE) {
		snprintf(err, errlen, "the engine backend is not selected");
		cfg_free(&cfg);
		return -1;
	}
	log_set_socket(cfg.log_socket);
	rc = mgr_remote_keys(&cfg, NULL, NULL, &keys, cerr, sizeof(cerr));
	if (rc == 0)
		printf("the engine answered a signed public_keys request: %zu "
		    "key%s\n", keys.n, keys.n == 1 ? "" : "s");
	else
		snprintf(err, errlen, "the engine did not answer a signed "
		    "public_keys request: %s", cerr);
	mgr_key_list_free(&keys);
	cfg_free(&cfg);
	return rc;
}

int
setup_cmd_engine(int argc, char **argv)
{
	struct engine_opts o;
	char url[1100], path[PATH_MAX], err[SETUP_ERR_MAX];
	int rc;

	if ((rc = engine_parse(argc, argv, &o)) != 0)
		return rc < 0 ? SETUP_EXIT_OK : rc;
	if (o.disable)
		return engine_disable(&o);
	if (engine_validate(&o, url, sizeof(url), err, sizeof(err)) != 0)
		return setup_usage_error("engine", err);
	if (setup_path(path, sizeof(path), o.conf_dir, ENGINE_CONF) != 0)
		return setup_usage_error("engine", "--conf-dir is too long");
	if (engine_write(&o, url, path, err, sizeof(err)) != 0) {
		log_user_error("engine: %s", err);
		return SETUP_EXIT_FAIL;
	}
	printf("wrote %s: backend engine at %s\n", path, url);
	log_info("engine backend selected: %s", url);
	if (engine_probe(&o, err, sizeof(err)) != 0) {
		log_user_error("engine: %s (the configuration stays in place; "
		    "run `sercon-setup check proxy` once the engine is up)",
		    err);
		return SETUP_EXIT_FAIL;
	}
	engine_systemctl("enable");
	return SETUP_EXIT_OK;
}

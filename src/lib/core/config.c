/* config.c: the INI configuration (libinih does the parsing); see config.h.
 * Every key is described once in the table below: its section, its type and
 * where it lives in struct sercon_config. */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ini.h>

#include "core/config.h"
#include "core/xmalloc.h"

enum cfg_type { T_BOOL, T_INT, T_STR, T_PATH, T_BACKEND };

struct cfg_key {
	const char *section;
	const char *name;
	enum cfg_type type;
	size_t offset;
	int min, max;              /* T_INT */
};

#define K(sec, name, type) { sec, #name, type, \
	offsetof(struct sercon_config, name), 0, 0 }
#define KI(sec, name, lo, hi) { sec, #name, T_INT, \
	offsetof(struct sercon_config, name), lo, hi }

static const struct cfg_key cfg_keys[] = {
	K("general", debug, T_BOOL),
	K("general", log_socket, T_PATH),
	K("proxy", backend, T_BACKEND),
	K("proxy", inventory, T_PATH),
	K("proxy", host_user, T_STR),
	KI("proxy", host_port, 1, 65535),
	K("proxy", ssh_config, T_PATH),
	K("proxy", menu_title, T_STR),
	K("proxy", engine_url, T_STR),
	K("proxy", engine_ca, T_PATH),
	K("proxy", engine_verify_host, T_BOOL),
	K("proxy", ticket_certificate, T_PATH),
	K("proxy", ticket_key, T_PATH),
	K("proxy", key_list, T_STR),
	K("proxy", console_list, T_STR),
	KI("proxy", timeout, 1, 600),
	KI("proxy", cache_ttl, 0, 86400),
	KI("proxy", cache_stale_max, 0, 30 * 86400),
	K("proxy", cache_dir, T_PATH),
	/* [proxy] sessions (sercon-proxy-shell(8)) */
	K("proxy", escape, T_STR),
	KI("proxy", follow_timeout, 0, 3600),
	K("proxy", host_protocol, T_STR),
	KI("proxy", host_probe_ttl, 0, 7 * 86400),
	KI("proxy", hop_retries, 0, 20),
	K("host", console_dir, T_PATH),
	K("host", lock_dir, T_PATH),
	/* sercon-setup host applies these two to the host sshd's files */
	K("host", accept_proxy_principals, T_STR),
	K("host", accept_proxy_ca, T_STR),
	K("host", attach_socket, T_PATH),
	KI("host", scrollback, 1024, 64 << 20),
	KI("host", replay_lines, 0, 100000),
	KI("host", console_grace, 0, 86400),
	KI("host", session_stall, 1, 86400),
	KI("host", max_sessions, 1, 100000),
	K("host", break_ctrl_o, T_BOOL),
	K("host", record, T_BOOL),
	K("host", record_dir, T_PATH),
	KI("host", record_max, 4096, 2147483647),
	KI("host", record_total, 4096, 2147483647),
	K("host", record_input, T_BOOL),
};

static const char *const backend_names[] = {
	[BACKEND_FILE] = "file",
	[BACKEND_COMMAND] = "command",
	[BACKEND_ENGINE] = "engine",
};

const char *
cfg_backend_name(enum cfg_backend b)
{
	return backend_names[b];
}

static void
set_str(char **slot, const char *value)
{
	char *copy = NULL;

	if (value != NULL && *value != '\0')
		copy = xstrdup(value);
	free(*slot);
	*slot = copy;
}

void
cfg_defaults(struct sercon_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	set_str(&cfg->log_socket, "/dev/log");
	cfg->backend = BACKEND_FILE;
	set_str(&cfg->inventory, SERCON_SYSCONFDIR "/inventory.json");
	set_str(&cfg->host_user, SERCON_USER);
	cfg->host_port = SERCON_HOST_PORT;
	set_str(&cfg->ssh_config, SERCON_DATADIR "/proxy/ssh_config");
	set_str(&cfg->menu_title, "Available consoles");
	cfg->engine_verify_host = true;
	cfg->timeout = 5;
	cfg->cache_ttl = 30;
	cfg->cache_stale_max = 600;
	set_str(&cfg->cache_dir, SERCON_LOCALSTATEDIR "/cache/sercon");
	set_str(&cfg->escape, "~");
	cfg->follow_timeout = 120;
	set_str(&cfg->host_protocol, "auto");
	cfg->host_probe_ttl = 3600;
	cfg->hop_retries = 4;
	set_str(&cfg->console_dir, SERCON_RUNSTATEDIR "/sercon/console");
	set_str(&cfg->lock_dir, SERCON_RUNSTATEDIR "/sercon/lock");
	set_str(&cfg->attach_socket, SERCON_RUNSTATEDIR "/sercon/consoled/consoled.sock");
	cfg->scrollback = 65536;
	cfg->replay_lines = 24;
	cfg->console_grace = 30;
	cfg->session_stall = 60;
	cfg->max_sessions = 1024;
	set_str(&cfg->record_dir, SERCON_LOCALSTATEDIR "/log/sercon/consoles");
	cfg->record_max = 8 << 20;
	cfg->record_total = 64 << 20;
}

void
cfg_free(struct sercon_config *cfg)
{
	size_t i;

	for (i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++) {
		const struct cfg_key *k = &cfg_keys[i];

		if (k->type == T_STR || k->type == T_PATH) {
			char **slot = (char **)((char *)cfg + k->offset);

			free(*slot);
			*slot = NULL;
		}
	}
}

struct cfg_parse {
	struct sercon_config *cfg;
	FILE *f;
	int lineno;                /* lines handed to inih so far */
	int err_line;              /* line of the first semantic error */
	char reason[200];
};

/* fgets for inih that counts lines, so that the handler knows where it is. */
static char *
cfg_reader(char *str, int num, void *stream)
{
	struct cfg_parse *p = stream;
	char *r = fgets(str, num, p->f);

	if (r != NULL)
		p->lineno++;
	return r;
}

/* Records the first error with its line; returns 0 for inih. */
static int cfg_fail(struct cfg_parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
cfg_fail(struct cfg_parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->err_line != 0)
		return 0;
	p->err_line = p->lineno;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
	return 0;
}

static int
parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") ||
	    !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") ||
	    !strcmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

static int
cfg_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct cfg_parse *p = user;
	const struct cfg_key *k = NULL;
	char *slot;
	size_t i;

	for (i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++) {
		if (!strcmp(cfg_keys[i].section, section) &&
		    !strcmp(cfg_keys[i].name, name)) {
			k = &cfg_keys[i];
			break;
		}
	}
	if (k == NULL) {
		return cfg_fail(p, "unknown key '%.40s' in section [%.40s]",
		    name, section);
	}
	slot = (char *)p->cfg + k->offset;
	switch (k->type) {
	case T_BOOL:
		if (parse_bool(value, (bool *)slot) == 0)
			return 1;
		return cfg_fail(p, "%s: '%.40s' is not true or false", name,
		    value);
	case T_INT: {
		char *end;
		long n;

		errno = 0;
		n = strtol(value, &end, 10);
		if (errno == 0 && end != value && *end == '\0' &&
		    n >= k->min && n <= k->max) {
			*(int *)slot = (int)n;
			return 1;
		}
		return cfg_fail(p, "%s: '%.40s' is not a number from %d to %d",
		    name, value, k->min, k->max);
	}
	case T_PATH:
		if (*value != '\0' && *value != '/') {
			return cfg_fail(p, "%s: '%.60s' is not an absolute path",
			    name, value);
		}
		set_str((char **)slot, value);
		return 1;
	case T_STR:
		set_str((char **)slot, value);
		return 1;
	case T_BACKEND:
		for (i = 0; i < sizeof(backend_names) / sizeof(*backend_names);
		    i++) {
			if (!strcmp(value, backend_names[i])) {
				*(enum cfg_backend *)slot = (enum cfg_backend)i;
				return 1;
			}
		}
		return cfg_fail(p,
		    "backend: '%.40s' is not file, command or engine", value);
	}
	return 0;
}

int
cfg_load_file(struct sercon_config *cfg, const char *path, bool optional,
    char *err, size_t errlen)
{
	struct cfg_parse p = { cfg, NULL, 0, 0, "" };
	FILE *f;
	int line;

	if ((f = fopen(path, "re")) == NULL) {
		if (optional && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	p.f = f;
	line = ini_parse_stream(cfg_reader, &p, cfg_handler, &p);
	fclose(f);
	if (line == 0)
		return 0;
	if (line < 0)
		snprintf(err, errlen, "cannot parse %s", path);
	else if (p.err_line != 0 && p.err_line <= line)
		snprintf(err, errlen, "%s:%d: %s", path, p.err_line, p.reason);
	else
		snprintf(err, errlen, "%s:%d: syntax error", path, line);
	return -1;
}

static int
conf_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 &&
	    !strcmp(d->d_name + n - 5, ".conf");
}

int
cfg_load(struct sercon_config *cfg, const char *defaults_file,
    const char *confd, char *err, size_t errlen)
{
	struct dirent **names = NULL;
	char path[PATH_MAX];
	int i, n, rc = 0;

	cfg_defaults(cfg);
	if (defaults_file != NULL &&
	    cfg_load_file(cfg, defaults_file, true, err, errlen) != 0)
		return -1;
	if (confd == NULL)
		return 0;
	n = scandir(confd, &names, conf_name, alphasort);
	if (n < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", confd,
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			snprintf(path, sizeof(path), "%s/%s", confd,
			    names[i]->d_name);
			rc = cfg_load_file(cfg, path, true, err, errlen);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
cfg_load_installed(struct sercon_config *cfg, char *err, size_t errlen)
{
	return cfg_load(cfg, SERCON_DATADIR "/sercon.conf",
	    SERCON_SYSCONFDIR "/conf.d", err, errlen);
}

/* config.h: sercon's configuration. The defaults file ($datadir/sercon/
 * sercon.conf) is read first, then $sysconfdir/sercon/conf.d/\*.conf in name
 * order, the last value of a key winning. Unknown sections or keys and
 * ill-typed values are errors naming the file and the line. */
#ifndef SERCON_CONFIG_H
#define SERCON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum cfg_backend { BACKEND_FILE, BACKEND_COMMAND, BACKEND_ENGINE };

struct sercon_config {
	/* [general] */
	bool debug;
	char *log_socket;            /* syslog datagram socket, /dev/log */

	/* [proxy] */
	enum cfg_backend backend;
	char *inventory;             /* backend file */
	char *host_user;
	int host_port;
	char *ssh_config;            /* proxy -> host ssh client config */
	char *menu_title;
	char *engine_url;            /* backend engine */
	char *engine_ca;             /* NULL: the system's CA bundle */
	bool engine_verify_host;
	char *ticket_certificate;
	char *ticket_key;
	char *key_list;              /* backend command: argv templates */
	char *console_list;
	int timeout;                 /* seconds, any manager call */
	int cache_ttl;               /* seconds */
	int cache_stale_max;         /* seconds, 0 = never serve stale */
	char *cache_dir;
	/* [proxy] sessions (sercon-proxy-shell(8)) */
	char *escape;                /* in-session command character, "none" */
	int follow_timeout;          /* seconds to follow a VM that moved */
	char *host_protocol;         /* auto | raw | sercon */
	int host_probe_ttl;          /* seconds a host's protocol is kept */
	int hop_retries;             /* retries of a hop the host dropped */

	/* [host] */
	char *console_dir;
	char *lock_dir;              /* one lock file per console in use */
	/* Other proxies the host sshd accepts (sercon-setup host writes
	 * them where sshd reads them): comma-separated principals, and
	 * comma-separated files of CA public keys. NULL: none. */
	char *accept_proxy_principals;
	char *accept_proxy_ca;
	/* [host] sercon-consoled (sercon-consoled(8)) */
	char *attach_socket;         /* the daemon's socket for host shells */
	int scrollback;              /* bytes of output kept per console */
	int replay_lines;            /* lines replayed on attach by default */
	int console_grace;           /* seconds sessions wait for a closed console */
	int session_stall;           /* seconds a session may not read, then dropped */
	int max_sessions;            /* attach connections at once */
	bool break_ctrl_o;           /* no telnet/QMP: BREAK is ^O (virtio) */
	bool record;                 /* asciicast v2 recording per console */
	char *record_dir;
	int record_max;              /* bytes: a recording rotates past this */
	int record_total;            /* bytes: oldest removed past this, per console */
	bool record_input;           /* record what the writer types too */
};

/* Fills cfg with the built-in defaults (paths from configure). */
void cfg_defaults(struct sercon_config *cfg);
/* Reads one INI file over cfg. A missing file is not an error when
 * optional is true. On error returns -1 and writes a one-line reason. */
int cfg_load_file(struct sercon_config *cfg, const char *path, bool optional,
    char *err, size_t errlen);
/* Defaults, then the defaults file, then every *.conf of confd in name order.
 * Either path may be NULL. */
int cfg_load(struct sercon_config *cfg, const char *defaults_file,
    const char *confd, char *err, size_t errlen);
/* cfg_load with the installed paths. */
int cfg_load_installed(struct sercon_config *cfg, char *err, size_t errlen);
void cfg_free(struct sercon_config *cfg);

const char *cfg_backend_name(enum cfg_backend b);

#endif

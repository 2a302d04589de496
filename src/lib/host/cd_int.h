/* cd_int.h: the parts of sercon-consoled (consoled.h) and how they share
 * state: the loop (cd_loop.c) dispatches epoll events to consoles
 * (cd_console.c: qemu's socket, ring, BREAK) and sessions (cd_session.c:
 * attach, roles, replay, output pacing). Internal to src/lib/host. */
#ifndef SERCON_CD_INT_H
#define SERCON_CD_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/config.h"
#include "core/sproto.h"
#include "host/conlock.h"
#include "host/hello.h"
#include "host/record.h"
#include "host/ring.h"

#define CD_OBUF        32768   /* encoded output waiting for a session */
#define CD_IBUF        32768   /* a session's input not yet decoded */
#define CD_CON_WBUF    65536   /* bytes waiting for qemu; allocated at the
                                  first input, so an idle console has none */
#define CD_MSGS_MAX    64      /* messages queued for one session */
#define CD_HELLO_SECS  5       /* a client must say hello within this */
#define CD_RETRIES     8       /* connect attempts (backoff) per event */

struct cd;
struct cd_console;
struct cd_session;

enum cd_kind { CDK_LISTEN, CDK_INOTIFY, CDK_SIGNAL, CDK_CON, CDK_CON_TIMER, CDK_CON_GRACE,
	CDK_SESS, CDK_SESS_TIMER };

/* What an epoll event points at. */
struct cd_handler {
	enum cd_kind kind;
	void *obj;
	int fd;
	uint32_t mask;          /* events registered, 0: not registered */
};

enum con_state {
	CON_IDLE,               /* no connection; waiting for the socket */
	CON_WAIT,               /* connect failed: retrying with backoff */
	CON_LOCKED,             /* a direct session holds the lock */
	CON_UP,                 /* connected to qemu */
	CON_CLOSED,             /* qemu went away under sessions: grace */
};

enum role { ROLE_NONE, ROLE_WRITER, ROLE_WATCHER };

enum brk_method { BRK_NONE, BRK_TELNET, BRK_QMP, BRK_CTRL_O };

struct cd_msg {
	struct cd_msg *next;
	uint64_t at;            /* ring offset it belongs after */
	size_t len;
	uint8_t data[];         /* an encoded message */
};

struct cd_session {
	struct cd *cd;
	struct cd_session *next, *prev;     /* the daemon's list */
	struct cd_session *cnext;           /* the console's list */
	struct cd_console *con;             /* NULL before the hello */
	struct cd_handler h, th;            /* socket, timer */
	unsigned id;
	struct sess_hello hello;
	enum role role;
	char who[TEXT_NAME_MAX + 1];        /* entity, id, or "session N" */
	bool told_closed;
	bool hello_done, eof, closing, told_ro;
	struct sproto_dec dec;
	uint8_t ibuf[CD_IBUF];
	size_t ilen;
	uint8_t obuf[CD_OBUF];
	size_t ohead, olen;
	uint64_t cursor;                    /* next ring byte to send */
	struct cd_msg *msgs, **msgs_tail;
	unsigned nmsgs;
	time_t since;                       /* wall clock, for status */
	struct timespec start, stalled;     /* monotonic */
	bool stall_armed;
	uint64_t to_console, from_console;
	int end_status;
	const char *end_reason;
};

struct cd_console {
	struct cd *cd;
	struct cd_console *next, *prev;
	char name[TEXT_NAME_MAX + 1];
	char label[TEXT_NAME_MAX + 1];      /* shown to users: no ".sock" */
	enum con_state state;
	struct cd_handler h, th, gh;        /* qemu socket, retry, grace */
	struct conlock lock;
	unsigned retries, backoff_ms;
	struct ring ring;
	uint64_t arrival;                   /* offset this connection began */
	uint8_t *wbuf;                      /* CD_CON_WBUF, or NULL */
	size_t wlen;
	int telnet;                         /* 1 yes, 0 unknown, -1 no */
	int tn_state;
	struct cd_session *sessions;
	unsigned nsess;
	struct cd_session *writer;
	time_t writer_since;
	struct rec *rec;
	bool present;                       /* the socket file exists */
	bool dead;                          /* freed; memory goes after
	                                       the batch */
};

struct cd {
	const struct sercon_config *cfg;
	int ep;
	struct cd_handler listen, inotify, sig;
	int wd_console, wd_lock;
	struct cd_console *consoles;
	unsigned ncons;
	struct cd_session *sessions;
	unsigned nsess, next_id;
	uid_t uid;
	bool stop;
	/* Freed after the current batch of events, which may still point
	 * at them (their handlers' fd is -1 by then). */
	struct cd_session *dead_sess;
	struct cd_console *dead_cons;
};

/* cd_loop.c */
int cd_watch(struct cd *cd, struct cd_handler *h, uint32_t mask);
void cd_unwatch(struct cd *cd, struct cd_handler *h);
int cd_timer_arm(struct cd *cd, struct cd_handler *h, unsigned ms);
void cd_timer_stop(struct cd *cd, struct cd_handler *h);
void cd_status(struct cd *cd, struct cd_session *s);
char *cd_field(const char *s);        /* audit field: "-" or encoded */

/* cd_console.c */
struct cd_console *con_find(struct cd *cd, const char *name);
struct cd_console *con_get(struct cd *cd, const char *name);
void con_scan(struct cd *cd);
void con_dir_event(struct cd *cd, const char *name, uint32_t mask);
void con_lock_event(struct cd *cd, const char *name);
void con_try(struct cd_console *c);
void con_event(struct cd_console *c, uint32_t ev);
void con_rewatch(struct cd_console *c);
void con_timer(struct cd_console *c);
void con_grace(struct cd_console *c);
void con_free(struct cd_console *c);
void con_maybe_free(struct cd_console *c);
size_t con_write_room(const struct cd_console *c);
void con_write(struct cd_console *c, const uint8_t *p, size_t n);
void con_break(struct cd_console *c, struct cd_session *s, int key);
const char *con_state_name(enum con_state st);

/* cd_session.c */
void sess_accept(struct cd *cd);
void sess_event(struct cd_session *s, uint32_t ev);
void sess_timer(struct cd_session *s);
void sess_pump(struct cd_session *s);
void sess_input_resume(struct cd_session *s);
void sess_notice(struct cd_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sess_msg(struct cd_session *s, uint8_t type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sess_end(struct cd_session *s, int status, const char *reason);
void sess_free(struct cd_session *s);
void sess_console_closed(struct cd_session *s);
void sess_console_back(struct cd_session *s);
void cons_notice_all(struct cd_console *c, struct cd_session *except,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *sess_who(const struct cd_session *s);
const char *role_name(enum role r);

#endif

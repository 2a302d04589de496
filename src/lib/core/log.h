/* log.h: events go to syslog as one line each (facility authpriv, program
 * name and pid), control characters folded so a hostile string cannot forge
 * a second line. Errors meant for the person at the keyboard go to stderr as
 * one "ERROR: ..." line through log_user_error(), and are logged as well. */
#ifndef SERCON_LOG_H
#define SERCON_LOG_H

#include <stdbool.h>
#include <stdarg.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Call once, first thing in main. progname is kept by reference. */
void log_init(const char *progname);
/* Debug events are logged (and echoed to stderr when stderr_too). */
void log_set_debug(bool on);
bool log_debug_enabled(void);
/* The datagram socket syslog lines are sent to; default "/dev/log". A
 * line waits a moment (log.c: LOG_SEND_WAIT_MS) when the daemon's queue is
 * full, so that a burst of audit lines is not lost; a daemon that stays
 * stuck (or absent) is not waited for again, and the lines lost meanwhile
 * are counted in one "N log lines dropped" line once it reads again
 * (a new socket starts a new count). */
void log_set_socket(const char *path);
/* Debug events are echoed to stderr when it is a terminal, unless turned
 * off here (sercon-host-shell: its stderr is the user's console). */
void log_set_debug_echo(bool on);
/* Also copy every event to stderr (tools run by hand, such as sercon-setup). */
void log_set_stderr(bool on);

void log_error(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
/* Prints "ERROR: <message>" on stderr, control characters escaped, and logs
 * the same message at error level. */
void log_user_error(const char *fmt, ...) LOG_PRINTF(1, 2);

/* log_user_error, then exit(1): for the one failure no caller can handle
 * (xmalloc.c: out of memory). */
void log_fatal(const char *fmt, ...) LOG_PRINTF(1, 2)
    __attribute__((noreturn));

#endif

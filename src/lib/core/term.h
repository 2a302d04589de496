/* term.h: raw mode on a terminal, and getting the original mode back on
 * every way out (normal return, error, signal). */
#ifndef SERCON_TERM_H
#define SERCON_TERM_H

/* Puts fd in raw mode if it is a terminal; remembers the old mode and
 * installs handlers so that SIGTERM/SIGHUP/SIGINT restore it. Returns 0
 * (also when fd is not a terminal), -1 on error. */
int term_raw(int fd);
/* Restores the remembered mode; safe to call more than once. */
void term_restore(void);

#endif

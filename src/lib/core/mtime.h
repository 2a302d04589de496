/* mtime.h: the one monotonic clock, in milliseconds, for deadlines and
 * durations (never for dates: it does not move with the wall clock). */
#ifndef SERCON_MTIME_H
#define SERCON_MTIME_H

long long mtime_ms(void);

#endif

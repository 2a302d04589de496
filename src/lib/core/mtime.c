/* mtime.c: CLOCK_MONOTONIC in milliseconds; see mtime.h. */
#include <time.h>

#include "core/mtime.h"

long long
mtime_ms(void)
{
	struct timespec ts;

	/* Cannot fail for CLOCK_MONOTONIC on the systems sercon runs on. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* child.h: runs a program from an argv (never through a shell) with a time
 * limit, capturing its standard output up to a size cap. */
#ifndef SERCON_CHILD_H
#define SERCON_CHILD_H

#include <stddef.h>

struct child_result {
	char *out;         /* standard output, NUL-terminated, malloc'd */
	size_t out_len;
	int status;        /* exit status, or 128 + signal */
	int timed_out;     /* killed for exceeding the time limit */
	int truncated;     /* output exceeded the cap (the child was killed) */
	int stopped;       /* the stream callback refused the output (the
	                    * child was killed) */
};

/* argv[0] is a path (no PATH search). stdin is /dev/null; stderr is
 * inherited unless quiet_stderr. envp NULL means a minimal environment
 * (PATH, LANG=C).
 * Returns 0 when the program ran (look at status), -1 with a reason in err
 * when it could not be started. */
int child_run(char *const argv[], char *const envp[], int timeout_ms,
    size_t out_cap, int quiet_stderr, struct child_result *res, char *err,
    size_t errlen);
/* child_run, with the output handed to out piece by piece as it comes
 * rather than collected (res->out is then "", out_len the bytes read), so
 * that a large answer is never held whole. out returns 0, or -1 to stop
 * (the child is killed, res->stopped set). out_cap still bounds the
 * whole. */
int child_run_stream(char *const argv[], char *const envp[], int timeout_ms,
    size_t out_cap, int quiet_stderr,
    int (*out)(void *ctx, const char *buf, size_t len), void *ctx,
    struct child_result *res, char *err, size_t errlen);
void child_result_free(struct child_result *res);

#endif

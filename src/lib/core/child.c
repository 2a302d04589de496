/* child.c: run a helper program from an argv with a time limit and a cap on
 * what it may print; see child.h. The child gets its own process group so
 * that a timeout kills whatever it started too. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "core/child.h"
#include "core/mtime.h"
#include "core/xmalloc.h"

/* What one read takes from the pipe: a pipe's default capacity, so that
 * a large answer costs a few hundred reads rather than thousands. */
#define CHILD_CHUNK 65536

void
child_result_free(struct child_result *res)
{
	free(res->out);
	memset(res, 0, sizeof(*res));
}

static int
child_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 255;
}

/* Reads what the child printed: into res->out, or to out through chunk
 * (CHILD_CHUNK bytes, on the heap: not on the stack of every caller, where
 * it would stay resident) when out is set. Returns the bytes read, 0 at
 * the end, -1 (errno) on an error. */
static ssize_t
child_read(int fd, size_t out_cap, int (*out)(void *, const char *, size_t),
    void *ctx, char *chunk, struct child_result *res, size_t *cap)
{
	ssize_t r;

	if (out != NULL) {
		if ((r = read(fd, chunk, CHILD_CHUNK)) <= 0)
			return r;
		if (res->out_len + (size_t)r > out_cap)
			r = (ssize_t)(out_cap - res->out_len + 1);
		else if (out(ctx, chunk, (size_t)r) != 0)
			res->stopped = 1;
		res->out_len += (size_t)r;
		return r;
	}
	if (res->out_len + CHILD_CHUNK + 1 > *cap) {
		size_t ncap = *cap ? *cap * 2 : 16384;

		if (ncap < res->out_len + CHILD_CHUNK + 1)
			ncap = res->out_len + CHILD_CHUNK + 1;
		if (ncap > out_cap + CHILD_CHUNK + 1)
			ncap = out_cap + CHILD_CHUNK + 1;
		res->out = xreallocarray(res->out, ncap, 1);
		*cap = ncap;
	}
	if ((r = read(fd, res->out + res->out_len, CHILD_CHUNK)) > 0)
		res->out_len += (size_t)r;
	return r;
}

int
child_run(char *const argv[], char *const envp[], int timeout_ms,
    size_t out_cap, int quiet_stderr, struct child_result *res, char *err,
    size_t errlen)
{
	return child_run_stream(argv, envp, timeout_ms, out_cap, quiet_stderr,
	    NULL, NULL, res, err, errlen);
}

int
child_run_stream(char *const argv[], char *const envp[], int timeout_ms,
    size_t out_cap, int quiet_stderr,
    int (*out)(void *ctx, const char *buf, size_t len), void *ctx,
    struct child_result *res, char *err, size_t errlen)
{
	static char *const min_env[] = {
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", NULL
	};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int outp[2] = { -1, -1 };
	size_t cap = 0;
	char *chunk;
	long long deadline = mtime_ms() + timeout_ms;
	int rc, wstatus;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe2(outp, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
	    O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], STDOUT_FILENO);
	if (quiet_stderr)
		posix_spawn_file_actions_addopen(&fa, STDERR_FILENO,
		    "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	{
		sigset_t none, all;

		sigemptyset(&none);
		sigfillset(&all);
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setsigdefault(&attr, &all);
	}
	rc = posix_spawn(&pid, argv[0], &fa, &attr, argv,
	    envp != NULL ? envp : min_env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		snprintf(err, errlen, "cannot run %s: %s", argv[0],
		    strerror(rc));
		close(outp[0]);
		close(outp[1]);
		return -1;
	}
	close(outp[1]);

	chunk = out != NULL ? xmalloc(CHILD_CHUNK) : NULL;
	for (;;) {
		struct pollfd pfd;
		long long left = deadline - mtime_ms();
		int pr;

		if (left <= 0) {
			res->timed_out = 1;
			break;
		}
		pfd.fd = outp[0];
		pfd.events = POLLIN;
		pr = poll(&pfd, 1, (int)left);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents != 0) {
			ssize_t r = child_read(outp[0], out_cap, out, ctx,
			    chunk, res, &cap);

			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0 || res->stopped)
				break;
			if (res->out_len > out_cap) {
				res->truncated = 1;
				res->out_len = out_cap;
				break;
			}
		}
	}
	free(chunk);
	if (res->timed_out || res->truncated || res->stopped)
		kill(-pid, SIGKILL);
	close(outp[0]);
	/* The pipe closed, but the child may linger: it gets the rest of its
	 * time, then the same fate as a child that printed nothing. */
	for (;;) {
		pid_t w = waitpid(pid, &wstatus, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			wstatus = 255 << 8;
			break;
		}
		if (w == 0 && mtime_ms() >= deadline && !res->timed_out) {
			res->timed_out = 1;
			kill(-pid, SIGKILL);
		}
		if (w == 0) {
			struct timespec ts = { 0, 2 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	/* Descendants may outlive the child in its group. */
	if (res->timed_out || res->truncated || res->stopped)
		kill(-pid, SIGKILL);
	res->status = child_status(wstatus);
	if (res->out == NULL)
		res->out = xcalloc(1, 1);       /* streamed: "" */
	else
		res->out[res->out_len] = '\0';
	return 0;
}

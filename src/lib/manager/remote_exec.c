/* remote_exec.c: the remote step done by running sercon-proxy-fetch; see
 * remote.h. Linked into sercon-proxy-keys and sercon-proxy-shell, which
 * sshd starts at every login: they stay small processes that load no
 * libcurl or libcrypto, and the fetcher does the remote work (writing the
 * key index itself, so nothing is parsed twice). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "core/child.h"
#include "core/log.h"
#include "manager/mgr_json.h"
#include "manager/remote.h"

#define FETCH_OUT_MAX (256 * 1024 * 1024)
#define FETCH_PATH SERCON_LIBEXECDIR "/sercon-proxy-fetch"

/* Runs the fetcher with argv; its output (JSON, or nothing) in res. */
static int
fetch_run(const struct sercon_config *cfg, char *const argv[],
    struct child_result *res, char *err, size_t errlen)
{
	/* the fetcher enforces the manager timeout (twice over for a
	 * rebuild that waits for the lock first); this is a backstop */
	if (child_run(argv, NULL, cfg->timeout * 2000 + 2000,
	    FETCH_OUT_MAX, 0, res, err, errlen) != 0)
		return -1;
	if (res->timed_out)
		snprintf(err, errlen, "the manager did not answer within %d s",
		    cfg->timeout);
	else if (res->truncated)
		snprintf(err, errlen, "the manager's answer is too large");
	else if (res->status != 0)
		snprintf(err, errlen, "sercon-proxy-fetch failed (status %d, "
		    "see its log)", res->status);
	else
		return 0;
	child_result_free(res);
	return -1;
}

int
mgr_remote_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen)
{
	char *argv[] = { FETCH_PATH, "keys", (char *)type, (char *)blob,
	    NULL };
	struct child_result res;
	int rc;

	if (type == NULL || blob == NULL)
		argv[2] = NULL;
	if (fetch_run(cfg, argv, &res, err, errlen) != 0)
		return -1;
	rc = mgr_json_keys(res.out, res.out_len, out, err, errlen);
	child_result_free(&res);
	return rc;
}

int
mgr_remote_rebuild(const struct sercon_config *cfg, bool wait, char *err,
    size_t errlen)
{
	char *argv[] = { FETCH_PATH, "refresh-keys", "--background", NULL };
	struct child_result res;

	if (wait)
		argv[2] = NULL;
	if (fetch_run(cfg, argv, &res, err, errlen) != 0)
		return -1;
	child_result_free(&res);
	return 0;
}

void
mgr_remote_rebuild_async(const struct sercon_config *cfg)
{
	char *argv[] = { FETCH_PATH, "refresh-keys", "--background", NULL };
	pid_t pid;
	int fd;

	(void)cfg;
	/* Detached twice over (its own session, reparented to init), its
	 * standard streams on /dev/null: sshd waits for the end of our
	 * output, never for the refresh. */
	if ((pid = fork()) < 0) {
		log_warn("cannot start the key index refresh: fork failed");
		return;
	}
	if (pid == 0) {
		if (setsid() < 0 || (pid = fork()) < 0)
			_exit(1);
		if (pid > 0)
			_exit(0);
		if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
		    dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(1);
		signal(SIGALRM, SIG_DFL);
		alarm(0);
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

int
mgr_remote_consoles(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen)
{
	char *argv[] = { FETCH_PATH, "consoles", (char *)entity_id, NULL };
	struct child_result res;
	int rc;

	if (fetch_run(cfg, argv, &res, err, errlen) != 0)
		return -1;
	rc = mgr_json_consoles(res.out, res.out_len, MGR_JSON_COMMAND, out,
	    err, errlen);
	child_result_free(&res);
	return rc;
}

/* remote_direct.c: the remote step done in this process, through the
 * backends' operations table (backend.h); see remote.h. Linked into
 * sercon-proxy-fetch, sercon-setup and the unit tests. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#include "core/log.h"
#include "manager/backend.h"
#include "manager/cache.h"
#include "manager/remote.h"
#include "manager/rindex.h"

static const struct mgr_backend *
remote_backend(const struct sercon_config *cfg)
{
	return cfg->backend == BACKEND_COMMAND ? &mgr_backend_command :
	    &mgr_backend_engine;
}

int
mgr_remote_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *out, char *err, size_t errlen)
{
	struct mgr_key_sink sink = mgr_key_list_sink(out);

	if (remote_backend(cfg)->keys(cfg, type, blob, &sink, err,
	    errlen) != 0) {
		mgr_key_list_free(out);
		return -1;
	}
	return 0;
}

int
mgr_remote_rebuild(const struct sercon_config *cfg, bool wait, char *err,
    size_t errlen)
{
	return rindex_rebuild(cfg, remote_backend(cfg), wait, err, errlen);
}

void
mgr_remote_rebuild_async(const struct sercon_config *cfg)
{
	char err[512];
	pid_t pid;

	/* the child rebuilds; the caller answers from the index it has */
	if ((pid = fork()) < 0) {
		log_warn("cannot start the key index refresh: fork failed");
		return;
	}
	if (pid == 0) {
		if (rindex_rebuild(cfg, remote_backend(cfg), false, err,
		    sizeof(err)) != 0)
			log_error("manager (keys): %s", err);
		_exit(0);
	}
	/* reaped at once only when it is done; a zombie until then is
	 * harmless in the short-lived programs that link this file */
	(void)waitpid(pid, NULL, WNOHANG);
}

int
mgr_remote_consoles(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen)
{
	return cache_consoles(cfg, entity_id, remote_backend(cfg)->consoles,
	    out, err, errlen);
}

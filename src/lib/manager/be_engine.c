/* be_engine.c: the oVirt engine backend (backend.h). Each question is one
 * POST of a signed ticket (ticket.c) to <engine_url>services/vmconsole-proxy
 * over locked-down HTTPS (http.c); the answer is README.API JSON
 * (mgr_json.c), the key list streamed as it arrives. Caching is not done
 * here: rindex.c and cache.c own it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/xmalloc.h"
#include "manager/backend.h"
#include "manager/http.h"
#include "core/log.h"
#include "manager/mgr_json.h"
#include "core/text.h"
#include "manager/ticket.h"

#define BE_ENGINE_SERVICE "services/vmconsole-proxy"
#define BE_ENGINE_EKU TICKET_EKU
/* the key list is streamed, never held whole: a larger bound than for
 * the replies kept in memory */
#define BE_ENGINE_KEYS_MAX (32 * 1024 * 1024)

static char *
be_engine_url(const char *base)
{
	size_t n = strlen(base);
	const char *sep = n > 0 && base[n - 1] == '/' ? "" : "/";
	return xasprintf("%s%s%s", base, sep, BE_ENGINE_SERVICE);
}

static void
be_engine_explain(long status, char *err, size_t errlen)
{
	char why[512];

	if (status != 403)
		return;
	snprintf(why, sizeof(why), "%s", err);
	snprintf(err, errlen, "the engine rejected the ticket (%s): check "
	    "that ticket_certificate is issued by the engine's CA with "
	    "extended key usage " BE_ENGINE_EKU ", that ticket_key is its "
	    "key, and that the clocks agree", why);
}

/* Asks the engine: user_id NULL for the key list (streamed into st),
 * else that user's consoles. On success reply holds the 200 answer. */
static int
be_engine_call(const struct sercon_config *cfg, const char *user_id,
    struct mgr_json_feeder *st, struct http_reply *reply, char *err,
    size_t errlen)
{
	struct ticket_signer *signer = NULL;
	struct http_post req;
	char *data = NULL, *ticket = NULL, *url = NULL;
	int rc = -1;

	memset(reply, 0, sizeof(*reply));
	if (cfg->engine_url == NULL) {
		snprintf(err, errlen, "engine_url is not set for backend "
		    "engine");
		return -1;
	}
	if ((signer = ticket_signer_load(cfg->ticket_certificate,
	    cfg->ticket_key, err, errlen)) == NULL)
		return -1;
	if ((data = mgr_json_engine_request(user_id)) == NULL) {
		snprintf(err, errlen, "cannot encode the engine request");
		goto done;
	}
	url = be_engine_url(cfg->engine_url);
	if ((ticket = ticket_encode(signer, data, time(NULL), err,
	    errlen)) == NULL)
		goto done;
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.content_type = "text/plain";
	req.body = ticket;
	req.body_len = strlen(ticket);
	req.ca_file = cfg->engine_ca;
	req.verify_host = cfg->engine_verify_host;
	req.timeout = cfg->timeout;
	req.reply_max = st != NULL ? BE_ENGINE_KEYS_MAX : HTTP_REPLY_MAX;
	if (st != NULL) {
		req.stream = mgr_json_feeder_feed;
		req.stream_ctx = st;
	}
	log_debug("engine: POST %s (%s)", url, data);
	if ((rc = http_post(&req, reply, err, errlen)) != 0) {
		if (st != NULL && st->err[0] != '\0')
			snprintf(err, errlen, "%s", st->err);
		be_engine_explain(reply->status, err, errlen);
	}
done:
	free(ticket);
	free(url);
	free(data);
	ticket_signer_free(signer);
	return rc;
}

static int
be_engine_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, const struct mgr_key_sink *sink, char *err,
    size_t errlen)
{
	struct mgr_json_feeder st;
	struct http_reply reply;

	(void)type;             /* the engine always lists every key */
	(void)blob;
	memset(&st, 0, sizeof(st));
	st.json = mgr_json_keys_begin(sink);
	if (be_engine_call(cfg, NULL, &st, &reply, err, errlen) != 0) {
		mgr_json_free(st.json);
		return -1;
	}
	http_reply_free(&reply);
	return mgr_json_keys_end(st.json, err, errlen);
}

static int
be_engine_consoles(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *out, char *err, size_t errlen)
{
	struct http_reply reply;
	int rc;

	if (entity_id == NULL || !text_valid_entity_id(entity_id)) {
		snprintf(err, errlen, "invalid entity id");
		return -1;
	}
	if (be_engine_call(cfg, entity_id, NULL, &reply, err, errlen) != 0)
		return -1;
	rc = mgr_json_consoles(reply.body, reply.len, MGR_JSON_ENGINE, out,
	    err, errlen);
	if (rc == 0)
		log_debug("engine: %zu consoles for entity %s", out->n,
		    entity_id);
	http_reply_free(&reply);
	return rc;
}

const struct mgr_backend mgr_backend_engine = {
	"engine", be_engine_keys, be_engine_consoles,
};

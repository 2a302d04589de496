/* http.h: one HTTPS POST with libcurl, locked down for talking to a
 * manager: certificate checks on, no redirects, no proxies, https only
 * (plain http only to a loopback address), bounded time and reply size. */
#ifndef SERCON_HTTP_H
#define SERCON_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_REPLY_MAX (16 * 1024 * 1024)

struct http_post {
	const char *url;
	const char *content_type;    /* e.g. "text/plain" */
	const char *body;
	size_t body_len;
	const char *ca_file;         /* NULL: the system's CA bundle */
	bool verify_host;            /* false only allowed on loopback */
	int timeout;                 /* seconds, connect and total */
	size_t reply_max;            /* 0: HTTP_REPLY_MAX */
	/* When set, the body of a 200 reply goes to stream piece by piece
	 * as it arrives, and reply->body stays NULL (reply_max still
	 * bounds the whole). stream returns 0, or -1 to abort the transfer
	 * (http_post then fails with "rejected"; the reason is the
	 * stream's to keep). */
	int (*stream)(void *ctx, const char *buf, size_t len);
	void *stream_ctx;
};

struct http_reply {
	long status;
	char *body;                  /* NUL-terminated, malloc'd; NULL
	                              * when streamed */
	size_t len;
};

/* True when the URL's host is a loopback address (127.0.0.0/8, ::1 or
 * "localhost"). */
bool http_url_is_loopback(const char *url);

/* Checks the URL (https, or http to loopback; no user name or password)
 * and the verify_host rule without connecting. Returns 0 or -1 with a
 * reason in err. */
int http_check_url(const char *url, bool verify_host, char *err,
    size_t errlen);

/* POSTs the body. Returns 0 when a reply with status 200 arrived (in
 * reply), -1 with a reason in err otherwise (transfer error, timeout,
 * oversized reply, or another status, named in the reason; reply->status
 * then holds the status, 0 when none arrived). */
int http_post(const struct http_post *req, struct http_reply *reply,
    char *err, size_t errlen);
void http_reply_free(struct http_reply *reply);

#endif

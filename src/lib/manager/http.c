/* http.c: the one HTTP request sercon makes (a POST to the oVirt engine),
 * with libcurl; see http.h. Everything that could widen what a manager URL
 * reaches is switched off: redirects, proxies from the environment, other
 * protocols, TLS below 1.2. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

#include "core/xmalloc.h"
#include "manager/http.h"

/* libcurl is opened the first time a URL is looked at, not linked: the
 * programs with this file (sercon-proxy-fetch, sercon-setup) serve the
 * file and command backends too, and libcurl brings some thirty shared
 * objects whose loading cost sercon-proxy-fetch several milliseconds at
 * every `list` that never makes an HTTP request. Its soname has been
 * libcurl.so.4 since 2006; the functions are those of curl/curl.h. */
#define CURL_SONAME "libcurl.so.4"

static struct {
	void *dl;
	__typeof__(&curl_global_init) global_init;
	__typeof__(&curl_global_cleanup) global_cleanup;
	__typeof__(&curl_easy_init) easy_init;
	__typeof__(&curl_easy_setopt) easy_setopt;
	__typeof__(&curl_easy_perform) easy_perform;
	__typeof__(&curl_easy_getinfo) easy_getinfo;
	__typeof__(&curl_easy_strerror) easy_strerror;
	__typeof__(&curl_easy_cleanup) easy_cleanup;
	__typeof__(&curl_slist_append) slist_append;
	__typeof__(&curl_slist_free_all) slist_free_all;
	__typeof__(&curl_url) url;
	__typeof__(&curl_url_set) url_set;
	__typeof__(&curl_url_get) url_get;
	__typeof__(&curl_url_cleanup) url_cleanup;
	__typeof__(&curl_free) free;
} lc;

/* Opens libcurl once; -1 with err set when it cannot be loaded. */
static int
http_curl_open(char *err, size_t errlen)
{
	void *h;

	if (lc.dl != NULL)
		return 0;
	if ((h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "cannot load %s: %s", CURL_SONAME,
		    dlerror());
		return -1;
	}
#define HTTP_SYM(f) \
	if ((*(void **)&lc.f = dlsym(h, "curl_" #f)) == NULL) \
		goto missing
	HTTP_SYM(global_init);
	HTTP_SYM(global_cleanup);
	HTTP_SYM(easy_init);
	HTTP_SYM(easy_setopt);
	HTTP_SYM(easy_perform);
	HTTP_SYM(easy_getinfo);
	HTTP_SYM(easy_strerror);
	HTTP_SYM(easy_cleanup);
	HTTP_SYM(slist_append);
	HTTP_SYM(slist_free_all);
	HTTP_SYM(url);
	HTTP_SYM(url_set);
	HTTP_SYM(url_get);
	HTTP_SYM(url_cleanup);
	HTTP_SYM(free);
#undef HTTP_SYM
	lc.dl = h;
	return 0;
missing:
	snprintf(err, errlen, "%s lacks a function sercon needs (libcurl "
	    "7.62 or later is)", CURL_SONAME);
	dlclose(h);
	return -1;
}

struct http_sink {
	char *buf;
	size_t len, cap, max;
	bool too_big;
	CURL *curl;
	const struct http_post *req;
	bool rejected;               /* the stream refused the body */
};

static bool
http_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char tmp[64];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n > 2 && n < sizeof(tmp) && host[0] == '[' && host[n - 1] == ']') {
		memcpy(tmp, host + 1, n - 2);
		tmp[n - 2] = '\0';
		return inet_pton(AF_INET6, tmp, &a6) == 1 &&
		    IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return false;
}

/* Scheme and host of url, malloc'd by libcurl (curl_free them). */
static int
http_url_parts(const char *url, char **scheme, char **host, bool *has_user)
{
	CURLU *u;
	char *user = NULL, *pass = NULL;
	int rc = -1;

	*scheme = *host = NULL;
	if ((u = lc.url()) == NULL)
		return -1;
	if (lc.url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    lc.url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
	    lc.url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK)
		rc = 0;
	*has_user = lc.url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    lc.url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK;
	lc.free(user);
	lc.free(pass);
	lc.url_cleanup(u);
	if (rc != 0) {
		lc.free(*scheme);
		lc.free(*host);
		*scheme = *host = NULL;
	}
	return rc;
}

bool
http_url_is_loopback(const char *url)
{
	char *scheme, *host, err[256];
	bool user, r;

	if (http_curl_open(err, sizeof(err)) != 0 ||
	    http_url_parts(url, &scheme, &host, &user) != 0)
		return false;
	r = http_host_is_loopback(host);
	lc.free(scheme);
	lc.free(host);
	return r;
}

int
http_check_url(const char *url, bool verify_host, char *err, size_t errlen)
{
	char *scheme, *host;
	bool user, loop;
	int rc = -1;

	if (url == NULL || *url == '\0') {
		snprintf(err, errlen, "no URL given");
		return -1;
	}
	if (http_curl_open(err, errlen) != 0)
		return -1;
	if (http_url_parts(url, &scheme, &host, &user) != 0) {
		snprintf(err, errlen, "'%.200s' is not a valid URL", url);
		return -1;
	}
	loop = http_host_is_loopback(host);
	if (user)
		snprintf(err, errlen, "URL '%.200s' must not carry a user "
		    "name or password", url);
	else if (strcasecmp(scheme, "https") != 0 &&
	    !(strcasecmp(scheme, "http") == 0 && loop))
		snprintf(err, errlen, "URL '%.200s' is not https (plain http "
		    "is allowed to a loopback address only)", url);
	else if (!verify_host && !loop)
		snprintf(err, errlen, "engine_verify_host = false is allowed "
		    "only for an engine on a loopback address, not %.200s",
		    host);
	else
		rc = 0;
	lc.free(scheme);
	lc.free(host);
	return rc;
}

static size_t
http_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_sink *s = arg;
	size_t n = size * nmemb;

	if (n > s->max - s->len) {
		s->too_big = true;
		return 0;
	}
	if (s->req->stream != NULL) {
		long status = 0;

		s->len += n;
		if (lc.easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE,
		    &status) != CURLE_OK || status != 200)
			return n;       /* an error page: not the stream's */
		if (s->req->stream(s->req->stream_ctx, data, n) != 0) {
			s->rejected = true;
			return 0;
		}
		return n;
	}
	if (s->len + n + 1 > s->cap) {
		size_t ncap = s->cap ? s->cap : 16384;

		while (ncap < s->len + n + 1)
			ncap *= 2;
		if (ncap > s->max + 1)
			ncap = s->max + 1;
		s->buf = xreallocarray(s->buf, ncap, 1);
		s->cap = ncap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

static int
http_setopts(CURL *c, const struct http_post *req, struct http_sink *sink,
    struct curl_slist *hdrs, char *errbuf)
{
	bool loop = http_url_is_loopback(req->url);
	long t = req->timeout > 0 ? req->timeout : 5;
	CURLcode e = CURLE_OK;

#define HTTP_OPT(opt, val) do { \
	if (e == CURLE_OK) e = lc.easy_setopt(c, opt, val); \
} while (0)
	HTTP_OPT(CURLOPT_ERRORBUFFER, errbuf);
	HTTP_OPT(CURLOPT_URL, req->url);
	HTTP_OPT(CURLOPT_NOSIGNAL, 1L);
	HTTP_OPT(CURLOPT_NOPROGRESS, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	HTTP_OPT(CURLOPT_PROTOCOLS_STR, loop ? "https,http" : "https");
	HTTP_OPT(CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
	HTTP_OPT(CURLOPT_PROTOCOLS, loop ? (long)(CURLPROTO_HTTPS |
	    CURLPROTO_HTTP) : (long)CURLPROTO_HTTPS);
	HTTP_OPT(CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	HTTP_OPT(CURLOPT_FOLLOWLOCATION, 0L);
	HTTP_OPT(CURLOPT_PROXY, "");
	HTTP_OPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	HTTP_OPT(CURLOPT_SSL_VERIFYPEER, 1L);
	HTTP_OPT(CURLOPT_SSL_VERIFYHOST, req->verify_host ? 2L : 0L);
	if (req->ca_file != NULL)
		HTTP_OPT(CURLOPT_CAINFO, req->ca_file);
	HTTP_OPT(CURLOPT_CONNECTTIMEOUT, t);
	HTTP_OPT(CURLOPT_TIMEOUT, t);
	HTTP_OPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)sink->max);
	HTTP_OPT(CURLOPT_USERAGENT, "sercon/" PACKAGE_VERSION);
	HTTP_OPT(CURLOPT_HTTPHEADER, hdrs);
	HTTP_OPT(CURLOPT_POST, 1L);
	HTTP_OPT(CURLOPT_POSTFIELDS, req->body);
	HTTP_OPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	HTTP_OPT(CURLOPT_WRITEFUNCTION, http_write);
	HTTP_OPT(CURLOPT_WRITEDATA, sink);
#undef HTTP_OPT
	return e == CURLE_OK ? 0 : -1;
}

static struct curl_slist *
http_headers(const char *content_type)
{
	struct curl_slist *h = NULL, *n;
	char line[128];

	snprintf(line, sizeof(line), "Content-Type: %s",
	    content_type != NULL ? content_type : "text/plain");
	if ((h = lc.slist_append(NULL, line)) == NULL)
		return NULL;
	/* No "Expect: 100-continue" round trip. */
	if ((n = lc.slist_append(h, "Expect:")) == NULL) {
		lc.slist_free_all(h);
		return NULL;
	}
	return n;
}

static int
http_perform(CURL *c, const struct http_post *req, struct http_sink *sink,
    long *status, char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs;
	CURLcode e;
	int rc = -1;

	if ((hdrs = http_headers(req->content_type)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (http_setopts(c, req, sink, hdrs, errbuf) != 0) {
		snprintf(err, errlen, "cannot set up the request to %.200s",
		    req->url);
		goto done;
	}
	e = lc.easy_perform(c);
	if (sink->rejected)
		snprintf(err, errlen, "reply from %.200s rejected", req->url);
	else if (sink->too_big || e == CURLE_FILESIZE_EXCEEDED)
		snprintf(err, errlen, "reply from %.200s is larger than %zu "
		    "bytes", req->url, sink->max);
	else if (e == CURLE_OPERATION_TIMEDOUT)
		snprintf(err, errlen, "no answer from %.200s within %d s",
		    req->url, req->timeout);
	else if (e != CURLE_OK)
		snprintf(err, errlen, "request to %.200s failed: %s", req->url,
		    errbuf[0] != '\0' ? errbuf : lc.easy_strerror(e));
	else if (lc.easy_getinfo(c, CURLINFO_RESPONSE_CODE, status) !=
	    CURLE_OK)
		snprintf(err, errlen, "no HTTP status from %.200s", req->url);
	else
		rc = 0;
done:
	lc.slist_free_all(hdrs);
	return rc;
}

int
http_post(const struct http_post *req, struct http_reply *reply, char *err,
    size_t errlen)
{
	struct http_sink sink;
	CURL *c;
	long status = 0;
	int rc = -1;

	memset(reply, 0, sizeof(*reply));
	memset(&sink, 0, sizeof(sink));
	sink.req = req;
	if (http_check_url(req->url, req->verify_host, err, errlen) != 0)
		return -1;
	sink.max = req->reply_max ? req->reply_max : HTTP_REPLY_MAX;
	if (lc.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -1;
	}
	if ((c = lc.easy_init()) == NULL) {
		snprintf(err, errlen, "cannot initialise libcurl");
		goto out;
	}
	sink.curl = c;
	if (http_perform(c, req, &sink, &status, err, errlen) != 0)
		goto out;
	reply->status = status;
	if (status != 200) {
		snprintf(err, errlen, "%.200s answered HTTP status %ld",
		    req->url, status);
		goto out;
	}
	if (req->stream != NULL) {
		rc = 0;
		goto out;
	}
	if (sink.buf == NULL)
		sink.buf = xcalloc(1, 1);
	reply->body = sink.buf;
	reply->len = sink.len;
	sink.buf = NULL;
	rc = 0;
out:
	free(sink.buf);
	if (c != NULL)
		lc.easy_cleanup(c);
	lc.global_cleanup();
	return rc;
}

void
http_reply_free(struct http_reply *reply)
{
	free(reply->body);
	memset(reply, 0, sizeof(*reply));
}

/* test_http.c: what a manager URL may be (src/lib/manager/http.c): https, plain
 * http to loopback only, no credentials, host checks off on loopback only;
 * and a refused connection reported without hanging. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "manager/http.h"

static void
test_loopback(void **state)
{
	assert_true(http_url_is_loopback("https://127.0.0.1/x/"));
	assert_true(http_url_is_loopback("https://127.3.2.1:8443/"));
	assert_true(http_url_is_loopback("http://localhost/"));
	assert_true(http_url_is_loopback("http://LOCALHOST:80/"));
	assert_true(http_url_is_loopback("https://[::1]:443/"));
	assert_false(http_url_is_loopback("https://128.0.0.1/"));
	assert_false(http_url_is_loopback("https://localhost.example.com/"));
	assert_false(http_url_is_loopback("https://127.0.0.1.example.com/"));
	assert_false(http_url_is_loopback("https://[::2]/"));
	assert_false(http_url_is_loopback("not a url"));
}

static void
ok(const char *url, bool verify_host)
{
	char err[256] = "";

	if (http_check_url(url, verify_host, err, sizeof(err)) != 0)
		fail_msg("%s refused: %s", url, err);
}

static void
bad(const char *url, bool verify_host, const char *why)
{
	char err[256] = "";

	assert_int_equal(http_check_url(url, verify_host, err, sizeof(err)),
	    -1);
	if (strstr(err, why) == NULL)
		fail_msg("%s: '%s' does not say '%s'", url, err, why);
}

static void
test_check_url(void **state)
{
	ok("https://engine.example/ovirt-engine/", true);
	ok("https://127.0.0.1:8443/ovirt-engine/", false);
	ok("http://127.0.0.1:8080/ovirt-engine/", true);
	ok("http://[::1]/ovirt-engine/", false);
	bad("http://engine.example/ovirt-engine/", true, "is not https");
	bad("ftp://127.0.0.1/", true, "is not https");
	bad("file:///etc/passwd", true, "not");
	bad("https://engine.example/", false, "engine_verify_host = false");
	bad("https://admin:secret@engine.example/", true, "user name");
	bad("", true, "no URL");
	bad(NULL, true, "no URL");
	bad("https://", true, "not a valid URL");
}

static void
test_refused_connection(void **state)
{
	struct http_post req;
	struct http_reply reply;
	char err[512];

	memset(&req, 0, sizeof(req));
	/* port 1 on loopback: nobody listens there */
	req.url = "http://127.0.0.1:1/ovirt-engine/services/vmconsole-proxy";
	req.body = "x";
	req.body_len = 1;
	req.verify_host = true;
	req.timeout = 2;
	assert_int_equal(http_post(&req, &reply, err, sizeof(err)), -1);
	assert_int_equal(reply.status, 0);
	assert_null(reply.body);
	assert_non_null(strstr(err, "request to http://127.0.0.1:1/"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_check_url),
		cmocka_unit_test(test_refused_connection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

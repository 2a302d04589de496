/* test_config.c: the INI configuration (src/lib/core/config.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "unit_util.h"

#include "core/config.h"

static void
write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", unit_dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static int
load(struct sercon_config *cfg, char *err, size_t errlen)
{
	char defaults[256], confd[256];

	snprintf(defaults, sizeof(defaults), "%s/sercon.conf", unit_dir);
	snprintf(confd, sizeof(confd), "%s/conf.d", unit_dir);
	return cfg_load(cfg, defaults, confd, err, errlen);
}

static void
test_defaults(void **state)
{
	struct sercon_config cfg;
	char err[256];

	assert_int_equal(load(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.backend, BACKEND_FILE);
	assert_int_equal(cfg.timeout, 5);
	assert_int_equal(cfg.cache_ttl, 30);
	assert_int_equal(cfg.cache_stale_max, 600);
	assert_true(cfg.engine_verify_host);
	assert_false(cfg.debug);
	assert_null(cfg.engine_ca);
	assert_string_equal(cfg.host_user, SERCON_USER);
	assert_int_equal(cfg.host_port, SERCON_HOST_PORT);
	assert_string_equal(cfg_backend_name(cfg.backend), "file");
	cfg_free(&cfg);
}

static void
test_order(void **state)
{
	struct sercon_config cfg;
	char path[256], err[256];

	write_file("sercon.conf",
	    "; defaults\n[proxy]\nbackend = file\ntimeout = 7 ; inline\n"
	    "cache_dir = /var/cache/x\n[host]\nconsole_dir = /run/c\n");
	snprintf(path, sizeof(path), "%s/conf.d", unit_dir);
	assert_int_equal(mkdir(path, 0755), 0);
	write_file("conf.d/50-engine.conf", "[proxy]\nbackend = engine\n"
	    "engine_url = https://engine/ovirt-engine/\ntimeout = 9\n");
	write_file("conf.d/10-first.conf", "[proxy]\ntimeout = 3\n"
	    "engine_verify_host = no\n");
	write_file("conf.d/99-last.conf", "[general]\ndebug = yes\n");
	write_file("conf.d/60-ignored.conf.rpmsave", "[bad]\nx = 1\n");
	write_file("conf.d/.hidden.conf", "[bad]\nx = 1\n");
	assert_int_equal(load(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.backend, BACKEND_ENGINE);
	assert_int_equal(cfg.timeout, 9);           /* 50 after 10 */
	assert_false(cfg.engine_verify_host);
	assert_true(cfg.debug);
	assert_string_equal(cfg.engine_url, "https://engine/ovirt-engine/");
	assert_string_equal(cfg.cache_dir, "/var/cache/x");
	assert_string_equal(cfg.console_dir, "/run/c");
	cfg_free(&cfg);
}

static void
expect_error(const char *text, const char *reason)
{
	struct sercon_config cfg;
	char err[256];

	write_file("sercon.conf", text);
	assert_int_equal(load(&cfg, err, sizeof(err)), -1);
	if (strstr(err, reason) == NULL)
		fail_msg("'%s' does not say '%s'", err, reason);
	assert_non_null(strstr(err, "sercon.conf:"));
	cfg_free(&cfg);
}

static void
test_errors(void **state)
{
	expect_error("[proxy]\ntimeot = 5\n", "unknown key 'timeot'");
	expect_error("[nosuch]\ndebug = 1\n", "unknown key 'debug' in section [nosuch]");
	expect_error("[proxy]\ntimeout = five\n", "not a number");
	expect_error("[proxy]\ntimeout = 0\n", "from 1 to 600");
	expect_error("[proxy]\nhost_port = 70000\n", "from 1 to 65535");
	expect_error("[proxy]\nengine_verify_host = maybe\n", "true or false");
	expect_error("[proxy]\nbackend = ldap\n", "not file, command or engine");
	expect_error("[proxy]\ninventory = relative.json\n", "absolute path");
	expect_error("[proxy\nbackend = file\n", "syntax error");
}

static void
test_empty_value_unsets(void **state)
{
	struct sercon_config cfg;
	char err[256];

	write_file("sercon.conf", "[proxy]\nengine_ca = /etc/ca.pem\n"
	    "engine_ca =\n");
	assert_int_equal(load(&cfg, err, sizeof(err)), 0);
	assert_null(cfg.engine_ca);
	cfg_free(&cfg);
}

static void
test_missing_file(void **state)
{
	struct sercon_config cfg;
	char err[256];

	cfg_defaults(&cfg);
	assert_int_equal(cfg_load_file(&cfg, "/nonexistent/x.conf", true,
	    err, sizeof(err)), 0);
	assert_int_equal(cfg_load_file(&cfg, "/nonexistent/x.conf", false,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot read /nonexistent/x.conf"));
	cfg_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		unit_dir_test(test_defaults),
		unit_dir_test(test_order),
		unit_dir_test(test_errors),
		unit_dir_test(test_empty_value_unsets),
		unit_dir_test(test_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

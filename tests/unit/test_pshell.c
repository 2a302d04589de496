/* test_pshell.c: the grammar of sercon-proxy-shell's commands
 * (pshell_parse, src/lib/proxy/proxy_shell.c): what each command line
 * means, and that every other one is a usage error with a reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proxy/proxy_shell.h"

static struct pshell_req
parse_ok(const char *line)
{
	struct pshell_req req;
	char err[256] = "";

	if (pshell_parse(line, &req, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", line ? line : "(null)", err);
	return req;
}

static void
expect_usage(const char *line, const char *reason)
{
	struct pshell_req req;
	char err[256] = "";

	if (pshell_parse(line, &req, err, sizeof(err)) == 0)
		fail_msg("'%s' accepted", line);
	if (strstr(err, reason) == NULL)
		fail_msg("'%s': reason '%s' lacks '%s'", line, err, reason);
	/* a refused request owns nothing */
	assert_null(req.vm_id);
	assert_null(req.vm_name);
	assert_null(req.target);
	assert_null(req.replay);
}

static void
test_default_is_connect(void **state)
{
	const char *lines[] = { NULL, "", "connect", "--debug" };
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct pshell_req req = parse_ok(lines[i]);

		assert_int_equal(req.cmd, PSHELL_CONNECT);
		assert_null(req.vm_id);
		assert_null(req.vm_name);
		assert_null(req.target);
		assert_int_equal(req.debug, i == 3);
		assert_string_equal(req.mode, WAIT_MODE_RW);
		assert_null(req.replay);
		pshell_req_free(&req);
	}
}

static void
test_connect_choices(void **state)
{
	struct pshell_req req;

	req = parse_ok("connect --vm-id=id-1");
	assert_int_equal(req.cmd, PSHELL_CONNECT);
	assert_string_equal(req.vm_id, "id-1");
	pshell_req_free(&req);
	req = parse_ok("--vm-name='web 1'");
	assert_int_equal(req.cmd, PSHELL_CONNECT);
	assert_string_equal(req.vm_name, "web 1");
	pshell_req_free(&req);
	req = parse_ok("web1");
	assert_string_equal(req.target, "web1");
	pshell_req_free(&req);
	req = parse_ok("--debug connect \"db 2\"");
	assert_true(req.debug);
	assert_string_equal(req.target, "db 2");
	pshell_req_free(&req);
	/* a word that looks like a command is a VM name after connect */
	req = parse_ok("connect list");
	assert_int_equal(req.cmd, PSHELL_CONNECT);
	assert_string_equal(req.target, "list");
	pshell_req_free(&req);
}

static void
test_connect_mode_replay(void **state)
{
	struct pshell_req req;

	req = parse_ok("connect --vm-name=web1 --read-only");
	assert_string_equal(req.vm_name, "web1");
	assert_string_equal(req.mode, WAIT_MODE_RO);
	assert_null(req.replay);
	pshell_req_free(&req);
	req = parse_ok("connect --watch web1 --replay=0");
	assert_string_equal(req.target, "web1");
	assert_string_equal(req.mode, WAIT_MODE_RO);
	assert_string_equal(req.replay, "0");
	pshell_req_free(&req);
	req = parse_ok("--takeover --replay=all");
	assert_int_equal(req.cmd, PSHELL_CONNECT);
	assert_null(req.target);
	assert_string_equal(req.mode, WAIT_MODE_TAKEOVER);
	assert_string_equal(req.replay, "all");
	pshell_req_free(&req);
	/* with no VM: for the console chosen in the menu */
	req = parse_ok("connect --replay=100000");
	assert_null(req.target);
	assert_string_equal(req.mode, WAIT_MODE_RW);
	assert_string_equal(req.replay, "100000");
	pshell_req_free(&req);
	req = parse_ok("--read-only");
	assert_string_equal(req.mode, WAIT_MODE_RO);
	pshell_req_free(&req);
}

static void
test_list_info_help(void **state)
{
	struct pshell_req req;

	req = parse_ok("list");
	assert_int_equal(req.cmd, PSHELL_LIST);
	assert_false(req.json);
	pshell_req_free(&req);
	req = parse_ok("list --format=json");
	assert_true(req.json);
	pshell_req_free(&req);
	req = parse_ok("list --format=plain");
	assert_false(req.json);
	pshell_req_free(&req);
	req = parse_ok("info");
	assert_int_equal(req.cmd, PSHELL_INFO);
	pshell_req_free(&req);
	req = parse_ok("help");
	assert_int_equal(req.cmd, PSHELL_HELP);
	pshell_req_free(&req);
}

static void
test_usage_errors(void **state)
{
	expect_usage("connect --vm-id=a --vm-id=b", "--vm-id given twice");
	expect_usage("connect --vm-id=", "--vm-id is empty");
	expect_usage("connect --vm-id=a web1", "choose a VM once");
	expect_usage("connect --vm-name=x --vm-id=y", "choose a VM once");
	expect_usage("connect a b", "the target given twice");
	expect_usage("connect --bogus", "unknown option '--bogus' of connect");
	expect_usage("--bogus", "unknown option '--bogus'");
	expect_usage("list --format=xml", "list takes --format=plain");
	expect_usage("list extra", "list takes --format=plain");
	expect_usage("info now", "info takes no arguments");
	expect_usage("help me", "help takes no arguments");
	expect_usage("connect --read-only --takeover", "exclude each other");
	expect_usage("connect --takeover --watch x", "exclude each other");
	expect_usage("--read-only --read-only", "exclude each other");
	expect_usage("connect --replay=-1", "--replay takes a number");
	expect_usage("connect --replay=many", "not 'many'");
	expect_usage("connect --replay=100001", "(0 to 100000)");
	expect_usage("connect --replay=arrival", "--replay takes");
	expect_usage("connect --replay=", "--replay takes");
	expect_usage("connect --replay", "--replay takes");
	expect_usage("--replay=1 --replay=2", "--replay given twice");
	expect_usage("--read-only=yes", "unknown option '--read-only=yes'");
	expect_usage("connect 'web1", "unterminated single quote");
	expect_usage("connect web1\\", "ends with a backslash");
	/* hostile bytes: refused before anything else, never echoed raw */
	expect_usage("--\x1b[2J", "control character in command");
	expect_usage("connect --vm-id=\xff\xfe --x", "'--x'");
	expect_usage("--\xc3\xa9\xff", "'--\xc3\xa9\\xff'");
	expect_usage("connect --\xc3\xa9\xff", "'--\xc3\xa9\\xff' of connect");
	expect_usage("connect --replay=1\xff", "not '1\\xff'");
	expect_usage("list \xff", "not '\\xff'");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_is_connect),
		cmocka_unit_test(test_connect_choices),
		cmocka_unit_test(test_connect_mode_replay),
		cmocka_unit_test(test_list_info_help),
		cmocka_unit_test(test_usage_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_host_args.c: sercon-host-shell's command line (src/lib/host/host_args.c)
 * in sercon's and in ovirt-vmconsole's spelling, and its usage errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "host/host_shell.h"

static void
parse_ok(const char *line, struct host_args *a)
{
	char err[256];

	if (host_args_parse(line, a, err, sizeof(err)) != 0)
		fail_msg("'%s': %s", line, err);
}

static void
parse_fails(const char *line, const char *reason)
{
	struct host_args a;
	char err[256];

	assert_int_equal(host_args_parse(line, &a, err, sizeof(err)), -1);
	if (strstr(err, reason) == NULL)
		fail_msg("'%s': '%s' lacks '%s'", line, err, reason);
	host_args_free(&a);
}

static void
test_sercon_spelling(void **state)
{
	struct host_args a;

	parse_ok("--debug --entity-id=alice --entity=Alice connect "
	    "--console=6f1c.sock", &a);
	assert_true(a.debug);
	assert_int_equal(a.cmd, HOST_CMD_CONNECT);
	assert_string_equal(a.entity_id, "alice");
	assert_string_equal(a.entity, "Alice");
	assert_string_equal(a.console, "6f1c.sock");
	host_args_free(&a);
	parse_ok("info", &a);
	assert_int_equal(a.cmd, HOST_CMD_INFO);
	assert_false(a.debug);
	assert_null(a.entity_id);
	host_args_free(&a);
	parse_ok("help", &a);
	assert_int_equal(a.cmd, HOST_CMD_HELP);
	host_args_free(&a);
}

/* What ovirt-vmconsole-proxy-shell sends, and argparse's other form. */
static void
test_ovirt_spelling(void **state)
{
	struct host_args a;

	parse_ok("--entityid=\"a1b2\" --entity=\"admin@internal\"  "
	    "connect --console=\"6f1c.sock\"", &a);
	assert_string_equal(a.entity_id, "a1b2");
	assert_string_equal(a.entity, "admin@internal");
	assert_string_equal(a.console, "6f1c.sock");
	host_args_free(&a);
	parse_ok("--entityid a1b2 --entity 'Jo Doe' connect --console x.sock",
	    &a);
	assert_string_equal(a.entity_id, "a1b2");
	assert_string_equal(a.entity, "Jo Doe");
	assert_string_equal(a.console, "x.sock");
	host_args_free(&a);
}

/* The sercon proxy percent-encodes the entity; a raw value is kept. */
static void
test_entity_decoding(void **state)
{
	struct host_args a;

	parse_ok("--entity-id=u%40corp --entity=Alice%20Liddell connect "
	    "--console=x", &a);
	assert_string_equal(a.entity_id, "u@corp");
	assert_string_equal(a.entity, "Alice Liddell");
	host_args_free(&a);
	/* A bad escape, or one that decodes to an invalid id: as given. */
	parse_ok("--entityid=100%zz --entity=50%25 info", &a);
	assert_string_equal(a.entity_id, "100%zz");
	assert_string_equal(a.entity, "50%");
	host_args_free(&a);
	parse_ok("--entity-id=a%20b info", &a);
	assert_string_equal(a.entity_id, "a%20b");
	host_args_free(&a);
	/* An escaped newline is never decoded into the name. */
	parse_ok("--entity=%0a info", &a);
	assert_string_equal(a.entity, "%0a");
	host_args_free(&a);
}

/* Console names are checked by connect (status 3), not here. */
static void
test_console_kept_as_given(void **state)
{
	struct host_args a;

	parse_ok("connect --console=../x", &a);
	assert_string_equal(a.console, "../x");
	host_args_free(&a);
	parse_ok("connect --console=", &a);
	assert_string_equal(a.console, "");
	host_args_free(&a);
}

static void
test_usage_errors(void **state)
{
	struct host_args a;
	char err[256];

	assert_int_equal(host_args_parse(NULL, &a, err, sizeof(err)), -1);
	host_args_free(&a);
	parse_fails("", "no command");
	parse_fails("--debug", "no command");
	parse_fails("id", "unknown command");
	parse_fails("connect", "needs --console");
	parse_fails("connect --console", "needs a value");
	parse_fails("connect --console=a --console=b", "twice");
	parse_fails("info help", "more than one command");
	parse_fails("info --console=x", "option of connect");
	parse_fails("connect --console=x --port=1", "unknown option");
	parse_fails("--entity-id=a --entityid=b connect --console=x", "twice");
	parse_fails("--entity-id='a b' connect --console=x", "entity id");
	parse_fails("connect --console='x", "unterminated");
	parse_fails("sftp-server", "unknown command");
}

/* sercon-consoled's options of connect, and the status command. */
static void
test_session_options(void **state)
{
	struct host_args a;

	parse_ok("connect --console=vm1.sock", &a);
	assert_int_equal(a.mode, SESS_RW);
	assert_int_equal(a.replay.kind, REPLAY_DEFAULT);
	assert_int_equal(a.proto, 0);
	host_args_free(&a);
	parse_ok("connect --console=vm1.sock --read-only --replay=50 "
	    "--proto=1", &a);
	assert_int_equal(a.mode, SESS_RO);
	assert_int_equal(a.replay.kind, REPLAY_LINES);
	assert_int_equal(a.replay.lines, 50);
	assert_int_equal(a.proto, 1);
	host_args_free(&a);
	parse_ok("connect --watch --console vm1.sock --replay all", &a);
	assert_int_equal(a.mode, SESS_RO);
	assert_int_equal(a.replay.kind, REPLAY_ALL);
	host_args_free(&a);
	parse_ok("connect --takeover --console=vm1.sock --replay=arrival", &a);
	assert_int_equal(a.mode, SESS_TAKEOVER);
	assert_int_equal(a.replay.kind, REPLAY_ARRIVAL);
	host_args_free(&a);
	parse_ok("status", &a);
	assert_int_equal(a.cmd, HOST_CMD_STATUS);
	host_args_free(&a);
	parse_fails("connect --console=x --read-only --takeover", "exclude");
	parse_fails("connect --console=x --takeover --takeover", "exclude");
	parse_fails("connect --console=x --replay=-1", "--replay takes");
	parse_fails("connect --console=x --replay=default", "--replay takes");
	parse_fails("connect --console=x --replay", "needs a value");
	parse_fails("connect --console=x --proto=2", "only version 1");
	parse_fails("status --read-only", "option of connect");
	parse_fails("info --proto=1", "option of connect");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_options),
		cmocka_unit_test(test_sercon_spelling),
		cmocka_unit_test(test_ovirt_spelling),
		cmocka_unit_test(test_entity_decoding),
		cmocka_unit_test(test_console_kept_as_given),
		cmocka_unit_test(test_usage_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

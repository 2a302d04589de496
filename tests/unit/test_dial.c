/* test_dial.c: the proxy's ssh command line (dial.c) and the key lines of
 * sercon-proxy-keys (proxy_keys.c): every word proven safe, the host
 * validated again, exit statuses explained. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/args.h"
#include "core/config.h"
#include "proxy/dial.h"
#include "core/log.h"
#include "proxy/proxy_keys.h"
#include "keys_fixture.h"

static void
test_argv(void **state)
{
	struct sercon_config cfg;
	struct mgr_console c = { "vm1", "web 1", "hv1.example", "it's.sock" };
	struct dial_opts raw = { DIAL_RAW, true, false, NULL, false, false };
	struct dial_opts framed = { DIAL_FRAMED, true, true, "arrival", false, false };
	char **argv, err[200], cmd[1024] = "", **words;
	int i, n;

	cfg_defaults(&cfg);
	cfg.host_port = 2299;
	assert_int_equal(dial_argv(&cfg, &c, "alice", "Alice \"A\" $(x)", &raw,
	    &argv, err, sizeof(err)), 0);
	assert_string_equal(argv[0], SSH_PATH);
	assert_string_equal(argv[1], "-F");
	assert_string_equal(argv[3], "-p");
	assert_string_equal(argv[4], "2299");
	assert_string_equal(argv[5], "-l");
	/* the proxy's ssh passes every byte: the commands are sercon's */
	assert_string_equal(argv[7], "-e");
	assert_string_equal(argv[8], "none");
	assert_string_equal(argv[9], "-tt");
	assert_string_equal(argv[10], "hv1.example");
	assert_string_equal(argv[11], "--");
	/* spelled as ovirt-vmconsole-host-shell accepts them too */
	assert_string_equal(argv[12], "--entityid=alice");
	assert_string_equal(argv[13], "--entity=Alice%20%22A%22%20%24%28x%29");
	assert_string_equal(argv[14], "connect");
	assert_null(argv[16]);
	/* what the host's sshd hands the host shell: the words joined by
	 * spaces, which its splitter reads back exactly */
	for (i = 12; argv[i] != NULL; i++) {
		if (i > 12)
			strcat(cmd, " ");
		strcat(cmd, argv[i]);
	}
	assert_int_equal(args_split(cmd, &words, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	assert_string_equal(words[3], "--console=it's.sock");
	args_free(words);
	args_free(argv);

	/* a sercon host: ssh -T, the framed protocol asked for */
	assert_int_equal(dial_argv(&cfg, &c, "alice", "Alice", &framed, &argv,
	    err, sizeof(err)), 0);
	assert_string_equal(argv[9], "-T");
	assert_string_equal(argv[15], "--console='it'\\''s.sock'");
	assert_string_equal(argv[16], "--proto=1");
	assert_string_equal(argv[17], "--replay=arrival");
	assert_null(argv[18]);
	args_free(argv);
	/* never --replay on a raw host, never a replay word with spaces */
	raw.replay = "arrival";
	assert_int_equal(dial_argv(&cfg, &c, "a", "a", &raw, &argv, err,
	    sizeof(err)), -1);
	raw.replay = NULL;
	framed.replay = "all -x";
	assert_int_equal(dial_argv(&cfg, &c, "a", "a", &framed, &argv, err,
	    sizeof(err)), -1);
	/* the user's mode reaches a sercon host as its own word */
	framed.replay = "0";
	framed.read_only = true;
	assert_int_equal(dial_argv(&cfg, &c, "a", "a", &framed, &argv, err,
	    sizeof(err)), 0);
	assert_string_equal(argv[17], "--replay=0");
	assert_string_equal(argv[18], "--read-only");
	assert_null(argv[19]);
	args_free(argv);
	framed.read_only = false;
	framed.takeover = true;
	assert_int_equal(dial_argv(&cfg, &c, "a", "a", &framed, &argv, err,
	    sizeof(err)), 0);
	assert_string_equal(argv[18], "--takeover");
	args_free(argv);
	framed.read_only = true;
	assert_int_equal(dial_argv(&cfg, &c, "a", "a", &framed, &argv, err,
	    sizeof(err)), -1);
	/* and never to a raw host, which would not understand it */
	raw.takeover = true;
	assert_int_equal(dial_argv(&cfg, &c, "a", "a", &raw, &argv, err,
	    sizeof(err)), -1);
	raw.takeover = false;
	raw.read_only = true;
	assert_int_equal(dial_argv(&cfg, &c, "a", "a", &raw, &argv, err,
	    sizeof(err)), -1);
	raw.read_only = false;
	assert_true(dial_replay_valid("0"));
	assert_true(dial_replay_valid("100000"));
	assert_true(dial_replay_valid("all"));
	assert_false(dial_replay_valid("100001"));
	assert_false(dial_replay_valid("-1"));
	assert_false(dial_replay_valid("1x"));
	assert_false(dial_replay_valid(""));
	assert_false(dial_replay_valid("arrival"));

	c.host = "-oProxyCommand=x";
	assert_int_equal(dial_argv(&cfg, &c, "a", "a", &raw, &argv, err,
	    sizeof(err)), -1);
	c.host = "hv1";
	c.console = "../x";
	assert_int_equal(dial_argv(&cfg, &c, "a", "a", &raw, &argv, err,
	    sizeof(err)), -1);
	cfg_free(&cfg);
}

static void
test_info_proto(void **state)
{
	assert_int_equal(dial_info_proto("package=sercon-host-shell\n"
	    "version=1.1\nprotocols=1\n"), DIAL_FRAMED);
	assert_int_equal(dial_info_proto("protocols=2,1"), DIAL_FRAMED);
	assert_int_equal(dial_info_proto("protocols=11,2\n"), DIAL_RAW);
	assert_int_equal(dial_info_proto("x=1\nprotocols=\n"), DIAL_RAW);
	/* what ovirt-vmconsole-host-shell answers */
	assert_int_equal(dial_info_proto("package=ovirt-vmconsole-host-shell\n"
	    "ssh-ca-key=ssh-rsa AAAA\nssh-host-cert=x\n"), DIAL_RAW);
	/* an older sercon host without the protocol */
	assert_int_equal(dial_info_proto("package=sercon-host-shell\n"
	    "version=1.0\n"), DIAL_RAW);
	assert_int_equal(dial_info_proto(""), DIAL_RAW);
}

static void
test_refused(void **state)
{
	assert_true(dial_refused("kex_exchange_identification: read: "
	    "Connection reset by peer\r\n"));
	assert_true(dial_refused("kex_exchange_identification: Connection "
	    "closed by remote host\r\nConnection closed by 127.0.0.1 port "
	    "2223\r\n"));
	assert_false(dial_refused("Host key verification failed.\r\n"));
	assert_false(dial_refused("Permission denied (publickey).\r\n"));
	assert_false(dial_refused(""));
}

static void
test_quote(void **state)
{
	char *q;

	q = dial_quote("abc.sock");
	assert_string_equal(q, "abc.sock");
	free(q);
	q = dial_quote("a b");
	assert_string_equal(q, "'a b'");
	free(q);
	q = dial_quote("a'b");
	assert_string_equal(q, "'a'\\''b'");
	free(q);
}

static void
test_messages(void **state)
{
	assert_null(dial_status_message(0));
	assert_non_null(strstr(dial_status_message(4), "busy"));
	assert_non_null(strstr(dial_status_message(3), "not available"));
	assert_non_null(strstr(dial_status_message(5), "VM closed"));
	assert_non_null(strstr(dial_status_message(255), "could not reach"));
	assert_string_equal(dial_status_outcome(4), "busy");
}

static void
test_key_line(void **state)
{
	struct mgr_key k = { "id 1", "Ann \"x\"", "ssh-ed25519", ED_BLOB };
	char *line = pkeys_line("/usr/libexec/sercon/sercon-proxy-shell", &k);

	assert_string_equal(line, "restrict,pty,command=\"/usr/libexec/sercon/"
	    "sercon-proxy-shell accept --entity-id=id%201 "
	    "--entity=Ann%20%22x%22\" ssh-ed25519 " ED_BLOB "\n");
	free(line);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_info_proto),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_key_line),
	};

	log_init("test_dial");
	log_set_socket("/nonexistent/log.sock");
	return cmocka_run_group_tests(tests, NULL, NULL);
}

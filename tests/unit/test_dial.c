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
	char **argv, err[200], cmd[1024] = "", **words;
	int i, n;

	cfg_defaults(&cfg);
	cfg.host_port = 2299;
	assert_int_equal(dial_argv(&cfg, &c, "alice", "Alice \"A\" $(x)", true,
	    &argv, err, sizeof(err)), 0);
	assert_string_equal(argv[0], SSH_PATH);
	assert_string_equal(argv[1], "-F");
	assert_string_equal(argv[3], "-p");
	assert_string_equal(argv[4], "2299");
	assert_string_equal(argv[5], "-l");
	assert_string_equal(argv[7], "-tt");
	assert_string_equal(argv[8], "hv1.example");
	assert_string_equal(argv[9], "--");
	assert_string_equal(argv[10], "--entity-id=alice");
	assert_string_equal(argv[11], "--entity=Alice%20%22A%22%20%24%28x%29");
	assert_string_equal(argv[12], "connect");
	/* what the host's sshd hands the host shell: the words joined by
	 * spaces, which its splitter reads back exactly */
	for (i = 10; argv[i] != NULL; i++) {
		if (i > 10)
			strcat(cmd, " ");
		strcat(cmd, argv[i]);
	}
	assert_int_equal(args_split(cmd, &words, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	assert_string_equal(words[3], "--console=it's.sock");
	args_free(words);
	args_free(argv);

	c.host = "-oProxyCommand=x";
	assert_int_equal(dial_argv(&cfg, &c, "a", "a", false, &argv, err,
	    sizeof(err)), -1);
	c.host = "hv1";
	c.console = "../x";
	assert_int_equal(dial_argv(&cfg, &c, "a", "a", false, &argv, err,
	    sizeof(err)), -1);
	cfg_free(&cfg);
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
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_key_line),
	};

	log_init("test_dial");
	log_set_socket("/nonexistent/log.sock");
	return cmocka_run_group_tests(tests, NULL, NULL);
}

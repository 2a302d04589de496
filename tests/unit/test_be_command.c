/* test_be_command.c: the command backend (src/lib/manager/be_command.c)
 * through its operations table: argv templates and their placeholders, and
 * the ways a helper can fail. The helpers are /bin/sh one-liners that echo
 * their arguments back as JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "manager/backend.h"

#define K1 "AAAAC3NzaC1lZDI1NTE5AAAAIGa0S9Qt/wBz00x7Pq" \
	"xzK+2Y1dYhzDiNzKEh0lGEP916"
#define K1_FP "SHA256:HUkwV7xwxaweZ6qa1JBGiAy5Z9VqkoHCJSeOfLMH6zg"

/* Prints a key list whose entity ids are the helper's arguments. */
#define ECHO_KEYS "/bin/sh -c 'for a; do printf \"%s\\n\" \"$a\"; done | " \
	"{ printf \"{\\\"content\\\":\\\"key_list\\\",\\\"version\\\":1," \
	"\\\"keys\\\":[\"; sep=; while read -r l; do printf " \
	"\"%s{\\\"entityid\\\":\\\"%s\\\",\\\"entity\\\":\\\"e\\\"," \
	"\\\"key\\\":\\\"ssh-ed25519 " K1 "\\\"}\" \"$sep\" \"$l\"; sep=,; " \
	"done; printf \"]}\"; }' sh"

/* The backend's two operations, the key list collected in a list. */
static int
be_command_keys(const struct sercon_config *cfg, const char *type,
    const char *blob, struct mgr_key_list *l, char *err, size_t errlen)
{
	struct mgr_key_sink sink = mgr_key_list_sink(l);

	return mgr_backend_command.keys(cfg, type, blob, &sink, err, errlen);
}

static int
be_command_consoles(const struct sercon_config *cfg, const char *entity_id,
    struct mgr_console_list *l, char *err, size_t errlen)
{
	return mgr_backend_command.consoles(cfg, entity_id, l, err, errlen);
}

static struct sercon_config *
config(const char *key_list, const char *console_list)
{
	struct sercon_config *cfg = calloc(1, sizeof(*cfg));

	assert_non_null(cfg);
	cfg_defaults(cfg);
	cfg->backend = BACKEND_COMMAND;
	cfg->timeout = 1;
	cfg->key_list = key_list ? strdup(key_list) : NULL;
	cfg->console_list = console_list ? strdup(console_list) : NULL;
	return cfg;
}

static void
config_free(struct sercon_config *cfg)
{
	cfg_free(cfg);
	free(cfg);
}

static void
test_key_placeholders(void **state)
{
	struct sercon_config *cfg = config(ECHO_KEYS
	    " v{version} {keytype} {keyfp} {key} x{key}y", NULL);
	struct mgr_key_list l = { NULL, 0, 0 };
	char err[256];

	assert_int_equal(be_command_keys(cfg, "ssh-ed25519", K1, &l, err,
	    sizeof(err)), 0);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.v[0].entity_id, "v1");
	assert_string_equal(l.v[1].entity_id, "ssh-ed25519");
	assert_string_equal(l.v[2].entity_id, K1_FP);
	assert_string_equal(l.v[3].entity_id, K1);
	assert_string_equal(l.v[4].entity_id, "x" K1 "y");
	mgr_key_list_free(&l);
	config_free(cfg);
}

static void
test_key_placeholders_empty_when_no_key(void **state)
{
	/* no key offered: the placeholders are empty words, kept as such */
	struct sercon_config *cfg = config(ECHO_KEYS
	    " --keyfp {keyfp} --keytype={keytype} end", NULL);
	struct mgr_key_list l = { NULL, 0, 0 };
	char err[256];

	assert_int_equal(be_command_keys(cfg, NULL, NULL, &l, err,
	    sizeof(err)), 0);
	/* "--keyfp", "" (skipped: empty entity id), "--keytype=", "end" */
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].entity_id, "--keyfp");
	assert_string_equal(l.v[1].entity_id, "--keytype=");
	assert_string_equal(l.v[2].entity_id, "end");
	mgr_key_list_free(&l);
	config_free(cfg);
}

static void
test_console_list(void **state)
{
	struct sercon_config *cfg = config(NULL, "/bin/sh -c 'printf "
	    "\"{\\\"content\\\":\\\"console_list\\\",\\\"version\\\":1,"
	    "\\\"consoles\\\":[{\\\"vmid\\\":\\\"%s\\\",\\\"vm\\\":\\\"web\\\","
	    "\\\"vmname\\\":\\\"web\\\",\\\"host\\\":\\\"hv1\\\","
	    "\\\"console\\\":\\\"%s.sock\\\"}]}\" \"$1\" \"$1\"' sh {entityid}");
	struct mgr_console_list l = { NULL, 0, 0 };
	char err[256];

	assert_int_equal(be_command_consoles(cfg, "u-1;$(id)", &l, err,
	    sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	/* passed as one word, never through a shell */
	assert_string_equal(l.v[0].vm_id, "u-1;$(id)");
	assert_string_equal(l.v[0].console, "u-1;$(id).sock");
	mgr_console_list_free(&l);
	config_free(cfg);
}

static void
fails_within(const char *key_list, int timeout, const char *expect)
{
	struct sercon_config *cfg = config(key_list, NULL);
	struct mgr_key_list l = { NULL, 0, 0 };
	char err[256];

	cfg->timeout = timeout;
	assert_int_equal(be_command_keys(cfg, NULL, NULL, &l, err,
	    sizeof(err)), -1);
	assert_int_equal(l.n, 0);
	if (strstr(err, expect) == NULL)
		fail_msg("'%s' does not say '%s'", err, expect);
	config_free(cfg);
}

static void
fails(const char *key_list, const char *expect)
{
	fails_within(key_list, 1, expect);
}

static void
test_failures(void **state)
{
	struct timespec a, b;

	fails(NULL, "key_list is not set");
	fails("relative/helper", "absolute path");
	fails("/bin/echo 'unterminated", "key_list");
	fails("/bin/echo {nosuch}", "unknown placeholder {nosuch}");
	/* "cannot run" (or status 127 where spawning forks first) */
	fails("/nonexistent/helper", "/nonexistent/helper");
	fails("/bin/sh -c 'exit 3'", "exited with status 3");
	fails("/bin/echo garbage", "not JSON");
	fails("/bin/echo '{\"content\":\"key_list\",\"version\":7,"
	    "\"keys\":[]}'", "version");
	clock_gettime(CLOCK_MONOTONIC, &a);
	fails("/bin/sleep 30", "did not finish within 1 s");
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec < 5);
	/* the key list is read as it comes: over the cap (32 MiB, one
	 * entry larger than any entry may be), refused as a whole; time
	 * enough to print it even under valgrind */
	fails_within("/bin/sh -c 'printf \"{\\\"content\\\":"
	    "\\\"key_list\\\",\\\"version\\\":1,\\\"keys\\\":[\\\"\"; "
	    "head -c 40000000 /dev/zero | tr \"\\\\000\" a; "
	    "printf \"\\\"]}\"'", 20, "printed more than 33554432");
	/* and a broken answer is refused at once, the program stopped */
	clock_gettime(CLOCK_MONOTONIC, &a);
	fails_within("/bin/sh -c 'echo garbage; exec sleep 30'", 10,
	    "not JSON");
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec < 5);
}

static void
test_bad_entity(void **state)
{
	struct sercon_config *cfg = config(NULL, "/bin/true {entityid}");
	struct mgr_console_list l = { NULL, 0, 0 };
	char err[256];

	assert_int_equal(be_command_consoles(cfg, "a\nb", &l, err,
	    sizeof(err)), -1);
	assert_int_equal(be_command_consoles(cfg, "", &l, err,
	    sizeof(err)), -1);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_placeholders),
		cmocka_unit_test(test_key_placeholders_empty_when_no_key),
		cmocka_unit_test(test_console_list),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_bad_entity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

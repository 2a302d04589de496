/* test_inventory.c: the inventory of backend file (be_file.c): strict,
 * per-entry validation; a bad entry or key is skipped, the rest works. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/log.h"
#include "manager/inventory.h"
#include "keys_fixture.h"

static int
parse(const char *text, struct inventory *inv, char *err, size_t errlen)
{
	return inv_parse(text, strlen(text), "test.json", inv, err, errlen);
}

static const char good[] =
    "{\"users\": ["
    " {\"id\": \"alice\", \"name\": \"Alice\", \"keys\": [\"" ED_LINE "\"]},"
    " {\"id\": \"bob\", \"keys\": [\"" ED2_LINE "\"]}],"
    " \"consoles\": ["
    " {\"vm_id\": \"id-web2\", \"vm_name\": \"web2\", \"host\": \"hv1\","
    "  \"console\": \"id-web2.sock\", \"users\": [\"alice\"]},"
    " {\"vm_id\": \"id-web1\", \"vm_name\": \"web1\", \"host\": \"10.0.0.1\","
    "  \"users\": [\"alice\", \"bob\"]},"
    " {\"vm_id\": \"id-pub\", \"vm_name\": \"public\", \"host\": \"hv2.example\","
    "  \"console\": \"pub.sock\", \"users\": [\"*\"]}]}";

static void
test_good(void **state)
{
	struct inventory inv;
	struct mgr_console_list l;
	char err[256];

	assert_int_equal(parse(good, &inv, err, sizeof(err)), 0);
	assert_int_equal(inv.skipped, 0);
	assert_int_equal(inv.keys.n, 2);
	assert_string_equal(inv.keys.v[0].entity_id, "alice");
	assert_string_equal(inv.keys.v[0].entity, "Alice");
	assert_string_equal(inv.keys.v[0].type, "ssh-ed25519");
	assert_string_equal(inv.keys.v[0].blob, ED_BLOB);
	assert_string_equal(inv.keys.v[1].entity, "bob");   /* name = id */
	assert_int_equal(inv.nconsoles, 3);
	assert_string_equal(inv.consoles[1].c.console, "id-web1.sock");

	assert_int_equal(inv_consoles_for(&inv, "alice", &l, err,
	    sizeof(err)), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].vm_name, "public");
	assert_string_equal(l.v[1].vm_name, "web1");
	assert_string_equal(l.v[2].vm_name, "web2");
	mgr_console_list_free(&l);
	assert_int_equal(inv_consoles_for(&inv, "bob", &l, err,
	    sizeof(err)), 0);
	assert_int_equal(l.n, 2);
	mgr_console_list_free(&l);
	assert_int_equal(inv_consoles_for(&inv, "carol", &l, err,
	    sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].vm_id, "id-pub");
	mgr_console_list_free(&l);
	inv_free(&inv);
}

/* One bad thing in an otherwise good inventory: exactly that is left out. */
static void
one_bad(const char *users, const char *consoles, size_t nkeys,
    size_t ncons, size_t skipped)
{
	struct inventory inv;
	char text[4096], err[256];

	snprintf(text, sizeof(text), "{\"users\": [%s], \"consoles\": [%s]}",
	    users, consoles);
	assert_int_equal(parse(text, &inv, err, sizeof(err)), 0);
	assert_int_equal(inv.keys.n, nkeys);
	assert_int_equal(inv.nconsoles, ncons);
	assert_int_equal(inv.skipped, skipped);
	inv_free(&inv);
}

#define ALICE "{\"id\": \"alice\", \"keys\": [\"" ED_LINE "\"]}"
#define CON(fields) "{\"vm_id\": \"v1\", \"vm_name\": \"n1\", " fields \
	", \"users\": [\"alice\"]}"

static void
test_bad_users(void **state)
{
	one_bad(ALICE ", {\"id\": \"bob\", \"keys\": [], \"admin\": true}",
	    "", 1, 0, 1);                              /* unknown field */
	one_bad(ALICE ", {\"id\": \"bob\", \"name\": 5, \"keys\": [\"" ED2_LINE
	    "\"]}", "", 1, 0, 1);                      /* ill-typed */
	one_bad(ALICE ", {\"id\": 7, \"keys\": [\"" ED2_LINE "\"]}", "", 1, 0,
	    1);
	one_bad(ALICE ", {\"keys\": [\"" ED2_LINE "\"]}", "", 1, 0, 1);
	one_bad(ALICE ", {\"id\": \"bob\", \"keys\": \"" ED2_LINE "\"}", "",
	    1, 0, 1);                                  /* keys not a list */
	one_bad(ALICE ", {\"id\": \"b\\nb\", \"keys\": [\"" ED2_LINE "\"]}",
	    "", 1, 0, 1);                              /* control char */
	one_bad(ALICE ", {\"id\": \"*\", \"keys\": [\"" ED2_LINE "\"]}", "",
	    1, 0, 1);                                  /* "*" is not an id */
	one_bad(ALICE ", {\"id\": \"alice\", \"keys\": [\"" ED2_LINE "\"]}",
	    "", 1, 0, 1);                              /* duplicate id */
	/* a key of another user: kept for both (the dispatcher refuses it
	 * for both, test_manager.c) rather than "first claimant wins" */
	one_bad(ALICE ", {\"id\": \"bob\", \"keys\": [\"" ED_LINE "\"]}", "",
	    2, 0, 0);
	one_bad(ALICE ", 42", "", 1, 0, 1);
	/* an entry that is not valid JSON alone (a repeated field, invalid
	 * UTF-8, a lone surrogate) is skipped, the others kept: the
	 * inventory is read entry by entry, as a stream */
	one_bad(ALICE ", {\"id\": \"bob\", \"id\": \"eve\", \"keys\": [\""
	    ED2_LINE "\"]}", "", 1, 0, 1);
	one_bad(ALICE ", {\"id\": \"b\xff\", \"keys\": [\"" ED2_LINE "\"]}",
	    "", 1, 0, 1);
	one_bad("{\"id\": \"bob\", \"name\": \"\\ud800\", \"keys\": [\""
	    ED2_LINE "\"]}, " ALICE, "", 1, 0, 1);
	/* escapes and other values take the strict reader, same answer */
	one_bad("{\"id\": \"b\\u006fb\", \"keys\": [\"" ED2_LINE "\"]}, "
	    ALICE, "", 2, 0, 0);
}

static void
test_bad_keys(void **state)
{
	/* a key with options, a certificate type, garbage, a number: each
	 * key is skipped, bob's good key stays */
	one_bad(ALICE ", {\"id\": \"bob\", \"keys\": ["
	    "\"command=\\\"/bin/sh\\\" " ED2_LINE "\", "
	    "\"ssh-rsa " ED2_BLOB "\", \"garbage\", 12, \"" ED2_LINE "\"]}",
	    "", 2, 0, 4);
}

static void
test_bad_consoles(void **state)
{
	one_bad(ALICE, CON("\"host\": \"hv1\""), 1, 1, 0);
	one_bad(ALICE, CON("\"host\": \"-oProxyCommand=touch /tmp/x\""), 1, 0,
	    1);
	one_bad(ALICE, CON("\"host\": \"hv1 -p 1\""), 1, 0, 1);
	one_bad(ALICE, CON("\"host\": \"hv1\", \"console\": \"../x\""), 1, 0,
	    1);
	one_bad(ALICE, CON("\"host\": \"hv1\", \"console\": \"a/b\""), 1, 0,
	    1);
	one_bad(ALICE, CON("\"host\": \"hv1\", \"console\": \"-x\""), 1, 0, 1);
	one_bad(ALICE, CON("\"host\": \"hv1\", \"port\": 22"), 1, 0, 1);
	one_bad(ALICE, CON("\"host\": 1"), 1, 0, 1);
	/* a VM name with control characters is kept (issue 13): every
	 * output escapes it, and the VM is reached by its id */
	one_bad(ALICE, "{\"vm_id\": \"v1\", \"vm_name\": \"\\u001b[2Jx\", "
	    "\"host\": \"hv1\", \"users\": [\"alice\"]}", 1, 1, 0);
	/* a C1 control in UTF-8 is valid text here: text_safe escapes it
	 * when printed */
	one_bad(ALICE, "{\"vm_id\": \"v1\", \"vm_name\": \"\\u009b31mx\", "
	    "\"host\": \"hv1\", \"users\": [\"alice\"]}", 1, 1, 0);
	one_bad(ALICE, "{\"vm_id\": \"v1\", \"vm_name\": \"n\", \"host\": "
	    "\"hv1\", \"users\": \"alice\"}", 1, 0, 1);
	one_bad(ALICE, "{\"vm_id\": \"v1\", \"vm_name\": \"n\", \"host\": "
	    "\"hv1\", \"users\": [\"alice\", 3]}", 1, 0, 1);
	one_bad(ALICE, "{\"vm_id\": \"v1\", \"vm_name\": \"n\", \"host\": "
	    "\"hv1\"}", 1, 0, 1);
	one_bad(ALICE, "{\"vm_id\": \"v\\u0000x\", \"vm_name\": \"n\", "
	    "\"host\": \"hv1\", \"users\": [\"alice\"]}", 1, 0, 1);
}

static void
test_fatal(void **state)
{
	struct inventory inv;
	char err[256];

	assert_int_equal(parse("{\"users\": [], \"extra\": 1}", &inv, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "test.json"));
	assert_non_null(strstr(err, "extra"));
	assert_int_equal(parse("[1, 2]", &inv, err, sizeof(err)), -1);
	assert_int_equal(parse("{\"users\": {}}", &inv, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "users"));
	assert_int_equal(parse("{\"users\": [", &inv, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "test.json"));
	assert_int_equal(parse("{\"users\": [], \"users\": []}", &inv, err,
	    sizeof(err)), -1);
	assert_int_equal(parse("{}", &inv, err, sizeof(err)), 0);
	inv_free(&inv);
}

static void
test_load_missing(void **state)
{
	struct inventory inv;
	char err[256];

	assert_int_equal(inv_load("/nonexistent/inventory.json", &inv, NULL,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/inventory.json"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad_users),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_bad_consoles),
		cmocka_unit_test(test_fatal),
		cmocka_unit_test(test_load_missing),
	};

	log_init("test_inventory");
	log_set_socket("/nonexistent/log.sock");
	return cmocka_run_group_tests(tests, NULL, NULL);
}

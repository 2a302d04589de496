/* test_menu.c: the console menu (menu.c) and the request parser of
 * sercon-proxy-shell (proxy_shell.c): choices by number, name and id,
 * wrong choices asked again, hostile names escaped, commands parsed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/log.h"
#include "proxy/menu.h"
#include "proxy/proxy_shell.h"

static void
three(struct mgr_console_list *l)
{
	char err[100];

	memset(l, 0, sizeof(*l));
	assert_int_equal(mgr_console_list_add(l, "id-b", "beta", "hv1",
	    "b.sock", err, sizeof(err)), 0);
	assert_int_equal(mgr_console_list_add(l, "id-a", "alpha", "hv1",
	    "a.sock", err, sizeof(err)), 0);
	assert_int_equal(mgr_console_list_add(l, "id-e", "\xc2\x9b" "31mevil",
	    "hv1", "e.sock", err, sizeof(err)), 0);
	mgr_console_list_sort(l);
}

static void
test_find(void **state)
{
	struct mgr_console_list l;
	char err[100], msg[512];
	int clash[2];

	three(&l);
	assert_string_equal(l.v[0].vm_name, "alpha");
	assert_int_equal(menu_find(&l, "1", 1, clash), 0);
	assert_int_equal(menu_find(&l, "3", 1, clash), 2);
	assert_int_equal(menu_find(&l, "4", 1, clash), MENU_NONE);
	assert_int_equal(menu_find(&l, "0", 1, clash), MENU_NONE);
	assert_int_equal(menu_find(&l, "1", 0, clash), MENU_NONE);
	assert_int_equal(menu_find(&l, "beta", 1, clash), 1);
	assert_int_equal(menu_find(&l, "id-b", 1, clash), 1);
	assert_int_equal(menu_find(&l, "gamma", 1, clash), MENU_NONE);
	assert_int_equal(mgr_console_list_add(&l, "id-b2", "beta", "hv2",
	    "b2.sock", err, sizeof(err)), 0);
	assert_int_equal(menu_find(&l, "beta", 1, clash), MENU_AMBIGUOUS);
	assert_int_equal(clash[0], 1);
	assert_int_equal(clash[1], 3);
	assert_int_equal(menu_find(&l, "id-b2", 1, clash), 3);
	/* a name that is another VM's id: neither is chosen silently */
	assert_int_equal(mgr_console_list_add(&l, "id-x", "id-a", "hv2",
	    "x.sock", err, sizeof(err)), 0);
	assert_int_equal(menu_find(&l, "id-a", 1, clash), MENU_AMBIGUOUS);
	assert_int_equal(clash[0], 0);
	assert_int_equal(clash[1], 4);
	menu_clash(&l, "id-a", clash, msg, sizeof(msg));
	assert_string_equal(msg, "'id-a' names more than one console: alpha "
	    "(id id-a) and id-a (id id-x); choose by number or by a unique "
	    "id");
	/* the same id twice */
	assert_int_equal(mgr_console_list_add(&l, "id-x", "other", "hv2",
	    "y.sock", err, sizeof(err)), 0);
	assert_int_equal(menu_find(&l, "id-x", 1, clash), MENU_AMBIGUOUS);
	assert_int_equal(clash[0], 4);
	assert_int_equal(clash[1], 5);
	mgr_console_list_free(&l);
}

/* Runs the menu on input; returns its answer and what it printed. */
static int
run_menu(const struct mgr_console_list *l, const char *input, char *out,
    size_t outlen)
{
	FILE *in = fmemopen((void *)input, strlen(input), "r");
	FILE *o = fmemopen(out, outlen, "w");
	int rc;

	assert_non_null(in);
	assert_non_null(o);
	memset(out, 0, outlen);
	rc = menu_choose("Title \x1b[2J", "~~. leaves", l, in, o);
	fclose(in);
	fclose(o);
	return rc;
}

static void
test_choose(void **state)
{
	struct mgr_console_list l;
	static char out[8192];

	three(&l);
	assert_int_equal(run_menu(&l, "2\n", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "Title \\x1b[2J"));
	assert_null(strchr(out, '\x1b'));
	assert_null(strstr(out, "\xc2\x9b"));
	assert_non_null(strstr(out, "\\xc2\\x9b31mevil"));
	assert_non_null(strstr(out, "Once connected: ~~. leaves."));
	assert_non_null(strstr(out, "   1  alpha"));

	assert_int_equal(run_menu(&l, "nope\n\n  alpha  \n", out,
	    sizeof(out)), 0);
	assert_non_null(strstr(out, "No console 'nope'"));
	assert_int_equal(run_menu(&l, "id-e\n", out, sizeof(out)), 2);
	assert_int_equal(run_menu(&l, "9\nexit\n", out, sizeof(out)),
	    MENU_LEAVE);
	assert_non_null(strstr(out, "No console '9'"));
	assert_int_equal(run_menu(&l, "", out, sizeof(out)), MENU_LEAVE);
	{
		static char longline[700];

		memset(longline, 'a', 600);
		memcpy(longline + 600, "\n 1 \n", 6);
		assert_int_equal(run_menu(&l, longline, out, sizeof(out)), 0);
		assert_non_null(strstr(out, "That line is too long."));
	}
	assert_int_equal(run_menu(&l, "\x1b[31m\n1\n", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "No console '\\x1b[31m'"));
	mgr_console_list_free(&l);
}

static void
test_print_plain(void **state)
{
	struct mgr_console_list l;
	static char out[1024];
	FILE *o = fmemopen(out, sizeof(out), "w");

	three(&l);
	menu_print_plain(&l, o);
	fclose(o);
	assert_string_equal(out, "id-a\talpha\nid-b\tbeta\n"
	    "id-e\t\\xc2\\x9b31mevil\n");
	mgr_console_list_free(&l);
}

static void
test_parse(void **state)
{
	struct pshell_req r;
	char err[200];

	assert_int_equal(pshell_parse(NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, PSHELL_CONNECT);
	assert_null(r.target);
	pshell_req_free(&r);
	assert_int_equal(pshell_parse("", &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, PSHELL_CONNECT);
	pshell_req_free(&r);
	assert_int_equal(pshell_parse("connect --vm-id=abc", &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.vm_id, "abc");
	pshell_req_free(&r);
	assert_int_equal(pshell_parse("--vm-name='my vm'", &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.cmd, PSHELL_CONNECT);
	assert_string_equal(r.vm_name, "my vm");
	pshell_req_free(&r);
	assert_int_equal(pshell_parse("--debug web1", &r, err, sizeof(err)), 0);
	assert_true(r.debug);
	assert_string_equal(r.target, "web1");
	pshell_req_free(&r);
	assert_int_equal(pshell_parse("list --format=json", &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.cmd, PSHELL_LIST);
	assert_true(r.json);
	pshell_req_free(&r);
	assert_int_equal(pshell_parse("list", &r, err, sizeof(err)), 0);
	assert_false(r.json);
	pshell_req_free(&r);
	assert_int_equal(pshell_parse("info", &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, PSHELL_INFO);
	pshell_req_free(&r);
	assert_int_equal(pshell_parse("help", &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, PSHELL_HELP);
	pshell_req_free(&r);

	assert_int_equal(pshell_parse("list --format=xml", &r, err,
	    sizeof(err)), -1);
	assert_int_equal(pshell_parse("connect a b", &r, err, sizeof(err)), -1);
	assert_int_equal(pshell_parse("connect --vm-id=a b", &r, err,
	    sizeof(err)), -1);
	assert_int_equal(pshell_parse("--evil", &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--evil"));
	assert_int_equal(pshell_parse("info x", &r, err, sizeof(err)), -1);
	assert_int_equal(pshell_parse("connect 'open", &r, err, sizeof(err)),
	    -1);
	assert_int_equal(pshell_parse("connect --vm-id=", &r, err,
	    sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_print_plain),
		cmocka_unit_test(test_parse),
	};

	log_init("test_menu");
	log_set_socket("/nonexistent/log.sock");
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fuzz_menu.c: libFuzzer target of the console menu's reading of what the
 * user types at its prompt (src/lib/proxy/menu.c: menu_choose, menu_find),
 * over a fixed list that holds the hard cases: a name that is a number, a
 * name that is another VM's id, a name two VMs carry. The input is the
 * user's keystrokes, lines and all. A choice is an index of the list or
 * "leave"; what menu_find picks carries the number, id or name typed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/menu.h"
#include "fuzz.h"

static struct mgr_console_list list;

static void
add(const char *id, const char *name)
{
	char err[256];

	if (mgr_console_list_add(&list, id, name, "hv1.example.com",
	    "x.sock", err, sizeof(err)) != 0)
		abort();
}

static void
make_list(void)
{
	if (list.n > 0)
		return;
	add("6f1c0a", "web1");
	add("7b2d", "2");
	add("8c3e", "6f1c0a");
	add("9d4f", "db");
	add("a05a", "db");
	add("b16b", "caf\xc3\xa9 \xe2\x80\xae");
}

/* What menu_find returned must name the console by what was typed; an
 * ambiguity names two consoles, and the message about it fits. */
static void
check_find(const char *choice)
{
	int clash[2] = { -1, -1 }, i = menu_find(&list, choice, 1, clash);
	char num[16], msg[96];

	if (i == MENU_AMBIGUOUS) {
		if (clash[0] < 0 || clash[1] < 0 || clash[0] == clash[1] ||
		    (size_t)clash[0] >= list.n || (size_t)clash[1] >= list.n)
			abort();
		menu_clash(&list, choice, clash, msg, sizeof(msg));
		if (memchr(msg, '\0', sizeof(msg)) == NULL)
			abort();
		return;
	}
	if (i == MENU_NONE)
		return;
	if (i < 0 || (size_t)i >= list.n)
		abort();
	snprintf(num, sizeof(num), "%d", i + 1);
	if (strcmp(choice, num) != 0 && strcmp(choice, list.v[i].vm_id) != 0 &&
	    strcmp(choice, list.v[i].vm_name) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *in, *out;
	char *line;
	int i;

	make_list();
	if (size == 0)
		return 0;
	if ((in = fmemopen((void *)data, size, "r")) == NULL ||
	    (out = fopen("/dev/null", "w")) == NULL)
		abort();
	i = menu_choose("Consoles", "~~. leaves", &list, in, out);
	if (i != MENU_LEAVE && (i < 0 || (size_t)i >= list.n))
		abort();
	fclose(in);
	fclose(out);
	line = fuzz_cstr(data, size);
	check_find(line);
	free(line);
	return 0;
}

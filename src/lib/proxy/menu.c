/* menu.c: the console menu; see menu.h. Input is a line at a time from a
 * terminal in its usual (cooked) mode; anything odd in it is answered with
 * a message and the prompt again, never echoed raw. */
#include <stdlib.h>
#include <string.h>

#include "proxy/menu.h"
#include "core/text.h"

#define MENU_LINE 512

int
menu_find(const struct mgr_console_list *l, const char *choice, int numbers,
    int clash[2])
{
	size_t i;
	int by_id = MENU_NONE, by_name = MENU_NONE;

	clash[0] = clash[1] = -1;
	if (numbers && *choice >= '1' && *choice <= '9' &&
	    strspn(choice, "0123456789") == strlen(choice) &&
	    strlen(choice) <= 9) {
		long n = strtol(choice, NULL, 10);

		if (n >= 1 && (size_t)n <= l->n)
			return (int)(n - 1);
	}
	/* one pass: an id or a name that two consoles answer to is refused,
	 * as is a name that is another console's id */
	for (i = 0; i < l->n; i++) {
		if (!strcmp(l->v[i].vm_id, choice)) {
			if (by_id != MENU_NONE) {
				clash[0] = by_id;
				clash[1] = (int)i;
				return MENU_AMBIGUOUS;
			}
			by_id = (int)i;
		}
		if (!strcmp(l->v[i].vm_name, choice)) {
			if (by_name != MENU_NONE) {
				clash[0] = by_name;
				clash[1] = (int)i;
				return MENU_AMBIGUOUS;
			}
			by_name = (int)i;
		}
	}
	if (by_id != MENU_NONE && by_name != MENU_NONE && by_id != by_name) {
		clash[0] = by_id;
		clash[1] = by_name;
		return MENU_AMBIGUOUS;
	}
	return by_id != MENU_NONE ? by_id : by_name;
}

void
menu_clash(const struct mgr_console_list *l, const char *choice,
    const int clash[2], char *buf, size_t len)
{
	char c[128], n0[128], i0[128], n1[128], i1[128];

	snprintf(buf, len, "'%s' names more than one console: %s (id %s) and "
	    "%s (id %s); choose by number or by a unique id",
	    text_safe_buf(c, sizeof(c), choice),
	    text_safe_buf(n0, sizeof(n0), l->v[clash[0]].vm_name),
	    text_safe_buf(i0, sizeof(i0), l->v[clash[0]].vm_id),
	    text_safe_buf(n1, sizeof(n1), l->v[clash[1]].vm_name),
	    text_safe_buf(i1, sizeof(i1), l->v[clash[1]].vm_id));
}

static void
menu_show(const char *title, const char *hint,
    const struct mgr_console_list *l, FILE *out)
{
	char name[128], id[128];
	size_t i;

	fprintf(out, "%s\n\n", text_safe_buf(name, sizeof(name), title));
	for (i = 0; i < l->n; i++)
		fprintf(out, "%4zu  %-32s %s\n", i + 1,
		    text_safe_buf(name, sizeof(name), l->v[i].vm_name),
		    text_safe_buf(id, sizeof(id), l->v[i].vm_id));
	fprintf(out, "\nEnter a number, a name or an id; 'exit' leaves.\n"
	    "Once connected: %s.\n", hint);
}

/* Cuts blanks around the line; returns where it starts, or NULL when it
 * was too long (the rest of it is read and dropped). */
static char *
trim(char *line, FILE *in)
{
	size_t n = strlen(line);
	int c, whole = n > 0 && line[n - 1] == '\n';

	if (!whole && !feof(in)) {
		while ((c = fgetc(in)) != EOF && c != '\n')
			;
		return NULL;
	}
	while (n > 0 && strchr(" \t\r\n", line[n - 1]) != NULL)
		line[--n] = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

int
menu_choose(const char *title, const char *hint,
    const struct mgr_console_list *l, FILE *in, FILE *out)
{
	char buf[MENU_LINE], safe[128], msg[768], *line;
	int i, clash[2];

	menu_show(title, hint, l, out);
	for (;;) {
		fprintf(out, "console> ");
		fflush(out);
		if (fgets(buf, sizeof(buf), in) == NULL) {
			fprintf(out, "\n");
			return MENU_LEAVE;
		}
		if ((line = trim(buf, in)) == NULL) {
			fprintf(out, "That line is too long.\n");
			continue;
		}
		if (line[0] == '\0')
			continue;
		if (!strcmp(line, "exit") || !strcmp(line, "quit"))
			return MENU_LEAVE;
		if ((i = menu_find(l, line, 1, clash)) >= 0)
			return i;
		text_safe_buf(safe, sizeof(safe), line);
		if (i == MENU_AMBIGUOUS) {
			menu_clash(l, line, clash, msg, sizeof(msg));
			fprintf(out, "%s.\n", msg);
		} else
			fprintf(out, "No console '%s': choose a number from 1 "
			    "to %zu, a name or an id.\n", safe, l->n);
	}
}

void
menu_print_plain(const struct mgr_console_list *l, FILE *out)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		char *id = text_safe(l->v[i].vm_id);
		char *name = text_safe(l->v[i].vm_name);

		fprintf(out, "%s\t%s\n", id, name);
		free(id);
		free(name);
	}
}

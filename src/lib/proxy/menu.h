/* menu.h: the console menu of sercon-proxy-shell: a numbered list sorted by
 * VM name under a configurable title, answering to the number, the name or
 * the id. Every string from the manager goes through text_safe. */
#ifndef SERCON_MENU_H
#define SERCON_MENU_H

#include <stdio.h>
#include "manager/manager.h"

#define MENU_NONE      (-1)    /* no console matches */
#define MENU_AMBIGUOUS (-2)    /* a name that several VMs carry */
#define MENU_LEAVE     (-3)    /* "exit", "quit" or end of input */

/* The console choice names: a number from 1 (when numbers is true), a VM
 * id, or a VM name. Returns its index, MENU_NONE, or MENU_AMBIGUOUS when
 * two consoles answer to it (a duplicated id or name, or a name that is
 * another console's id): clash then holds their indexes. One pass. */
int menu_find(const struct mgr_console_list *l, const char *choice,
    int numbers, int clash[2]);
/* The message for an ambiguous choice, naming both consoles (escaped). */
void menu_clash(const struct mgr_console_list *l, const char *choice,
    const int clash[2], char *buf, size_t len);

/* Shows the menu on out (hint: how to leave a console and get help) and
 * reads choices from in until one matches (a wrong one is reported and
 * asked again). Returns the index chosen or MENU_LEAVE. */
int menu_choose(const char *title, const char *hint,
    const struct mgr_console_list *l, FILE *in, FILE *out);

/* Prints the list as `list` does: VMID<TAB>NAME per line, made safe. */
void menu_print_plain(const struct mgr_console_list *l, FILE *out);

#endif

/* fuzz_inventory.c: libFuzzer target of inv_parse (src/lib/manager/
 * be_file.c), the inventory of backend "file", then the lookup of the
 * consoles of its first user and of an unknown one. What the parser keeps
 * must pass the validators; a console list comes out sorted by name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sshkey.h"
#include "core/text.h"
#include "manager/inventory.h"
#include "fuzz.h"

static void
lookup(const struct inventory *inv, const char *entity_id)
{
	struct mgr_console_list l;
	char err[256];
	size_t i;

	if (inv_consoles_for(inv, entity_id, &l, err, sizeof(err)) != 0)
		return;
	for (i = 0; i < l.n; i++)
		if (!text_valid_host(l.v[i].host) ||
		    !text_valid_console(l.v[i].console) ||
		    (i > 0 && strcmp(l.v[i - 1].vm_name, l.v[i].vm_name) > 0))
			abort();
	mgr_console_list_free(&l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inventory inv;
	char err[256], *copy;
	size_t i;

	if ((copy = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	if (inv_parse(copy, size, "fuzz.json", &inv, err, sizeof(err)) == 0) {
		for (i = 0; i < inv.keys.n; i++)
			if (!text_valid_entity_id(inv.keys.v[i].entity_id) ||
			    !sshkey_type_allowed(inv.keys.v[i].type))
				abort();
		if (inv.keys.n > 0)
			lookup(&inv, inv.keys.v[0].entity_id);
		lookup(&inv, "nobody-in-particular");
		inv_free(&inv);
	}
	free(copy);
	return 0;
}

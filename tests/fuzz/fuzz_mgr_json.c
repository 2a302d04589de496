/* fuzz_mgr_json.c: libFuzzer target of the remote managers' JSON (src/lib/
 * manager/mgr_json.c): key_list and console_list as a command prints them
 * and as the oVirt engine returns them. Input: one byte choosing the
 * reader, then the document (not NUL-terminated, as read from a pipe or
 * socket). Every record handed out must pass the validators again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sshkey.h"
#include "core/text.h"
#include "manager/mgr_json.h"
#include "fuzz.h"

static void
check_keys(const struct mgr_key_list *l)
{
	char err[256];
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!text_valid_entity_id(l->v[i].entity_id) ||
		    !text_valid_entity_name(l->v[i].entity) ||
		    !sshkey_type_allowed(l->v[i].type) ||
		    sshkey_check(l->v[i].type, l->v[i].blob, err,
		    sizeof(err)) != 0)
			abort();
}

static void
check_consoles(const struct mgr_console_list *l, enum mgr_json_source src)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct mgr_console *c = &l->v[i];

		if (!text_valid_entity_id(c->vm_id) ||
		    !text_valid_entity_name(c->vm_name) ||
		    !text_valid_host(c->host) ||
		    !text_valid_console(c->console))
			abort();
		if (src == MGR_JSON_ENGINE && (strncmp(c->console, c->vm_id,
		    strlen(c->vm_id)) != 0 ||
		    strcmp(c->console + strlen(c->vm_id), ".sock") != 0))
			abort();
		/* sorted by name */
		if (i > 0 && strcmp(l->v[i - 1].vm_name, c->vm_name) > 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mgr_key_list keys;
	struct mgr_console_list cons;
	enum mgr_json_source src;
	char err[256], *copy;
	size_t len;

	if (size < 1)
		return 0;
	/* An exact-size copy, so ASan sees a read past the end. */
	len = size - 1;
	if ((copy = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(copy, data + 1, len);
	switch (data[0] % 3) {
	case 0:
		memset(&keys, 0, sizeof(keys));
		if (mgr_json_keys(copy, len, &keys, err, sizeof(err)) == 0)
			check_keys(&keys);
		mgr_key_list_free(&keys);
		break;
	default:
		src = data[0] % 3 == 1 ? MGR_JSON_COMMAND : MGR_JSON_ENGINE;
		memset(&cons, 0, sizeof(cons));
		if (mgr_json_consoles(copy, len, src, &cons, err,
		    sizeof(err)) == 0)
			check_consoles(&cons, src);
		mgr_console_list_free(&cons);
		break;
	}
	free(copy);
	return 0;
}

/* fuzz_mgr_json.c: libFuzzer target of the remote managers' JSON (src/lib/
 * manager/mgr_json.c): key_list and console_list as a command prints them
 * and as the oVirt engine returns them, read by the streaming scanner.
 * Input: one byte choosing the reader (and, for keys, seeding the cuts),
 * then the document, not NUL-terminated, as read from a pipe or socket.
 * Checked: every record kept passes the validators again, consoles come
 * sorted, and a key list fed in pieces (cut where a PRNG says) gives the
 * same verdict and the same keys as the whole answer at once. */
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
		if (mgr_key_check(l->v[i].entity_id, l->v[i].entity,
		    l->v[i].type, l->v[i].blob, err, sizeof(err)) != 0 ||
		    !sshkey_type_allowed(l->v[i].type))
			abort();
}

static void
same_keys(const struct mgr_key_list *a, const struct mgr_key_list *b)
{
	size_t i;

	if (a->n != b->n)
		abort();
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i].entity_id, b->v[i].entity_id) != 0 ||
		    strcmp(a->v[i].entity, b->v[i].entity) != 0 ||
		    strcmp(a->v[i].type, b->v[i].type) != 0 ||
		    strcmp(a->v[i].blob, b->v[i].blob) != 0)
			abort();
}

/* The key list fed in pieces of 1..maxcut bytes. */
static int
keys_in_pieces(const char *buf, size_t len, uint32_t seed, size_t maxcut,
    struct mgr_key_list *out)
{
	struct mgr_key_sink sink = mgr_key_list_sink(out);
	struct mgr_json_stream *s = mgr_json_keys_begin(&sink);
	char err[256];

	while (len > 0) {
		size_t n;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 8) % maxcut + 1;
		if (n > len)
			n = len;
		if (mgr_json_feed(s, buf, n, err, sizeof(err)) != 0) {
			mgr_json_free(s);
			mgr_key_list_free(out);
			return -1;
		}
		buf += n;
		len -= n;
	}
	if (mgr_json_keys_end(s, err, sizeof(err)) != 0) {
		mgr_key_list_free(out);
		return -1;
	}
	return 0;
}

static void
check_consoles(const struct mgr_console_list *l, enum mgr_json_source src)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct mgr_console *c = &l->v[i];

		if (!text_valid_entity_id(c->vm_id) ||
		    !text_valid_vm_name(c->vm_name) ||
		    !text_valid_host(c->host) ||
		    !text_valid_console(c->console))
			abort();
		if (src == MGR_JSON_ENGINE && (strncmp(c->console, c->vm_id,
		    strlen(c->vm_id)) != 0 ||
		    strcmp(c->console + strlen(c->vm_id), ".sock") != 0))
			abort();
		if (i > 0 && strcmp(l->v[i - 1].vm_name, c->vm_name) > 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mgr_key_list whole, cut;
	struct mgr_console_list cons;
	enum mgr_json_source src;
	char err[256], *copy;
	size_t len;
	int rc;

	if (size < 1)
		return 0;
	/* An exact-size copy, so ASan sees a read past the end. */
	len = size - 1;
	if ((copy = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(copy, data + 1, len);
	switch (data[0] % 3) {
	case 0:
		memset(&whole, 0, sizeof(whole));
		memset(&cut, 0, sizeof(cut));
		rc = mgr_json_keys(copy, len, &whole, err, sizeof(err));
		if (rc == 0)
			check_keys(&whole);
		if (keys_in_pieces(copy, len, data[0], data[0] / 3 % 16 + 1,
		    &cut) != rc)
			abort();
		same_keys(&whole, &cut);
		mgr_key_list_free(&whole);
		mgr_key_list_free(&cut);
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

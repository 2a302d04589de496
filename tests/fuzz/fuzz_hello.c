/* fuzz_hello.c: libFuzzer target of the session hello that sercon-consoled
 * reads from every client of its socket (src/lib/host/hello.c:
 * hello_parse, replay_parse). A hello that parses is formatted again and
 * must parse to the same request (a status request carries nothing
 * else); a replay spelling likewise. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/hello.h"
#include "fuzz.h"

static void
same(const struct sess_hello *a, const struct sess_hello *b)
{
	if (a->request != b->request)
		abort();
	if (a->request == HELLO_STATUS)
		return;                 /* carries nothing else */
	if (a->mode != b->mode ||
	    a->replay.kind != b->replay.kind ||
	    a->replay.lines != b->replay.lines ||
	    strcmp(a->console, b->console) != 0 ||
	    strcmp(a->entity_id, b->entity_id) != 0 ||
	    strcmp(a->entity, b->entity) != 0 ||
	    strcmp(a->peer, b->peer) != 0)
		abort();
}

static void
check_replay(const char *s)
{
	struct replay_spec r, again;
	char buf[32];

	if (replay_parse(s, &r) != 0)
		return;
	replay_format(&r, buf, sizeof(buf));
	if (replay_parse(buf, &again) != 0 || again.kind != r.kind ||
	    again.lines != r.lines)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), err[256], buf[4096];
	struct sess_hello h, again;
	int n;

	if (hello_parse(text, &h, err, sizeof(err)) == 0) {
		if ((n = hello_format(&h, buf, sizeof(buf))) < 0 ||
		    (size_t)n >= sizeof(buf) || strlen(buf) != (size_t)n)
			abort();
		if (hello_parse(buf, &again, err, sizeof(err)) != 0)
			abort();
		same(&h, &again);
	}
	check_replay(text);
	free(text);
	return 0;
}

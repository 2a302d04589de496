/* ring.c: the scrollback ring of ring.h. */
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "host/ring.h"

void
ring_init(struct ring *r, size_t cap)
{
	memset(r, 0, sizeof(*r));
	r->cap = cap;
}

void
ring_free(struct ring *r)
{
	free(r->buf);
	r->buf = NULL;
}

void
ring_put(struct ring *r, const uint8_t *p, size_t n)
{
	size_t at, first;

	if (r->buf == NULL)
		r->buf = xmalloc(r->cap);
	if (n > r->cap) {
		/* Only the newest cap bytes can be kept. */
		r->total += n - r->cap;
		p += n - r->cap;
		n = r->cap;
	}
	at = (size_t)(r->total % r->cap);
	first = r->cap - at < n ? r->cap - at : n;
	memcpy(r->buf + at, p, first);
	memcpy(r->buf, p + first, n - first);
	r->total += n;
}

uint64_t
ring_start(const struct ring *r)
{
	/* A ring that never got a byte holds nothing. */
	if (r->buf == NULL)
		return r->total;
	return r->total > r->cap ? r->total - r->cap : 0;
}

size_t
ring_used(const struct ring *r)
{
	return (size_t)(r->total - ring_start(r));
}

size_t
ring_peek(const struct ring *r, uint64_t off, const uint8_t **p)
{
	size_t at, n;

	if (off < ring_start(r) || off >= r->total)
		return 0;
	at = (size_t)(off % r->cap);
	n = (size_t)(r->total - off);
	if (n > r->cap - at)
		n = r->cap - at;
	*p = r->buf + at;
	return n;
}

static uint8_t
ring_byte(const struct ring *r, uint64_t off)
{
	return r->buf[off % r->cap];
}

uint64_t
ring_lines_back(const struct ring *r, unsigned lines)
{
	uint64_t start = ring_start(r), off = r->total;
	unsigned seen = 0;

	if (lines == 0 || off == start)
		return r->total;
	/* A final newline ends the last line; it starts none. */
	if (ring_byte(r, off - 1) == '\n')
		off--;
	while (off > start) {
		if (ring_byte(r, off - 1) == '\n' && ++seen == lines)
			return off;
		off--;
	}
	return start;
}

/* ring.h: a console's scrollback, the last `cap` bytes of its output with
 * a running offset (bytes ever written). Readers (sessions, the replay)
 * hold offsets into that stream, not copies, so a slow reader costs nothing
 * but the distance it falls behind, and learns how far when it falls out. */
#ifndef SERCON_RING_H
#define SERCON_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring {
	uint8_t *buf;          /* allocated at the first byte: a console
	                          that never prints costs nothing */
	size_t cap;
	uint64_t total;        /* offset one past the newest byte */
};

void ring_init(struct ring *r, size_t cap);
void ring_free(struct ring *r);
/* Appends n bytes, overwriting the oldest. */
void ring_put(struct ring *r, const uint8_t *p, size_t n);
/* The oldest offset still held. */
uint64_t ring_start(const struct ring *r);
/* Bytes held. */
size_t ring_used(const struct ring *r);
/* Points *p at the bytes from offset off (ring_start <= off <= total) and
 * returns how many follow contiguously (0 at the end). */
size_t ring_peek(const struct ring *r, uint64_t off, const uint8_t **p);
/* The offset at which the last `lines` lines held begin; a trailing line
 * without its newline counts as one. 0 lines: the end. */
uint64_t ring_lines_back(const struct ring *r, unsigned lines);

#endif

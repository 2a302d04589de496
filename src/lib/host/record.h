/* record.h: asciicast v2 recordings of a console (record = yes): output
 * events, input events when record_input is on, and marker events ("m")
 * for attach, detach, takeover, BREAK, console closed and back. One file
 * at a time per console, rotated past record_max bytes; the oldest files
 * of the console are removed when they pass record_total. */
#ifndef SERCON_RECORD_H
#define SERCON_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

struct rec;

/* Opens a new recording of console (a valid console name) in record_dir.
 * Returns NULL, logged, when it cannot. */
struct rec *rec_open(const struct sercon_config *cfg, const char *console);
void rec_close(struct rec *r);
void rec_output(struct rec *r, const uint8_t *p, size_t n);
void rec_input(struct rec *r, const uint8_t *p, size_t n);
void rec_marker(struct rec *r, const char *text);

/* Appends s (n bytes) to out as the inside of a JSON string: valid UTF-8
 * stays, controls become \uXXXX, a byte of broken UTF-8 becomes the
 * character of its Latin-1 value. *pend holds an incomplete sequence
 * between calls (up to 3 bytes, *npend of them). Returns the bytes written
 * to out, which must hold 6 * (n + 3) bytes. Exposed for the unit tests. */
size_t rec_json_escape(const uint8_t *s, size_t n, uint8_t *pend,
    size_t *npend, char *out);

#endif

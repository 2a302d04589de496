/* consoled.h: sercon-consoled, the host's console daemon (sercon-consoled(8),
 * docs/design.md "Host"). One single-threaded epoll loop holds every VM
 * console socket in console_dir, keeps each console's recent output in a
 * ring, and shares the console among the sessions sercon-host-shell
 * attaches over attach_socket: one writer, read-only watchers. */
#ifndef SERCON_CONSOLED_H
#define SERCON_CONSOLED_H

#include "core/config.h"

/* Runs until SIGTERM/SIGINT; returns an exit status (0, or 1 when the
 * daemon could not start). */
int consoled_run(const struct sercon_config *cfg);

#endif

/* fuzz.h: what every libFuzzer target of tests/fuzz shares: quiet logging
 * (no datagram per parsed entry into the machine's syslog) and the fuzzer's
 * bytes as a C string or as a file, for the parsers that take one of those.
 * Included once by each target, which stays one file. */
#ifndef SERCON_FUZZ_H
#define SERCON_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Every target (one translation unit each) starts the same way: logging
 * still formats every line (text_safe_buf is fuzzed with it), but sends it
 * to a socket that does not exist. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("sercon-fuzz");
	log_set_socket("/nonexistent/sercon-fuzz-log");
	log_set_stderr(false);
	return 0;
}

/* A NUL-terminated copy of the input. Inputs holding a NUL are cut there:
 * the parsers that take a C string never see past it anyway. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A file holding the input, for the readers that take a path. One
 * regular file per process (in /dev/shm, memory, when there is one),
 * rewritten for each input and removed at exit. A memfd's /proc/self/fd
 * path would not do: readers open with O_NOFOLLOW, and that is a link. */
static char fuzz_path[64];

static inline void
fuzz_file_remove(void)
{
	unlink(fuzz_path);
}

static inline const char *
fuzz_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	size_t off = 0;

	if (fd < 0) {
		snprintf(fuzz_path, sizeof(fuzz_path), "%s/sercon-fuzz.XXXXXX",
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if ((fd = mkstemp(fuzz_path)) < 0)
			abort();
		atexit(fuzz_file_remove);
	}
	if (ftruncate(fd, 0) != 0)
		abort();
	while (off < size) {
		ssize_t n = pwrite(fd, data + off, size - off, (off_t)off);

		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	return fuzz_path;
}

#endif

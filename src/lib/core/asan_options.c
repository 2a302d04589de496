/* asan_options.c: linked only into --enable-sanitizers builds. Leaks are
 * valgrind's job there (tools/valgrind-check): LeakSanitizer's exit-time
 * scan, in a helper that sshd started as the sercon user, was seen to spin
 * forever after the session closed in our test sandbox. A failed allocation
 * returns NULL, as without the sanitizer, so that xmalloc.c's one fatal
 * path is what runs (test_toolkit checks it). ASAN_OPTIONS in the
 * environment still overrides these (the unit tests turn leak checks on). */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "detect_leaks=0:allocator_may_return_null=1";
}

# mk/fuzz.mk: the libFuzzer targets of tests/fuzz, one per parser or decoder
# that reads untrusted bytes. They are EXTRA_PROGRAMS: the normal (gcc)
# build never makes them. `make fuzz` builds them in a tree configured with
# clang and -fsanitize=fuzzer-no-link (tools/fuzz makes one, build-fuzz/);
# anywhere else it hands over to tools/fuzz. tools/fuzz also runs them.
fuzz_targets = \
	tests/fuzz/fuzz_args tests/fuzz/fuzz_host_args \
	tests/fuzz/fuzz_proxy_args tests/fuzz/fuzz_text \
	tests/fuzz/fuzz_sshkey tests/fuzz/fuzz_mgr_json \
	tests/fuzz/fuzz_inventory tests/fuzz/fuzz_config \
	tests/fuzz/fuzz_keyindex tests/fuzz/fuzz_sshcert \
	tests/fuzz/fuzz_pki_cert tests/fuzz/fuzz_sproto tests/fuzz/fuzz_menu \
	tests/fuzz/fuzz_hello tests/fuzz/fuzz_escape
EXTRA_PROGRAMS = $(fuzz_targets)

fuzz_cflags = $(AM_CFLAGS) $(JANSSON_CFLAGS)
fuzz_ldadd = $(SERCON_LIBS)
fuzz_ldflags = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_args_SOURCES = tests/fuzz/fuzz_args.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_args_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_args_LDADD = $(fuzz_ldadd)
tests_fuzz_fuzz_args_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_host_args_SOURCES = tests/fuzz/fuzz_host_args.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_host_args_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_host_args_LDADD = $(fuzz_ldadd)
tests_fuzz_fuzz_host_args_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_proxy_args_SOURCES = tests/fuzz/fuzz_proxy_args.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_proxy_args_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_proxy_args_LDADD = $(fuzz_ldadd)
tests_fuzz_fuzz_proxy_args_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_text_SOURCES = tests/fuzz/fuzz_text.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_text_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_text_LDADD = $(fuzz_ldadd)
tests_fuzz_fuzz_text_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_sshkey_SOURCES = tests/fuzz/fuzz_sshkey.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_sshkey_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_sshkey_LDADD = $(fuzz_ldadd)
tests_fuzz_fuzz_sshkey_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_mgr_json_SOURCES = tests/fuzz/fuzz_mgr_json.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_mgr_json_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_mgr_json_LDADD = $(fuzz_ldadd)
tests_fuzz_fuzz_mgr_json_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_inventory_SOURCES = tests/fuzz/fuzz_inventory.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_inventory_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_inventory_LDADD = $(fuzz_ldadd)
tests_fuzz_fuzz_inventory_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_config_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_config_LDADD = $(fuzz_ldadd)
tests_fuzz_fuzz_config_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_keyindex_SOURCES = tests/fuzz/fuzz_keyindex.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_keyindex_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_keyindex_LDADD = $(fuzz_ldadd)
tests_fuzz_fuzz_keyindex_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_sshcert_SOURCES = tests/fuzz/fuzz_sshcert.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_sshcert_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_sshcert_LDADD = $(fuzz_ldadd)
tests_fuzz_fuzz_sshcert_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_pki_cert_SOURCES = tests/fuzz/fuzz_pki_cert.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_pki_cert_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_pki_cert_LDADD = $(fuzz_ldadd)
tests_fuzz_fuzz_pki_cert_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_sproto_SOURCES = tests/fuzz/fuzz_sproto.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_sproto_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_sproto_LDADD = $(fuzz_ldadd)
tests_fuzz_fuzz_sproto_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_menu_SOURCES = tests/fuzz/fuzz_menu.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_menu_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_menu_LDADD = $(fuzz_ldadd)
tests_fuzz_fuzz_menu_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_hello_SOURCES = tests/fuzz/fuzz_hello.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_hello_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_hello_LDADD = $(fuzz_ldadd)
tests_fuzz_fuzz_hello_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_escape_SOURCES = tests/fuzz/fuzz_escape.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_escape_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_escape_LDADD = $(fuzz_ldadd)
tests_fuzz_fuzz_escape_LDFLAGS = $(fuzz_ldflags)

# The seed corpora and dictionaries (directories are copied whole).
EXTRA_DIST += tools/fuzz tests/fuzz/corpus tests/fuzz/dict tests/fuzz/README.md

# Only a clang tree built for fuzzing can link the targets; a normal tree
# hands over to tools/fuzz, which configures build-fuzz/ beside it.
.PHONY: fuzz fuzz-smoke
fuzz:
	@case "`$(CC) --version 2>/dev/null`/$(CFLAGS)" in \
	*clang*/*fuzzer-no-link*) \
		$(MAKE) $(AM_MAKEFLAGS) $(fuzz_targets) ;; \
	*) $(top_srcdir)/tools/fuzz build ;; \
	esac

# Every target for FUZZ_SECONDS (18) from its seed corpus, as tools/check does.
fuzz-smoke:
	$(top_srcdir)/tools/fuzz smoke $(FUZZ_SECONDS)

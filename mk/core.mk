# mk/core.mk: the shared core (src/lib), one static library every program links.
noinst_LIBRARIES += src/lib/libsercon.a
src_lib_libsercon_a_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS) \
	$(CRYPTO_CFLAGS) $(INIH_CFLAGS)
src_lib_libsercon_a_SOURCES = \
	src/lib/log.c src/lib/log.h \
	src/lib/config.c src/lib/config.h \
	src/lib/args.c src/lib/args.h \
	src/lib/text.c src/lib/text.h \
	src/lib/child.c src/lib/child.h \
	src/lib/atomic.c src/lib/atomic.h \
	src/lib/term.c src/lib/term.h \
	src/lib/manager.h src/lib/backend.h src/lib/cache.h

# Linked as an object, not from the archive: the sanitizer runtime's own
# weak default would otherwise satisfy the reference first.
if ENABLE_SANITIZERS
src_lib_libsercon_a_SOURCES += src/lib/asan_options.c
sanitizer_obj = src/lib/libsercon_a-asan_options.$(OBJEXT)
endif

# What a program links to use the library.
SERCON_LIBS = $(sanitizer_obj) src/lib/libsercon.a $(CURL_LIBS) $(JANSSON_LIBS) \
	$(CRYPTO_LIBS) $(INIH_LIBS)


if HAVE_CMOCKA
unit_ldadd = $(SERCON_LIBS) $(CMOCKA_LIBS)
unit_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(JANSSON_CFLAGS)
endif

if HAVE_CMOCKA
core_unit_tests = tests/unit/test_args tests/unit/test_text \
	tests/unit/test_config tests/unit/test_log tests/unit/test_child
check_PROGRAMS += $(core_unit_tests)
TESTS += $(core_unit_tests)
tests_unit_test_args_CFLAGS = $(unit_cflags)
tests_unit_test_args_LDADD = $(unit_ldadd)
tests_unit_test_text_CFLAGS = $(unit_cflags)
tests_unit_test_text_LDADD = $(unit_ldadd)
tests_unit_test_config_CFLAGS = $(unit_cflags)
tests_unit_test_config_LDADD = $(unit_ldadd)
tests_unit_test_log_CFLAGS = $(unit_cflags)
tests_unit_test_log_LDADD = $(unit_ldadd)
tests_unit_test_child_CFLAGS = $(unit_cflags)
tests_unit_test_child_LDADD = $(unit_ldadd)
endif

# The defaults file, and the directories an admin fills.
nodist_pkgdata_DATA += conf/sercon.conf
CLEANFILES += conf/sercon.conf
EXTRA_DIST += conf/sercon.conf.in
conf/sercon.conf: conf/sercon.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf && $(do_subst) < $(srcdir)/conf/sercon.conf.in > $@

install-data-local: install-core-dirs
install-core-dirs:
	$(MKDIR_P) $(DESTDIR)$(pkgsysconfdir)/conf.d
.PHONY: install-core-dirs

dist_man_MANS += man/sercon.7 man/sercon.conf.5

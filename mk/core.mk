# mk/core.mk: src/lib/core, the toolkit every program shares (allocation,
# config, log, text, args, child, term, files, clock, public keys, the wire
# contracts, the mains' prologue). It includes nothing from the other parts.
# sshkey_fp.c alone needs libcrypto: a program that fingerprints keys links
# $(CRYPTO_LIBS) (the manager part does), the others never load it.
noinst_LIBRARIES += src/lib/core/libsercon_core.a
src_lib_core_libsercon_core_a_CFLAGS = $(AM_CFLAGS) $(INIH_CFLAGS) \
	$(CRYPTO_CFLAGS)
src_lib_core_libsercon_core_a_SOURCES = \
	src/lib/core/xmalloc.c src/lib/core/xmalloc.h \
	src/lib/core/log.c src/lib/core/log.h \
	src/lib/core/file.c src/lib/core/file.h \
	src/lib/core/mtime.c src/lib/core/mtime.h \
	src/lib/core/prog.c src/lib/core/prog.h \
	src/lib/core/contract.h \
	src/lib/core/config.c src/lib/core/config.h \
	src/lib/core/args.c src/lib/core/args.h \
	src/lib/core/escape.c src/lib/core/escape.h \
	src/lib/core/text.c src/lib/core/text.h \
	src/lib/core/child.c src/lib/core/child.h \
	src/lib/core/atomic.c src/lib/core/atomic.h \
	src/lib/core/term.c src/lib/core/term.h \
	src/lib/core/sshkey.c src/lib/core/sshkey.h src/lib/core/sshkey_fp.c \
	src/lib/core/sproto.c src/lib/core/sproto.h

# Linked as an object, not from the archive: the sanitizer runtime's own
# weak default would otherwise satisfy the reference first.
if ENABLE_SANITIZERS
src_lib_core_libsercon_core_a_SOURCES += src/lib/core/asan_options.c
sanitizer_obj = src/lib/core/libsercon_core_a-asan_options.$(OBJEXT)
endif

# What a program links, highest part first. Each part's fragment defines
# its archive; a part's code may use only the parts after it in this list.
CORE_LIBS = src/lib/core/libsercon_core.a $(INIH_LIBS)
# (libcurl is not linked: manager/http.c opens it when it needs it)
MANAGER_LIBS = src/lib/manager/libsercon_manager.a $(CORE_LIBS) \
	$(DL_LIBS) $(JANSSON_LIBS) $(CRYPTO_LIBS)
SERCON_LIBS = $(sanitizer_obj) src/lib/setup/libsercon_setup.a \
	src/lib/host/libsercon_host.a src/lib/proxy/libsercon_proxy.a \
	$(MANAGER_LIBS)


# The sercon account's login shell (see its main.c): static like
# sercon-proxy-wait, since sshd starts it for every session.
pkglibexec_PROGRAMS += src/login-shell/sercon-login-shell
src_login_shell_sercon_login_shell_SOURCES = src/login-shell/main.c
src_login_shell_sercon_login_shell_LDADD = $(sanitizer_obj) $(CORE_LIBS)
if !ENABLE_SANITIZERS
src_login_shell_sercon_login_shell_LDFLAGS = -static-pie -Wl,-z,relro \
	-Wl,-z,now
endif

if HAVE_CMOCKA
unit_ldadd = $(SERCON_LIBS) $(CMOCKA_LIBS)
unit_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(JANSSON_CFLAGS)
endif

if HAVE_CMOCKA
core_unit_tests = tests/unit/test_args tests/unit/test_text \
	tests/unit/test_config tests/unit/test_log tests/unit/test_child \
	tests/unit/test_sshkey tests/unit/test_atomic tests/unit/test_toolkit
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
tests_unit_test_sshkey_SOURCES = tests/unit/test_sshkey.c tests/unit/keys_fixture.h
EXTRA_DIST += tests/unit/unit_util.h
tests_unit_test_sshkey_CFLAGS = $(unit_cflags)
tests_unit_test_sshkey_LDADD = $(unit_ldadd)
tests_unit_test_atomic_CFLAGS = $(unit_cflags)
tests_unit_test_atomic_LDADD = $(unit_ldadd)
tests_unit_test_toolkit_CFLAGS = $(unit_cflags)
tests_unit_test_toolkit_LDADD = $(unit_ldadd)
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

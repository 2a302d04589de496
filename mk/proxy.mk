# mk/proxy.mk: src/lib/proxy (dial, menu, the keys helper's lines, the
# shell's commands) and the four proxy programs, the proxy sshd. Uses
# manager and core.
noinst_LIBRARIES += src/lib/proxy/libsercon_proxy.a
src_lib_proxy_libsercon_proxy_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
src_lib_proxy_libsercon_proxy_a_SOURCES = \
	src/lib/proxy/dial.c src/lib/proxy/dial.h \
	src/lib/proxy/escape.c src/lib/proxy/escape.h \
	src/lib/proxy/session.c src/lib/proxy/session.h \
	src/lib/proxy/menu.c src/lib/proxy/menu.h \
	src/lib/proxy/proxy_keys.c src/lib/proxy/proxy_keys.h \
	src/lib/proxy/proxy_shell.c src/lib/proxy/proxy_shell.h

pkglibexec_PROGRAMS += src/proxy-keys/sercon-proxy-keys \
	src/proxy-fetch/sercon-proxy-fetch src/proxy-shell/sercon-proxy-shell
# sshd runs the keys helper once per offered key and the shell once per
# session: both link the remote step that runs sercon-proxy-fetch
# (remote_exec.c, see mk/manager.mk), so they load no libcurl or libcrypto,
# whose loading alone costs more than the work.
lean_ldadd = $(sanitizer_obj) src/lib/proxy/libsercon_proxy.a \
	src/lib/manager/libsercon_manager.a $(CORE_LIBS) $(JANSSON_LIBS)
src_proxy_keys_sercon_proxy_keys_SOURCES = src/proxy-keys/main.c \
	src/lib/manager/remote_exec.c
src_proxy_keys_sercon_proxy_keys_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
src_proxy_keys_sercon_proxy_keys_LDADD = $(lean_ldadd)
src_proxy_fetch_sercon_proxy_fetch_SOURCES = src/proxy-fetch/main.c
src_proxy_fetch_sercon_proxy_fetch_LDADD = $(sanitizer_obj) $(MANAGER_LIBS)
# What sercon-proxy-shell becomes for the length of a session: small (the
# configuration, the log, the text rules, dial, the escapes and the session
# loop; the manager is asked through sercon-proxy-shell locate when the VM
# moves) so that a session holds little on the proxy beside its ssh. It
# links libc dynamically: libc's pages are then shared with every other
# process on the proxy, where a static copy is shared only among the
# sessions (measured: 12 KiB less per session at ten sessions, see
# docs/bench.md); libinih comes from its archive when there is one.
pkglibexec_PROGRAMS += src/proxy-wait/sercon-proxy-wait
src_proxy_wait_sercon_proxy_wait_SOURCES = src/proxy-wait/main.c
src_proxy_wait_sercon_proxy_wait_LDADD = $(sanitizer_obj) \
	src/lib/proxy/libsercon_proxy.a src/lib/core/libsercon_core.a \
	$(INIH_WAIT_LIBS)
src_proxy_shell_sercon_proxy_shell_SOURCES = src/proxy-shell/main.c \
	src/lib/manager/remote_exec.c
src_proxy_shell_sercon_proxy_shell_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
src_proxy_shell_sercon_proxy_shell_LDADD = $(lean_ldadd)

dist_man_MANS += man/sercon-proxy-keys.8 man/sercon-proxy-shell.8

proxyconfdir = $(pkgdatadir)/proxy
nodist_proxyconf_DATA = conf/proxy/sshd_config conf/proxy/ssh_config
proxydefaultdir = $(sysconfdir)/default
nodist_proxydefault_DATA = conf/proxy/sercon-proxy-sshd
proxyunitdir = $(systemdsystemunitdir)
nodist_proxyunit_DATA = systemd/sercon-proxy-sshd.service

conf/proxy/sshd_config: $(srcdir)/conf/proxy/sshd_config.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf/proxy && $(do_subst) < $(srcdir)/conf/proxy/sshd_config.in > $@
conf/proxy/ssh_config: $(srcdir)/conf/proxy/ssh_config.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf/proxy && $(do_subst) < $(srcdir)/conf/proxy/ssh_config.in > $@
conf/proxy/sercon-proxy-sshd: $(srcdir)/conf/proxy/sercon-proxy-sshd.default.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf/proxy && $(do_subst) < $(srcdir)/conf/proxy/sercon-proxy-sshd.default.in > $@
systemd/sercon-proxy-sshd.service: $(srcdir)/systemd/sercon-proxy-sshd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(do_subst) < $(srcdir)/systemd/sercon-proxy-sshd.service.in > $@

CLEANFILES += conf/proxy/sshd_config conf/proxy/ssh_config \
	conf/proxy/sercon-proxy-sshd systemd/sercon-proxy-sshd.service
EXTRA_DIST += conf/proxy/sshd_config.in conf/proxy/ssh_config.in \
	conf/proxy/sercon-proxy-sshd.default.in \
	systemd/sercon-proxy-sshd.service.in \
	tests/integration/test_proxy.py tools/bench/proxy.py \
	tests/integration/test_session.py tests/integration/test_migration.py \
	tests/integration/test_interop.py tests/ovirt_host_shell.py

if HAVE_CMOCKA
proxy_unit_tests = tests/unit/test_menu tests/unit/test_dial \
	tests/unit/test_escape tests/unit/test_pshell
check_PROGRAMS += $(proxy_unit_tests)
TESTS += $(proxy_unit_tests)
tests_unit_test_menu_SOURCES = tests/unit/test_menu.c
tests_unit_test_menu_CFLAGS = $(unit_cflags)
tests_unit_test_menu_LDADD = $(unit_ldadd)
tests_unit_test_dial_SOURCES = tests/unit/test_dial.c tests/unit/keys_fixture.h
tests_unit_test_dial_CFLAGS = $(unit_cflags)
tests_unit_test_dial_LDADD = $(unit_ldadd)
tests_unit_test_escape_SOURCES = tests/unit/test_escape.c
tests_unit_test_escape_CFLAGS = $(unit_cflags)
tests_unit_test_escape_LDADD = $(unit_ldadd)
tests_unit_test_pshell_CFLAGS = $(unit_cflags)
tests_unit_test_pshell_LDADD = $(unit_ldadd)
endif

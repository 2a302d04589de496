# mk/host.mk: src/lib/host (relay, console lock, the host shell) and
# sercon-host-shell, the host sshd. Uses core only.
noinst_LIBRARIES += src/lib/host/libsercon_host.a
src_lib_host_libsercon_host_a_SOURCES = \
	src/lib/host/relay.c src/lib/host/relay.h \
	src/lib/host/conlock.c src/lib/host/conlock.h \
	src/lib/host/host_args.c src/lib/host/host_shell.c src/lib/host/host_shell.h \
	src/lib/host/ring.c src/lib/host/ring.h \
	src/lib/host/hello.c src/lib/host/hello.h \
	src/lib/host/record.c src/lib/host/record.h \
	src/lib/host/attach.c src/lib/host/attach.h \
	src/lib/host/consoled.h src/lib/host/cd_int.h \
	src/lib/host/cd_loop.c src/lib/host/cd_console.c src/lib/host/cd_session.c

pkglibexec_PROGRAMS += src/host-shell/sercon-host-shell
src_host_shell_sercon_host_shell_SOURCES = src/host-shell/main.c
src_host_shell_sercon_host_shell_LDADD = $(sanitizer_obj) \
	src/lib/host/libsercon_host.a $(CORE_LIBS)

# sercon-consoled: the host's console daemon.
pkglibexec_PROGRAMS += src/consoled/sercon-consoled
src_consoled_sercon_consoled_SOURCES = src/consoled/main.c
src_consoled_sercon_consoled_LDADD = $(sanitizer_obj) \
	src/lib/host/libsercon_host.a $(CORE_LIBS)

dist_man_MANS += man/sercon-host-shell.8 man/sercon-consoled.8

# The host daemon's configuration, paths filled in at make time.
hostconfdir = $(pkgdatadir)/host
nodist_hostconf_DATA = conf/host/sshd_config conf/host/authorized_principals
hostdefaultdir = $(sysconfdir)/default
nodist_hostdefault_DATA = conf/host/sercon-host-sshd
hostunitdir = $(systemdsystemunitdir)
nodist_hostunit_DATA = systemd/sercon-host-sshd.service \
	systemd/sercon-consoled.service

conf/host/sshd_config: conf/host/sshd_config.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf/host && $(do_subst) < $(srcdir)/conf/host/sshd_config.in > $@
conf/host/authorized_principals: conf/host/authorized_principals.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf/host && $(do_subst) < $(srcdir)/conf/host/authorized_principals.in > $@
conf/host/sercon-host-sshd: conf/host/sercon-host-sshd.default.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf/host && $(do_subst) < $(srcdir)/conf/host/sercon-host-sshd.default.in > $@
systemd/sercon-consoled.service: systemd/sercon-consoled.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(do_subst) < $(srcdir)/systemd/sercon-consoled.service.in > $@
systemd/sercon-host-sshd.service: systemd/sercon-host-sshd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(do_subst) < $(srcdir)/systemd/sercon-host-sshd.service.in > $@

CLEANFILES += conf/host/sshd_config conf/host/authorized_principals \
	conf/host/sercon-host-sshd systemd/sercon-host-sshd.service \
	systemd/sercon-consoled.service
EXTRA_DIST += conf/host/sshd_config.in conf/host/authorized_principals.in \
	conf/host/sercon-host-sshd.default.in \
	systemd/sercon-host-sshd.service.in systemd/sercon-consoled.service.in \
	tests/integration/test_host.py tests/integration/test_consoled.py \
	tools/bench/host.py tools/bench/consoled.py

if HAVE_CMOCKA
# test_sproto tests core/sproto.c, which the host side owns the tests of.
host_unit_tests = tests/unit/test_relay tests/unit/test_conlock \
	tests/unit/test_host_args tests/unit/test_sproto tests/unit/test_ring \
	tests/unit/test_hello tests/unit/test_record
check_PROGRAMS += $(host_unit_tests)
TESTS += $(host_unit_tests)
tests_unit_test_sproto_CFLAGS = $(unit_cflags)
tests_unit_test_sproto_LDADD = $(unit_ldadd)
tests_unit_test_ring_CFLAGS = $(unit_cflags)
tests_unit_test_ring_LDADD = $(unit_ldadd)
tests_unit_test_hello_CFLAGS = $(unit_cflags)
tests_unit_test_hello_LDADD = $(unit_ldadd)
tests_unit_test_record_CFLAGS = $(unit_cflags)
tests_unit_test_record_LDADD = $(unit_ldadd)
tests_unit_test_relay_CFLAGS = $(unit_cflags)
tests_unit_test_relay_LDADD = $(unit_ldadd)
tests_unit_test_conlock_CFLAGS = $(unit_cflags)
tests_unit_test_conlock_LDADD = $(unit_ldadd)
tests_unit_test_host_args_CFLAGS = $(unit_cflags)
tests_unit_test_host_args_LDADD = $(unit_ldadd)
endif

# mk/host.mk: src/lib/host (relay, console lock, the host shell) and
# sercon-host-shell, the host sshd. Uses core only.
noinst_LIBRARIES += src/lib/host/libsercon_host.a
src_lib_host_libsercon_host_a_SOURCES = \
	src/lib/host/relay.c src/lib/host/relay.h \
	src/lib/host/conlock.c src/lib/host/conlock.h \
	src/lib/host/host_args.c src/lib/host/host_shell.c src/lib/host/host_shell.h

pkglibexec_PROGRAMS += src/host-shell/sercon-host-shell
src_host_shell_sercon_host_shell_SOURCES = src/host-shell/main.c
src_host_shell_sercon_host_shell_LDADD = $(sanitizer_obj) \
	src/lib/host/libsercon_host.a $(CORE_LIBS)

dist_man_MANS += man/sercon-host-shell.8

# The host daemon's configuration, paths filled in at make time.
hostconfdir = $(pkgdatadir)/host
nodist_hostconf_DATA = conf/host/sshd_config conf/host/authorized_principals
hostdefaultdir = $(sysconfdir)/default
nodist_hostdefault_DATA = conf/host/sercon-host-sshd
hostunitdir = $(systemdsystemunitdir)
nodist_hostunit_DATA = systemd/sercon-host-sshd.service

conf/host/sshd_config: conf/host/sshd_config.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf/host && $(do_subst) < $(srcdir)/conf/host/sshd_config.in > $@
conf/host/authorized_principals: conf/host/authorized_principals.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf/host && $(do_subst) < $(srcdir)/conf/host/authorized_principals.in > $@
conf/host/sercon-host-sshd: conf/host/sercon-host-sshd.default.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf/host && $(do_subst) < $(srcdir)/conf/host/sercon-host-sshd.default.in > $@
systemd/sercon-host-sshd.service: systemd/sercon-host-sshd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(do_subst) < $(srcdir)/systemd/sercon-host-sshd.service.in > $@

CLEANFILES += conf/host/sshd_config conf/host/authorized_principals \
	conf/host/sercon-host-sshd systemd/sercon-host-sshd.service
EXTRA_DIST += conf/host/sshd_config.in conf/host/authorized_principals.in \
	conf/host/sercon-host-sshd.default.in \
	systemd/sercon-host-sshd.service.in \
	tests/integration/test_host.py tools/bench/host.py

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_relay tests/unit/test_conlock \
	tests/unit/test_host_args
TESTS += tests/unit/test_relay tests/unit/test_conlock \
	tests/unit/test_host_args
tests_unit_test_relay_CFLAGS = $(unit_cflags)
tests_unit_test_relay_LDADD = $(unit_ldadd)
tests_unit_test_conlock_CFLAGS = $(unit_cflags)
tests_unit_test_conlock_LDADD = $(unit_ldadd)
tests_unit_test_host_args_CFLAGS = $(unit_cflags)
tests_unit_test_host_args_LDADD = $(unit_ldadd)
endif

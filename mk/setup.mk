# mk/setup.mk: sercon-setup (PKI, enrolment, engine switch, diagnostics),
# its systemd units, sysusers/tmpfiles snippets and the packaging.
# src/lib/setup uses manager and core.
noinst_LIBRARIES += src/lib/setup/libsercon_setup.a
src_lib_setup_libsercon_setup_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
src_lib_setup_libsercon_setup_a_SOURCES = \
	src/lib/setup/pki.c src/lib/setup/pki.h \
	src/lib/setup/pki_cert.c src/lib/setup/pki_sig.c src/lib/setup/pki_sig.h \
	src/lib/setup/setup.h src/lib/setup/setup_pki.c src/lib/setup/setup_enrol.c \
	src/lib/setup/setup_renew.c src/lib/setup/setup_engine.c src/lib/setup/setup_check.c \
	src/lib/setup/setup_accept.c

sbin_PROGRAMS += src/setup/sercon-setup
src_setup_sercon_setup_SOURCES = src/setup/main.c
src_setup_sercon_setup_LDADD = $(SERCON_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_pki tests/unit/test_cert
TESTS += tests/unit/test_pki tests/unit/test_cert
tests_unit_test_pki_CFLAGS = $(unit_cflags)
tests_unit_test_pki_LDADD = $(unit_ldadd)
tests_unit_test_cert_CFLAGS = $(unit_cflags)
tests_unit_test_cert_LDADD = $(unit_ldadd)
endif

dist_man_MANS += man/sercon-setup.8

# systemd: the daily renewal, the account (sysusers.d) and the run-time
# directories (tmpfiles.d). The snippets are installed as sercon.conf.
setupunitdir = $(systemdsystemunitdir)
nodist_setupunit_DATA = systemd/sercon-renew.service
dist_setupunit_DATA = systemd/sercon-renew.timer
sysusersdir = $(prefix)/lib/sysusers.d
nodist_sysusers_DATA = systemd/sysusers.d/sercon.conf
tmpfilesdir = $(prefix)/lib/tmpfiles.d
nodist_tmpfiles_DATA = systemd/tmpfiles.d/sercon.conf

systemd/sercon-renew.service: systemd/sercon-renew.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(do_subst) < $(srcdir)/systemd/sercon-renew.service.in > $@
systemd/sysusers.d/sercon.conf: systemd/sercon.sysusers.conf
	$(AM_V_GEN)$(MKDIR_P) systemd/sysusers.d && cp $(srcdir)/systemd/sercon.sysusers.conf $@
systemd/tmpfiles.d/sercon.conf: systemd/sercon.tmpfiles.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd/tmpfiles.d && $(do_subst) < $(srcdir)/systemd/sercon.tmpfiles.conf.in > $@

# Packaging: the RPM spec is generated (its version) and shipped in the
# tarball so that `rpmbuild -ta` finds it; debian/ is shipped as
# packaging/debian, copied to debian/ by whoever builds the package.
packaging/rpm/sercon.spec: packaging/rpm/sercon.spec.in Makefile
	$(AM_V_GEN)$(MKDIR_P) packaging/rpm && $(do_subst) < $(srcdir)/packaging/rpm/sercon.spec.in > $@

CLEANFILES += systemd/sercon-renew.service systemd/sysusers.d/sercon.conf \
	systemd/tmpfiles.d/sercon.conf
CLEANFILES += packaging/rpm/sercon.spec
EXTRA_DIST += systemd/sercon-renew.service.in systemd/sercon.sysusers.conf \
	systemd/sercon.tmpfiles.conf.in \
	packaging/rpm/sercon.spec.in packaging/rpm/sercon.spec \
	packaging/debian/changelog packaging/debian/control \
	packaging/debian/copyright packaging/debian/rules \
	packaging/debian/source/format packaging/debian/sercon.dirs \
	packaging/debian/sercon.postinst packaging/debian/sercon.postrm \
	tests/integration/test_setup.py tests/integration/test_packaging.py

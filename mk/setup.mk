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
	src/lib/setup/setup_accept.c \
	src/lib/setup/setup_sys.h src/lib/setup/setup_system.c src/lib/setup/setup_libvirt.c

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

# systemd: the daily renewal, the account (sysusers.d), the directories
# (tmpfiles.d, the only place that makes them) and the presets (what a
# distribution that honours presets enables: the timer, not the daemons).
# The directories come from configure (systemd.pc or below $prefix). The
# snippets are installed as sercon.conf.
setupunitdir = $(systemdsystemunitdir)
nodist_setupunit_DATA = systemd/sercon-renew.service
dist_setupunit_DATA = systemd/sercon-renew.timer
nodist_sysusers_DATA = systemd/sysusers.d/sercon.conf
nodist_tmpfiles_DATA = systemd/tmpfiles.d/sercon.conf
presetdir = $(systemdsystempresetdir)
dist_preset_DATA = systemd/90-sercon.preset

systemd/sercon-renew.service: systemd/sercon-renew.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(do_subst) < $(srcdir)/systemd/sercon-renew.service.in > $@
systemd/sysusers.d/sercon.conf: systemd/sercon.sysusers.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd/sysusers.d && $(do_subst) < $(srcdir)/systemd/sercon.sysusers.conf.in > $@
systemd/tmpfiles.d/sercon.conf: systemd/sercon.tmpfiles.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd/tmpfiles.d && $(do_subst) < $(srcdir)/systemd/sercon.tmpfiles.conf.in > $@

# firewalld: one service per daemon, installed where firewalld looks for
# the services packages ship ($prefix/lib/firewalld/services).
firewallddir = $(prefix)/lib/firewalld/services
nodist_firewalld_DATA = packaging/firewalld/sercon-proxy.xml packaging/firewalld/sercon-host.xml
packaging/firewalld/sercon-proxy.xml: packaging/firewalld/sercon-proxy.xml.in Makefile
	$(AM_V_GEN)$(MKDIR_P) packaging/firewalld && $(do_subst) < $(srcdir)/packaging/firewalld/sercon-proxy.xml.in > $@
packaging/firewalld/sercon-host.xml: packaging/firewalld/sercon-host.xml.in Makefile
	$(AM_V_GEN)$(MKDIR_P) packaging/firewalld && $(do_subst) < $(srcdir)/packaging/firewalld/sercon-host.xml.in > $@

# Man pages are written with $sysconfdir/... placeholders (and "sercon" as
# the account in examples): the installed copies carry this build's paths
# and account, as the configuration files do.
man_subst = sed \
	-e 's|\$$sysconfdir|$(sysconfdir)|g' \
	-e 's|\$$localstatedir|$(localstatedir)|g' \
	-e 's|\$$runstatedir|$(runstatedir)|g' \
	-e 's|\$$libexecdir|$(libexecdir)|g' \
	-e 's|\$$sbindir|$(sbindir)|g' \
	-e 's|\$$datadir|$(datadir)|g' \
	-e 's|\$$prefix|$(prefix)|g' \
	-e 's|\bsercon@|$(SERCON_USER)@|g' \
	-e 's,\([Tt]he\) sercon \(user\|account\),\1 $(SERCON_USER) \2,g' \
	-e 's|host_user " (sercon)"|host_user " ($(SERCON_USER))"|' \
	-e 's|<label>sercon:sercon</label>|<label>$(SERCON_USER):$(SERCON_USER)</label>|g'
install-data-hook: install-man-paths
.PHONY: install-man-paths
install-man-paths:
	@for f in $(DESTDIR)$(mandir)/man[578]/sercon*.[578]; do \
		[ -f "$$f" ] || continue; \
		$(man_subst) "$$f" > "$$f.tmp" && mv "$$f.tmp" "$$f" || exit 1; \
	done

# Packaging: the RPM spec is generated (its version) and shipped in the
# tarball so that `rpmbuild -ta` finds it; debian/ is shipped as
# packaging/debian, copied to debian/ by whoever builds the package. The
# SELinux module (packaging/selinux) is built by the spec, for the RHEL
# family only.
packaging/rpm/sercon.spec: packaging/rpm/sercon.spec.in Makefile
	$(AM_V_GEN)$(MKDIR_P) packaging/rpm && $(do_subst) < $(srcdir)/packaging/rpm/sercon.spec.in > $@

# `make distcheck` installs below its own prefix: keep the system's systemd
# directories out of it whatever configure found.
AM_DISTCHECK_CONFIGURE_FLAGS = \
	--with-systemdsystemunitdir='$$(prefix)/lib/systemd/system' \
	--with-sysusersdir='$$(prefix)/lib/sysusers.d' \
	--with-tmpfilesdir='$$(prefix)/lib/tmpfiles.d' \
	--with-systemdsystempresetdir='$$(prefix)/lib/systemd/system-preset'

CLEANFILES += systemd/sercon-renew.service systemd/sysusers.d/sercon.conf \
	systemd/tmpfiles.d/sercon.conf \
	packaging/firewalld/sercon-proxy.xml packaging/firewalld/sercon-host.xml
CLEANFILES += packaging/rpm/sercon.spec
EXTRA_DIST += systemd/sercon-renew.service.in systemd/sercon.sysusers.conf.in \
	systemd/sercon.tmpfiles.conf.in \
	packaging/rpm/sercon.spec.in packaging/rpm/sercon.spec \
	packaging/firewalld/sercon-proxy.xml.in packaging/firewalld/sercon-host.xml.in \
	packaging/selinux/sercon.te packaging/selinux/sercon.fc packaging/selinux/sercon.if \
	packaging/debian/changelog packaging/debian/control \
	packaging/debian/copyright packaging/debian/rules \
	packaging/debian/source/format packaging/debian/source/lintian-overrides \
	packaging/debian/sercon.dirs packaging/debian/sercon.lintian-overrides \
	packaging/debian/sercon.postinst packaging/debian/sercon.postrm \
	tests/integration/test_setup.py tests/integration/test_packaging.py \
	tests/integration/test_systemd_vm.py tests/integration/pkg_util.py \
	tests/integration/test_limits.py tests/integration/test_libvirt.py \
	tests/integration/test_ovirt_layout.py tests/vm/build-system-image

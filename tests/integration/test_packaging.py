# test_packaging.py: the packages built the way a packager builds them, from
# the `make dist` tarball (pkg_util.py): the .deb (Debian's debhelper) and
# the RPM (rpmbuild -ba --nodeps), their contents, modes, conffiles and
# maintainer scripts, lintian, the file lists of both side by side, the
# SELinux module compiled with the reference policy's devel Makefile and
# linked into a full reference policy (its rules and file contexts queried
# statically: no SELinux kernel here), the firewalld services, and a --with-user build installed to a DESTDIR.

import os
import re
import shutil
import subprocess
import tarfile
import xml.etree.ElementTree as ET

import pytest

from conftest import REPO, TAG, run
import pkg_util
from pkg_util import version

# Builds real packages: not repeated in the sanitizer pass.
pytestmark = pytest.mark.package


@pytest.fixture(scope="module")
def tarball():
    return pkg_util.tarball()


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    """(deb path, unpacked dir, control dir, build info)"""
    built = pkg_util.deb()
    work = str(tmp_path_factory.mktemp("deb"))
    root = os.path.join(work, "root")
    ctrl = os.path.join(work, "control")
    run(["dpkg-deb", "-x", built["deb"], root])
    run(["dpkg-deb", "-e", built["deb"], ctrl])
    return built["deb"], root, ctrl, built


@pytest.fixture(scope="module")
def rpms():
    return pkg_util.rpm()


def contents(deb_path):
    """{path: (mode string, owner)} from dpkg-deb -c."""
    out = run(["dpkg-deb", "-c", deb_path]).stdout
    files = {}
    for line in out.splitlines():
        f = line.split()
        files[f[5].lstrip(".").rstrip("/") or "/"] = (f[0], f[1])
    return files


def test_tarball_carries_packaging(tarball):
    with tarfile.open(tarball) as t:
        names = set(t.getnames())
        top = "sercon-%s/" % version()
        for f in ("packaging/debian/control", "packaging/debian/rules",
                  "packaging/debian/sercon.postinst", "packaging/rpm/sercon.spec",
                  "packaging/selinux/sercon.te", "packaging/selinux/sercon.fc",
                  "packaging/selinux/sercon.if", "packaging/firewalld/sercon-proxy.xml.in",
                  "systemd/sercon-renew.timer", "systemd/sercon.sysusers.conf.in",
                  "systemd/sercon.tmpfiles.conf.in", "systemd/90-sercon.preset",
                  "man/sercon-setup.8"):
            assert top + f in names, f
        spec = t.extractfile(top + "packaging/rpm/sercon.spec").read().decode()
    assert re.search(r"^Version:\s+%s$" % re.escape(version()), spec, re.M)
    assert "@" not in re.sub(r"<[^>]*@[^>]*>|%\{[^}]*\}", "", spec.split("%changelog")[0]), \
        "an unsubstituted @VAR@ in the spec"
    # %config only under /etc; daemon options in /etc/sysconfig.
    for line in spec.splitlines():
        if line.startswith("%config("):
            assert line.split()[-1].startswith("%{_sysconfdir}/"), line
    assert "%config(noreplace) %{_sysconfdir}/sysconfig/sercon-proxy-sshd" in spec
    assert "%config(noreplace) %{_sysconfdir}/sysconfig/sercon-host-sshd" in spec
    # Presets and sysusers/tmpfiles, never useradd or systemctl enable.
    body = "\n".join(l for l in spec.split("%changelog")[0].splitlines()
                     if not l.lstrip().startswith("#"))
    assert "useradd" not in body and "groupadd" not in body
    assert "systemctl enable" not in body
    assert "systemd-sysusers %{_sysusersdir}/sercon.conf" in body
    assert body.index("systemd-sysusers") < body.index("systemd-tmpfiles --create")
    assert "%selinux_modules_install" in body and "sercon_proxy_port_t" in body
    assert "BuildRequires:  glibc-static" in spec


def test_deb_contents_and_modes(deb):
    files = contents(deb[0])
    expect = {
        "/usr/sbin/sercon-setup": "-rwxr-xr-x",
        "/usr/libexec/sercon/sercon-proxy-keys": "-rwxr-xr-x",
        "/usr/libexec/sercon/sercon-proxy-shell": "-rwxr-xr-x",
        "/usr/libexec/sercon/sercon-host-shell": "-rwxr-xr-x",
        "/usr/share/sercon/sercon.conf": "-rw-r--r--",
        "/usr/share/sercon/proxy/sshd_config": "-rw-r--r--",
        "/usr/share/sercon/proxy/ssh_config": "-rw-r--r--",
        "/usr/share/sercon/host/sshd_config": "-rw-r--r--",
        "/usr/share/sercon/host/authorized_principals": "-rw-r--r--",
        "/etc/default/sercon-proxy-sshd": "-rw-r--r--",
        "/etc/default/sercon-host-sshd": "-rw-r--r--",
        "/usr/lib/sysusers.d/sercon.conf": "-rw-r--r--",
        "/usr/lib/tmpfiles.d/sercon.conf": "-rw-r--r--",
        "/usr/lib/firewalld/services/sercon-proxy.xml": "-rw-r--r--",
        "/usr/lib/firewalld/services/sercon-host.xml": "-rw-r--r--",
        "/usr/share/man/man8/sercon-setup.8.gz": "-rw-r--r--",
        "/usr/share/man/man5/sercon.conf.5.gz": "-rw-r--r--",
        "/etc/sercon/conf.d": "drwxr-xr-x",
        "/etc/pki/sercon": "drwxr-xr-x",
    }
    unitdir = run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"]).stdout.strip()
    presetdir = run(["pkg-config", "--variable=systemdsystempresetdir", "systemd"]).stdout.strip()
    for u in ("sercon-proxy-sshd.service", "sercon-host-sshd.service",
              "sercon-consoled.service", "sercon-renew.service", "sercon-renew.timer"):
        expect[unitdir + "/" + u] = "-rw-r--r--"
    expect[presetdir + "/90-sercon.preset"] = "-rw-r--r--"
    for path, mode in expect.items():
        assert path in files, path
        assert files[path] == (mode, "root/root"), (path, files[path])
    for path, (mode, owner) in files.items():
        assert owner == "root/root", path
        assert mode[8] != "w" and "s" not in mode, (path, mode)
        # No key, certificate or admin configuration is shipped, and no
        # directory that tmpfiles.d makes.
        assert not path.startswith("/etc/pki/sercon/"), path
        assert not path.startswith("/etc/sercon/conf.d/"), path
        assert not path.startswith(("/var/", "/run/")), path


def test_deb_installed_files_follow_debian_paths(deb):
    root = deb[1]
    unitdir = run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"]).stdout.strip()
    with open(root + unitdir + "/sercon-renew.service") as f:
        unit = f.read()
    assert "ExecStart=/usr/sbin/sercon-setup renew\n" in unit
    assert "ReadWritePaths=/etc/pki/sercon\n" in unit
    with open(root + unitdir + "/sercon-renew.timer") as f:
        timer = f.read()
    assert "OnCalendar=daily" in timer and "WantedBy=timers.target" in timer
    with open(root + "/usr/lib/tmpfiles.d/sercon.conf") as f:
        tmpfiles = [l.split() for l in f if l.strip() and not l.startswith("#")]
    assert ["d", "/run/sercon/console", "0770", "sercon", "sercon", "-"] in tmpfiles
    assert ["d", "/run/sercon/lock", "0750", "sercon", "sercon", "-"] in tmpfiles
    assert ["d", "/var/cache/sercon", "0750", "sercon", "sercon", "-"] in tmpfiles
    assert ["d", "/var/lib/sercon", "0755", "root", "root", "-"] in tmpfiles
    with open(root + "/usr/lib/sysusers.d/sercon.conf") as f:
        sysusers = [l.split('"') for l in f if l.startswith("u ")]
    assert sysusers[0][0].split() == ["u", "sercon", "-:sercon"]
    assert sysusers[0][2].split() == ["/var/lib/sercon",
                                      "/usr/libexec/sercon/sercon-login-shell"]
    # The programs were built for these paths.
    strings = run(["strings", root + "/usr/sbin/sercon-setup"]).stdout
    assert "/etc/pki/sercon" in strings and "/usr/share/sercon" in strings
    # Man pages show them too, not placeholders.
    man = run(["sh", "-c", "zcat %s/usr/share/man/man*/*.gz" % root]).stdout
    assert "$sysconfdir" not in man and "$datadir" not in man and "$libexecdir" not in man
    assert "/etc/sercon/conf.d" in man


def _units(root):
    unitdir = run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"]).stdout.strip()
    out = {}
    for u in ("sercon-proxy-sshd.service", "sercon-host-sshd.service",
              "sercon-consoled.service", "sercon-renew.service"):
        with open(root + unitdir + "/" + u) as f:
            out[u] = dict(l.split("=", 1) for l in f.read().splitlines()
                          if "=" in l and not l.startswith("#"))
    return out


def test_units_are_consistent(deb):
    units = _units(deb[1])
    daemons = [units["sercon-proxy-sshd.service"], units["sercon-host-sshd.service"]]
    for u in daemons + [units["sercon-consoled.service"]]:
        assert u["Type"] == "exec"
        assert "install" not in u.get("ExecStartPre", "")
    for u in daemons:
        assert u["KillMode"] == "process"
        assert u["User"] == "sercon" and u["Group"] == "sercon"
        assert "ExecStartPre" not in u or "sshd -t" in u["ExecStartPre"]
        assert "install" not in u.get("ExecStartPre", "")
        assert u["TasksMax"].isdigit() and u["MemoryMax"].endswith("G")
    # The same hardening in all three (the renewal writes /etc/pki/sercon as root).
    hardening = ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp",
                 "PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules",
                 "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock",
                 "ProtectHostname", "RestrictNamespaces", "RestrictRealtime",
                 "RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute",
                 "SystemCallArchitectures", "SystemCallFilter", "CapabilityBoundingSet")
    for name, u in units.items():
        for k in hardening:
            assert k in u, (name, k)
        assert u["ProtectSystem"] == "strict"
    assert daemons[0]["CapabilityBoundingSet"] == daemons[1]["CapabilityBoundingSet"] == \
        units["sercon-consoled.service"]["CapabilityBoundingSet"] == ""


def test_deb_conffiles_and_scripts(deb):
    ctrl = deb[2]
    with open(ctrl + "/conffiles") as f:
        conffiles = f.read().split()
    assert "/etc/default/sercon-proxy-sshd" in conffiles
    assert "/etc/default/sercon-host-sshd" in conffiles
    with open(ctrl + "/postinst") as f:
        postinst = f.read()
    with open(ctrl + "/postrm") as f:
        postrm = f.read()
    for script in (ctrl + "/postinst", ctrl + "/postrm"):
        run(["sh", "-n", script])
        assert os.stat(script).st_mode & 0o777 == 0o755
    code = "\n".join(l for l in postinst.splitlines() if not l.lstrip().startswith("#"))
    # The account from sysusers.d, the directories from tmpfiles.d, then
    # the password field unlocked: no useradd of our own.
    assert "useradd" not in code and "groupadd" not in code and "install -d" not in code
    sysusers = code.index("systemd-sysusers ${DPKG_ROOT:+--root=\"$DPKG_ROOT\"} sercon.conf")
    tmpfiles = code.index("--create sercon.conf")
    unlock = code.index("\tunlock_account\n")
    assert sysusers < tmpfiles < unlock
    # Only the timer is enabled and started on installation; a daemon is
    # enabled again on upgrade only where the admin had enabled it.
    started = re.findall(r"deb-systemd-invoke \S+ '([\w.@-]+)'", postinst)
    assert started == ["sercon-renew.timer"], started
    for unit in ("sercon-proxy-sshd.service", "sercon-host-sshd.service",
                 "sercon-consoled.service"):
        block = postinst.split("debian-installed '%s'" % unit, 1)[1].split("fi\n", 2)
        assert "was-enabled '%s'" % unit in block[0] + block[1], unit
    # Nothing of the admin's goes, on upgrade or ever: no userdel, no keys,
    # and port labels only on purge.
    code = "\n".join(l for l in postrm.splitlines() if not l.lstrip().startswith("#"))
    assert "userdel" not in code and "deluser" not in code
    assert "/etc/pki" not in code
    purge = postrm.split("purge)", 1)[1].split(";;", 1)[0]
    assert "semanage port -d" in purge and "rm -rf /var/cache/sercon" in purge
    # Removes only its own: no rm under /etc, nothing recursive but its
    # cache and its locks.
    assert sorted(re.findall(r"rm -rf (\S+)", purge)) == ["/run/sercon/lock", "/var/cache/sercon"]


def test_postinst_unlocks_the_account(deb, tmp_path):
    """Runs the package's own unlock_account against a stub environment:
    the commands it would run, in order."""
    ctrl = deb[2]
    stub = tmp_path / "bin"
    stub.mkdir()
    log = tmp_path / "log"
    for cmd in ("usermod", "semanage", "selinuxenabled"):
        p = stub / cmd
        p.write_text("#!/bin/sh\necho %s \"$@\" >> %s\n" % (cmd, log))
        p.chmod(0o755)
    # getent: the account systemd-sysusers made is locked ('!*').
    (stub / "getent").write_text(
        "#!/bin/sh\n[ \"$1\" = shadow ] && echo 'sercon:!*:19000::::::' && exit 0\nexit 2\n")
    (stub / "getent").chmod(0o755)
    (stub / "selinuxenabled").write_text("#!/bin/sh\nexit 1\n")
    with open(ctrl + "/postinst") as f:
        body = f.read().split("# End automatically added section")[-1]
    body = body.replace("/usr/lib/sysusers.d/sercon.conf", deb[1] + "/usr/lib/sysusers.d/sercon.conf")
    script = tmp_path / "postinst"
    script.write_text("#!/bin/sh\nset -e\n" + body + "\n")
    env = {"PATH": "%s:/usr/bin:/bin" % stub}
    run(["sh", str(script), "configure"], env=env)
    assert log.read_text().splitlines() == ["usermod -p * sercon"]


def test_lintian_clean(deb):
    r = subprocess.run(["lintian", "--pedantic", "--display-info", deb[3]["changes"]],
                       capture_output=True, text=True, timeout=900)
    tags = [l for l in r.stdout.splitlines() if re.match(r"^[EWIP]: ", l)]
    # Every error, warning, info and pedantic tag is fixed or overridden
    # with a reason in packaging/debian/*lintian-overrides.
    assert tags == [], "\n".join(tags)


def _normalise(paths):
    """A package's regular files and symlinks, with the paths on which the
    two families legitimately differ mapped to one name."""
    out = set()
    for p in paths:
        if p.startswith(("/usr/lib/.build-id", "/usr/share/doc/", "/usr/share/licenses/",
                         "/usr/share/lintian/")):
            continue
        p = re.sub(r"^/lib/systemd/", "/usr/lib/systemd/", p)
        p = re.sub(r"^/etc/(default|sysconfig)/", "/etc/DAEMON-OPTIONS/", p)
        p = re.sub(r"\.gz$", "", p)
        out.add(p)
    return out


def test_rpm_builds_and_matches_the_deb(deb, rpms):
    assert set(rpms["rpms"]) == {"sercon", "sercon-selinux"}
    rpm_files = run(["rpm", "-qlp", rpms["rpms"]["sercon"]]).stdout.split()
    deb_all = contents(deb[0])
    deb_dirs = _normalise(p for p, (mode, _) in deb_all.items() if mode.startswith("d"))
    deb_files = _normalise(p for p, (mode, _) in deb_all.items() if not mode.startswith("d"))
    # The RPM lists its own directories (%dir): the .deb has each of them.
    rpm_all = _normalise(rpm_files)
    rpm_dirs = rpm_all & deb_dirs
    rpm_files_only = rpm_all - deb_dirs
    assert deb_files == rpm_files_only, ("only in .deb", sorted(deb_files - rpm_files_only),
                                         "only in rpm", sorted(rpm_files_only - deb_files))
    # The directories the packages own without content are the same too.
    for d in ("/etc/sercon/conf.d", "/etc/sercon/proxy-sshd.d", "/etc/sercon/host-sshd.d",
              "/etc/pki/sercon", "/usr/libexec/sercon", "/usr/share/sercon"):
        assert d in rpm_dirs and d in deb_dirs, d
    # The daemon options in /etc/sysconfig name that path.
    with_opts = run(["sh", "-c", "rpm2cpio %s | cpio -i --to-stdout ./etc/sysconfig/sercon-host-sshd"
                     % rpms["rpms"]["sercon"]]).stdout
    assert "/etc/sysconfig/sercon-host-sshd" in with_opts and "/etc/default" not in with_opts
    # The preset enables the timer only.
    preset = run(["sh", "-c", "rpm2cpio %s | cpio -i --to-stdout ./usr/lib/systemd/system-preset/90-sercon.preset"
                  % rpms["rpms"]["sercon"]]).stdout
    assert [l for l in preset.splitlines() if l.startswith("enable")] == ["enable sercon-renew.timer"]
    sel = run(["rpm", "-qlp", rpms["rpms"]["sercon-selinux"]]).stdout.split()
    assert "/usr/share/selinux/packages/targeted/sercon.pp.bz2" in sel
    scripts = run(["rpm", "-qp", "--scripts", rpms["rpms"]["sercon-selinux"]]).stdout
    assert "semanage port -a -t sercon_proxy_port_t -p tcp 2222" in scripts
    assert "semanage port -a -t sercon_host_port_t -p tcp 2223" in scripts


SELINUX_DEVEL = "/usr/share/selinux/devel/Makefile"
# Debian's reference policy (selinux-policy-default), as its postinst built
# the store: the module is linked against a copy of it.
SELINUX_STORE = "/var/lib/selinux/default"


@pytest.fixture(scope="module")
def selinux_module(tmp_path_factory):
    """sercon.pp built from the tree with the reference policy's devel
    Makefile (Debian's selinux-policy-dev)."""
    if not os.path.exists(SELINUX_DEVEL):
        pytest.skip("selinux-policy-dev is not installed")
    d = tmp_path_factory.mktemp("selinux-module")
    for f in ("sercon.te", "sercon.fc", "sercon.if"):
        shutil.copy(os.path.join(REPO, "packaging/selinux", f), d)
    r = subprocess.run(["make", "-f", SELINUX_DEVEL, "sercon.pp"], cwd=d,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return d / "sercon.pp"


@pytest.fixture(scope="module")
def selinux_policy(selinux_module, tmp_path_factory):
    """The module installed (semodule -i) into a scratch copy of a full
    policy store, as %selinux_modules_install does on RHEL: linking fails on
    any type, attribute or class it names that the policy lacks. Returns the
    kernel policy and the file_contexts semodule wrote there."""
    missing = [t for t in ("semodule", "seinfo", "selabel_lookup")
               if shutil.which(t) is None]
    if missing or not os.path.isdir(SELINUX_STORE):
        pytest.skip("needs Debian's selinux-policy-default, policycoreutils, "
                    "selinux-utils and setools (missing: %s)"
                    % (", ".join(missing) or SELINUX_STORE))
    root = tmp_path_factory.mktemp("selinux-root")
    os.makedirs(root / "var/lib/selinux")
    shutil.copytree(SELINUX_STORE, root / "var/lib/selinux/default", symlinks=True)
    shutil.copytree("/etc/selinux", root / "etc/selinux", symlinks=True)
    r = subprocess.run(["semodule", "-p", str(root), "-s", "default", "-n",
                        "-i", str(selinux_module)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    pol = root / "etc/selinux/default/policy"
    return {"policy": str(pol / sorted(os.listdir(pol))[-1]),
            "fc": str(root / "etc/selinux/default/contexts/files/file_contexts")}


def test_selinux_module_compiles(selinux_module):
    """The module builds against the installed reference policy (Debian's
    selinux-policy-dev): syntax, every interface it calls and every type it
    requires. Loading and enforcing it needs an SELinux kernel: not here."""
    data = selinux_module.read_bytes()
    for t in (b"sercon_proxy_port_t", b"sercon_host_port_t", b"sercon_keys_t",
              b"sercon_consoled_t", b"sercon_console_t", b"sercon_cache_t"):
        assert t in data, t


class PolicyRules:
    """The kernel policy's allow and type_transition rules, read once with
    setools (what sesearch uses; one sesearch per query takes seconds).
    A type matches a rule through any attribute it has; an allow rule under
    a boolean counts as given only if the policy's default booleans
    enable it."""

    def __init__(self, path):
        st = pytest.importorskip("setools", reason="python3-setools is not installed")
        self.policy = st.SELinuxPolicy(path)
        bools = {b.name: b.state for b in self.policy.bools()}
        self.allow = {}
        self.trans = set()
        for r in self.policy.terules():
            src, tgt, cls = str(r.source), str(r.target), str(r.tclass)
            if r.ruletype == st.TERuletype.type_transition:
                self.trans.add((src, tgt, cls, str(r.default)))
            elif r.ruletype == st.TERuletype.allow:
                try:
                    on = r.conditional.evaluate(**bools) == r.conditional_block
                except st.exception.RuleNotConditional:
                    on = True
                self.allow.setdefault(cls, []).append(
                    (src, tgt, {str(x) for x in r.perms}, on))

    def names(self, t):
        return {t} | {str(a) for a in self.policy.lookup_type(t).attributes()}

    def allowed(self, src, tgt, cls, perm, only_enabled=True):
        s, t = self.names(src), self.names(tgt)
        return any(rs in s and rt in t and perm in perms and (on or not only_enabled)
                   for rs, rt, perms, on in self.allow.get(cls, ()))

    def transition(self, src, tgt, cls, new):
        s, t = self.names(src), self.names(tgt)
        return any(rs in s and rt in t and rc == cls and rn == new
                   for rs, rt, rc, rn in self.trans)


# What the policy must allow (source, target, class, permission), with the
# attributes the types belong to: the design in sercon.te, seen from the
# daemons' side.
SELINUX_ALLOWED = [
    # The sshd instances on their ports; the proxy's outward ssh.
    ("sshd_t", "sercon_proxy_port_t", "tcp_socket", "name_bind"),
    ("sshd_t", "sercon_host_port_t", "tcp_socket", "name_bind"),
    ("sshd_t", "sercon_host_port_t", "tcp_socket", "name_connect"),
    ("sshd_t", "sercon_conf_t", "file", "read"),
    ("sshd_t", "sshd_key_t", "file", "read"),
    # systemd starts them under NoNewPrivileges.
    ("init_t", "sshd_t", "process2", "nnp_transition"),
    # The keys helper, a domain of its own, run by sshd under NoNewPrivileges.
    ("sshd_t", "sercon_keys_exec_t", "file", "execute"),
    ("sshd_t", "sercon_keys_t", "process", "transition"),
    ("sshd_t", "sercon_keys_t", "process2", "nnp_transition"),
    ("sercon_keys_t", "sercon_keys_exec_t", "file", "entrypoint"),
    ("sercon_keys_t", "sshd_t", "fifo_file", "write"),
    ("sercon_keys_t", "sercon_conf_t", "file", "read"),
    ("sercon_keys_t", "sercon_cache_t", "file", "write"),
    ("sercon_keys_t", "http_port_t", "tcp_socket", "name_connect"),
    # The sessions stay in sshd_t (a non-root sshd sets no exec context):
    # the account's shell and home, the helpers, ssh outward, the cache.
    ("sshd_t", "shell_exec_t", "file", "execute_no_trans"),
    ("sshd_t", "bin_t", "file", "execute_no_trans"),
    ("sshd_t", "ssh_exec_t", "file", "execute_no_trans"),
    ("sshd_t", "sercon_var_lib_t", "dir", "search"),
    ("sshd_t", "sercon_cache_t", "file", "write"),
    # The host shell: attached by sercon-consoled, or direct to the VM's
    # socket; its lock and recording.
    ("sshd_t", "sercon_var_run_t", "sock_file", "write"),
    ("sshd_t", "sercon_consoled_t", "unix_stream_socket", "connectto"),
    ("sshd_t", "sercon_console_t", "sock_file", "write"),
    ("sshd_t", "svirt_t", "unix_stream_socket", "connectto"),
    ("sshd_t", "sercon_var_run_t", "file", "create"),
    ("sshd_t", "sercon_log_t", "file", "create"),
    # sercon-consoled: started by systemd, watches console_dir, connects to
    # the VMs, listens for the host shells, records.
    ("init_t", "sercon_consoled_t", "process2", "nnp_transition"),
    ("sercon_consoled_t", "sercon_consoled_exec_t", "file", "entrypoint"),
    ("sercon_consoled_t", "sercon_console_t", "dir", "watch"),
    # lock_dir: IN_CLOSE_NOWRITE needs watch_reads too.
    ("sercon_consoled_t", "sercon_var_run_t", "dir", "watch"),
    ("sercon_consoled_t", "sercon_var_run_t", "dir", "watch_reads"),
    ("sercon_consoled_t", "sercon_console_t", "sock_file", "write"),
    ("sercon_consoled_t", "svirt_t", "unix_stream_socket", "connectto"),
    ("sercon_consoled_t", "sercon_var_run_t", "sock_file", "create"),
    ("sercon_consoled_t", "sercon_var_run_t", "file", "create"),
    ("sercon_consoled_t", "sercon_log_t", "file", "create"),
    # libvirt (or qemu) binds the consoles in console_dir.
    ("virtd_t", "sercon_console_t", "sock_file", "create"),
    ("svirt_t", "sercon_console_t", "sock_file", "create"),
]

SELINUX_DENIED = [
    # The private keys are sshd's alone.
    ("sercon_keys_t", "sshd_key_t", "file", "read"),
    ("sercon_consoled_t", "sshd_key_t", "file", "read"),
    # sercon-consoled runs nothing; the keys helper writes no console.
    ("sercon_consoled_t", "shell_exec_t", "file", "execute"),
    ("sercon_keys_t", "sercon_console_t", "sock_file", "write"),
]


def test_selinux_module_links_into_a_full_policy(selinux_policy):
    """Installed into Debian's reference policy, the module gives the
    accesses sercon.te describes, and none of those it must not (not even
    under a boolean). This is the policy's text, not its enforcement (no
    SELinux kernel here)."""
    pol = PolicyRules(selinux_policy["policy"])
    ports = {str(t) for t in pol.policy.lookup_typeattr("port_type").expand()}
    assert {"sercon_proxy_port_t", "sercon_host_port_t"} <= ports
    missing = [r for r in SELINUX_ALLOWED if not pol.allowed(*r)]
    assert not missing, ("not allowed", missing)
    extra = [r for r in SELINUX_DENIED if pol.allowed(*r, only_enabled=False)]
    assert not extra, ("allowed", extra)
    # The transitions themselves, and recordings made in /var/log.
    for rule in (("sshd_t", "sercon_keys_exec_t", "process", "sercon_keys_t"),
                 ("init_t", "sercon_consoled_exec_t", "process", "sercon_consoled_t"),
                 ("sercon_consoled_t", "var_log_t", "file", "sercon_log_t")):
        assert pol.transition(*rule), ("no type_transition", rule)


# What `semanage port -a` runs (policycoreutils' seobject), pointed at the
# scratch store instead of the machine's.
SEMANAGE_PORT = """
import sys, semanage
semanage.semanage_set_root(sys.argv[1])
import sepolicy
sepolicy.policy(sys.argv[2])
import seobject
ports = seobject.portRecords("default")
ports.set_reload(False)
for arg in sys.argv[4:]:
    typ, port = arg.split(":")
    getattr(ports, sys.argv[3])(*((port, "tcp", "s0", typ) if sys.argv[3] == "add" else (port, "tcp")))
"""


def test_selinux_rpm_labels_its_ports(selinux_policy, rpms):
    """The sercon-selinux scriptlets' `semanage port` lines, run by the
    same library semanage uses against the store holding the module: the
    types are port types semanage accepts, and the ports get them."""
    scripts = run(["rpm", "-qp", "--scripts", rpms["rpms"]["sercon-selinux"]]).stdout
    added = re.findall(r"semanage port -a -t (\S+) -p tcp (\d+)", scripts)
    assert sorted(t for t, _ in added) == ["sercon_host_port_t", "sercon_proxy_port_t"], scripts
    root = selinux_policy["policy"].split("/etc/selinux/")[0]
    args = ["%s:%s" % a for a in added]
    run(["/usr/bin/python3", "-c", SEMANAGE_PORT, root, selinux_policy["policy"], "add"] + args)
    for typ, port in added:
        out = run(["seinfo", selinux_policy["policy"], "--portcon", port]).stdout
        assert re.search(r"portcon tcp %s system_u:object_r:%s:s0" % (port, typ), out), out
    run(["/usr/bin/python3", "-c", SEMANAGE_PORT, root, selinux_policy["policy"], "delete"] + args)
    for typ, port in added:
        assert typ not in run(["seinfo", selinux_policy["policy"], "--portcon", port]).stdout


# The type each installed path must have (first match wins).
SELINUX_FILE_TYPES = [
    (r"/usr/libexec/sercon/sercon-proxy-(keys|fetch)", "sercon_keys_exec_t"),
    (r"/usr/libexec/sercon/sercon-consoled", "sercon_consoled_exec_t"),
    (r"/usr/libexec/sercon/.*", "bin_t"),
    (r"/usr/sbin/.*", "bin_t"),
    (r"/(usr/share|etc)/sercon(/.*)?", "sercon_conf_t"),
    (r"/etc/pki/sercon/(ca|[^/]*-ssh_(host|user)_key)", "sshd_key_t"),
    (r"/etc/pki/sercon(/.*)?", "sercon_conf_t"),
    (r"(/var)?/run/sercon/console(/.*)?", "sercon_console_t"),
    (r"(/var)?/run/sercon(/.*)?", "sercon_var_run_t"),
    (r"/var/cache/sercon(/.*)?", "sercon_cache_t"),
    (r"/var/log/sercon(/.*)?", "sercon_log_t"),
    (r"/var/lib/sercon(/.*)?", "sercon_var_lib_t"),
]


def test_selinux_file_contexts_match_the_rpm(selinux_policy, rpms, tmp_path):
    """Every path the RPM installs, or its tmpfiles.d makes, or sercon-setup
    writes (the keys its sshd_config and ssh_config name), gets the type
    sercon.te gives it, looked up in the file_contexts semodule compiled,
    with the RHEL paths (/usr/libexec, /run, /var/lib, /etc/pki)."""
    paths = set(run(["rpm", "-qlp", rpms["rpms"]["sercon"]]).stdout.split())
    run(["sh", "-c", "rpm2cpio %s | cpio -idm --quiet" % rpms["rpms"]["sercon"]], cwd=tmp_path)
    with open(tmp_path / "usr/lib/tmpfiles.d/sercon.conf") as f:
        made = [l.split()[1] for l in f if l.startswith("d ")]
    assert "/run/sercon/console" in made and "/var/lib/sercon" in made
    paths.update(made)
    paths.update(p.replace("/run/", "/var/run/") for p in made if p.startswith("/run/"))
    for conf in ("usr/share/sercon/proxy/sshd_config", "usr/share/sercon/host/sshd_config",
                 "usr/share/sercon/proxy/ssh_config"):
        with open(tmp_path / conf) as f:
            keys = re.findall(r"^\s*(?:HostKey|IdentityFile)\s+(\S+)", f.read(), re.M)
        assert keys, conf
        paths.update(keys)
    paths.update(["/etc/pki/sercon/ca", "/etc/pki/sercon/ca.pub",
                  "/etc/pki/sercon/known_hosts", "/run/sercon/console/x.sock",
                  "/run/sercon/consoled/consoled.sock", "/run/sercon/lock/x.lock",
                  "/var/log/sercon/consoles/x.log", "/var/cache/sercon/x"])
    checked = 0
    for path in sorted(paths):
        want = next((t for rx, t in SELINUX_FILE_TYPES if re.fullmatch(rx, path)), None)
        if want is None:
            continue
        got = run(["selabel_lookup", "-b", "file", "-f", selinux_policy["fc"],
                   "-k", path]).stdout.split()[-1]
        assert got.split(":")[2] == want, (path, got, want)
        checked += 1
    assert checked > 30, checked


def test_firewalld_services(deb, rpms):
    for name, port in (("sercon-proxy", "2222"), ("sercon-host", "2223")):
        path = deb[1] + "/usr/lib/firewalld/services/%s.xml" % name
        root = ET.parse(path).getroot()
        assert root.tag == "service"
        ports = [(p.get("protocol"), p.get("port")) for p in root.findall("port")]
        assert ports == [("tcp", port)], ports
        assert root.find("short").text and root.find("description").text
    rpm_files = run(["rpm", "-qlp", rpms["rpms"]["sercon"]]).stdout.split()
    assert "/usr/lib/firewalld/services/sercon-proxy.xml" in rpm_files
    assert "/usr/lib/firewalld/services/sercon-host.xml" in rpm_files


def test_systemd_paths_from_pkg_config(tmp_path):
    """--prefix=/usr asks systemd.pc; any other prefix stays below it."""
    if not os.path.exists(os.path.join(REPO, "configure")):
        run(["autoreconf", "-fi"], cwd=REPO)
    for prefix in ("/usr", str(tmp_path / "opt")):
        d = tmp_path / ("b" + str(abs(hash(prefix))))
        d.mkdir()
        run([os.path.join(REPO, "configure"), "-q", "--prefix=" + prefix], cwd=d)
        got = {}
        for line in open(d / "Makefile"):
            m = re.match(r"^(systemdsystemunitdir|sysusersdir|tmpfilesdir|systemdsystempresetdir) = (.*)$", line)
            if m:
                got[m.group(1)] = m.group(2).strip()
        if prefix == "/usr":
            for k in got:
                want = run(["pkg-config", "--variable=" + k, "systemd"]).stdout.strip()
                assert got[k] == want, (k, got[k], want)
        else:
            assert got == {"systemdsystemunitdir": "${prefix}/lib/systemd/system",
                           "sysusersdir": "${prefix}/lib/sysusers.d",
                           "tmpfilesdir": "${prefix}/lib/tmpfiles.d",
                           "systemdsystempresetdir": "${prefix}/lib/systemd/system-preset"}, got


# Where a file names the account (the user sshd runs as, logs in as, owns a
# directory) in configuration, units, snippets, scripts, man pages and the
# programs' strings; "sercon" as the name of the suite, its paths and its
# programs is fine.
ACCOUNT_USES = re.compile("|".join((
    r"\bsercon@", r"\b(User|Group)=sercon\b", r"\b(AllowUsers|AuthorizedKeysCommandUser) sercon\b",
    r"\bhost_user\s*=\s*sercon\b", r"^[ugm] sercon\b", r"\b0[0-7]{3} sercon sercon\b",
    r"\bsercon:sercon\b", r"(^|\s)-[ugl] sercon\b", r"\bgetent (passwd|shadow|group) sercon\b",
    r"\busermod( -[a-zA-Z]+ \S+)* sercon\b(?!-)", r"<label>sercon:", r"\b[Tt]he sercon (user|account)\b", r"\(sercon\)",
    r"\bchown sercon\b", r"--[ug]id=sercon\b")), re.M)


def test_with_user_is_honoured_everywhere(tmp_path):
    if not os.path.exists(os.path.join(REPO, "configure")):
        run(["autoreconf", "-fi"], cwd=REPO)
    b = tmp_path / "build"
    b.mkdir()
    run([os.path.join(REPO, "configure"), "-q", "--prefix=/usr", "--sysconfdir=/etc",
         "--localstatedir=/var", "--with-user=vmcon"], cwd=b)
    run(["make", "-j2"], cwd=b, timeout=900)
    dest = tmp_path / "dest"
    run(["make", "install", "DESTDIR=%s" % dest], cwd=b, timeout=300)
    hits, vmcon = [], 0
    for d, _, files in os.walk(dest):
        for f in files:
            path = os.path.join(d, f)
            with open(path, "rb") as fh:
                data = fh.read()
            if b"\0" in data:
                text = run(["strings", path]).stdout
            else:
                text = data.decode(errors="replace")
            vmcon += text.count("vmcon")
            for m in ACCOUNT_USES.finditer(text):
                line = text[text.rfind("\n", 0, m.start()) + 1:text.find("\n", m.end())]
                hits.append("%s: %s" % (path[len(str(dest)):], line.strip()))
    assert hits == [], "\n".join(hits)
    assert vmcon > 20
    # Every program carries the account it was built for.
    for prog in ("usr/sbin/sercon-setup", "usr/libexec/sercon/sercon-proxy-keys",
                 "usr/libexec/sercon/sercon-proxy-shell", "usr/libexec/sercon/sercon-host-shell"):
        assert "vmcon" in run(["strings", str(dest / prog)]).stdout.split("\n"), prog
    with open(dest / "usr/lib/sysusers.d/sercon.conf") as f:
        assert re.search(r"^u vmcon -:vmcon ", f.read(), re.M)

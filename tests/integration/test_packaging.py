# test_packaging.py: the Debian package built the way a packager would,
# from the `make dist` tarball with packaging/debian copied to debian/
# (dpkg-buildpackage -us -uc -b, Debian's debhelper), then its contents,
# modes, conffiles and maintainer scripts checked; and the RPM spec that
# the tarball carries.

import os
import re
import shutil
import subprocess
import tarfile

import pytest

from conftest import REPO, TAG, run

# Builds real packages: not repeated in the sanitizer pass.
pytestmark = pytest.mark.package


def version():
    with open(os.path.join(REPO, "configure.ac")) as f:
        return re.search(r"AC_INIT\(\[sercon\], \[([^]]+)\]", f.read()).group(1)


@pytest.fixture(scope="module")
def tarball():
    """`make dist` in a build directory of its own."""
    builddir = os.path.join(REPO, "build-test-%s-dist" % TAG)
    os.makedirs(builddir, exist_ok=True)
    if not os.path.exists(os.path.join(REPO, "configure")):
        run(["autoreconf", "-fi"], cwd=REPO)
    if not os.path.exists(os.path.join(builddir, "Makefile")):
        run([os.path.join(REPO, "configure")], cwd=builddir)
    path = os.path.join(builddir, "sercon-%s.tar.xz" % version())
    if os.path.exists(path):
        os.unlink(path)
    run(["make", "dist"], cwd=builddir, timeout=600)
    assert os.path.exists(path)
    return path


@pytest.fixture(scope="module")
def deb(tarball, tmp_path_factory):
    """The .deb built from the tarball; returns (deb path, unpacked dir,
    control dir)."""
    work = str(tmp_path_factory.mktemp("deb"))
    with tarfile.open(tarball) as t:
        t.extractall(work)
    src = os.path.join(work, "sercon-%s" % version())
    shutil.copytree(os.path.join(src, "packaging", "debian"),
                    os.path.join(src, "debian"))
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2")
    r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src,
                       env=env, capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    debs = [f for f in os.listdir(work) if f.endswith(".deb") and "dbgsym" not in f]
    assert debs == ["sercon_%s-1_%s.deb" % (version(), subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip())]
    path = os.path.join(work, debs[0])
    root = os.path.join(work, "root")
    ctrl = os.path.join(work, "control")
    run(["dpkg-deb", "-x", path, root])
    run(["dpkg-deb", "-e", path, ctrl])
    return path, root, ctrl


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
                  "systemd/sercon-renew.timer", "systemd/sercon.sysusers.conf",
                  "systemd/sercon.tmpfiles.conf.in", "man/sercon-setup.8"):
            assert top + f in names, f
        spec = t.extractfile(top + "packaging/rpm/sercon.spec").read().decode()
    assert re.search(r"^Version:\s+%s$" % re.escape(version()), spec, re.M)
    assert "@" + "PACKAGE_VERSION@" not in spec
    for f in ("%config(noreplace) %{_sysconfdir}/default/sercon-proxy-sshd",
              "%config(noreplace) %{_datadir}/sercon/proxy/sshd_config",
              "%config(noreplace) %{_datadir}/sercon/host/sshd_config",
              "%dir %{_sysconfdir}/sercon/conf.d"):
        assert f in spec, f
    # Upgrades keep port labels: they go only on erase ($1 == 0).
    postun = spec.split("%postun", 1)[1].split("%files", 1)[0]
    assert "semanage port -d" in postun and "[ $1 -eq 0 ]" in postun
    assert "usermod -p '*' sercon" in spec and "-s /bin/sh" in spec


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
        "/lib/systemd/system/sercon-proxy-sshd.service": "-rw-r--r--",
        "/lib/systemd/system/sercon-host-sshd.service": "-rw-r--r--",
        "/lib/systemd/system/sercon-renew.service": "-rw-r--r--",
        "/lib/systemd/system/sercon-renew.timer": "-rw-r--r--",
        "/usr/lib/sysusers.d/sercon.conf": "-rw-r--r--",
        "/usr/lib/tmpfiles.d/sercon.conf": "-rw-r--r--",
        "/usr/share/man/man8/sercon-setup.8.gz": "-rw-r--r--",
        "/usr/share/man/man5/sercon.conf.5.gz": "-rw-r--r--",
        "/etc/sercon/conf.d": "drwxr-xr-x",
        "/etc/pki/sercon": "drwxr-xr-x",
    }
    for path, mode in expect.items():
        assert path in files, path
        assert files[path] == (mode, "root/root"), (path, files[path])
    for path, (mode, owner) in files.items():
        assert owner == "root/root", path
        assert mode[8] != "w" and "s" not in mode, (path, mode)
        # No key, certificate or admin configuration is shipped.
        assert not path.startswith("/etc/pki/sercon/"), path
        assert not path.startswith("/etc/sercon/conf.d/"), path


def test_deb_installed_files_follow_debian_paths(deb):
    root = deb[1]
    with open(root + "/lib/systemd/system/sercon-renew.service") as f:
        unit = f.read()
    assert "ExecStart=/usr/sbin/sercon-setup renew\n" in unit
    assert "ReadWritePaths=/etc/pki/sercon\n" in unit
    with open(root + "/lib/systemd/system/sercon-renew.timer") as f:
        timer = f.read()
    assert "OnCalendar=daily" in timer and "WantedBy=timers.target" in timer
    with open(root + "/usr/lib/tmpfiles.d/sercon.conf") as f:
        tmpfiles = [l.split() for l in f if l.strip() and not l.startswith("#")]
    assert ["d", "/run/sercon/console", "0770", "sercon", "sercon", "-"] in tmpfiles
    assert ["d", "/run/sercon/lock", "0750", "sercon", "sercon", "-"] in tmpfiles
    assert ["d", "/var/cache/sercon", "0750", "sercon", "sercon", "-"] in tmpfiles
    with open(root + "/usr/lib/sysusers.d/sercon.conf") as f:
        sysusers = [l.split('"') for l in f if l.startswith("u ")]
    assert sysusers[0][0].split() == ["u", "sercon", "-:sercon"]
    assert sysusers[0][2].split() == ["/var/lib/sercon", "/bin/sh"]
    # The programs were built for these paths.
    strings = run(["strings", root + "/usr/sbin/sercon-setup"]).stdout
    assert "/etc/pki/sercon" in strings and "/usr/share/sercon" in strings


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
    # The account: created with /bin/sh, never left locked.
    assert re.search(r"useradd --system .*--shell /bin/sh", postinst.replace("\\\n", " "))
    assert "usermod -p '*'" in postinst
    # User first, then the run-time directories owned by it.
    assert postinst.index("usermod -p") < postinst.index("systemd-tmpfiles")
    # Only the timer is enabled and started on installation; a daemon is
    # enabled again on upgrade only where the admin had enabled it.
    started = re.findall(r"deb-systemd-invoke \S+ '([\w.@-]+)'", postinst)
    assert started == ["sercon-renew.timer"], started
    for unit in ("sercon-proxy-sshd.service", "sercon-host-sshd.service"):
        block = postinst.split("debian-installed '%s'" % unit, 1)[1].split("fi\n", 2)
        assert "was-enabled '%s'" % unit in block[0] + block[1], unit
    assert "was-enabled defaults to true" in postinst.split("'sercon-renew.timer'")[0][-400:] \
        or "deb-systemd-helper enable 'sercon-renew.timer'" in postinst
    # Nothing of the admin's goes, on upgrade or ever: no userdel, no keys,
    # and port labels only on purge.
    code = "\n".join(l for l in postrm.splitlines() if not l.lstrip().startswith("#"))
    assert "userdel" not in code and "deluser" not in code
    assert re.findall(r"\brm\b.*", code) == ["rm -rf /var/cache/sercon"]
    purge = postrm.split("purge)", 1)[1].split(";;", 1)[0]
    assert "semanage port -d" in purge
    assert postrm.count("semanage port -d") == 1


def test_postinst_creates_unlocked_user(deb, tmp_path):
    """Runs the package's own create_user against a stub environment: the
    commands it would run, in order."""
    ctrl = deb[2]
    stub = tmp_path / "bin"
    stub.mkdir()
    log = tmp_path / "log"
    for cmd in ("groupadd", "useradd", "usermod", "install", "semanage",
                "selinuxenabled"):
        p = stub / cmd
        p.write_text("#!/bin/sh\necho %s \"$@\" >> %s\n" % (cmd, log))
        p.chmod(0o755)
    # getent: nothing exists yet, and the new account is locked ('!').
    (stub / "getent").write_text(
        "#!/bin/sh\n[ \"$1\" = shadow ] && echo 'sercon:!:19000::::::' && exit 0\nexit 2\n")
    (stub / "getent").chmod(0o755)
    with open(ctrl + "/postinst") as f:
        body = f.read().split("#DEBHELPER#")[0]
    body = body.replace("if [ ! -d /var/lib/sercon ]", "if true")
    script = tmp_path / "postinst"
    script.write_text(body + "\n")
    env = {"PATH": "%s:/usr/bin:/bin" % stub}
    run(["sh", str(script), "configure"], env=env)
    lines = log.read_text().splitlines()
    assert lines[0] == "groupadd --system sercon"
    assert lines[1].startswith("useradd --system --gid sercon --home-dir /var/lib/sercon")
    assert "--shell /bin/sh" in lines[1]
    assert lines[2] == "usermod -p * sercon"
    assert lines[3] == "install -d -o root -g root -m 0755 /var/lib/sercon"
    assert lines[4:] == ["selinuxenabled"] + [
        "semanage port -a -t ssh_port_t -p tcp %d" % p for p in (2222, 2223)]

# pkg_util.py: builds sercon the way a packager does, once per test run:
# the `make dist` tarball, the Debian package from it (dpkg-buildpackage
# with packaging/debian copied to debian/), and the RPM (rpmbuild -ba
# --nodeps). test_packaging.py checks what they contain, test_systemd_vm.py
# installs the .deb on a real systemd machine.

import os
import re
import shutil
import subprocess
import tarfile
import tempfile

from conftest import REPO, TAG, run

_built = {}


def version():
    with open(os.path.join(REPO, "configure.ac")) as f:
        return re.search(r"AC_INIT\(\[sercon\], \[([^]]+)\]", f.read()).group(1)


def arch():
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                          text=True, check=True).stdout.strip()


def tarball():
    """`make dist` in a build directory of its own."""
    if "tarball" in _built:
        return _built["tarball"]
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
    _built["tarball"] = path
    return path


def _workdir(name):
    d = os.path.join(REPO, "build-test-%s-%s" % (TAG, name))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def deb(source=True):
    """dpkg-buildpackage -us -uc from the tarball (source and binary, for
    lintian). Returns {"deb", "changes", "dir", "src"}."""
    if "deb" in _built:
        return _built["deb"]
    work = _workdir("deb")
    v = version()
    shutil.copy(tarball(), os.path.join(work, "sercon_%s.orig.tar.xz" % v))
    with tarfile.open(tarball()) as t:
        t.extractall(work)
    src = os.path.join(work, "sercon-%s" % v)
    shutil.copytree(os.path.join(src, "packaging", "debian"), os.path.join(src, "debian"))
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2")
    r = subprocess.run(["dpkg-buildpackage", "-us", "-uc"], cwd=src, env=env,
                       capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    debs = sorted(f for f in os.listdir(work) if f.endswith(".deb") and "dbgsym" not in f)
    assert debs == ["sercon_%s-1_%s.deb" % (v, arch())], debs
    _built["deb"] = {
        "deb": os.path.join(work, debs[0]),
        "changes": os.path.join(work, "sercon_%s-1_%s.changes" % (v, arch())),
        "dir": work,
        "src": src,
    }
    return _built["deb"]


def bumped_deb(path, revision):
    """The same .deb repacked with Debian revision REVISION: what an
    upgrade installs (same files, same maintainer scripts)."""
    work = tempfile.mkdtemp(prefix="sercon-bump-", dir=os.path.dirname(path))
    root = os.path.join(work, "root")
    run(["dpkg-deb", "-R", path, root])
    control = os.path.join(root, "DEBIAN", "control")
    with open(control) as f:
        text = f.read()
    text = re.sub(r"^Version: (\S+)-\d+$", r"Version: \1-%d" % revision, text, flags=re.M)
    with open(control, "w") as f:
        f.write(text)
    out = os.path.join(work, "sercon_%s-%d_%s.deb" % (version(), revision, arch()))
    run(["dpkg-deb", "--root-owner-group", "-b", root, out])
    return out


def rpm():
    """rpmbuild -ba --nodeps of the spec the tarball carries (Fedora's build
    dependencies are not installable on Debian). Returns {"rpms", "srpm",
    "dir"}: rpms maps a subpackage name to its path."""
    if "rpm" in _built:
        return _built["rpm"]
    top = _workdir("rpm")
    os.makedirs(os.path.join(top, "SOURCES"))
    shutil.copy(tarball(), os.path.join(top, "SOURCES"))
    spec = os.path.join(top, "sercon.spec")
    with tarfile.open(tarball()) as t, open(spec, "wb") as f:
        f.write(t.extractfile("sercon-%s/packaging/rpm/sercon.spec" % version()).read())
    r = subprocess.run(["rpmbuild", "-ba", "--nodeps", "--define", "_topdir " + top,
                        "--define", "_smp_mflags -j2", spec],
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    rpms = {}
    for d, _, files in os.walk(os.path.join(top, "RPMS")):
        for f in files:
            name = run(["rpm", "-qp", "--qf", "%{NAME}", os.path.join(d, f)]).stdout
            rpms[name] = os.path.join(d, f)
    srpms = os.listdir(os.path.join(top, "SRPMS"))
    _built["rpm"] = {"rpms": rpms, "srpm": os.path.join(top, "SRPMS", srpms[0]), "dir": top}
    return _built["rpm"]

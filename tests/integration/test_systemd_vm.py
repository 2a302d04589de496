# test_systemd_vm.py: the Debian package installed as a distribution installs
# it, on a real systemd machine: a small Debian 12 image (systemd,
# openssh-server, from Debian's packages: tests/vm/build-system-image)
# booted under qemu (TCG), the .deb from `make dist` installed there, and
# everything checked from outside over ssh, as a user and an admin would:
# sercon-setup from nothing, both sshd units running as the sercon account,
# a stock ssh reaching a console through the whole chain with a pty (the
# production devpts), restarts under an open session, the renewal timer,
# systemd-analyze, sercon-setup check naming planted faults, reinstall and
# upgrade keeping the PKI and conf.d, purge removing only what the package
# made. The console inside the machine is a socat listener, not a nested
# qemu (qemu under qemu without KVM would take minutes to boot).
#
# The steps share one machine and run in file order.

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pexpect
import pytest

from conftest import REPO, TAG, free_port, keygen, run
import pkg_util

pytestmark = [pytest.mark.systemd_vm, pytest.mark.package]

HERE = os.path.dirname(os.path.abspath(__file__))
USER = "sercon"
PKI = "/etc/pki/sercon"
VMS = {"vm1": "11111111-2222-3333-4444-555555555555",
       "vm2": "11111111-2222-3333-4444-666666666666"}
# What the machine's file system may hold after purge that it did not hold
# before the package: what the admin and sercon-setup made (keys,
# certificates, inventory, conf.d and sshd.d snippets) and the state systemd
# keeps; the account stays (Debian never removes system accounts).
ADMIN_MADE = re.compile(r"^(/etc/pki|/etc/pki/sercon(/.*)?|/etc/sercon(/.*)?"
                        r"|/var/lib/systemd/.*|/var/log/.*|/var/cache/debconf/.*"
                        r"|/var/lib/dpkg/.*|/etc/(passwd|group|shadow|gshadow)-?"
                        r"|/etc/subuid-?|/etc/subgid-?|/root/.*)$")

if not shutil.which("qemu-system-x86_64") or not shutil.which("mmdebstrap"):
    pytest.skip("qemu-system-x86_64 and mmdebstrap are needed", allow_module_level=True)


class Machine:
    """The booted image: qemu with the root file system as a snapshot (the
    cached image stays pristine), root's ssh on one forwarded port, the
    proxy sshd's port on another."""

    def __init__(self, image):
        self.image = image
        self.key = os.path.join(image, "id_ed25519")
        self.ssh_port = free_port()
        self.proxy_port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="sercon-sysvm-", suffix=".log", delete=False)
        fwd = "hostfwd=tcp:127.0.0.1:%d-:22,hostfwd=tcp:127.0.0.1:%d-:2222" % (
            self.ssh_port, self.proxy_port)
        argv = ["qemu-system-x86_64", "-machine", "pc,accel=tcg", "-cpu", "max",
                "-smp", "2", "-m", "1024", "-nodefaults", "-no-user-config",
                "-display", "none", "-serial", "file:" + self.log.name,
                "-kernel", image + "/vmlinuz", "-initrd", image + "/initrd.cpio.gz",
                "-append", "console=ttyS0 rw mitigations=off nokaslr tsc=reliable no_timer_check",
                "-drive", "file=%s/rootfs.ext4,format=raw,if=virtio" % image, "-snapshot",
                "-netdev", "user,id=n0," + fwd, "-device", "virtio-net-pci,netdev=n0"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.boot_seconds = self._wait_ssh(300)

    def ssh_argv(self, *extra):
        return ["ssh", "-F", "/dev/null", "-i", self.key, "-p", str(self.ssh_port),
                "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"] + list(extra) + ["root@127.0.0.1"]

    def _wait_ssh(self, limit):
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            if self.proc.poll() is not None:
                raise AssertionError("qemu exited: " + self.console_log())
            r = subprocess.run(self.ssh_argv() + ["systemctl is-system-running --wait"],
                               capture_output=True, text=True, timeout=limit)
            if r.returncode != 255:
                return time.monotonic() - t0
            time.sleep(2)
        raise AssertionError("the machine's sshd did not answer in %d s: %s" % (limit, self.console_log()))

    def console_log(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()[-3000:]

    def sh(self, script, check=True, timeout=600, input=None):
        r = subprocess.run(self.ssh_argv() + [script], capture_output=True, text=True,
                           timeout=timeout, input=input)
        if check:
            assert r.returncode == 0, "%s\n-> %d\n%s%s" % (script, r.returncode, r.stdout, r.stderr)
        return r

    def put(self, local, remote):
        with open(local, "rb") as f:
            r = subprocess.run(self.ssh_argv() + ["cat > %s" % remote], stdin=f,
                               capture_output=True, timeout=120)
        assert r.returncode == 0, r.stderr

    def files(self):
        """Every path on the root file system but the volatile trees."""
        out = self.sh("find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /run"
                      " -o -path /tmp -o -path /var/tmp -o -path /var/log/journal \\) -prune"
                      " -o -print | LC_ALL=C sort", timeout=300).stdout
        return set(out.splitlines())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.unlink(self.log.name)


@pytest.fixture(scope="module")
def image():
    r = subprocess.run([os.path.join(REPO, "tests/vm/build-system-image")],
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def deb():
    return pkg_util.deb()["deb"]


@pytest.fixture(scope="module")
def vm(image, deb):
    t0 = time.monotonic()
    m = Machine(image)
    sys.stderr.write("\nsystem VM: booted in %.0f s\n" % (time.monotonic() - t0))
    m.put(deb, "/root/sercon.deb")
    m.put(pkg_util.bumped_deb(deb, 2), "/root/sercon-upgrade.deb")
    m.before = m.files()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    d = tmp_path_factory.mktemp("sysvm-user")
    path = str(d / "alice")
    keygen(path, "ed25519", comment="alice@test")
    with open(path + ".pub") as f:
        return path, f.read().strip()


def test_install(vm):
    vm.sh("dpkg -i /root/sercon.deb")
    # The account, from sysusers.d, usable by sshd (not locked), its shell
    # sercon-login-shell (which execs the forced commands: no resident sh).
    ent = vm.sh("getent passwd %s" % USER).stdout.strip().split(":")
    assert ent[5:] == ["/var/lib/sercon", "/usr/libexec/sercon/sercon-login-shell"], ent
    assert vm.sh("getent shadow %s | cut -d: -f2" % USER).stdout.strip() == "*"
    # The directories, from tmpfiles.d, with their owners.
    st = vm.sh("stat -c '%n %U %G %a' /run/sercon/console /run/sercon/lock "
               "/var/cache/sercon /var/log/sercon /var/lib/sercon").stdout.split("\n")
    assert st[:5] == ["/run/sercon/console sercon sercon 770", "/run/sercon/lock sercon sercon 750",
                      "/var/cache/sercon sercon sercon 750", "/var/log/sercon root root 755",
                      "/var/lib/sercon root root 755"], st
    # Only the timer is enabled and running; the daemons wait for the admin.
    assert vm.sh("systemctl is-enabled sercon-renew.timer").stdout.strip() == "enabled"
    assert vm.sh("systemctl is-active sercon-renew.timer").stdout.strip() == "active"
    assert "sercon-renew.timer" in vm.sh("systemctl list-timers --all").stdout
    for unit in ("sercon-proxy-sshd", "sercon-host-sshd", "sercon-consoled"):
        assert vm.sh("systemctl is-enabled %s" % unit, check=False).stdout.strip() == "disabled"


def test_setup_from_nothing(vm, user):
    vm.sh("sercon-setup ca create && "
          "sercon-setup proxy --name sercon-sys,localhost && "
          "sercon-setup host --name sercon-sys,localhost")
    consoles = ", ".join(
        '{"vm_id": "%s", "vm_name": "%s", "host": "localhost", "console": "%s.sock",'
        ' "users": ["alice"]}' % (vmid, name, vmid) for name, vmid in VMS.items())
    inventory = ('{"users": [{"id": "alice", "name": "Alice", "keys": ["%s"]}],'
                 ' "consoles": [%s]}' % (user[1], consoles))
    vm.sh("cat > /etc/sercon/inventory.json", input=inventory)
    vm.sh("echo '# the admin was here' > /etc/sercon/conf.d/50-admin.conf")
    # The VMs' consoles: sockets in console_dir, owned as sercon-setup
    # libvirt has libvirt leave them, greeting then echoing (socat: a
    # nested qemu would take minutes to boot under TCG).
    for name, vmid in VMS.items():
        vm.sh("systemd-run --unit=fake-console-%s --uid=sercon --gid=sercon "
              "socat UNIX-LISTEN:/run/sercon/console/%s.sock,fork,mode=660 "
              "SYSTEM:'echo %s-CONSOLE-READY; exec cat'" % (name, vmid, name.upper()))
    vm.sh("systemctl enable --now sercon-consoled sercon-host-sshd sercon-proxy-sshd")
    for unit in ("sercon-proxy-sshd", "sercon-host-sshd", "sercon-consoled"):
        assert vm.sh("systemctl is-active %s" % unit).stdout.strip() == "active"
        pid = vm.sh("systemctl show -p MainPID --value %s" % unit).stdout.strip()
        assert vm.sh("ps -o user= -p %s" % pid).stdout.strip() == USER
        # Every process of the unit (sshd's children too) runs as sercon.
        users = vm.sh("ps -e -o user=,unit= | awk '$2 == \"%s.service\" { print $1 }'"
                      % unit).stdout.split()
        assert users and set(users) == {USER}, users
    r = vm.sh("sercon-setup check", check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def _user_session(vm, user, tmp_path, name="vm1"):
    kh = tmp_path / "known_hosts"
    kh.write_text("@cert-authority * %s\n" % vm.sh("cat %s/ca.pub" % PKI).stdout.strip())
    argv = ["ssh", "-F", "/dev/null", "-tt", "-p", str(vm.proxy_port), "-i", user[0],
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=%s" % kh,
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
            "-o", "HostKeyAlias=localhost", "%s@127.0.0.1" % USER,
            "connect", "--vm-name=" + name]
    child = pexpect.spawn(argv[0], argv[1:], timeout=120, encoding="utf-8")
    child.expect(name.upper() + "-CONSOLE-READY")
    return child


def _echo(child, word):
    child.send(word + "\r")
    child.expect(word)


def test_chain_with_pty_survives_restarts(vm, user, tmp_path):
    child = _user_session(vm, user, tmp_path)
    try:
        _echo(child, "first-words")
        # The session's sshd holds a pty on the production devpts.
        pts = vm.sh("ls -l /dev/pts | awk '$3 == \"sercon\"' | wc -l").stdout.strip()
        assert int(pts) >= 1
        # The session's processes: sshd, the waiter, ssh, the host shell;
        # the login shell exec'd the forced commands, so no shell waits.
        comms = vm.sh("ps -u %s -o comm=" % USER).stdout.split()
        assert "sercon-proxy-wa" in comms and "sercon-host-she" in comms, comms
        assert not {"sh", "dash", "bash", "sercon-login-sh"} & set(comms), comms
        vm.sh("systemctl restart sercon-proxy-sshd sercon-host-sshd")
        for unit in ("sercon-proxy-sshd", "sercon-host-sshd"):
            assert vm.sh("systemctl is-active %s" % unit).stdout.strip() == "active"
        _echo(child, "after-restart")
        # And a new session (to the other console: one session per
        # console without sercon-consoled) works beside the old one.
        second = _user_session(vm, user, tmp_path, "vm2")
        _echo(second, "second-session")
        second.close(force=True)
        _echo(child, "still-here")
    finally:
        child.close(force=True)


def _valid_to(vm, cert):
    out = vm.sh("ssh-keygen -L -f %s/%s" % (PKI, cert)).stdout
    return re.search(r"Valid: from \S+ to (\S+)", out).group(1)


def test_renew_timer_renews_an_expiring_certificate(vm):
    assert "sercon-renew.timer" in vm.sh("systemctl list-timers").stdout
    # An expiring certificate: signed for two days (sercon-setup host keeps
    # a valid one, so sign and install it as an admin would).
    vm.sh("sercon-setup sign --role host --name sercon-sys,localhost --validity 2d "
          "%s/host-ssh_host_key.pub > /root/short-cert.pub && "
          "sercon-setup install-cert /root/short-cert.pub" % PKI)
    before = _valid_to(vm, "host-ssh_host_key-cert.pub")
    # check names it.
    r = vm.sh("sercon-setup check host", check=False)
    assert re.search(r"warning: %s/host-ssh_host_key-cert.pub expires in [01] days" % PKI,
                     r.stdout), r.stdout
    vm.sh("systemctl start sercon-renew.service")
    after = _valid_to(vm, "host-ssh_host_key-cert.pub")
    assert after > before, (before, after)
    assert vm.sh("systemctl is-active sercon-host-sshd").stdout.strip() == "active"


def test_systemd_analyze(vm):
    units = ("sercon-proxy-sshd.service sercon-host-sshd.service sercon-consoled.service "
             "sercon-renew.service")
    # --man=no: the image carries no man pages (test_packaging.py checks
    # that the package ships every page the units name).
    r = vm.sh("systemd-analyze verify --man=no /lib/systemd/system/sercon-*.service "
              "/lib/systemd/system/sercon-renew.timer", check=False)
    assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr
    scores = {}
    for unit in units.split():
        out = vm.sh("systemd-analyze security --no-pager %s" % unit).stdout
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\S+)", out)
        scores[unit] = (float(m.group(1)), m.group(2))
    sys.stderr.write("\nsystemd-analyze security: %s\n" % scores)
    out = os.path.join(REPO, "build-test-%s-deb" % TAG)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "security-scores.txt"), "w") as f:
        for unit, (score, word) in sorted(scores.items()):
            f.write("%s %.1f %s\n" % (unit, score, word))
    for unit, (score, word) in scores.items():
        assert score <= 3.0, (unit, score, word)


def test_check_names_planted_faults(vm):
    def check():
        r = vm.sh("sercon-setup check", check=False)
        return r.returncode, r.stdout + r.stderr

    vm.sh("systemctl stop sercon-proxy-sshd")
    rc, out = check()
    assert rc != 0 and "sercon-proxy-sshd" in out, out
    vm.sh("systemctl start sercon-proxy-sshd")
    vm.sh("chown root:root /var/cache/sercon")
    rc, out = check()
    assert rc != 0 and "/var/cache/sercon" in out, out
    vm.sh("chown sercon:sercon /var/cache/sercon")
    # sshd as root: a drop-in that an admin might leave behind (root
    # without capabilities or with the system-call filter would not start).
    vm.sh("mkdir -p /run/systemd/system/sercon-host-sshd.service.d && "
          "printf '[Service]\\nUser=\\nGroup=\\nCapabilityBoundingSet=~\\nSystemCallFilter=\\n' > "
          "/run/systemd/system/sercon-host-sshd.service.d/root.conf && "
          "systemctl daemon-reload && systemctl restart sercon-host-sshd")
    rc, out = check()
    assert rc != 0 and re.search(r"PROBLEM: sercon-host-sshd.service runs sshd \(pid \d+\) as root", out), out
    vm.sh("rm -r /run/systemd/system/sercon-host-sshd.service.d && "
          "systemctl daemon-reload && systemctl restart sercon-host-sshd")
    rc, out = check()
    assert rc == 0, out


def _digest(vm):
    return vm.sh("cd / && find etc/pki/sercon etc/sercon -type f | LC_ALL=C sort | "
                 "xargs sha256sum").stdout


def test_reinstall_and_upgrade_keep_pki_and_conf(vm):
    before = _digest(vm)
    assert "etc/sercon/conf.d/50-admin.conf" in before and "ca.pub" in before
    vm.sh("dpkg -i /root/sercon.deb")
    assert _digest(vm) == before
    vm.sh("dpkg -i /root/sercon-upgrade.deb")
    assert _digest(vm) == before
    assert vm.sh("dpkg-query -W -f '${Version}' sercon").stdout.endswith("-2")
    # The admin's choices stand: both daemons still enabled and running.
    for unit in ("sercon-proxy-sshd", "sercon-host-sshd", "sercon-consoled",
                 "sercon-renew.timer"):
        assert vm.sh("systemctl is-enabled %s" % unit).stdout.strip() == "enabled"
        assert vm.sh("systemctl is-active %s" % unit).stdout.strip() == "active"


def test_purge_removes_what_the_package_made(vm):
    vm.sh("systemctl stop fake-console-vm1 fake-console-vm2")
    vm.sh("dpkg --purge sercon")
    after = vm.files()
    gone = sorted(vm.before - after)
    assert gone == [], gone[:20]
    left = sorted(p for p in after - vm.before if not ADMIN_MADE.match(p))
    assert left == [], left[:40]
    # What the package made is gone; what the admin made stays.
    r = vm.sh("ls -d /usr/libexec/sercon /lib/systemd/system/sercon-renew.timer "
              "/var/cache/sercon /var/lib/sercon /run/sercon 2>&1", check=False)
    assert r.stdout.count("No such file") == 5, r.stdout
    assert vm.sh("ls /etc/pki/sercon").stdout.split().count("ca.pub") == 1
    assert vm.sh("cat /etc/sercon/conf.d/50-admin.conf").stdout == "# the admin was here\n"
    assert vm.sh("getent passwd %s" % USER).returncode == 0

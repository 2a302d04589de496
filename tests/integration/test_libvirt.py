# test_libvirt.py: a plain libvirt hypervisor. Debian's libvirtd started
# directly (qemu:///system, TCG), a domain with the tiny VM's kernel and
# initramfs (tests/vm) defined with the usual pty serial port; `sercon-setup
# libvirt` moves its console into console_dir through virsh; libvirt starts
# it; a user's stock ssh reaches its console through the whole chain; `virsh
# destroy` closes the session's console, `virsh start` brings it back for
# the next session; `sercon-setup check host` names a VM whose console it
# cannot reach, and why.

import os
import re
import shutil
import subprocess
import time
import uuid

import pexpect
import pytest

from conftest import REPO, TAG, ssh_argv
import vm_util

pytestmark = [pytest.mark.libvirt, pytest.mark.vm]

URI = "qemu:///system"
DOMAIN = "sercon-test-%s" % TAG

if not (shutil.which("libvirtd") and shutil.which("virsh") and vm_util.have_qemu()):
    pytest.skip("libvirtd, virsh and qemu are needed (apt-get install "
                "libvirt-daemon-system libvirt-clients qemu-system-x86)",
                allow_module_level=True)


def virsh(*args, check=True):
    r = subprocess.run(["virsh", "-q", "-c", URI] + list(args), capture_output=True,
                       text=True, timeout=120)
    if check:
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r


@pytest.fixture(scope="module")
def libvirtd():
    """libvirtd and virtlogd, started here unless they already run (then
    left alone); stopped by the pids started here."""
    started = []
    if not os.path.exists("/run/libvirt/virtlogd-sock"):
        started.append(subprocess.Popen(["virtlogd"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
    if not os.path.exists("/run/libvirt/libvirt-sock") or \
            subprocess.run(["virsh", "-c", URI, "version"], capture_output=True).returncode != 0:
        started.append(subprocess.Popen(["libvirtd"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
    deadline = time.monotonic() + 60
    while subprocess.run(["virsh", "-c", URI, "version"], capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, "libvirtd did not answer"
        time.sleep(0.5)
    yield
    for p in reversed(started):
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def domain(libvirtd, install):
    kernel, initrd = vm_util.build_image()
    virsh("destroy", DOMAIN, check=False)
    virsh("undefine", DOMAIN, check=False)
    xml = """<domain type='qemu'>
  <name>%s</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>%s</kernel><initrd>%s</initrd>
    <cmdline>console=ttyS0,115200 panic=-1 quiet</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>
""" % (DOMAIN, kernel, initrd)
    path = os.path.join(install.base, "domain.xml")
    with open(path, "w") as f:
        f.write(xml)
    virsh("define", path)
    dom_uuid = virsh("domuuid", DOMAIN).stdout.strip()
    yield dom_uuid
    virsh("destroy", DOMAIN, check=False)
    virsh("undefine", DOMAIN, check=False)


def setup_cmd(install, *args):
    return subprocess.run([install.sbin + "/sercon-setup"] + list(args),
                          capture_output=True, text=True, timeout=120)


def test_print_shows_the_serial_element(install, domain):
    r = setup_cmd(install, "libvirt", "--print", "--log", DOMAIN)
    assert r.returncode == 0, r.stderr
    sock = "%s/%s.sock" % (install.console_dir, domain)
    assert "<source mode='bind' path='%s'>" % sock in r.stdout
    assert "<label>sercon:sercon</label>" in r.stdout
    assert "<log file='/var/log/libvirt/qemu/%s-serial0.log' append='on'/>" % DOMAIN in r.stdout
    # --print changes nothing.
    assert "type=\"pty\"" in virsh("dumpxml", "--inactive", "--xpath", "//devices/serial", DOMAIN).stdout


def test_unknown_domain_is_one_error_line(install, libvirtd):
    r = setup_cmd(install, "libvirt", "no-such-domain-%s" % TAG)
    assert r.returncode == 1
    assert r.stderr.startswith("ERROR: no libvirt domain") and r.stderr.count("\n") == 1, r.stderr
    r = setup_cmd(install, "libvirt", "--bogus", DOMAIN)
    assert r.returncode == 2


@pytest.fixture(scope="module")
def chain(install, pki, host_sshd, proxy_sshd, user_key, syslog, domain):
    alice = user_key("alice")
    install.write_inventory({
        "users": [{"id": "alice", "name": "Alice", "keys": [alice[1]]}],
        "consoles": [{"vm_id": domain, "vm_name": "lv1", "host": "127.0.0.1",
                      "console": domain + ".sock", "users": ["alice"]}],
    })
    # A console that closes under a session is waited for follow_timeout
    # (the VM may be restarting or moving, issue 11): keep that short here,
    # where a destroyed VM is to end the session.
    install.write_conf("30-lv-follow.conf", "[proxy]\nfollow_timeout = 3\n")
    yield {"key": alice[0], "port": proxy_sshd.port, "syslog": syslog}
    install.remove_conf("30-lv-follow.conf")


def spawn(chain):
    argv = ssh_argv(chain["port"], chain["key"], tty=True, command=["connect", "--vm-name=lv1"])
    return pexpect.spawn(argv[0], argv[1:], encoding="utf-8", codec_errors="replace",
                         timeout=30, dimensions=(24, 80))


def at_prompt(chain, timeout=120):
    """A session at the VM's login prompt (it may still be booting)."""
    return vm_util.reach_prompt(lambda: spawn(chain), chain["syslog"], "lv1", timeout,
                                tries=6, wait=3, pause=1)


def test_setup_moves_the_console_and_libvirt_serves_it(install, domain, chain):
    r = setup_cmd(install, "libvirt", DOMAIN)
    assert r.returncode == 0, r.stderr
    assert "serial console at %s/%s.sock from its next start" % (install.console_dir, domain) in r.stdout
    serial = virsh("dumpxml", "--inactive", "--xpath", "//devices/serial", DOMAIN).stdout
    assert serial.count("<serial") == 1 and "type=\"unix\"" in serial, serial
    # Run again: nothing to do.
    r = setup_cmd(install, "libvirt", DOMAIN)
    assert r.returncode == 0 and "already" in r.stdout, r.stdout
    virsh("start", DOMAIN)
    sock = "%s/%s.sock" % (install.console_dir, domain)
    deadline = time.monotonic() + 30
    while not os.path.exists(sock):
        assert time.monotonic() < deadline, "libvirt made no socket"
        time.sleep(0.2)
    st = os.stat(sock)
    import pwd
    assert st.st_uid == pwd.getpwnam("sercon").pw_uid, "socket not labelled for sercon"
    child = at_prompt(chain)
    child.send("root\r")
    child.expect("assword: ")
    child.send(vm_util.VM_PASSWORD + "\r")
    child.expect("# ")
    child.send("echo $((6*7))\r")
    child.expect("\r\n42\r\n")
    # virsh destroy under the session: the console closes, the user is told.
    virsh("destroy", DOMAIN)
    child.expect(pexpect.EOF, timeout=60)
    child.close()
    assert child.exitstatus != 0 or child.signalstatus is not None
    # virsh start: the console is back for the next session.
    virsh("start", DOMAIN)
    again = at_prompt(chain)
    again.send("\r~.")
    again.expect(pexpect.EOF, timeout=15)


def test_check_host_names_unreachable_consoles(install, domain, chain):
    r = setup_cmd(install, "check", "host")
    assert "is not reachable" not in r.stdout, r.stdout
    assert re.search(r"ok: \d+ console sockets? in .* each reachable by sercon", r.stdout), r.stdout
    sock = "%s/%s.sock" % (install.console_dir, domain)
    # What libvirt does without the label: the qemu user's socket.
    os.chown(sock, 0, 0)
    try:
        r = setup_cmd(install, "check", "host")
        assert r.returncode == 1
        line = [l for l in r.stdout.splitlines() if "is not reachable" in l]
        assert line and "VM %s" % DOMAIN in line[0] and "permission denied" in line[0], r.stdout
        assert "root:root" in line[0] and "sercon-setup libvirt" in line[0], line
    finally:
        import pwd
        ent = pwd.getpwnam("sercon")
        os.chown(sock, ent.pw_uid, ent.pw_gid)
    # A running VM whose console is not in console_dir is named.
    other = DOMAIN + "-pty"
    kernel, initrd = vm_util.build_image()
    xml = os.path.join(install.base, "domain-pty.xml")
    with open(xml, "w") as f:
        f.write("<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory>"
                "<os><type arch='x86_64' machine='pc'>hvm</type><kernel>%s</kernel>"
                "<initrd>%s</initrd></os><devices><emulator>/usr/bin/qemu-system-x86_64"
                "</emulator><serial type='pty'><target port='0'/></serial></devices>"
                "</domain>" % (other, kernel, initrd))
    virsh("create", xml)
    try:
        r = setup_cmd(install, "check", "host")
        assert re.search(r"VM %s: its serial console is not a socket in .*sercon-setup libvirt %s"
                         % (re.escape(other), re.escape(other)), r.stdout), r.stdout
    finally:
        virsh("destroy", other, check=False)


def test_with_consoled_destroy_and_start_under_a_session(install, domain, chain):
    """With sercon-consoled holding the console: virsh destroy tells the
    open session the console closed, virsh start brings it back in the
    same session."""
    from test_consoled import Daemon
    if virsh("domstate", DOMAIN).stdout.strip() != "running":
        virsh("start", DOMAIN)
    install.write_conf("20-lv-consoled.conf", "[host]\nconsole_grace = 120\n")
    d = Daemon(install).start()
    try:
        child = at_prompt(chain)
        virsh("destroy", DOMAIN)
        child.expect(r"console closed", timeout=60)
        virsh("start", DOMAIN)
        child.expect(r"console back", timeout=120)
        for _ in range(40):
            child.send("\r")
            if child.expect(["login: ", "# ", pexpect.TIMEOUT], timeout=3) != 2:
                break
        else:
            pytest.fail("no prompt after the VM came back: %r" % child.before[-500:])
        child.send("\r~.")
        child.expect(pexpect.EOF, timeout=15)
    finally:
        d.stop()
        install.remove_conf("20-lv-consoled.conf")

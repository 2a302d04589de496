# test_ovirt_layout.py: an oVirt hypervisor's console layout, emulated (vdsm
# itself cannot run here): vdsm has libvirt bind each VM's console at
# /var/run/ovirt-vmconsole-console/<vmid>.sock in a directory vdsm:qemu 0775,
# and once the VM runs hands the socket to group ovirt-vmconsole with g+w.
# `sercon-setup ovirt-host` points console_dir there and gives the sercon
# account that group; `check host` finds each missing piece; a user's stock
# ssh reaches the VM through the whole chain.

import grp
import os
import pwd
import shutil
import subprocess
import uuid

import pytest

from conftest import run, ssh_argv
import vm_util

pytestmark = [pytest.mark.vm]

DIR = "/var/run/ovirt-vmconsole-console"
GROUP = "ovirt-vmconsole"
VMID = str(uuid.UUID("0f1f0000-0000-4000-8000-0000000000aa"))

if not vm_util.have_qemu():
    pytest.skip("qemu is needed", allow_module_level=True)


def _exists(getter, name):
    try:
        getter(name)
        return True
    except KeyError:
        return False


@pytest.fixture(scope="module")
def ovirt_host(install):
    """vdsm's accounts and directory, made here and removed after (only
    what this test made). If an oVirt console directory exists already,
    this machine is not one to emulate on."""
    if os.path.exists(DIR):
        pytest.skip("%s exists: a real oVirt host, or another run" % DIR)
    made = []
    for kind, name, argv in (("group", GROUP, ["groupadd", "--system", GROUP]),
                             ("group", "qemu", ["groupadd", "--system", "qemu"]),
                             ("user", "vdsm", ["useradd", "--system", "--no-create-home",
                                               "--shell", "/usr/sbin/nologin", "vdsm"])):
        if not _exists(grp.getgrnam if kind == "group" else pwd.getpwnam, name):
            run(argv)
            made.append((kind, name))
    os.makedirs(DIR)
    os.chown(DIR, pwd.getpwnam("vdsm").pw_uid, grp.getgrnam("qemu").gr_gid)
    os.chmod(DIR, 0o775)
    yield
    install.remove_conf("40-ovirt-console.conf")
    shutil.rmtree(DIR, ignore_errors=True)
    if GROUP in [g.gr_name for g in grp.getgrall() if "sercon" in g.gr_mem]:
        run(["gpasswd", "-d", "sercon", GROUP])
    for kind, name in reversed(made):
        run(["userdel" if kind == "user" else "groupdel", name])


def setup_cmd(install, *args):
    return subprocess.run([install.sbin + "/sercon-setup"] + list(args),
                          capture_output=True, text=True, timeout=120)


def problems(r):
    return [l for l in r.stdout.splitlines() if l.startswith("PROBLEM:")]


def test_ovirt_host_and_check(install, pki, host_sshd, proxy_sshd, user_key, ovirt_host):
    # console_dir pointed there by hand, the account not in the group yet:
    # check names the group.
    install.write_conf("40-ovirt-console.conf", "[host]\nconsole_dir = %s\n" % DIR)
    r = setup_cmd(install, "check", "host")
    assert any("not in group %s" % GROUP in l and "sercon-setup ovirt-host" in l
               for l in problems(r)), r.stdout
    install.remove_conf("40-ovirt-console.conf")

    r = setup_cmd(install, "ovirt-host")
    assert r.returncode == 0, r.stderr
    assert "sercon joined group %s" % GROUP in r.stdout
    with open(os.path.join(install.confd, "40-ovirt-console.conf")) as f:
        assert "console_dir = %s\n" % DIR in f.read()
    assert "sercon" in grp.getgrnam(GROUP).gr_mem
    # Again: nothing more to do.
    r = setup_cmd(install, "ovirt-host")
    assert r.returncode == 0 and "in group %s already" % GROUP in r.stdout, r.stdout

    # The VM starts: libvirt's socket is the qemu user's until vdsm hands it
    # to the group. (qemu runs as root here; vdsm's user is the same case.)
    vm_util.build_image()
    sock = os.path.join(DIR, VMID + ".sock")
    vm = vm_util.VM(sock, group=None)
    try:
        os.chmod(sock, 0o755)
        r = setup_cmd(install, "check", "host")
        bad = [l for l in problems(r) if VMID + ".sock" in l]
        assert bad and "permission denied" in bad[0] and "not writable by its group" in bad[0], r.stdout
        assert any("oVirt layout: sercon is in group %s" % GROUP in l for l in r.stdout.splitlines())

        # vdsm's after-start hook: group ovirt-vmconsole, g+w.
        os.chown(sock, -1, grp.getgrnam(GROUP).gr_gid)
        os.chmod(sock, 0o775)
        r = setup_cmd(install, "check", "host")
        assert not [l for l in problems(r) if "console" in l or GROUP in l], r.stdout
        assert "each reachable by sercon" in r.stdout

        # The whole chain: a user's stock ssh to the VM's console.
        alice = user_key("alice")
        install.write_inventory({
            "users": [{"id": "alice", "name": "Alice", "keys": [alice[1]]}],
            "consoles": [{"vm_id": VMID, "vm_name": "ovirt1", "host": "127.0.0.1",
                          "console": VMID + ".sock", "users": ["alice"]}],
        })
        import pexpect
        argv = ssh_argv(proxy_sshd.port, alice[0], tty=True, command=["connect", "--vm-name=ovirt1"])
        child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8", codec_errors="replace",
                              timeout=30, dimensions=(24, 80))
        vm_util.console_login(child)
        child.send("echo $((6*7))\r")
        child.expect("\r\n42\r\n", timeout=30)
        child.send("\r~.")
        child.expect(pexpect.EOF, timeout=15)
    finally:
        vm.kill()

# Real-VM tests: a tiny qemu VM (Debian kernel + busybox initramfs, TCG) whose
# serial port is a unix socket in the console directory, reached through the
# whole chain: user ssh -> proxy sshd -> sercon-proxy-shell -> ssh -> host
# sshd -> sercon-host-shell -> qemu's socket. Also runs tools/quickstart into
# its own prefix and drives the demo it brings up.

import os
import re
import subprocess
import time
import uuid

import pytest

from conftest import free_port, ssh_argv
import vm_util

pexpect = pytest.importorskip("pexpect")

pytestmark = [
    pytest.mark.vm,
    pytest.mark.skipif(not vm_util.have_qemu(),
                       reason="qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"),
]

VM1 = str(uuid.UUID("5e7c0c1e-0000-4000-8000-000000000001"))
VM2 = str(uuid.UUID("5e7c0c1e-0000-4000-8000-000000000002"))


@pytest.fixture(scope="module")
def vms(install):
    """Two VMs booting in the background while the daemons start."""
    vm_util.build_image()
    booted = {}
    for vmid in (VM1, VM2):
        booted[vmid] = vm_util.VM(os.path.join(install.console_dir, vmid + ".sock"))
    yield booted
    for vm in booted.values():
        vm.kill()


@pytest.fixture(scope="module")
def chain(install, pki, host_sshd, proxy_sshd, user_key, syslog, vms):
    """Inventory: alice and bob share tiny1; alice alone has tiny2."""
    alice = user_key("alice")
    bob = user_key("bob")
    install.write_inventory({
        "users": [
            {"id": "alice", "name": "Alice", "keys": [alice[1]]},
            {"id": "bob", "name": "Bob", "keys": [bob[1]]},
        ],
        "consoles": [
            {"vm_id": VM1, "vm_name": "tiny1", "host": "127.0.0.1",
             "console": VM1 + ".sock", "users": ["alice", "bob"]},
            {"vm_id": VM2, "vm_name": "tiny2", "host": "127.0.0.1",
             "console": VM2 + ".sock", "users": ["alice"]},
        ],
    })
    return {"alice": alice[0], "bob": bob[0], "port": proxy_sshd.port,
            "proxy": proxy_sshd, "host": host_sshd, "syslog": syslog}


def spawn(chain, who, vm_name):
    argv = ssh_argv(chain["port"], chain[who], tty=True,
                    command=["connect", "--vm-name=" + vm_name])
    child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8",
                          codec_errors="replace", timeout=30,
                          dimensions=(24, 80))
    return child


def leave(child):
    """ssh's own escape: the clean way out of a console session."""
    child.send("\r~.")
    child.expect(pexpect.EOF, timeout=15)
    child.close()


def connect_when_free(chain, who, vm_name, timeout=20):
    """Retries while the console is still held by a session that just left;
    returns a child at the VM's login prompt or shell."""
    deadline = time.monotonic() + timeout
    while True:
        child = spawn(chain, who, vm_name)
        for _ in range(4):
            child.send("\r")
            i = child.expect(["login: ", "# ", pexpect.EOF, pexpect.TIMEOUT], timeout=2)
            if i != 3:
                break
        if i in (0, 1):
            return child
        out = child.before
        child.close(force=True)
        if time.monotonic() > deadline:
            raise AssertionError("%s could not reach %s: %r\nsyslog:\n%s" % (
                who, vm_name, out[-1000:], "\n".join(chain["syslog"].lines()[-30:])))
        time.sleep(0.5)


def test_login_and_command_through_chain(chain, syslog):
    child = spawn(chain, "alice", "tiny1")
    vm_util.console_login(child)
    child.send("echo $((6*7))\r")
    child.expect("\r\n42\r\n", timeout=20)
    child.send("uname -r\r")
    child.expect(r"\d+\.\d+\.\d+", timeout=20)
    child.send("exit\r")
    child.expect("login: ", timeout=20)
    leave(child)
    # A clean disconnect frees the console: the next session gets it.
    again = connect_when_free(chain, "alice", "tiny1")
    leave(again)


def test_second_user_busy_then_admitted(chain):
    first = spawn(chain, "alice", "tiny1")
    vm_util.console_login(first)
    t0 = time.monotonic()
    argv = ssh_argv(chain["port"], chain["bob"], tty=True,
                    command=["connect", "--vm-name=tiny1"])
    second = pexpect.spawn(argv[0], argv[1:], encoding="utf-8",
                           codec_errors="replace", timeout=20)
    second.expect(pexpect.EOF, timeout=20)
    second.close()
    took = time.monotonic() - t0
    assert second.exitstatus != 0, second.before
    assert re.search(r"busy|in use", second.before, re.I), second.before
    assert took < 10, "busy answer took %.1f s" % took
    # The first session is untouched by the refused second one.
    first.send("echo $((6*7))\r")
    first.expect("\r\n42\r\n", timeout=20)
    first.send("exit\r")
    first.expect("login: ", timeout=20)
    leave(first)
    # Once the first user left, the second gets in.
    second = connect_when_free(chain, "bob", "tiny1")
    vm_util.console_login(second)
    second.send("echo $((6*7))\r")
    second.expect("\r\n42\r\n", timeout=20)
    second.send("exit\r")
    second.expect("login: ", timeout=20)
    leave(second)


def test_vm_killed_mid_session(chain, vms):
    child = spawn(chain, "alice", "tiny2")
    vm_util.console_login(child)
    child.send("echo $((6*7))\r")
    child.expect("\r\n42\r\n", timeout=20)
    t0 = time.monotonic()
    vms[VM2].kill()
    child.expect(r"VM closed the console", timeout=15)
    child.expect(pexpect.EOF, timeout=15)
    child.close()
    assert time.monotonic() - t0 < 15
    assert child.exitstatus != 0


QS_PREFIX = "/var/lib/sercon-test/vm-quickstart/root"


@pytest.fixture(scope="module")
def quickstart():
    """tools/quickstart in its own prefix, ports and build directory."""
    env = dict(os.environ)
    env.update({
        "SERCON_DEMO_PREFIX": QS_PREFIX,
        "SERCON_DEMO_BUILDDIR": os.path.join(vm_util.REPO, "build-test-vm-quickstart"),
        "SERCON_DEMO_PROXY_PORT": str(free_port()),
        "SERCON_DEMO_HOST_PORT": str(free_port()),
        "SERCON_DEMO_VMS": "1",
        "SERCON_DEMO_NO_APT": "1",
        "SERCON_DEMO_KEY": os.path.join(os.path.dirname(QS_PREFIX), "user_key"),
        "SERCON_VM_CACHE": vm_util.CACHE,
    })
    qs = os.path.join(vm_util.REPO, "tools", "quickstart")
    r = subprocess.run([qs], env=env, capture_output=True, text=True, timeout=1200)
    try:
        assert r.returncode == 0, "quickstart failed:\n%s\n%s" % (r.stdout, r.stderr)
        yield env, r.stdout
    finally:
        s = subprocess.run([qs, "stop"], env=env, capture_output=True, text=True)
        assert s.returncode == 0, s.stdout + s.stderr


def test_quickstart_demo_reaches_login_prompt(quickstart):
    env, out = quickstart
    port = env["SERCON_DEMO_PROXY_PORT"]
    key = env["SERCON_DEMO_KEY"]
    assert "ssh -t -p %s" % port in out, out
    # A second run is harmless: everything is already there and running.
    qs = os.path.join(vm_util.REPO, "tools", "quickstart")
    r = subprocess.run([qs], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    argv = ["ssh", "-t", "-p", port, "-i", key, "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", "UserKnownHostsFile=%s/etc/pki/sercon/known_hosts" % QS_PREFIX,
            "-o", "StrictHostKeyChecking=yes", "sercon@127.0.0.1"]
    child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8",
                          codec_errors="replace", timeout=30, dimensions=(24, 80))
    vm_util.console_login(child)
    child.send("echo $((6*7))\r")
    child.expect("\r\n42\r\n", timeout=20)
    leave(child)

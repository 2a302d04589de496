# remote_util.py: helpers for the tests of the remote managers (backends
# engine and command): an echoing console socket, cache reset, and the
# users and VMs both test modules share.

import os
import pwd
import subprocess
import sys
import time

import pexpect

from conftest import FakeConsole, ssh_argv

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "engine"))

VM_A = "4d7a0c2e-0000-4000-8000-00000000000a"
VM_B = "4d7a0c2e-0000-4000-8000-00000000000b"
VM_C = "4d7a0c2e-0000-4000-8000-00000000000c"
ALICE_ID = "8b0d2a54-aaaa-4aaa-8aaa-000000000001"
BOB_ID = "8b0d2a54-bbbb-4bbb-8bbb-000000000002"
GREETING = "remote-console-ready"


def sercon_ids():
    ent = pwd.getpwnam("sercon")
    return ent.pw_uid, ent.pw_gid


def EchoConsole(path):
    """A VM's serial console: greets and echoes upper-cased."""
    return FakeConsole(path, banner=(GREETING + "\r\n").encode(),
                       reply=bytes.upper)
def clear_cache(install):
    """Forget every manager answer (key index, console lists)."""
    for f in os.listdir(install.cache_dir):
        p = os.path.join(install.cache_dir, f)
        if os.path.isfile(p) or os.path.islink(p):
            os.unlink(p)


def age_cache(install, secs, names=None):
    """Moves the times of the files in cache_dir back by secs: the clock
    seam of the manager, which takes a file's age from the older of its
    own record and its modification time (so an answer can be made to
    look older, never younger). names: only files starting with one of
    them."""
    t = time.time() - secs
    for f in os.listdir(install.cache_dir):
        if names is None or any(f.startswith(n) for n in names):
            os.utime(os.path.join(install.cache_dir, f), (t, t))


def bad_key_entries(key_line):
    """Key list entries, each invalid only as JSON (a \\u0000, a repeated
    field, a lone surrogate, invalid UTF-8, an overflowing number), each
    offering key_line (bytes): one such entry must never lock out the
    others."""
    return [
        b'{"entityid":"x\\u0000","entity":"x","key":"' + key_line + b'"}',
        b'{"entityid":"x","entityid":"y","entity":"x","key":"' + key_line + b'"}',
        b'{"entityid":"\\ud800","entity":"x","key":"' + key_line + b'"}',
        b'{"entityid":"x\xff\xfe","entity":"x","key":"' + key_line + b'"}',
        b'{"entityid":"x","n":123456789012345678901234567890,"key":"'
        + key_line + b'"}',
    ]


def users_and_vms(user_key):
    """alice (two keys) may use vm-a and vm-b; bob (one key) vm-b and vm-c."""
    alice1 = user_key("remote-alice1")
    alice2 = user_key("remote-alice2")
    bob = user_key("remote-bob")
    users = {"alice": (ALICE_ID, "alice@internal", [alice1, alice2]),
             "bob": (BOB_ID, "bob@internal", [bob])}
    vms = [
        {"vmid": VM_A, "vmname": "vm-a", "host": "127.0.0.1", "users": [ALICE_ID]},
        {"vmid": VM_B, "vmname": "vm-b", "host": "127.0.0.1",
         "users": [ALICE_ID, BOB_ID]},
        {"vmid": VM_C, "vmname": "vm-c", "host": "localhost", "users": [BOB_ID]},
    ]
    return users, vms


def patient(argv):
    """ssh_argv with a longer ConnectTimeout: a sanitizer build on a busy
    machine may take more than 10 s to greet, and such a timeout would pass
    for a refusal."""
    return ["ConnectTimeout=60" if a == "ConnectTimeout=10" else a for a in argv]


def ssh(port, key, command, timeout=120):
    """Runs the real client; returns (status, stdout, stderr, seconds)."""
    t0 = time.monotonic()
    r = subprocess.run(patient(ssh_argv(port, key, command=command)),
                       capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr, time.monotonic() - t0


def listing(port, key):
    """The consoles `list` shows, as {name: vmid}; asserts success."""
    rc, out, err, _ = ssh(port, key, "list")
    assert rc == 0, "list failed (%d): %s" % (rc, err)
    rows = [line.split("\t") for line in out.splitlines() if line]
    return {name: vmid for vmid, name in rows}


def connect(port, key, vm_name):
    """Connects with a pty, checks the greeting and the echo, leaves."""
    argv = patient(ssh_argv(port, key, tty=True,
                            command=["connect", "--vm-name=" + vm_name]))
    child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8",
                          codec_errors="replace", timeout=60,
                          dimensions=(24, 80))
    try:
        child.expect(GREETING)
        child.send("hello remote\r")
        child.expect("HELLO REMOTE")
    finally:
        child.sendline("~.")
        child.close(force=True)


def connect_refused(port, key, vm_name):
    """Connects with a pty and returns the error line the proxy prints."""
    argv = patient(ssh_argv(port, key, tty=True,
                            command=["connect", "--vm-name=" + vm_name]))
    child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8",
                          codec_errors="replace", timeout=60,
                          dimensions=(24, 80))
    try:
        child.expect(r"ERROR: [^\r\n]*")
        line = child.after
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus != 0
    return line


def refused(port, key, command="list", bound=None):
    """Asserts that the proxy refuses; returns the seconds it took."""
    rc, out, err, secs = ssh(port, key, command)
    assert rc != 0, "expected a refusal, got: %r" % out
    # refused by the proxy (no key, or an error from the shell), not lost
    assert "Permission denied" in err or "ERROR:" in err, err
    if bound is not None:
        assert secs < bound, "refusal took %.1f s (bound %.1f s)" % (secs, bound)
    return secs, err

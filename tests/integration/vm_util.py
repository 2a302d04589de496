# Helpers for the tests that boot the tiny qemu VM (tests/vm/): build the
# cached image once, boot a VM with its serial port on a unix socket in the
# console directory, kill it, reach its prompt through a session that may
# have to be tried again, and log in on its console through a pty.

import os
import signal
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VM_DIR = os.path.join(REPO, "tests", "vm")
CACHE = os.environ.get("SERCON_VM_CACHE", os.path.join(VM_DIR, "cache"))

# The demo VM's console login (tests/vm/build-image).
VM_USER = "root"
VM_PASSWORD = "sercon"
BOOT_TIMEOUT = 90


def have_qemu():
    return any(os.access(os.path.join(d, "qemu-system-x86_64"), os.X_OK)
               for d in os.environ.get("PATH", "/usr/bin").split(":"))


def build_image():
    """Kernel and initramfs, downloaded and built once into the cache."""
    r = subprocess.run([os.path.join(VM_DIR, "build-image"), CACHE],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("tests/vm/build-image failed:\n" + r.stderr)
    return r.stdout.split()


class VM:
    """One qemu process whose serial port is a server socket at `sock`."""

    def __init__(self, sock, group="sercon", quiet=True, netns=None,
                 telnet=False, qmp=True, incoming=None):
        self.sock = sock
        self.qmp = sock[:-5] + ".qmp" if sock.endswith(".sock") else sock + ".qmp"
        self.pidfile = sock + ".pid"
        self.logfile = sock + ".qemu.log"
        argv = [os.path.join(VM_DIR, "run-vm"), "--pidfile", self.pidfile,
                "--log", self.logfile]
        if group:
            argv += ["--group", group]
        if quiet:
            argv.append("--quiet")
        if telnet:
            argv.append("--telnet")
        if not qmp:
            argv.append("--no-qmp")
        if incoming:
            argv += ["--incoming", incoming]
        argv += [sock, CACHE]
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode != 0:
            log = ""
            if os.path.exists(self.logfile):
                with open(self.logfile, errors="replace") as f:
                    log = f.read()
            raise AssertionError("run-vm failed:\n%s%s%s" % (r.stdout, r.stderr, log))
        with open(self.pidfile) as f:
            self.pid = int(f.read().strip())
        self.started = time.monotonic()

    def alive(self):
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill(self):
        """SIGKILL, as when the VM dies under a live console session."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        for p in (self.pidfile, self.sock, self.qmp):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass


def console_login(child, timeout=BOOT_TIMEOUT):
    """At the VM's getty through a pexpect child: log in, wait for the shell.
    Enter is pressed until the login prompt shows (the VM may still boot)."""
    import pexpect
    deadline = time.monotonic() + timeout
    while True:
        child.send("\r")
        i = child.expect(["login: ", pexpect.TIMEOUT], timeout=3)
        if i == 0:
            break
        if time.monotonic() > deadline:
            raise AssertionError("no login prompt within %d s; saw: %r" % (
                timeout, child.before[-2000:]))
    # Enter may have been pressed more than once: let the prompts those
    # caused arrive first, or the name and the password are typed ahead of
    # the prompt that should take them (seen on a loaded machine).
    while child.expect(["login: ", pexpect.TIMEOUT], timeout=1) == 0:
        pass
    child.send(VM_USER + "\r")
    child.expect("assword: ", timeout=20)
    child.send(VM_PASSWORD + "\r")
    child.expect("# ", timeout=20)


def reach_prompt(spawn, syslog, what, timeout, tries=4, wait=2.0, pause=0.5):
    """A pexpect child from spawn() at the VM's login prompt or shell.
    Enter is pressed up to `tries` times, `wait` s each; a session that
    shows neither (the VM still boots, its console is still held, it ended)
    is closed and another spawned `pause` s later, until `timeout`."""
    import pexpect
    deadline = time.monotonic() + timeout
    while True:
        child = spawn()
        for _ in range(tries):
            child.send("\r")
            i = child.expect(["login: ", "# ", pexpect.EOF, pexpect.TIMEOUT], timeout=wait)
            if i != 3:
                break
        if i in (0, 1):
            return child
        out = child.before
        child.close(force=True)
        if time.monotonic() > deadline:
            raise AssertionError("%s: no prompt within %d s: %r\nsyslog:\n%s" % (
                what, timeout, out[-1000:], "\n".join(syslog.lines()[-30:])))
        time.sleep(pause)

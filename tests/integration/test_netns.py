# Multi-host topology: the proxy and two hypervisor hosts, each in its own
# network namespace linked by veth pairs with private addresses that exist
# only inside those namespaces. Each host runs its own sshd with a host
# certificate naming it, and its own console directory (a private mount):
# hv1 a real qemu VM, hv2 a unix-socket console server. Users reach both
# through one proxy; a host answering under the other host's name with its
# own certificate is refused.

import os
import pwd
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import TOOLS, FakeConsole, ssh_argv
import vm_util

pexpect = pytest.importorskip("pexpect")

pytestmark = [pytest.mark.vm, pytest.mark.netns]

PFX = "sercon-t-"
NS_PROXY = PFX + "proxy"
NS_HV1 = PFX + "hv1"
NS_HV2 = PFX + "hv2"
NAMESPACES = (NS_PROXY, NS_HV1, NS_HV2)
# Addresses live only inside the namespaces this test creates.
LINKS = {NS_HV1: ("10.231.1.1", "10.231.1.2"), NS_HV2: ("10.231.2.1", "10.231.2.2")}
HV1 = "hv1.sercon.test"
HV2 = "hv2.sercon.test"
VMID1 = "0c0ffee0-0000-4000-8000-0000000000a1"
VMID2 = "0c0ffee0-0000-4000-8000-0000000000a2"
GREETING = "hv2 console server ready"


def ip(*args, check=True):
    r = subprocess.run(["ip"] + list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError("ip %s: %s" % (" ".join(args), r.stderr))
    return r


def netns_cleanup(namespaces=NAMESPACES):
    """Removes what this test creates, including leftovers of a killed run."""
    for ns in namespaces:
        # Processes still inside (sshd, qemu) die with their namespace's
        # last user gone only if we kill them: `ip netns pids` names them.
        r = ip("netns", "pids", ns, check=False)
        for pid in r.stdout.split():
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, ValueError):
                pass
        ip("netns", "del", ns, check=False)
        shutil.rmtree("/etc/netns/" + ns, ignore_errors=True)
    try:
        os.rmdir("/etc/netns")  # only when nothing else is configured there
    except OSError:
        pass


def netns_available():
    if os.geteuid() != 0 or not shutil.which("ip"):
        return "network namespaces need root and iproute2"
    probe = PFX + "probe"
    r = ip("netns", "add", probe, check=False)
    if r.returncode != 0:
        return "cannot create network namespaces here: " + r.stderr.strip()
    ip("netns", "del", probe, check=False)
    return None


def write_hosts(hv1_addr):
    """The proxy namespace's /etc/hosts (ip netns exec bind-mounts it).
    Rewritten in place so that the running proxy sshd sees the change."""
    path = "/etc/netns/%s/hosts" % NS_PROXY
    text = "127.0.0.1 localhost\n%s %s\n%s %s\n" % (
        hv1_addr, HV1, LINKS[NS_HV2][1], HV2)
    with open(path, "r+" if os.path.exists(path) else "w") as f:
        f.seek(0)
        f.write(text)
        f.truncate()


def in_ns(ns, argv):
    return ["ip", "netns", "exec", ns] + list(argv)


def wait_listen(ns, port, proc, log):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("sshd in %s exited:\n%s" % (ns, open(log).read()))
        r = subprocess.run(in_ns(ns, ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/%d" % port]),
                           capture_output=True)
        if r.returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError("sshd in %s did not listen on %d" % (ns, port))


def ConsoleServer(path):
    """hv2's console: greets and echoes upper-cased."""
    return FakeConsole(path, banner=(GREETING + "\r\n").encode(),
                       reply=bytes.upper)
@pytest.fixture(scope="module")
def topology(install, pki, proxy_sshd, host_sshd, user_key, syslog):
    why = netns_available()
    if why:
        pytest.skip(why)
    if not vm_util.have_qemu():
        pytest.skip("qemu-system-x86_64 is not installed")
    vm_util.build_image()
    netns_cleanup()
    # Short paths: a unix socket's path must fit in 108 bytes.
    work = tempfile.mkdtemp(prefix="nns-", dir=os.path.dirname(install.prefix))
    os.chmod(work, 0o755)
    procs, vm, server = [], None, None
    try:
        for ns in NAMESPACES:
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
        for i, hv in enumerate((NS_HV1, NS_HV2), 1):
            a, b = LINKS[hv]
            ip("link", "add", "sct-p%d" % i, "netns", NS_PROXY, "type", "veth",
               "peer", "name", "sct-h%d" % i, "netns", hv)
            ip("-n", NS_PROXY, "addr", "add", a + "/24", "dev", "sct-p%d" % i)
            ip("-n", hv, "addr", "add", b + "/24", "dev", "sct-h%d" % i)
            ip("-n", NS_PROXY, "link", "set", "sct-p%d" % i, "up")
            ip("-n", hv, "link", "set", "sct-h%d" % i, "up")
        os.makedirs("/etc/netns/" + NS_PROXY, exist_ok=True)
        write_hosts(LINKS[NS_HV1][1])

        # Each host: its own key and certificate, consoles, sshd.
        with open(install.datadir + "/host/sshd_config") as f:
            shipped = f.read()
        port = host_sshd.port  # the proxy's configured host_port
        consoles = {}
        for hv, name in ((NS_HV1, HV1), (NS_HV2, HV2)):
            d = os.path.join(work, hv[len(PFX):])
            os.makedirs(d + "/c")
            os.chown(d + "/c", pwd.getpwnam("sercon").pw_uid, -1)
            key = pki.keygen(d + "/ssh_host_key")
            pki.sign(key + ".pub", [name], host=True)
            os.chmod(key, 0o600)
            cfg = shipped.replace(install.pki + "/host-ssh_host_key", key)
            assert cfg != shipped, "the host sshd_config names no host-ssh_host_key"
            with open(d + "/sshd_config", "w") as f:
                f.write(cfg)
            consoles[hv] = d + "/c"
            log = d + "/sshd.log"
            # A private mount namespace gives the host its own console dir.
            script = ("mount --bind %s %s && exec %s -D -e -f %s "
                      "-o Port=%d -o ListenAddress=0.0.0.0 -o PidFile=none" % (
                          consoles[hv], install.console_dir, TOOLS["sshd"],
                          d + "/sshd_config", port))
            p = subprocess.Popen(in_ns(hv, ["unshare", "-m", "sh", "-c", script]),
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=open(log, "w"))
            procs.append(p)
            wait_listen(hv, port, p, log)
        vm = vm_util.VM(os.path.join(consoles[NS_HV1], VMID1 + ".sock"), netns=NS_HV1)
        server = ConsoleServer(os.path.join(consoles[NS_HV2], VMID2 + ".sock"))

        # The proxy: the installed proxy sshd, in its namespace.
        pport = 2222
        plog = os.path.join(work, "proxy-sshd.log")
        p = subprocess.Popen(in_ns(NS_PROXY, [
            TOOLS["sshd"], "-D", "-e", "-f", install.datadir + "/proxy/sshd_config",
            "-o", "Port=%d" % pport, "-o", "ListenAddress=127.0.0.1",
            "-o", "PidFile=none"]), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=open(plog, "w"))
        procs.append(p)
        wait_listen(NS_PROXY, pport, p, plog)

        alice = user_key("alice-netns")
        install.write_inventory({
            "users": [{"id": "alice", "name": "Alice", "keys": [alice[1]]}],
            "consoles": [
                {"vm_id": VMID1, "vm_name": "nsvm1", "host": HV1,
                 "console": VMID1 + ".sock", "users": ["alice"]},
                {"vm_id": VMID2, "vm_name": "nsvm2", "host": HV2,
                 "console": VMID2 + ".sock", "users": ["alice"]},
            ],
        })
        yield {"port": pport, "key": alice[0], "server": server, "work": work}
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if vm:
            vm.kill()
        if server:
            server.close()
        netns_cleanup()
        shutil.rmtree(work, ignore_errors=True)


def spawn(topo, vm_name):
    argv = in_ns(NS_PROXY, ssh_argv(topo["port"], topo["key"], tty=True,
                                    command=["connect", "--vm-name=" + vm_name]))
    return pexpect.spawn(argv[0], argv[1:], encoding="utf-8",
                         codec_errors="replace", timeout=30, dimensions=(24, 80))


def leave(child):
    child.send("\r~.")
    child.expect(pexpect.EOF, timeout=15)
    child.close()


def test_vm_on_first_host(topology):
    child = spawn(topology, "nsvm1")
    vm_util.console_login(child)
    child.send("echo $((6*7))\r")
    child.expect("\r\n42\r\n", timeout=20)
    child.send("exit\r")
    child.expect("login: ", timeout=20)
    leave(child)


def test_console_on_second_host(topology):
    child = spawn(topology, "nsvm2")
    child.expect(GREETING, timeout=30)
    child.send("hello")
    child.expect("HELLO", timeout=10)
    leave(child)


def test_list_shows_both_hosts(topology):
    argv = in_ns(NS_PROXY, ssh_argv(topology["port"], topology["key"], command=["list"]))
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["%s\tnsvm1" % VMID1, "%s\tnsvm2" % VMID2]


def test_host_under_other_name_refused(topology, syslog):
    """hv1's name now leads to hv2, whose certificate names hv2 only."""
    before = topology["server"].clients
    write_hosts(LINKS[NS_HV2][1])
    try:
        child = spawn(topology, "nsvm1")
        child.expect(pexpect.EOF, timeout=30)
        child.close()
        out = child.before
    finally:
        write_hosts(LINKS[NS_HV1][1])
    assert child.exitstatus != 0, out
    assert "login:" not in out and GREETING not in out, out
    assert "ERROR" in out, out
    # hv2's sshd refused before any host shell ran: no console was opened.
    assert topology["server"].clients == before
    # With the name right again, the same console works.
    child = spawn(topology, "nsvm1")
    vm_util.console_login(child)
    leave(child)

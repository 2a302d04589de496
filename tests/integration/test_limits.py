# test_limits.py: the shipped sshd configurations bound what one client can
# hold (issue 13): a connection without any session is closed by the proxy
# sshd (UnusedConnectionTimeout), sessions per connection and unauthenticated
# connections per source are bounded, and the host sshd admits a proxy's
# burst of hops whole (MaxStartups sized for its only client).

import os
import socket
import subprocess
import time

import pytest

from conftest import ssh_argv


def effective(install, part, port, *extra):
    """sshd -T of a shipped configuration: {keyword: value}."""
    argv = ["/usr/sbin/sshd", "-T", "-f", "%s/%s/sshd_config" % (install.datadir, part),
            "-o", "Port=%d" % port]
    for e in extra:
        argv += ["-o", e]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return dict(l.split(" ", 1) for l in r.stdout.splitlines() if " " in l)


def test_shipped_limits(install, pki):
    proxy = effective(install, "proxy", 2222)
    host = effective(install, "host", 2223)
    # A connection without a session is closed on both daemons.
    assert proxy["unusedconnectiontimeout"] == "30"
    assert host["unusedconnectiontimeout"] == "30"
    assert proxy["maxsessions"] == "2" and host["maxsessions"] == "1"
    # Unauthenticated load per source on the public proxy; none on the host,
    # whose only client is the proxy.
    assert proxy["persourcemaxstartups"] == "30"
    assert proxy["persourcenetblocksize"] == "32:64"
    assert host["persourcemaxstartups"] == "none"
    assert host["maxstartups"] == "64:30:256"


@pytest.fixture
def idle_proxy(install, pki, proxy_sshd, start_sshd, user_key):
    """A second proxy sshd with a 2 s UnusedConnectionTimeout snippet in
    its Include directory (the shipped value is 30 s)."""
    snippets = install.prefix + "/etc/sercon/proxy-sshd.d"
    os.makedirs(snippets, exist_ok=True)
    path = snippets + "/50-test-idle.conf"
    with open(path, "w") as f:
        f.write("UnusedConnectionTimeout 2\n")
    path_inv = install.inventory
    try:
        yield start_sshd(install.datadir + "/proxy/sshd_config")
    finally:
        os.unlink(path)


def test_connection_without_session_is_closed(install, idle_proxy, user_key):
    key, pub = user_key("idle")
    install.write_inventory({"users": [{"id": "idle", "name": "Idle", "keys": [pub]}],
                             "consoles": []})
    # The key works: a session runs `list`.
    r = subprocess.run(ssh_argv(idle_proxy.port, key, command="list"),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    # `ssh -N` opens no session: the server closes the connection.
    t0 = time.monotonic()
    p = subprocess.Popen(ssh_argv(idle_proxy.port, key, "-N"),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        rc = p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        pytest.fail("ssh -N was still connected after 20 s")
    elapsed = time.monotonic() - t0
    assert rc == 255, rc
    assert 1.5 < elapsed < 15, elapsed


def test_host_admits_a_proxy_burst(install, pki, host_sshd):
    """48 concurrent unauthenticated connections from one address (a proxy
    admitting a burst of sessions): each gets sshd's banner. With the old
    MaxStartups 10:30:60, every connection past the 10th was dropped with a
    probability of 30% and more."""
    conns = []
    try:
        for _ in range(48):
            s = socket.create_connection(("127.0.0.1", host_sshd.port), timeout=10)
            conns.append(s)
        banners = 0
        for s in conns:
            s.settimeout(10)
            try:
                data = s.recv(64)
            except OSError:
                data = b""
            banners += data.startswith(b"SSH-2.0-")
        assert banners == len(conns), "%d of %d got a banner" % (banners, len(conns))
    finally:
        for s in conns:
            s.close()

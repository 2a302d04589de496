# Sessions that follow their VM: when the console closes under a live
# session, the proxy asks the manager again where the VM runs and dials
# there, in the same ssh connection of the user. Over the real chain with
# a sercon host: the VM "moves" between two host names that lead to the
# host sshd (127.0.0.1 and localhost, both named by its certificate), its
# console closing on the one and opening on the other; it is removed from
# the manager; it does not come back in time. The live migration of a real
# qemu VM between two network namespaces is test_live_migration below.

import os
import re
import time

import pexpect
import pytest

from conftest import FakeConsole
from test_proxy import chain, inventory  # noqa: F401
from test_session import conf, leave  # noqa: F401

VMID = "id-mover"
SOCK = VMID + ".sock"


def inv_with(chain, host):
    inv = chain.base_inventory()
    if host is not None:
        inv["consoles"].append({"vm_id": VMID, "vm_name": "mover", "host": host,
                                "console": SOCK, "users": ["alice"]})
    return inv


@pytest.fixture
def mover(chain, install, inventory, fake_console):
    """The VM 'mover' on 127.0.0.1; returns a function that starts its
    console (again) with a banner."""
    inventory(inv_with(chain, "127.0.0.1"))
    path = os.path.join(install.console_dir, SOCK)

    def start(banner):
        return fake_console(path, banner=banner, reply=lambda d: b"echo:" + d)

    return start


def connect(chain):
    p = chain.spawn("alice", "mover")
    return p


def test_follows_the_vm_to_another_host(chain, mover, inventory, syslog):
    a = mover(b"MOVER ON A\r\n")
    m = syslog.mark()
    p = connect(chain)
    p.expect(b"MOVER ON A")
    p.send(b"one\r")
    p.expect(b"echo:one")
    # the manager now says localhost; the console closes here and opens
    # there a moment later
    inventory(inv_with(chain, "localhost"))
    a.stop()
    p.expect_exact(b"[sercon] mover left 127.0.0.1; following it")
    # typed between hosts: dropped, and the user is told
    p.send(b"lost")
    p.expect_exact(b"what you type is dropped until it is back")
    time.sleep(1)
    mover(b"MOVER ON B\r\n")
    p.expect_exact(b"[sercon] mover is now on localhost")
    p.expect(b"MOVER ON B")
    p.send(b"two\r")
    p.expect(b"echo:two")
    assert b"lost" not in p.before
    leave(p, "mover")
    syslog.wait_for(r"follow entity=alice vm=mover vmid=id-mover host=127\.0\.0\.1: the "
                    r"console closed", since=m)
    syslog.wait_for(r"locate entity=alice vmid=id-mover outcome=listed host=localhost",
                    since=m)
    syslog.wait_for(r"connect entity=alice vm=mover vmid=id-mover host=localhost .*outcome=closed "
                    r"status=0", since=m, timeout=10)


def test_vm_stopped_and_started_on_the_same_host(chain, mover, syslog):
    a = mover(b"MOVER ON A\r\n")
    p = connect(chain)
    p.expect(b"MOVER ON A")
    a.stop()
    p.expect_exact(b"[sercon] the console of mover closed; waiting for it to come back")
    time.sleep(1)
    mover(b"MOVER AGAIN\r\n")
    p.expect(b"MOVER AGAIN")
    p.send(b"x\r")
    p.expect(b"echo:x")
    leave(p, "mover")


def test_vm_removed_from_the_manager(chain, mover, inventory, syslog):
    a = mover(b"MOVER ON A\r\n")
    m = syslog.mark()
    p = connect(chain)
    p.expect(b"MOVER ON A")
    inventory(inv_with(chain, None))
    a.stop()
    p.expect_exact(b"[sercon] mover is no longer available to you; the session ends")
    p.expect_exact(b"ERROR: the VM is no longer available to you")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 5
    syslog.wait_for(r"connect entity=alice vm=mover .*outcome=vm-gone status=5", since=m,
                    timeout=10)


def test_vm_does_not_come_back_in_time(chain, mover, conf, syslog):
    conf("follow_timeout = 2\n")
    a = mover(b"MOVER ON A\r\n")
    p = connect(chain)
    p.expect(b"MOVER ON A")
    t0 = time.monotonic()
    a.stop()
    p.expect_exact(b"did not come back within 2 s; the session ends")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 5
    assert 1.5 < time.monotonic() - t0 < 15

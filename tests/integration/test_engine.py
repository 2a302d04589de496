# test_engine.py: backend engine end to end. The real proxy sshd runs the
# installed keys helper and proxy shell, which ask the test engine
# (tests/engine) with signed tickets over HTTPS; the engine checks each
# ticket as ovirt-engine does. Consoles are echoing sockets behind the real
# host sshd.

import base64
import json
import os
import re
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from remote_util import (ALICE_ID, BOB_ID, VM_A, VM_B, VM_C, EchoConsole,
                         age_cache, bad_key_entries, clear_cache, connect,
                         connect_refused, listing, refused, sercon_ids, ssh,
                         users_and_vms)
from sercon_test_engine import Engine, make_pki, sign_ticket

CONF = "50-remote-engine.conf"
TIMEOUT = 2            # the failure tests that wait for the manager
NORMAL_TIMEOUT = 15    # the others: the machine may be busy
# a refusal may take the manager timeout, the helper's backstop and ssh's
# own start-up on a busy machine; far below what a hung manager would cost
BOUND = TIMEOUT + 13


class Env:
    def __init__(self, install, syslog, engine, paths, users):
        self.install = install
        self.syslog = syslog
        self.engine = engine
        self.paths = paths
        self.users = users

    def key(self, user, i=0):
        return self.users[user][2][i][0]

    def configure(self, cert="ticket", ca="ca", **kw):
        opts = {"backend": "engine", "engine_url": self.engine.url,
                "engine_ca": self.paths[ca],
                "ticket_certificate": self.paths[cert],
                "ticket_key": self.paths.get(cert + "-key"),
                "timeout": NORMAL_TIMEOUT, "cache_ttl": 30, "cache_stale_max": 600}
        opts.update(kw)
        text = "[proxy]\n" + "".join("%s = %s\n" % (k, v) for k, v in opts.items()
                                     if v is not None)
        self.install.write_conf(CONF, text)


@pytest.fixture(scope="module")
def env(install, pki, host_sshd, proxy_sshd, user_key, syslog):
    d = install.prefix + "/test-engine"
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    paths = make_pki(d)
    uid, gid = sercon_ids()
    for name, path in paths.items():
        if name.endswith("-key"):
            os.chown(path, uid, gid)
    users, vms = users_and_vms(user_key)
    fixture = {
        "users": [{"id": uid_, "name": name, "keys": [k[1] for k in keys]}
                  for uid_, name, keys in users.values()],
        "vms": vms,
    }
    engine = Engine(d + "/run", paths, fixture)
    consoles = [EchoConsole(os.path.join(install.console_dir, vm["vmid"] + ".sock"))
                for vm in vms]
    e = Env(install, syslog, engine, paths, users)
    e.proxy_port = proxy_sshd.port
    try:
        yield e
    finally:
        install.remove_conf(CONF)
        engine.stop()
        for c in consoles:
            c.close()
        clear_cache(install)


@pytest.fixture
def eng(env):
    """Each test starts with a working engine, the default configuration
    and an empty cache."""
    if env.engine.proc is None:
        env.engine.start()
    env.engine.control("normal")
    env.configure()
    clear_cache(env.install)
    yield env
    env.engine.control("normal")
    if env.engine.proc is None:
        env.engine.start()


def test_two_users_see_their_consoles(eng):
    port = eng.proxy_port
    seen = len(eng.engine.log_lines())
    assert listing(port, eng.key("alice")) == {"vm-a": VM_A, "vm-b": VM_B}
    # alice's second key (a second line of her key text) works too
    assert listing(port, eng.key("alice", 1)) == {"vm-a": VM_A, "vm-b": VM_B}
    assert listing(port, eng.key("bob")) == {"vm-b": VM_B, "vm-c": VM_C}
    rc, out, err, _ = ssh(port, eng.key("bob"), ["list", "--format=json"])
    assert rc == 0, err
    assert '"vm":"vm-c"' in out.replace(" ", "")
    # every request carried a valid ticket
    log = eng.engine.log_lines()[seen:]
    assert any(l.startswith("200 public_keys") for l in log)
    assert "200 available_consoles %s" % ALICE_ID in log
    assert "200 available_consoles %s" % BOB_ID in log
    assert not any(l.startswith("403") for l in log)


def test_libcurl_is_opened_not_linked(eng):
    # the engine answered through libcurl (the test above), yet no program
    # names it among its libraries: the command and file backends never
    # load it (manager/http.c opens it with dlopen when a URL is used)
    for prog in ("sercon-proxy-fetch", "sercon-proxy-keys", "sercon-proxy-shell"):
        r = subprocess.run(["readelf", "-d", os.path.join(eng.install.libexec, prog)],
                           capture_output=True, text=True, check=True)
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout)
        assert needed and not any("curl" in n for n in needed), (prog, needed)
    assert listing(eng.proxy_port, eng.key("alice")) == {"vm-a": VM_A, "vm-b": VM_B}


def test_connect_by_permission(eng, syslog):
    port = eng.proxy_port
    connect(port, eng.key("alice"), "vm-a")
    connect(port, eng.key("bob"), "vm-c")          # host "localhost"
    mark = syslog.mark()
    err = connect_refused(port, eng.key("bob"), "vm-a")
    assert "vm-a" in err
    syslog.wait_for(r"vm-a", since=mark)


def test_unknown_key_refused(eng, user_key):
    stranger = user_key("remote-stranger")
    refused(eng.proxy_port, stranger[0])


def test_ticket_without_eku_rejected(eng, syslog):
    # caught when the certificate is loaded, with what to fix: the real
    # engine answers such a ticket with HTTP 500, which hides the reason
    eng.configure(cert="ticket-noeku")
    mark = syslog.mark()
    requests = len(eng.engine.log_lines())
    refused(eng.proxy_port, eng.key("alice"), bound=BOUND)
    syslog.wait_for(r"manager \(keys\): ticket_certificate .* lacks the "
                    r"extended key usage 1\.3\.6\.1\.4\.1\.2312\.13\.1\.2\.1\.1",
                    since=mark)
    assert len(eng.engine.log_lines()) == requests
    # sercon-setup check says the same, and what is right once fixed
    r = subprocess.run([eng.install.sbin + "/sercon-setup", "check", "proxy",
                        "--port", str(eng.proxy_port)], capture_output=True,
                       text=True, timeout=120)
    assert re.search(r"PROBLEM: ticket_certificate .* lacks the extended key "
                     r"usage 1\.3\.6\.1\.4\.1\.2312\.13\.1\.2\.1\.1", r.stdout), r.stdout
    assert r.returncode != 0
    eng.configure()
    r = subprocess.run([eng.install.sbin + "/sercon-setup", "check", "proxy",
                        "--port", str(eng.proxy_port)], capture_output=True,
                       text=True, timeout=120)
    assert "ok: ticket certificate %s: extended key usage " % eng.paths[
        "ticket"] in r.stdout, r.stdout
    # what the engine itself does with one (the stand-in, as the real one)
    p = eng.paths
    assert post(eng, sign_ticket(p["ticket-noeku"], p["ticket-noeku-key"],
                                 json.dumps({"command": "public_keys",
                                             "version": 1}))) == 500


def test_ticket_from_other_ca_rejected(eng, syslog):
    eng.configure(cert="ticket-rogue")
    mark = syslog.mark()
    refused(eng.proxy_port, eng.key("alice"), bound=BOUND)
    syslog.wait_for(r"the engine rejected the ticket .*403", since=mark)
    assert "403 certificate not issued by the engine CA" in eng.engine.log_lines()


def test_wrong_ticket_key_refused_locally(eng, syslog):
    # the key of another certificate: caught before anything is sent
    eng.configure(ticket_key=eng.paths["ticket-noeku-key"])
    mark = syslog.mark()
    requests = len(eng.engine.log_lines())
    refused(eng.proxy_port, eng.key("alice"), bound=BOUND)
    syslog.wait_for(r"manager \(keys\): ticket_key .* does not belong to "
                    r"ticket_certificate", since=mark)
    assert len(eng.engine.log_lines()) == requests
    # an EC key cannot make the engine's RSA-PSS signature
    eng.configure(ticket_key=eng.paths["ticket-ec-key"])
    clear_cache(eng.install)
    refused(eng.proxy_port, eng.key("alice"), bound=BOUND)
    syslog.wait_for(r"is not an RSA key", since=mark)


def test_untrusted_engine_certificate_refused(eng, syslog):
    eng.configure(ca="other-ca")
    mark = syslog.mark()
    refused(eng.proxy_port, eng.key("alice"), bound=BOUND)
    syslog.wait_for(r"manager \(keys\): request to https://127\.0\.0\.1:\d+/"
                    r"ovirt-engine/services/vmconsole-proxy failed: .*"
                    r"(certificate|SSL)", since=mark)


def test_plain_http_to_other_host_refused(eng, syslog):
    eng.configure(engine_url="http://192.0.2.1/ovirt-engine/")
    mark = syslog.mark()
    refused(eng.proxy_port, eng.key("alice"), bound=BOUND)
    syslog.wait_for(r"is not https \(plain http is allowed to a loopback "
                    r"address only\)", since=mark)
    eng.configure(engine_verify_host="false",
                  engine_url="https://192.0.2.1/ovirt-engine/")
    refused(eng.proxy_port, eng.key("alice"), bound=BOUND)
    syslog.wait_for(r"engine_verify_host = false is allowed only for an "
                    r"engine on a loopback address", since=mark)


def test_engine_down(eng, syslog):
    eng.configure(timeout=TIMEOUT)
    eng.engine.stop()
    mark = syslog.mark()
    secs, _ = refused(eng.proxy_port, eng.key("alice"), bound=BOUND)
    syslog.wait_for(r"manager \(keys\): request to .* failed: .*"
                    r"(Connection refused|Couldn't connect|Failed to connect)",
                    since=mark)


def test_engine_slow(eng, syslog):
    eng.configure(timeout=TIMEOUT)
    eng.engine.control("slow", delay=60)
    mark = syslog.mark()
    secs, _ = refused(eng.proxy_port, eng.key("alice"), bound=BOUND)
    assert secs >= TIMEOUT - 0.5
    syslog.wait_for(r"manager \(keys\): no answer from .* within %d s" % TIMEOUT,
                    since=mark)


def test_engine_error_500(eng, syslog):
    eng.engine.control("status", status=500)
    mark = syslog.mark()
    refused(eng.proxy_port, eng.key("alice"), bound=BOUND)
    syslog.wait_for(r"manager \(keys\): .*answered HTTP status 500", since=mark)


def post(eng, body):
    """POSTs a ticket to the test engine; returns the HTTP status."""
    ctx = ssl.create_default_context(cafile=eng.paths["ca"])
    req = urllib.request.Request(eng.engine.url + "services/vmconsole-proxy",
                                 data=body, headers={"Content-Type": "text/plain"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_engine_checks_tickets_like_the_engine(eng):
    # the stand-in itself, with tickets made independently of sercon's C code
    p = eng.paths
    keys = json.dumps({"command": "public_keys", "version": 1})
    assert post(eng, sign_ticket(p["ticket"], p["ticket-key"], keys)) == 200
    assert post(eng, sign_ticket(p["ticket"], p["ticket-key"], json.dumps(
        {"command": "reboot_everything", "version": 1}))) == 500
    assert "500 unknown command 'reboot_everything'" in eng.engine.log_lines()
    # the validity window, with the engine's 10 s tolerance
    assert post(eng, sign_ticket(p["ticket"], p["ticket-key"], keys,
                                 now=time.time() - 12)) == 200
    assert post(eng, sign_ticket(p["ticket"], p["ticket-key"], keys,
                                 now=time.time() - 20)) == 403
    assert post(eng, sign_ticket(p["ticket"], p["ticket-key"], keys,
                                 now=time.time() + 20)) == 403
    assert "403 Ticket lifetime expired" in eng.engine.log_lines()
    # signedFields must name the salt and the data
    assert post(eng, sign_ticket(p["ticket"], p["ticket-key"], keys,
                                 signed_fields=("validFrom", "validTo", "data"))) == 403
    assert "403 Invalid ticket" in eng.engine.log_lines()
    # altered data
    t = json.loads(base64.b64decode(sign_ticket(p["ticket"], p["ticket-key"], keys)))
    t["data"] = json.dumps({"command": "available_consoles", "version": 1,
                            "user_id": BOB_ID})
    assert post(eng, base64.b64encode(json.dumps(t).encode())) == 403
    assert "403 Invalid ticket signature" in eng.engine.log_lines()
    assert post(eng, b"not a ticket") == 403


def test_engine_garbage(eng, syslog):
    eng.engine.control("garbage")
    mark = syslog.mark()
    refused(eng.proxy_port, eng.key("alice"), bound=BOUND)
    syslog.wait_for(r"manager \(keys\): manager answer is not JSON", since=mark)


@pytest.mark.parametrize("unannounced", [False, True])
def test_engine_huge_reply(eng, syslog, unannounced):
    eng.engine.control("huge", size=100 * 1000 * 1000, unannounced=unannounced)
    mark = syslog.mark()
    refused(eng.proxy_port, eng.key("alice"), bound=BOUND)
    syslog.wait_for(r"manager \(keys\): reply from .* is larger than %d "
                    r"bytes" % (32 * 1024 * 1024), since=mark)


def test_console_list_failure_after_login(eng, syslog):
    # keys come through, then the engine fails the console question
    assert listing(eng.proxy_port, eng.key("bob"))
    clear_cache(eng.install)
    eng.configure(cache_stale_max=0)
    assert listing(eng.proxy_port, eng.key("bob"))  # warms the key index only
    for f in os.listdir(eng.install.cache_dir):
        if f.startswith("consoles-"):
            os.unlink(os.path.join(eng.install.cache_dir, f))
    eng.engine.control("status", status=500)
    mark = syslog.mark()
    _, err = refused(eng.proxy_port, eng.key("bob"), bound=BOUND)
    assert "ERROR:" in err
    syslog.wait_for(r"manager \(consoles\): .*HTTP status 500", since=mark)


def test_warm_cache_serves_known_users_while_it_lasts(eng, syslog):
    eng.configure(cache_ttl=1, cache_stale_max=600)
    port = eng.proxy_port
    assert listing(port, eng.key("alice")) == {"vm-a": VM_A, "vm-b": VM_B}
    age_cache(eng.install, 5)          # past cache_ttl, not past stale_max
    eng.engine.stop()
    mark = syslog.mark()
    # known user: key list and console list served stale, and logged
    assert listing(port, eng.key("alice")) == {"vm-a": VM_A, "vm-b": VM_B}
    syslog.wait_for(r"serving the key list from \d+ s ago", since=mark)
    syslog.wait_for(r"serving the console list of entity %s cached \d+ s ago"
                    % ALICE_ID, since=mark)
    connect(port, eng.key("alice"), "vm-b")
    # bob's key is in the stale key list, but his consoles were never served
    _, err = refused(port, eng.key("bob"), bound=BOUND)
    assert "ERROR:" in err
    # staleness is bounded: past cache_ttl + cache_stale_max the old
    # answers expire; within the back-off window after the failures above
    # the engine is not even asked
    eng.configure(cache_ttl=1, cache_stale_max=1)
    age_cache(eng.install, 10, names=("keys.", "consoles-"))
    mark = syslog.mark()
    refused(port, eng.key("alice"), bound=BOUND)
    syslog.wait_for(r"key index is \d+ s old, beyond cache_stale_max",
                    since=mark)
    syslog.wait_for(r"manager \(keys\): the manager failed less than 30 s "
                    r"ago and no key list is cached", since=mark)
    # the back-off window over: the engine is asked, and still down
    age_cache(eng.install, 40, names=("manager.down",))
    mark = syslog.mark()
    refused(port, eng.key("alice"), bound=BOUND)
    syslog.wait_for(r"manager \(keys\): request to .* failed", since=mark)


def test_hung_engine_costs_one_timeout(eng, syslog):
    # a warm proxy whose answers are past cache_ttl, then the engine hangs:
    # the first login waits for one manager timeout, the next ten go
    # straight to the stale answers (it used to be three timeouts a login)
    timeout = 5
    eng.configure(cache_ttl=1, cache_stale_max=600, timeout=timeout)
    port = eng.proxy_port
    assert listing(port, eng.key("alice")) == {"vm-a": VM_A, "vm-b": VM_B}
    age_cache(eng.install, 5)
    eng.engine.control("slow", delay=60)
    before = len(eng.engine.log_lines())
    mark = syslog.mark()
    t0 = time.monotonic()
    assert listing(port, eng.key("alice")) == {"vm-a": VM_A, "vm-b": VM_B}
    first = time.monotonic() - t0
    assert first < 2 * timeout + 3, first
    syslog.wait_for(r"answering from the cache without asking it for 30 s",
                    since=mark)
    times = []
    for _ in range(10):
        t0 = time.monotonic()
        assert listing(port, eng.key("alice")) == {"vm-a": VM_A, "vm-b": VM_B}
        times.append(time.monotonic() - t0)
    # each far below one manager timeout (a plain login takes well under
    # a second; the bound leaves room for a busy machine)
    assert max(times) < timeout - 1, times
    # the engine was asked at most twice (the key refresh and the first
    # console list), not 3 x 11 times
    asked = [l for l in eng.engine.log_lines()[before:]
             if l.startswith("request")]
    assert len(asked) <= 2, asked


def test_shared_key_logs_in_as_nobody(eng, syslog):
    # mallory sets alice's public key as her own: neither may log in with
    # it (sshd would take the first line: alice landing in mallory's
    # consoles, or the reverse); both claimants are logged
    mallory = "8b0d2a54-dddd-4ddd-8ddd-000000000004"
    fx = json.load(open(eng.engine.fixture_path))
    alice_keys = [u["keys"] for u in fx["users"] if u["id"] == ALICE_ID][0]
    fx["users"].append({"id": mallory, "name": "mallory@internal",
                        "keys": [alice_keys[0]]})
    eng.engine.set_fixture(fx)
    try:
        mark = syslog.mark()
        refused(eng.proxy_port, eng.key("alice"), bound=BOUND)
        line = syslog.wait_for(r"is claimed by several entities", since=mark)
        assert "%s (alice@internal)" % ALICE_ID in line, line
        assert "%s (mallory@internal)" % mallory in line, line
        # alice's other key, and bob, are unaffected
        assert listing(eng.proxy_port, eng.key("alice", 1)) == {
            "vm-a": VM_A, "vm-b": VM_B}
        assert listing(eng.proxy_port, eng.key("bob")) == {"vm-b": VM_B,
                                                          "vm-c": VM_C}
    finally:
        fx["users"].pop()
        eng.engine.set_fixture(fx)


def raw_key_list(entries):
    return (b'{"content":"key_list","version":"1","keys":[' +
            b",".join(entries) + b"]}")


def test_one_bad_entry_locks_nobody_out(eng, user_key, syslog):
    fx = json.load(open(eng.engine.fixture_path))
    good = []
    for u in fx["users"]:
        for k in u["keys"]:
            good.append(json.dumps({"entityid": u["id"], "entity": u["name"],
                                    "key": k}).encode())
    stranger = user_key("remote-bad-entry")[1].encode()
    bad = bad_key_entries(stranger)
    body = raw_key_list(good[:1] + bad + good[1:])
    eng.engine.control("raw-keys", body=body.decode("utf-8", "surrogateescape"))
    mark = syslog.mark()
    assert listing(eng.proxy_port, eng.key("alice")) == {"vm-a": VM_A,
                                                        "vm-b": VM_B}
    assert listing(eng.proxy_port, eng.key("bob")) == {"vm-b": VM_B,
                                                      "vm-c": VM_C}
    for i in range(1, 6):
        syslog.wait_for(r"manager keys\[%d\] skipped" % i, since=mark)


def test_planted_fifos_do_not_block_logins(eng):
    # a FIFO in place of the key index, the cache key and a console list
    # (cache_dir belongs to the sercon user; anyone who could write there
    # could stall every login until the helper's alarm)
    import hashlib
    d = eng.install.cache_dir
    for name in ("keys.idx", "cache.key",
                 "consoles-" + hashlib.sha256(ALICE_ID.encode()).hexdigest()):
        os.mkfifo(os.path.join(d, name))
    t0 = time.monotonic()
    assert listing(eng.proxy_port, eng.key("alice")) == {"vm-a": VM_A,
                                                        "vm-b": VM_B}
    assert time.monotonic() - t0 < BOUND
    # replaced by real files: the stale answers work again
    import stat
    for name in ("keys.idx", "cache.key"):
        assert stat.S_ISREG(os.lstat(os.path.join(d, name)).st_mode), name
    assert os.path.getsize(os.path.join(d, "cache.key")) == 32


def test_fresh_key_list_spares_the_engine(eng):
    port = eng.proxy_port
    assert listing(port, eng.key("alice"))
    before = len(eng.engine.log_lines())
    assert listing(port, eng.key("alice"))
    assert listing(port, eng.key("alice", 1))
    new = eng.engine.log_lines()[before:]
    # within cache_ttl the key list is not asked again...
    assert not [l for l in new if "public_keys" in l], new
    # ...but the consoles are, at every session: a permission revoked in
    # the engine takes effect at the next connect
    asked = [l for l in new if l.startswith("200 available_consoles")]
    assert len(asked) == 2, new
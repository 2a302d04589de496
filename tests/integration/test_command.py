# test_command.py: backend command end to end. key_list and console_list
# run a stand-in for ovirt-engine's ovirt-vmconsole-list.py helper that
# prints the same JSON shape (version, content, keys; consoles with vmid,
# vmname, vm, host, console "<vmid>.sock"), through the real proxy sshd.

import json
import os
import subprocess
import textwrap

import pytest

from conftest import SANITIZE, TOOLS
from remote_util import (ALICE_ID, BOB_ID, REPO, VM_A, VM_B, VM_C,
                         EchoConsole, bad_key_entries, clear_cache, connect,
                         listing, refused, sercon_ids, ssh, users_and_vms)

CONF = "50-remote-command.conf"
TIMEOUT = 2            # the failure tests that wait for the manager
NORMAL_TIMEOUT = 15    # the others: the machine may be busy
BOUND = TIMEOUT + 13

HELPER = textwrap.dedent('''\
    #!/usr/bin/python3
    # Stand-in for ovirt-vmconsole-list.py: same arguments (parsed by
    # argparse, as the real one), same output.
    import argparse, json, os, sys, time
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "calls"), "a") as f:
        f.write(json.dumps(sys.argv[1:]) + "\\n")
    p = argparse.ArgumentParser()
    p.add_argument("--version", required=True)
    sub = p.add_subparsers(dest="what", required=True)
    k = sub.add_parser("keys")
    for o in ("--keyfp", "--keytype", "--keycontent"):
        k.add_argument(o)
    c = sub.add_parser("consoles")
    c.add_argument("--entityid", required=True)
    args = p.parse_args()
    with open(os.path.join(here, "control.json")) as f:
        control = json.load(f)
    mode = control.get("mode", "normal")
    with open(os.path.join(here, "fixture.json")) as f:
        fx = json.load(f)
    what = args.what
    if mode == "hang-" + what or mode == "hang":
        # a child holding stdout must not keep the proxy waiting either
        os.system("sleep 60 &")
        time.sleep(60)
    if mode == "garbage":
        print("Traceback (most recent call last): \\x1b[31mboom")
        sys.exit(0)
    if mode == "fail-" + what:
        sys.stderr.write("engine call failed\\n")
        sys.exit(3)
    if mode == "raw-keys" and what == "keys":
        sys.stdout.buffer.write(control["body"].encode("utf-8",
                                                       "surrogateescape"))
        sys.exit(0)
    if what == "keys":
        out = {"version": 1, "content": "key_list", "keys": [
            {"entityid": u["id"], "entity": u["name"], "key": k}
            for u in fx["users"] for k in u["keys"]]}
    else:
        uid = args.entityid
        out = {"version": 1, "content": "console_list", "consoles": [
            {"vmid": v["vmid"], "vmname": v["vmname"], "vm": v["vmname"],
             "host": v["host"], "console": "%s.sock" % v["vmid"]}
            for v in fx["vms"] if uid in v["users"]]}
    print(json.dumps(out))
''')

KEYS_ALL = "{helper} --version {{version}} keys"
KEYS_ONE = ("{helper} --version={{version}} keys --keyfp={{keyfp}} "
            "--keytype={{keytype}} --keycontent={{key}}")
CONSOLES = "{helper} --version={{version}} consoles --entityid={{entityid}}"


def shipped_template(install, key):
    """The commented example of key in the shipped sercon.conf, with the
    stand-in's path as its program."""
    with open(os.path.join(REPO, "conf", "sercon.conf.in")) as f:
        for line in f:
            if line.startswith(";%s = " % key):
                words = line.split(" = ", 1)[1].strip().split(" ")
                return " ".join([install.prefix + "/test-command/"
                                 "ovirt-vmconsole-list.py"] + words[1:])
    raise AssertionError("no %s example in conf/sercon.conf.in" % key)


class Env:
    def __init__(self, install, d, helper, users):
        self.install = install
        self.dir = d
        self.helper = helper
        self.users = users

    def key(self, user, i=0):
        return self.users[user][2][i][0]

    def pub(self, user, i=0):
        return self.users[user][2][i][1]

    def mode(self, mode, **kw):
        kw["mode"] = mode
        with open(self.dir + "/control.json", "w") as f:
            json.dump(kw, f)

    def fixture(self, change=None):
        """The fixture, rewritten by change(fixture) when given."""
        with open(self.dir + "/fixture.json") as f:
            fx = json.load(f)
        if change:
            change(fx)
            with open(self.dir + "/fixture.json", "w") as f:
                json.dump(fx, f)
        return fx

    def calls(self):
        try:
            with open(self.dir + "/calls") as f:
                return [json.loads(l) for l in f]
        except FileNotFoundError:
            return []

    def configure(self, key_list=KEYS_ALL, **kw):
        opts = {"backend": "command",
                # a template naming {helper} is formatted, others are raw
                "key_list": (key_list.format(helper=self.helper)
                             if "{helper}" in key_list else key_list),
                "console_list": CONSOLES.format(helper=self.helper),
                "timeout": NORMAL_TIMEOUT, "cache_ttl": 30, "cache_stale_max": 600}
        opts.update(kw)
        self.install.write_conf(CONF, "[proxy]\n" + "".join(
            "%s = %s\n" % kv for kv in opts.items()))


@pytest.fixture(scope="module")
def env(install, pki, host_sshd, proxy_sshd, user_key, syslog):
    d = install.prefix + "/test-command"
    os.makedirs(d, exist_ok=True)
    uid, gid = sercon_ids()
    os.chown(d, uid, gid)
    helper = d + "/ovirt-vmconsole-list.py"
    with open(helper, "w") as f:
        f.write(HELPER)
    os.chmod(helper, 0o755)
    users, vms = users_and_vms(user_key)
    with open(d + "/fixture.json", "w") as f:
        json.dump({"users": [{"id": i, "name": n, "keys": [k[1] for k in ks]}
                             for i, n, ks in users.values()], "vms": vms}, f)
    e = Env(install, d, helper, users)
    e.port = proxy_sshd.port
    consoles = [EchoConsole(os.path.join(install.console_dir, vm["vmid"] + ".sock"))
                for vm in vms]
    try:
        yield e
    finally:
        install.remove_conf(CONF)
        for c in consoles:
            c.close()
        clear_cache(install)


@pytest.fixture
def cmd(env):
    env.mode("normal")
    env.configure()
    clear_cache(env.install)
    if os.path.exists(env.dir + "/calls"):
        os.unlink(env.dir + "/calls")
    yield env
    env.mode("normal")


@pytest.mark.parametrize("template", [KEYS_ALL, KEYS_ONE])
def test_two_users_see_their_consoles(cmd, template):
    cmd.configure(key_list=template)
    assert listing(cmd.port, cmd.key("alice")) == {"vm-a": VM_A, "vm-b": VM_B}
    assert listing(cmd.port, cmd.key("alice", 1)) == {"vm-a": VM_A, "vm-b": VM_B}
    assert listing(cmd.port, cmd.key("bob")) == {"vm-b": VM_B, "vm-c": VM_C}
    consoles = [c for c in cmd.calls() if "consoles" in c]
    assert ["--version=1", "consoles", "--entityid=" + ALICE_ID] in consoles
    assert ["--version=1", "consoles", "--entityid=" + BOB_ID] in consoles


def test_key_placeholders(cmd):
    cmd.configure(key_list=KEYS_ONE)
    assert listing(cmd.port, cmd.key("bob"))
    typ, blob = cmd.pub("bob").split()[:2]
    fp = subprocess.run([TOOLS["ssh_keygen"], "-l", "-E", "sha256", "-f",
                         cmd.key("bob") + ".pub"], capture_output=True,
                        text=True, check=True).stdout.split()[1]
    assert ["--version=1", "keys", "--keyfp=" + fp, "--keytype=" + typ,
            "--keycontent=" + blob] in cmd.calls()


def test_connect(cmd):
    connect(cmd.port, cmd.key("alice"), "vm-a")
    connect(cmd.port, cmd.key("bob"), "vm-b")


@pytest.mark.parametrize("mode", ["hang", "hang-keys"])
def test_hanging_helper(cmd, syslog, mode):
    cmd.configure(timeout=TIMEOUT)
    cmd.mode(mode)
    mark = syslog.mark()
    secs, _ = refused(cmd.port, cmd.key("alice"), bound=BOUND)
    assert secs >= TIMEOUT - 0.5
    syslog.wait_for(r"manager \(keys\): key_list %s did not finish within %d s"
                    % (cmd.helper, TIMEOUT), since=mark)


def test_hanging_console_helper(cmd, syslog):
    cmd.configure(cache_stale_max=0, timeout=TIMEOUT)
    cmd.mode("hang-consoles")
    mark = syslog.mark()
    _, err = refused(cmd.port, cmd.key("alice"), bound=BOUND)
    assert "ERROR:" in err
    syslog.wait_for(r"manager \(consoles\): console_list .* did not finish "
                    r"within %d s" % TIMEOUT, since=mark)


def test_garbage_helper(cmd, syslog):
    cmd.mode("garbage")
    mark = syslog.mark()
    refused(cmd.port, cmd.key("alice"), bound=BOUND)
    syslog.wait_for(r"manager \(keys\): key_list: manager answer is not JSON",
                    since=mark)


def test_failing_helper(cmd, syslog):
    cmd.mode("fail-keys")
    mark = syslog.mark()
    refused(cmd.port, cmd.key("alice"), bound=BOUND)
    syslog.wait_for(r"manager \(keys\): key_list %s exited with status 3"
                    % cmd.helper, since=mark)


def test_console_list_served_stale_while_helper_fails(cmd, syslog):
    cmd.configure(cache_ttl=0, cache_stale_max=600)
    assert listing(cmd.port, cmd.key("bob")) == {"vm-b": VM_B, "vm-c": VM_C}
    cmd.mode("fail-consoles")
    mark = syslog.mark()
    assert listing(cmd.port, cmd.key("bob")) == {"vm-b": VM_B, "vm-c": VM_C}
    syslog.wait_for(r"manager failed \(console_list .* exited with status 3\): "
                    r"serving the console list of entity %s cached \d+ s ago"
                    % BOB_ID, since=mark)
    # alice was never served: refused
    _, err = refused(cmd.port, cmd.key("alice"), bound=BOUND)
    assert "ERROR:" in err


def test_tampered_console_cache_not_trusted(cmd, syslog):
    cmd.configure(cache_ttl=0, cache_stale_max=600)
    assert listing(cmd.port, cmd.key("bob"))
    files = [f for f in os.listdir(cmd.install.cache_dir) if f.startswith("consoles-")]
    assert len(files) == 1
    path = os.path.join(cmd.install.cache_dir, files[0])
    with open(path) as f:
        text = f.read()
    assert VM_C in text
    with open(path, "w") as f:
        f.write(text.replace(VM_C, VM_A))      # grant bob alice's VM
    cmd.mode("fail-consoles")
    mark = syslog.mark()
    refused(cmd.port, cmd.key("bob"), bound=BOUND)
    syslog.wait_for(r"cache: ignoring .* for entity %s: it does not verify"
                    % BOB_ID, since=mark)


def test_shipped_templates_keep_the_entity_id_a_value(cmd, syslog):
    # an entity id that looks like an option ("--help") must reach the
    # helper as the value of --entityid, not as an option of its own: the
    # shipped examples use --entityid={entityid}
    dash = "--help"
    fx = cmd.fixture()
    bob_keys = [u["keys"] for u in fx["users"] if u["id"] == BOB_ID][0]

    def rename_bob(f):
        for u in f["users"]:
            if u["id"] == BOB_ID:
                u["id"] = dash
        for v in f["vms"]:
            v["users"] = [dash if x == BOB_ID else x for x in v["users"]]
    cmd.fixture(rename_bob)
    try:
        cmd.configure(key_list=shipped_template(cmd.install, "key_list"),
                      console_list=shipped_template(cmd.install,
                                                    "console_list"))
        mark = syslog.mark()
        rc, out, err, _ = ssh(cmd.port, cmd.key("bob"), "list")
        assert rc == 0, (err, syslog.lines(mark))
        assert listing(cmd.port, cmd.key("bob")) == {"vm-b": VM_B,
                                                     "vm-c": VM_C}
        assert ["--version=1", "consoles", "--entityid=--help"] in cmd.calls()
        # the old style: the id becomes the helper's own option, and the
        # helper refuses the command line (no stale answer to hide it)
        cmd.configure(console_list="%s --version {version} consoles "
                      "--entityid {entityid}" % cmd.helper, cache_stale_max=0)
        mark = syslog.mark()
        _, err = refused(cmd.port, cmd.key("bob"), bound=BOUND)
        assert "ERROR:" in err
        assert ["--version", "1", "consoles", "--entityid", "--help"] in \
            cmd.calls()
        syslog.wait_for(r"console_list .* exited with status 2", since=mark)
    finally:
        def restore(f):
            for u in f["users"]:
                if u["id"] == dash:
                    u["id"] = BOB_ID
                    u["keys"] = bob_keys
            for v in f["vms"]:
                v["users"] = [BOB_ID if x == dash else x for x in v["users"]]
        cmd.fixture(restore)


@pytest.mark.parametrize("template", [KEYS_ALL, KEYS_ONE])
def test_shared_key_logs_in_as_nobody(cmd, syslog, template):
    # mallory lists alice's key as her own: neither logs in with it
    mallory = "8b0d2a54-dddd-4ddd-8ddd-000000000004"
    alice_pub = cmd.pub("alice")

    cmd.fixture(lambda f: f["users"].append(
        {"id": mallory, "name": "mallory@internal", "keys": [alice_pub]}))
    try:
        cmd.configure(key_list=template)
        mark = syslog.mark()
        refused(cmd.port, cmd.key("alice"), bound=BOUND)
        line = syslog.wait_for(r"is claimed by several entities", since=mark)
        assert "%s (alice@internal)" % ALICE_ID in line, line
        assert "%s (mallory@internal)" % mallory in line, line
        assert listing(cmd.port, cmd.key("alice", 1)) == {"vm-a": VM_A,
                                                          "vm-b": VM_B}
    finally:
        cmd.fixture(lambda f: f["users"].pop())


def test_one_bad_entry_locks_nobody_out(cmd, syslog, user_key):
    fx = cmd.fixture()
    good = [json.dumps({"entityid": u["id"], "entity": u["name"],
                        "key": k}).encode()
            for u in fx["users"] for k in u["keys"]]
    stranger = user_key("remote-bad-entry")[1].encode()
    bad = bad_key_entries(stranger)
    body = (b'{"content":"key_list","version":1,"keys":[' +
            b",".join(good[:1] + bad + good[1:]) + b"]}")
    cmd.mode("raw-keys", body=body.decode("utf-8", "surrogateescape"))
    mark = syslog.mark()
    assert listing(cmd.port, cmd.key("alice")) == {"vm-a": VM_A, "vm-b": VM_B}
    assert listing(cmd.port, cmd.key("bob")) == {"vm-b": VM_B, "vm-c": VM_C}
    for i in range(1, 6):
        syslog.wait_for(r"manager keys\[%d\] skipped" % i, since=mark)


# ---- the key index of 100,000 keys ---------------------------------------------

def big_key_list(n, rng):
    """n users of one ed25519 key each, with a comment long enough that
    the key list is over 16 MiB: (users, key_list answer, inventory)."""
    import base64
    users = []
    for i in range(n):
        blob = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + rng.randbytes(32)
        users.append(("user-%06d" % i, "user%06d@internal" % i,
                      "ssh-ed25519 %s user%06d@workstation-%s.example.org" % (
                          base64.b64encode(blob).decode(), i, "x" * 48)))
    answer = {"version": 1, "content": "key_list", "keys": [
        {"entityid": u, "entity": name, "key": k} for u, name, k in users]}
    inventory = {"users": [{"id": u, "name": name, "keys": [k]}
                           for u, name, k in users],
                 "consoles": [{"vm_id": "vm-%d" % i, "vm_name": "vm%d" % i,
                               "host": "127.0.0.1", "users": [users[i * 7][0]]}
                              for i in range(n // 10)]}
    return users, answer, inventory


def rusage_run(argv, timeout):
    """Runs argv under GNU time: (exit status, stdout, stderr, peak RSS in
    MiB, CPU seconds) of argv and every process it waited for (wait4's
    usage). Not from this interpreter: a child it spawns counts the
    interpreter's size, its peak before exec. RSS and CPU are None
    without /usr/bin/time."""
    if not os.path.exists("/usr/bin/time"):
        r = subprocess.run(argv, capture_output=True, timeout=timeout)
        return r.returncode, r.stdout, r.stderr, None, None
    r = subprocess.run(["/usr/bin/time", "-f", "usage %M %U %S"] + argv,
                       capture_output=True, timeout=timeout)
    lines = r.stderr.decode(errors="replace").splitlines()
    usage = [l for l in lines if l.startswith("usage ")][-1].split()
    return (r.returncode, r.stdout, r.stderr, int(usage[1]) / 1024.0,
            float(usage[2]) + float(usage[3]))


@pytest.mark.parametrize("backend", ["command", "file"])
def test_100k_key_index_streamed(env, backend):
    """A cold rebuild of the key index at 100,000 keys streams the
    manager's answer (a key_list answer or an inventory over 16 MiB) into
    the index, never holding it whole: it is accepted, and the keys helper
    that rebuilds it (with every process it waits for) stays within
    32 MiB and well under a second of CPU. Held whole, the inventory took
    148 MiB and 1.1 s, and a key_list answer over 16 MiB was refused."""
    import random
    users, answer, inventory = big_key_list(100000, random.Random(13))
    path = env.dir + "/big-%s.json" % backend
    with open(path, "w") as f:
        json.dump(answer if backend == "command" else inventory, f)
    assert os.path.getsize(path) > 16 * 1024 * 1024
    os.chmod(path, 0o644)
    if backend == "command":
        env.configure(key_list="/bin/cat " + path)
    else:
        env.install.write_conf(CONF, "[proxy]\nbackend = file\ninventory = %s\n"
                               "timeout = %d\n" % (path, NORMAL_TIMEOUT))
    probe = users[54321]
    argv = ["setpriv", "--reuid=sercon", "--regid=sercon", "--init-groups",
            env.install.libexec + "/sercon-proxy-keys", "sercon"] + \
        probe[2].split()[:2]
    index = os.path.join(env.install.cache_dir,
                         "keys.idx" if backend == "command" else "inventory.idx")
    try:
        clear_cache(env.install)
        rc, out, err, rss, cpu = rusage_run(argv, 60)
        assert rc == 0, err
        assert b"--entity-id=%s " % probe[0].encode() in out
        assert os.path.exists(index)
        if not SANITIZE and rss is not None:
            assert rss <= 32, rss
            assert cpu < 0.8, cpu
        # then answered from the index, not rebuilt
        built = os.stat(index).st_mtime_ns
        rc, out, err, rss, cpu = rusage_run(argv, 60)
        assert rc == 0 and b"--entity-id=%s " % probe[0].encode() in out, err
        assert os.stat(index).st_mtime_ns == built
    finally:
        env.install.remove_conf(CONF)
        env.configure()
        clear_cache(env.install)
        os.unlink(path)

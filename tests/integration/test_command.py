# test_command.py: backend command end to end. key_list and console_list
# run a stand-in for ovirt-engine's ovirt-vmconsole-list.py helper that
# prints the same JSON shape (version, content, keys; consoles with vmid,
# vmname, vm, host, console "<vmid>.sock"), through the real proxy sshd.

import json
import os
import subprocess
import textwrap

import pytest

from conftest import TOOLS
from remote_util import (ALICE_ID, BOB_ID, VM_A, VM_B, VM_C, EchoConsole,
                         clear_cache, connect, listing, refused, sercon_ids,
                         ssh, users_and_vms)

CONF = "50-remote-command.conf"
TIMEOUT = 2            # the failure tests that wait for the manager
NORMAL_TIMEOUT = 15    # the others: the machine may be busy
BOUND = TIMEOUT + 13

HELPER = textwrap.dedent('''\
    #!/usr/bin/python3
    # Stand-in for ovirt-vmconsole-list.py: same arguments, same output.
    import json, os, sys, time
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "calls"), "a") as f:
        f.write(json.dumps(sys.argv[1:]) + "\\n")
    with open(os.path.join(here, "control.json")) as f:
        mode = json.load(f).get("mode", "normal")
    with open(os.path.join(here, "fixture.json")) as f:
        fx = json.load(f)
    what = "keys" if "keys" in sys.argv else "consoles"
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
    if what == "keys":
        out = {"version": 1, "content": "key_list", "keys": [
            {"entityid": u["id"], "entity": u["name"], "key": k}
            for u in fx["users"] for k in u["keys"]]}
    else:
        uid = sys.argv[sys.argv.index("--entityid") + 1]
        out = {"version": 1, "content": "console_list", "consoles": [
            {"vmid": v["vmid"], "vmname": v["vmname"], "vm": v["vmname"],
             "host": v["host"], "console": "%s.sock" % v["vmid"]}
            for v in fx["vms"] if uid in v["users"]]}
    print(json.dumps(out))
''')

KEYS_ALL = "{helper} --version {{version}} keys"
KEYS_ONE = ("{helper} --version {{version}} keys --keyfp {{keyfp}} "
            "--keytype {{keytype}} --keycontent {{key}}")
CONSOLES = "{helper} --version {{version}} consoles --entityid {{entityid}}"


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

    def mode(self, mode):
        with open(self.dir + "/control.json", "w") as f:
            json.dump({"mode": mode}, f)

    def calls(self):
        try:
            with open(self.dir + "/calls") as f:
                return [json.loads(l) for l in f]
        except FileNotFoundError:
            return []

    def configure(self, key_list=KEYS_ALL, **kw):
        opts = {"backend": "command",
                "key_list": key_list.format(helper=self.helper),
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
    assert ["--version", "1", "consoles", "--entityid", ALICE_ID] in consoles
    assert ["--version", "1", "consoles", "--entityid", BOB_ID] in consoles


def test_key_placeholders(cmd):
    cmd.configure(key_list=KEYS_ONE)
    assert listing(cmd.port, cmd.key("bob"))
    typ, blob = cmd.pub("bob").split()[:2]
    fp = subprocess.run([TOOLS["ssh_keygen"], "-l", "-E", "sha256", "-f",
                         cmd.key("bob") + ".pub"], capture_output=True,
                        text=True, check=True).stdout.split()[1]
    assert ["--version", "1", "keys", "--keyfp", fp, "--keytype", typ,
            "--keycontent", blob] in cmd.calls()


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

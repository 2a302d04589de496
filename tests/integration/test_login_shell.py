# test_login_shell.py: sercon-login-shell, the account's shell in the
# packages (sysusers.d). sshd runs every forced command as `SHELL -c CMD`;
# this shell execs sercon's own two forced commands in its place (no /bin/sh
# left resident beside the session) and refuses everything else. Tested
# through a real sshd and ssh with an account of its own (the suite's shared
# sercon account keeps /bin/sh: the packaged account is tested in
# test_systemd_vm.py, where no shell process may sit in a session).

import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile

import pytest

from conftest import keygen, run, ssh_argv

ACCOUNT = "sercon-lsh"


@pytest.fixture(scope="module")
def login_shell(install):
    return install.libexec + "/sercon-login-shell"


@pytest.fixture(scope="module")
def lsh_sshd(install, pki, login_shell, start_sshd):
    """An sshd admitting only ACCOUNT, whose shell is the login shell, with
    one key per forced command the tests need."""
    # sshd reads the keys file as ACCOUNT: not under pytest's 0700 tmp.
    d = pathlib.Path(tempfile.mkdtemp(prefix="sercon-lsh-"))
    os.chmod(str(d), 0o755)
    try:
        pwd.getpwnam(ACCOUNT)
        run(["usermod", "-s", login_shell, "-d", str(d), ACCOUNT])
    except KeyError:
        run(["useradd", "--system", "--no-create-home", "--home-dir", str(d),
             "--shell", login_shell, ACCOUNT])
    run(["usermod", "-p", "*", ACCOUNT])
    keygen(str(d / "hostkey"))
    cert = pki.sign(str(d / "hostkey.pub"), ["127.0.0.1", "localhost"], host=True)
    host_shell = install.libexec + "/sercon-host-shell"
    keys, lines = {}, []
    for name, opts in (("host", 'command="%s"' % host_shell),
                       ("quoted", 'command="\'%s\'"' % host_shell),
                       ("other", 'command="/usr/bin/id"'),
                       ("none", "")):
        path = keygen(str(d / name))
        with open(path + ".pub") as f:
            lines.append(((opts + " ") if opts else "") + f.read().strip())
        keys[name] = path
    (d / "authorized_keys").write_text("\n".join(lines) + "\n")
    conf = d / "sshd_config"
    conf.write_text("HostKey %s\nHostCertificate %s\nAllowUsers %s\nAuthorizedKeysFile %s\n"
                    "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nSubsystem sftp internal-sftp\n"
                    % (d / "hostkey", cert, ACCOUNT, d / "authorized_keys"))
    sshd = start_sshd(str(conf))
    yield sshd, keys
    run(["userdel", ACCOUNT])
    shutil.rmtree(str(d))


def lsh(sshd, key, command=None, extra=()):
    argv = ssh_argv(sshd.port, key, *extra, user=ACCOUNT, command=command)
    return subprocess.run(argv, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def test_forced_command_is_exec_d(lsh_sshd):
    sshd, keys = lsh_sshd
    r = lsh(sshd, keys["host"], "info")
    assert r.returncode == 0, r.stderr
    assert "protocols=1" in r.stdout, r.stdout
    # The program word may be quoted, as a shell would accept it.
    r = lsh(sshd, keys["quoted"], "help")
    assert r.returncode == 0, r.stderr
    assert "connect" in r.stdout and r.stderr == "", r


def test_other_programs_refused(lsh_sshd):
    sshd, keys = lsh_sshd
    r = lsh(sshd, keys["other"])
    assert r.returncode == 126, (r.stdout, r.stderr)
    assert "sercon-login-shell: not a sercon command: /usr/bin/id" in r.stderr
    assert r.stdout == ""
    # Without a forced command: the client's command, a login, a subsystem.
    r = lsh(sshd, keys["none"], "id; echo pwned")
    assert r.returncode == 126 and "not a sercon command: id;" in r.stderr, r.stderr
    assert "uid=" not in r.stdout and "pwned" not in r.stdout
    r = lsh(sshd, keys["none"], extra=("-tt",))
    assert r.returncode == 126, (r.stdout, r.stderr)
    assert "runs only sercon's forced commands" in r.stdout + r.stderr


def test_direct_calls(install, login_shell):
    host_shell = install.libexec + "/sercon-host-shell"
    env = dict(os.environ, SSH_ORIGINAL_COMMAND="info")
    r = subprocess.run([login_shell, "-c", host_shell], capture_output=True,
                       text=True, env=env, timeout=10)
    assert r.returncode == 0 and "protocols=1" in r.stdout, r
    for argv, why in (([login_shell], "runs only sercon's forced commands"),
                      ([login_shell, "-c"], "runs only sercon's forced commands"),
                      ([login_shell, "-x", host_shell], "runs only sercon's forced commands"),
                      ([login_shell, "-c", host_shell + " 'open"], "unterminated"),
                      ([login_shell, "-c", ""], "not a sercon command: (empty)"),
                      ([login_shell, "-c", host_shell + "x"], "not a sercon command"),
                      ([login_shell, "-c", "../" + host_shell], "not a sercon command"),
                      ([login_shell, "-c", "\x1b[2J" + host_shell], "control character")):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        assert r.returncode == 126, (argv, r)
        assert why in r.stderr and r.stderr.count("\n") == 1, (argv, r.stderr)
        assert "\x1b" not in r.stderr

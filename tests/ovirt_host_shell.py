#!/usr/bin/python3
# A stand-in for ovirt-vmconsole-host-shell (ovirt-vmconsole 1.0.x), the
# ForceCommand of an oVirt hypervisor's console sshd, for sercon's interop
# tests: the real package is not installable here. What matters is faithful:
# the command line is SSH_ORIGINAL_COMMAND split with shlex and parsed by
# argparse exactly as the real one declares it (global --debug, --entityid,
# --entity; sub-commands help, info, connect --console, the last required),
# so an option it does not know (sercon's --entity-id, --proto) is refused
# with argparse's usage error and status 2. connect demands a pty on stdin
# ("No pty support"), a plain console name, a socket it can read and write,
# then copies bytes both ways in raw mode. Errors: "ERROR: ..." on stderr,
# status 1, as the real one's main() does.
#
#   ovirt_host_shell.py CONSOLE_DIR [LOG_FILE]
#
# LOG_FILE gets one line per call: the parsed arguments, for the tests.

import argparse
import json
import os
import select
import shlex
import socket
import sys
import termios
import tty

NAME = "ovirt-vmconsole-host-shell"


class UserError(Exception):
    pass


def parser():
    p = argparse.ArgumentParser(prog=NAME, description="oVirt VM console host shell")
    p.add_argument("--debug", default=False, action="store_true", help="enable debug log")
    p.add_argument("--entityid", help="original entity id")
    p.add_argument("--entity", help="original entity")
    sub = p.add_subparsers(dest="command", help="sub-command help")
    sub.required = True
    sub.add_parser("help", help="present help")
    sub.add_parser("info", help="present information")
    c = sub.add_parser("connect", help="connect to console")
    c.add_argument("--console", required=True, help="console to use")
    return p


def info():
    # the real one reads ca.pub and host-ssh_host_rsa-cert.pub from its PKI
    # directory; the words before '=' are what a proxy could look at
    sys.stdout.write("package=%s\nssh-ca-key=%s\nssh-host-cert=%s\n" % (
        NAME, "ssh-rsa AAAAstandin ca", "ssh-rsa-cert-v01@openssh.com AAAAstandin host"))


def relay(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        while True:
            r, _, _ = select.select([fd, s], [], [])
            if fd in r:
                data = os.read(fd, 4096)
                if not data:
                    return
                s.sendall(data)
            if s in r:
                data = s.recv(4096)
                if not data:
                    return
                os.write(sys.stdout.fileno(), data)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        s.close()


def connect(console_dir, args):
    try:
        termios.tcgetattr(sys.stdin.fileno())
    except termios.error:
        raise UserError("No pty support, please enable at client side")
    if os.path.basename(args.console) != args.console:
        raise UserError("Invalid console name")
    path = os.path.join(console_dir, args.console)
    if not os.access(path, os.F_OK | os.R_OK | os.W_OK):
        raise UserError("Console '%s' is not available" % args.console)
    relay(path)


def main():
    console_dir = sys.argv[1]
    log = sys.argv[2] if len(sys.argv) > 2 else None
    command = os.environ.get("SSH_ORIGINAL_COMMAND", "")
    p = parser()
    args = p.parse_args(shlex.split(command))     # exits 2 on a bad line
    if log:
        with open(log, "a") as f:
            f.write(json.dumps({"command": args.command, "entityid": args.entityid,
                                "entity": args.entity,
                                "console": getattr(args, "console", None),
                                "raw": command}) + "\n")
    try:
        if args.command == "help":
            p.print_help()
        elif args.command == "info":
            info()
        else:
            connect(console_dir, args)
        return 0
    except UserError as e:
        sys.stderr.write("ERROR: %s\n" % e)
    except Exception:
        sys.stderr.write("ERROR: Internal error\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
# sercon_test_engine.py: a stand-in for the oVirt engine's vmconsole-proxy
# service (POST <base>/services/vmconsole-proxy) for sercon's tests. It checks
# tickets the way ovirt-engine's TicketDecoder does and answers from a fixture
# file; a control file makes it slow, failing, or talkative, per request.
#
# As a program:
#   sercon_test_engine.py --fixture F --tls-cert C --tls-key K --ticket-ca CA
#       [--control FILE] [--log FILE] [--port N | --port-file FILE]
#       [--tolerance SECONDS] [--base /ovirt-engine/]
# As a module: make_pki(dir) creates every certificate the tests need, and
# Engine(...) runs the program and stops it again.
#
# Fixture: {"users": [{"id", "name", "keys": ["ssh-ed25519 AAAA..", ...]}],
#           "vms": [{"vmid", "vmname", "host", "users": [ids or "*"]}]}
# Control: {"mode": "normal" | "slow" | "status" | "garbage" | "huge" |
#           "raw-keys" (public_keys answered with "body", other requests
#           as normal),
#           "delay": seconds (slow), "status": code (status),
#           "size": bytes (huge, default 100 MB),
#           "unannounced": true (huge: no Content-Length, ends by closing)}

import argparse
import base64
import binascii
import datetime
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VMCONSOLE_EKU = x509.ObjectIdentifier("1.3.6.1.4.1.2312.13.1.2.1.1")
SERVICE = "services/vmconsole-proxy"
DATE_FORMAT = "%Y%m%d%H%M%S"


class TicketError(Exception):
    status = 403


class TicketEkuError(TicketError):
    """The real engine's decoder fails on a certificate without the
    vmconsole EKU with an exception that ends as HTTP 500, not 403."""
    status = 500

    """The engine's GeneralSecurityException: answered with 403."""


# ---- ticket checks, in TicketDecoder's order --------------------------------

def _verify_issued_by(cert, ca):
    if cert.issuer != ca.subject:
        raise TicketError("certificate not issued by the engine CA")
    try:
        ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                               padding.PKCS1v15(),
                               cert.signature_hash_algorithm)
    except InvalidSignature:
        raise TicketError("certificate signature does not verify against "
                          "the engine CA")
    if hasattr(cert, "not_valid_before_utc"):       # cryptography >= 42
        now = datetime.datetime.now(datetime.timezone.utc)
        before, after = cert.not_valid_before_utc, cert.not_valid_after_utc
    else:
        now = datetime.datetime.utcnow()
        before, after = cert.not_valid_before, cert.not_valid_after
    if not before <= now <= after:
        raise TicketError("certificate is outside its validity period")


def _salt_max_length(public_key):
    # RFC 3447 9.1.1, as TicketEncoder.getSaltMaxLength
    return (public_key.key_size - 1 + 7) // 8 - 32 - 2


def decode_ticket(body, ca, tolerance, now=None):
    """Returns the ticket's data string or raises TicketError."""
    try:
        fields = json.loads(base64.b64decode(body, validate=True))
    except (binascii.Error, ValueError):
        raise TicketError("ticket is not base64 JSON")
    if not isinstance(fields, dict) or not all(
            isinstance(v, str) for v in fields.values()):
        raise TicketError("ticket is not a map of strings")
    try:
        cert = x509.load_pem_x509_certificate(
            fields.get("certificate", "").encode())
    except ValueError:
        raise TicketError("ticket certificate is not PEM")
    _verify_issued_by(cert, ca)
    try:
        eku = cert.extensions.get_extension_for_class(
            x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = []
    if VMCONSOLE_EKU not in eku:
        raise TicketEkuError("Certificate is not authorized for action")
    signed = [f.strip() for f in fields.get("signedFields", "").strip().split(",")]
    if "salt" not in signed or "data" not in signed:
        raise TicketError("Invalid ticket")
    if any(f not in fields for f in signed):
        raise TicketError("Invalid ticket: a signed field is missing")
    message = b"".join(fields[f].encode("utf-8") for f in signed)
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise TicketError("ticket certificate key is not RSA")
    try:
        if "v2_signature" in fields:
            sig = base64.b64decode(fields["v2_signature"])
            key.verify(sig, message,
                       padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                   salt_length=_salt_max_length(key)),
                       hashes.SHA256())
        else:
            algo = {"sha1": hashes.SHA1, "sha256": hashes.SHA256}.get(
                fields.get("digest", ""))
            if algo is None:
                raise TicketError("unknown digest")
            key.verify(base64.b64decode(fields.get("signature", "")), message,
                       padding.PKCS1v15(), algo())
    except (InvalidSignature, binascii.Error, ValueError):
        raise TicketError("Invalid ticket signature")
    try:
        valid_from = datetime.datetime.strptime(fields["validFrom"], DATE_FORMAT)
        valid_to = datetime.datetime.strptime(fields["validTo"], DATE_FORMAT)
    except (KeyError, ValueError):
        raise TicketError("ticket lifetime is not readable")
    now = now or datetime.datetime.utcnow()
    tol = datetime.timedelta(seconds=tolerance)
    if not (valid_from - tol <= now <= valid_to + tol):
        raise TicketError("Ticket lifetime expired")
    return fields["data"]


# ---- answers ----------------------------------------------------------------

def public_keys(fixture):
    keys = []
    for u in fixture.get("users", []):
        # the engine keeps one text per user and returns one entry a line
        text = "\n".join(u.get("keys", []))
        for line in text.split("\n"):
            if line.strip():
                keys.append({"entityid": u["id"], "entity": u.get("name", u["id"]),
                             "key": line.strip()})
    return {"version": "1", "content": "key_list", "keys": keys}


def available_consoles(fixture, user_id):
    consoles = []
    for vm in fixture.get("vms", []):
        users = vm.get("users", [])
        if user_id and (user_id in users or "*" in users):
            consoles.append({"vmid": vm["vmid"], "vmname": vm["vmname"],
                             "host": vm["host"], "console": "default"})
    return {"version": "1", "content": "console_list", "consoles": consoles}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sercon-test-engine/1"

    def log_message(self, fmt, *args):
        pass

    def _log(self, text):
        self.server.log(text)

    def _send(self, status, body=b"", ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _huge(self, size, chunked):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if chunked:
            # no length announced: the client learns the size by counting
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        # a key list that looks right all the way (one entry whose key
        # never ends): only its size is wrong
        chunk = (b'{"content":"key_list","version":"1","keys":['
                 b'{"entityid":"huge","key":"ssh-ed25519 ')
        sent = 0
        try:
            while sent < size:
                n = min(len(chunk), size - sent)
                self.wfile.write(chunk[:n])
                sent += n
                chunk = b"A" * 65536
        except OSError:
            pass
        self._log("huge: sent %d of %d bytes" % (sent, size))

    def do_POST(self):
        control = self.server.control()
        mode = control.get("mode", "normal")
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(length, 1 << 20))
        if self.path.rstrip("/") != self.server.base + SERVICE:
            self._log("404 %s" % self.path)
            return self._send(404)
        if self.headers.get("Content-Type", "").split(";")[0] != "text/plain":
            self._log("415 %s" % self.headers.get("Content-Type"))
            return self._send(415)
        self._log("request mode=%s" % mode)
        if mode == "slow":
            time.sleep(float(control.get("delay", 30)))
        elif mode == "status":
            return self._send(int(control.get("status", 500)))
        elif mode == "garbage":
            return self._send(200, b"<html><body>Service unavailable"
                              b"\x1b[2J</body></html>", "text/html")
        elif mode == "huge":
            return self._huge(int(control.get("size", 100 * 1000 * 1000)),
                              bool(control.get("unannounced")))
        elif mode == "raw-keys" and b"public_keys" in base64.b64decode(
                body + b"=" * (-len(body) % 4), validate=False):
            # a key list exactly as given (to test what a parser makes of
            # bytes json.dumps would never write)
            self._log("200 public_keys raw")
            return self._send(200, control.get("body", "").encode(
                "utf-8", "surrogateescape"))
        try:
            data = decode_ticket(body, self.server.ca, self.server.tolerance)
        except TicketError as e:
            self._log("%d %s" % (e.status, e))
            return self._send(e.status)
        try:
            params = json.loads(data)
            command = params.get("command")
            version = str(params.get("version"))
        except (ValueError, AttributeError):
            self._log("500 data is not a JSON object")
            return self._send(500)
        if version != "1":
            self._log("500 unsupported version %s" % version)
            return self._send(500)
        fixture = self.server.fixture()
        if command == "public_keys":
            answer = public_keys(fixture)
        elif command == "available_consoles":
            answer = available_consoles(fixture, params.get("user_id"))
        else:
            self._log("500 unknown command %r" % (command,))
            return self._send(500)
        self._log("200 %s %s" % (command, params.get("user_id", "")))
        self._send(200, json.dumps(answer).encode())


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, args):
        super().__init__(addr, Handler)
        self.args = args
        self.base = "/" + args.base.strip("/") + "/" if args.base.strip("/") else "/"
        self.tolerance = args.tolerance
        with open(args.ticket_ca, "rb") as f:
            self.ca = x509.load_pem_x509_certificate(f.read())
        self._log_lock = threading.Lock()

    def control(self):
        if not self.args.control:
            return {}
        try:
            with open(self.args.control) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def fixture(self):
        with open(self.args.fixture) as f:
            return json.load(f)

    def log(self, text):
        if not self.args.log:
            return
        with self._log_lock, open(self.args.log, "a") as f:
            f.write("%s\n" % text)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--fixture", required=True)
    p.add_argument("--tls-cert", required=True)
    p.add_argument("--tls-key", required=True)
    p.add_argument("--ticket-ca", required=True)
    p.add_argument("--control")
    p.add_argument("--log")
    p.add_argument("--tolerance", type=float, default=10)
    p.add_argument("--base", default="/ovirt-engine/")
    args = p.parse_args(argv)
    srv = Server((args.listen, args.port), args)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.tls_cert, args.tls_key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(args.port_file + ".tmp", args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


# ---- helpers for the tests --------------------------------------------------

def sign_ticket(cert_path, key_path, data, now=None, lifetime=5,
                signed_fields=("salt", "validFrom", "validTo", "data")):
    """A v2 ticket as ovirt-engine's TicketEncoder makes it (for testing
    the checks above independently of sercon's C encoder)."""
    with open(key_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    with open(cert_path) as f:
        cert = f.read()
    now = now if now is not None else time.time()
    fields = {"salt": base64.b64encode(os.urandom(8)).decode(),
              "validFrom": time.strftime(DATE_FORMAT, time.gmtime(now)),
              "validTo": time.strftime(DATE_FORMAT, time.gmtime(now + lifetime)),
              "data": data}
    msg = "".join(fields[f] for f in signed_fields).encode()
    sig = key.sign(msg, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                    salt_length=_salt_max_length(key.public_key())),
                   hashes.SHA256())
    fields.update(signedFields=",".join(signed_fields),
                  v2_signature=base64.b64encode(sig).decode(), certificate=cert)
    return base64.b64encode(json.dumps(fields).encode())


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(path, key):
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(path, 0o600)


def _write_cert(path, cert):
    with open(path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


def _cert(subject, key, issuer, issuer_key, ca=False, eku=None, san=None):
    now = datetime.datetime.utcnow()
    b = (x509.CertificateBuilder().subject_name(_name(subject))
         .issuer_name(_name(issuer)).public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=2))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                        critical=True))
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def make_pki(d):
    """Creates in d: ca.pem/ca.key (the engine's CA, which issues both its
    TLS certificate and the ticket certificates), engine.pem/engine.key (TLS
    for 127.0.0.1 and localhost), ticket.pem/ticket.key (with the vmconsole
    EKU), ticket-noeku.pem/.key (without it), ticket-rogue.pem/.key (EKU,
    but issued by another CA), other-ca.pem (a CA that is not the engine's),
    ticket-ec.key (not RSA). Returns a dict of the paths."""
    import ipaddress
    from cryptography.hazmat.primitives.asymmetric import ec
    os.makedirs(d, exist_ok=True)
    paths = {}
    ca_key = _key()
    ca = _cert("sercon-test-engine-ca", ca_key, "sercon-test-engine-ca",
               ca_key, ca=True)
    rogue_key = _key()
    rogue = _cert("rogue-ca", rogue_key, "rogue-ca", rogue_key, ca=True)
    items = {
        "engine": ("127.0.0.1", ca_key, "sercon-test-engine-ca",
                   [ExtendedKeyUsageOID.SERVER_AUTH],
                   [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.DNSName("localhost")]),
        "ticket": ("vmconsole-proxy-helper", ca_key, "sercon-test-engine-ca",
                   [VMCONSOLE_EKU, ExtendedKeyUsageOID.CLIENT_AUTH], None),
        "ticket-noeku": ("vmconsole-proxy-helper", ca_key,
                         "sercon-test-engine-ca",
                         [ExtendedKeyUsageOID.CLIENT_AUTH], None),
        "ticket-rogue": ("vmconsole-proxy-helper", rogue_key, "rogue-ca",
                         [VMCONSOLE_EKU], None),
    }
    _write_cert(os.path.join(d, "ca.pem"), ca)
    _write_key(os.path.join(d, "ca.key"), ca_key)
    _write_cert(os.path.join(d, "other-ca.pem"), rogue)
    paths["ca"] = os.path.join(d, "ca.pem")
    paths["other-ca"] = os.path.join(d, "other-ca.pem")
    for name, (cn, ikey, iname, eku, san) in items.items():
        key = _key()
        cert = _cert(cn, key, iname, ikey, eku=eku, san=san)
        paths[name] = os.path.join(d, name + ".pem")
        paths[name + "-key"] = os.path.join(d, name + ".key")
        _write_cert(paths[name], cert)
        _write_key(paths[name + "-key"], key)
    eckey = ec.generate_private_key(ec.SECP256R1())
    paths["ticket-ec-key"] = os.path.join(d, "ticket-ec.key")
    _write_key(paths["ticket-ec-key"], eckey)
    return paths


class Engine:
    """Runs this file as a program; .url, .control(mode=..., ...),
    .fixture(dict), .log_lines(), .stop(), .start()."""

    def __init__(self, workdir, pki, fixture, tolerance=10):
        self.dir = workdir
        self.pki = pki
        self.tolerance = tolerance
        self.port = None
        self.proc = None
        os.makedirs(workdir, exist_ok=True)
        self.fixture_path = os.path.join(workdir, "fixture.json")
        self.control_path = os.path.join(workdir, "control.json")
        self.log_path = os.path.join(workdir, "engine.log")
        if os.path.exists(self.log_path):
            os.unlink(self.log_path)
        self.set_fixture(fixture)
        self.control()
        self.start()

    def set_fixture(self, fixture):
        with open(self.fixture_path + ".tmp", "w") as f:
            json.dump(fixture, f)
        os.rename(self.fixture_path + ".tmp", self.fixture_path)

    def control(self, mode="normal", **kw):
        kw["mode"] = mode
        with open(self.control_path + ".tmp", "w") as f:
            json.dump(kw, f)
        os.rename(self.control_path + ".tmp", self.control_path)

    @property
    def url(self):
        return "https://127.0.0.1:%d/ovirt-engine/" % self.port

    def start(self):
        port_file = os.path.join(self.dir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        argv = [sys.executable, os.path.abspath(__file__),
                "--fixture", self.fixture_path, "--control", self.control_path,
                "--log", self.log_path, "--tls-cert", self.pki["engine"],
                "--tls-key", self.pki["engine-key"],
                "--ticket-ca", self.pki["ca"],
                "--tolerance", str(self.tolerance)]
        if self.port:
            argv += ["--port", str(self.port)]
        else:
            argv += ["--port-file", port_file]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        import socket
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("test engine exited %d" % self.proc.returncode)
            if not self.port and os.path.exists(port_file):
                with open(port_file) as f:
                    self.port = int(f.read())
            if self.port:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", self.port)) == 0:
                        return
            time.sleep(0.05)
        raise RuntimeError("test engine did not start")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_lines(self):
        try:
            with open(self.log_path) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []


if __name__ == "__main__":
    sys.exit(main())

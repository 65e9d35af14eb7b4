#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# rtwcat over TLS end to end (issue #14): `rtwcat serve --tls-cert --tls-key` (wss:// echo
# and https:// SSE at /events on one port) against curl --cacert, `openssl s_client`,
# Python's ssl module with a raw WebSocket handshake, and rtwcat's own wss:// and https://
# clients (--cacert, a wrong CA, --insecure, a name that does not match); plain HTTP sent to
# the TLS port; a client that never starts its handshake (--tls-handshake-timeout); bad
# certificate options. Prints TAP.
#
# usage: tls_test.py RTWCAT
#
# The CA and the certificates are made here, in a temporary directory, with the openssl
# CLI (EC P-256, valid for two days) and deleted at exit: no key is ever committed. Servers
# bind 127.0.0.1 on port 0; every process is killed at exit; every wait has a timeout.

import base64
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rawws  # noqa: E402
from rawws import OP_CLOSE, OP_TEXT, close_payload, frame  # noqa: E402

RTWCAT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
if RTWCAT is None:
    print("usage: tls_test.py RTWCAT", file=sys.stderr)
    sys.exit(2)

T = rawws.Tap()
TMP = tempfile.mkdtemp(prefix="rtwcat-tls-")


def path(name):
    return os.path.join(TMP, name)


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)


def make_ca(name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=rtwcat test " + name,
            "-keyout", path(name + ".key"), "-out", path(name + ".pem"),
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def make_leaf(name, ca, cn, san):
    """A leaf for cn signed by ca, with subjectAltName san (e.g. DNS:localhost)."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", "/CN=" + cn, "-keyout", path(name + ".key"), "-out", path(name + ".csr"))
    with open(path(name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n" % san)
    openssl("x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + ".pem"),
            "-CAkey", path(ca + ".key"), "-CAcreateserial", "-days", "2",
            "-extfile", path(name + ".ext"), "-out", path(name + ".pem"))


def run(args, stdin=b"", timeout=20):
    """Run rtwcat to completion: (status, stdout bytes, stderr text); status None on
    timeout."""
    p = T.start([RTWCAT] + args)
    try:
        out, err = p.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, out, err.decode(errors="replace") + " [timed out]"
    return p.returncode, out, err.decode(errors="replace")


class Server:
    """`rtwcat serve --port 0 --tls-cert ... --tls-key ...`; the port from its first line."""

    def __init__(self, leaf, *extra):
        self.p = T.start([RTWCAT, "serve", "--port", "0", "--tls-cert", path(leaf + ".pem"),
                          "--tls-key", path(leaf + ".key")] + list(extra))
        self.line = self.p.stdout.readline().decode(errors="replace").strip()
        self.port = int(self.line.rsplit(":", 1)[1].strip("/")) if self.line.endswith("/") \
            else 0
        self.errors = []
        rawws.drain(self.p.stderr, self.errors)
        rawws.drain(self.p.stdout)

    def feed(self, text):
        self.p.stdin.write(text.encode())
        self.p.stdin.flush()

    def alive(self):
        return self.p.poll() is None


def json_lines(out):
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def tls_context(cafile=None):
    ctx = ssl.create_default_context(cafile=cafile or path("ca.pem"))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def recv_until(s, pred, timeout=10):
    """Read from s (plain or TLS) until pred(data) holds, EOF or the timeout."""
    data = b""
    deadline = time.time() + timeout
    while not pred(data) and time.time() < deadline:
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            d = s.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except (OSError, ssl.SSLError):
            break
        if not d:
            break
        data += d
    return data


# ------------------------------------------------------------------ command line

def test_options():
    rc, out, err = run(["serve", "--port", "0", "--tls-cert", path("leaf.pem")])
    T.check("serve: --tls-cert without --tls-key is a usage error (exit 2)",
            rc == 2 and "--tls-key" in err and out == b"", err)
    rc, out, err = run(["serve", "--port", "0", "--tls-key", path("leaf.key")])
    T.check("serve: --tls-key without --tls-cert is a usage error (exit 2)", rc == 2, err)
    with open(path("garbage.pem"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    rc, out, err = run(["serve", "--port", "0", "--tls-cert", path("garbage.pem"),
                        "--tls-key", path("leaf.key")])
    T.check("serve: a certificate that does not parse exits 1 with mbedTLS's reason",
            rc == 1 and "garbage.pem" in err and ("X509" in err or "PEM" in err) and
            "listening" not in out.decode(), (rc, out, err))
    rc, out, err = run(["serve", "--port", "0", "--tls-cert", path("leaf.pem"),
                        "--tls-key", path("other.key")])
    T.check("serve: a key that does not match the certificate exits 1",
            rc == 1 and "other.key" in err and "listening" not in out.decode(), (rc, out, err))
    rc, out, err = run(["serve", "--port", "0", "--tls-cert", path("missing.pem"),
                        "--tls-key", path("leaf.key")])
    T.check("serve: a missing certificate file exits 1", rc == 1 and "missing.pem" in err,
            (rc, err))
    rc, out, _ = run(["serve", "--help"])
    text = out.decode()
    T.check("serve --help lists --tls-cert, --tls-key and --tls-handshake-timeout",
            rc == 0 and "--tls-cert" in text and "--tls-key" in text and
            "--tls-handshake-timeout" in text, text)
    rc, out, err = run(["wss://127.0.0.1:1/", "--cacert", path("nothing-here.pem")])
    T.check("wss://: an unreadable --cacert exits 1 before connecting",
            rc == 1 and "nothing-here.pem" in err, (rc, err))


# ------------------------------------------------------------------ real peers

def test_curl(srv):
    if shutil.which("curl") is None:
        T.check("curl --cacert reads SSE over https (curl missing)", False, "no curl")
        return
    srv.feed("one\ntwo\nthree\nfour\n")
    time.sleep(0.3)
    c = subprocess.run(["curl", "-sS", "-N", "-m", "2", "--cacert", path("ca.pem"),
                        "-H", "Last-Event-ID: 1",
                        "https://localhost:%d/events" % srv.port],
                       capture_output=True, timeout=20)
    text = c.stdout.decode(errors="replace")
    want = "id: 2\ndata: two\n\nid: 3\ndata: three\n\nid: 4\ndata: four\n\n"
    T.check("curl --cacert: https://localhost/events replays events 2, 3, 4 in order",
            text.startswith(want), (c.returncode, text, c.stderr))
    c = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
                        "-m", "5", "--cacert", path("ca.pem"),
                        "https://localhost:%d/nothing" % srv.port],
                       capture_output=True, timeout=20)
    T.check("curl: other paths are 404 over https", c.stdout == b"404 1.1",
            (c.stdout, c.stderr))
    c = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-m", "5", "--cacert",
                        path("other-ca.pem"), "https://localhost:%d/events" % srv.port],
                       capture_output=True, timeout=20)
    T.check("curl with another CA refuses the server (exit 60)", c.returncode == 60,
            (c.returncode, c.stderr))


def test_s_client(srv):
    c = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % srv.port,
                        "-alpn", "http/1.1", "-CAfile", path("ca.pem"),
                        "-servername", "localhost"],
                       input=b"", capture_output=True, timeout=30)
    text = c.stdout.decode(errors="replace")
    T.check("openssl s_client: ALPN protocol: http/1.1", "ALPN protocol: http/1.1" in text,
            text[-1500:])
    T.check("openssl s_client: Verify return code: 0 (ok)",
            "Verify return code: 0 (ok)" in text, text[-1500:])


def python_ws_echo(port, payload=b"hello over TLS"):
    """A raw RFC 6455 client over Python's ssl: the echo of one masked text frame, and the
    close (None on failure)."""
    ctx = tls_context()
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    try:
        key = base64.b64encode(os.urandom(16))
        s.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key +
                  b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        data = recv_until(s, lambda d: b"\r\n\r\n" in d)
        head, _, rest = data.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0] or \
                rawws.accept_value(key).encode() not in head:
            return None, head, s.selected_alpn_protocol()
        s.sendall(frame(OP_TEXT, payload, mask=os.urandom(4)))
        want = frame(OP_TEXT, payload)
        data = rest + recv_until(s, lambda d: len(d) >= len(rest) + len(want))
        s.sendall(frame(OP_CLOSE, close_payload(1000), mask=os.urandom(4)))
        closing = recv_until(s, lambda d: len(d) >= 4)
        return data, closing, s.selected_alpn_protocol()
    finally:
        s.close()


def test_python_ssl(srv):
    echo, closing, alpn = python_ws_echo(srv.port)
    T.check("python ssl + raw handshake: ALPN http/1.1", alpn == "http/1.1", alpn)
    T.check("python ssl + raw handshake: the text frame is echoed",
            echo == frame(OP_TEXT, b"hello over TLS"), (echo, closing))
    T.check("python ssl: the close is answered with 1000",
            closing == frame(OP_CLOSE, close_payload(1000)), closing)


def test_rtwcat_wss(srv):
    url = "wss://localhost:%d/echo" % srv.port
    rc, out, err = run([url, "--cacert", path("ca.pem"), "--json", "--deflate"],
                       stdin=b"one\ntwo \xc3\xa9\n")
    lines = json_lines(out) if rc is not None else []
    opened = lines[0] if lines else {}
    T.check("rtwcat wss:// --cacert: echo of both lines, close 1000, exit 0",
            rc == 0 and [m for m in lines if m.get("type") == "text"] == [
                {"type": "text", "data": "one"}, {"type": "text", "data": "two \u00e9"}] and
            lines[-1] == {"type": "close", "code": 1000, "reason": ""}, (rc, out, err))
    # TLSv1.2 with Debian's mbedTLS 2.28; TLSv1.3 when rtweb is built on a 3.x with it.
    T.check("rtwcat wss:// --json: the open line shows the TLS version, ALPN http/1.1 and deflate",
            opened.get("type") == "open" and opened.get("tls") in ("TLSv1.2", "TLSv1.3") and
            opened.get("alpn") == "http/1.1" and opened.get("cipher") and
            opened.get("deflate"), opened)

    big = b"x" * (1 << 20)  # many records, more than the engine's 256 KiB output budget
    rc, out, err = run(["wss://127.0.0.1:%d/" % srv.port, "--cacert", path("ca.pem")],
                       stdin=big + b"\n", timeout=60)
    T.check("rtwcat wss://127.0.0.1 (IP subjectAltName): a 1 MiB message echoed whole",
            rc == 0 and out == big + b"\n", (rc, len(out), err))

    rc, out, err = run([url, "--cacert", path("other-ca.pem")], stdin=b"x\n")
    T.check("rtwcat wss:// with the wrong CA: exit 1 with the verification failure",
            rc == 1 and out == b"" and "RTW_ERR_TLS_VERIFY" in err and
            "verif" in err.lower(), (rc, out, err))
    rc, out, err = run([url, "--insecure"], stdin=b"insecure\n")
    T.check("rtwcat wss:// --insecure: works without a CA", rc == 0 and out == b"insecure\n",
            (rc, out, err))


def test_rtwcat_https(srv):
    p = T.start([RTWCAT, "https://localhost:%d/events" % srv.port, "--cacert", path("ca.pem"),
                 "--last-event-id", "4", "--max-events", "2"])
    time.sleep(0.3)
    srv.feed("five\nsix\n")
    try:
        out, err = p.communicate(timeout=15)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out, err, rc = b"", b"", None
    T.check("rtwcat https:// --cacert: events 5 and 6 in order, exit 0",
            rc == 0 and json_lines(out) == [
                {"event": "message", "data": "five", "id": "5"},
                {"event": "message", "data": "six", "id": "6"}], (rc, out, err))
    rc, out, err = run(["https://localhost:%d/events" % srv.port, "--cacert",
                        path("other-ca.pem"), "--max-events", "1"])
    T.check("rtwcat https:// with the wrong CA: exit 1, no reconnect, the reason given",
            rc == 1 and out == b"" and "RTW_ERR_TLS_VERIFY" in err and
            "reconnecting" not in err, (rc, out, err))


def test_wrong_name(other):
    rc, out, err = run(["wss://localhost:%d/" % other.port, "--cacert", path("ca.pem")],
                       stdin=b"x\n")
    T.check("rtwcat wss://localhost against a certificate for another name: exit 1",
            rc == 1 and out == b"" and "RTW_ERR_TLS_VERIFY" in err, (rc, out, err))
    rc, out, err = run(["wss://localhost:%d/" % other.port, "--insecure"], stdin=b"y\n")
    T.check("... and --insecure accepts it", rc == 0 and out == b"y\n", (rc, out, err))


class EndingStream:
    """An https:// SSE server on Python's ssl (OpenSSL, TLS 1.2, session tickets on) whose
    streams end after one event, so the client reconnects; it records, per connection,
    whether the TLS session was resumed and the Last-Event-ID received."""

    def __init__(self, connections):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # what mbedTLS 2.28 speaks
        ctx.load_cert_chain(path("leaf.pem"), path("leaf.key"))
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.port = self.ls.getsockname()[1]
        self.seen = []
        self.th = threading.Thread(target=self.run, args=(ctx, connections), daemon=True)
        self.th.start()

    def run(self, ctx, connections):
        self.ls.settimeout(15)
        try:
            for n in range(1, connections + 1):
                raw, _ = self.ls.accept()
                s = ctx.wrap_socket(raw, server_side=True)
                head = recv_until(s, lambda d: b"\r\n\r\n" in d)
                last = [line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                        if line.lower().startswith(b"last-event-id:")]
                self.seen.append((s.session_reused, last[0] if last else None))
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                          b"Connection: close\r\n\r\nretry: 50\nid: %d\ndata: event %d\n\n"
                          % (n, n))
                s.close()
        except OSError as e:
            self.seen.append(repr(e))
        finally:
            self.ls.close()


def test_resumption():
    fx = EndingStream(2)
    rc, out, err = run(["https://localhost:%d/events" % fx.port, "--cacert", path("ca.pem"),
                        "--max-events", "2"], timeout=20)
    fx.th.join(10)
    T.check("rtwcat https:// reconnects after the stream ended, Last-Event-ID 1",
            rc == 0 and [m.get("data") for m in json_lines(out) if "data" in m] ==
            ["event 1", "event 2"] and len(fx.seen) == 2 and fx.seen[1][1] == b"1",
            (rc, out, err, fx.seen))
    T.check("... and resumes its TLS session (RFC 5077) on the reconnect",
            len(fx.seen) == 2 and fx.seen[0][0] is False and fx.seen[1][0] is True and
            "TLS session resumed" in err, (fx.seen, err))


# ------------------------------------------------------------------ bad peers

def test_plaintext(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    data = recv_until(s, lambda d: False, timeout=5)
    s.close()
    T.check("plain HTTP to the TLS port: no HTTP response, the connection is closed",
            not data.startswith(b"HTTP") and b"HTTP/1.1" not in data and len(data) < 64,
            data)
    T.check("serve is still running after it", srv.alive())
    echo, closing, _ = python_ws_echo(srv.port, b"still here")
    T.check("... and still answers over TLS", echo == frame(OP_TEXT, b"still here"), echo)


def test_handshake_timeout(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    start = time.time()
    data = recv_until(s, lambda d: False, timeout=8)
    took = time.time() - start
    s.close()
    # --tls-handshake-timeout 1 here; the head timeout (30 s) would be far later
    T.check("a client that sends nothing is dropped by --tls-handshake-timeout (1 s)",
            data == b"" and took < 6, (data, took))
    T.check("serve is still running after it", srv.alive())


def main():
    try:
        make_ca("ca")
        make_ca("other-ca")
        make_leaf("leaf", "ca", "localhost", "DNS:localhost,IP:127.0.0.1")
        make_leaf("other", "ca", "elsewhere.test", "DNS:elsewhere.test")
    except (OSError, subprocess.SubprocessError) as e:
        print("Bail out! cannot make test certificates with the openssl CLI: %r" % e)
        return 1
    test_options()
    srv = Server("leaf", "--deflate", "--tls-handshake-timeout", "1")
    T.check("serve --tls-cert prints 'listening on https://127.0.0.1:PORT/'",
            srv.port > 0 and srv.line == "listening on https://127.0.0.1:%d/" % srv.port,
            srv.line)
    if srv.port == 0:
        print("Bail out! serve did not start: %s %s" % (srv.line, srv.errors))
        return 1
    other = Server("other")
    test_curl(srv)
    test_s_client(srv)
    test_python_ssl(srv)
    test_rtwcat_wss(srv)
    test_rtwcat_https(srv)
    test_wrong_name(other)
    test_resumption()
    test_plaintext(srv)
    test_handshake_timeout(srv)
    T.check("serve exits 0 on SIGTERM", rawws.stop(srv.p) == 0)
    rawws.stop(other.p)
    time.sleep(0.2)  # the stderr readers see the last lines
    bad = [l for l in srv.errors + other.errors if b"Sanitizer" in l or b"runtime error" in l]
    T.check("serve reported no sanitizer error (ASan/UBSan builds)", not bad, bad)
    return T.finish()


if __name__ == "__main__":
    try:
        status = main()
    finally:
        T.kill_all()
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(status)

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""TLS interoperability with python3-websockets (Debian, run with /usr/bin/python3) and
Python's ssl module (OpenSSL) against `rtwcat serve --tls-cert --tls-key`.

Makes a throwaway CA and a localhost / 127.0.0.1 leaf with the openssl CLI in a temporary
directory; an ssl.SSLContext trusts only that CA. Checks: the handshake (verified, TLS 1.2
or later, ALPN http/1.1 when offered), text and binary echo (up to 1 MiB), a close code sent
by the client answered with the same code, a client that does not trust the CA refused,
plain HTTP to the TLS port not answered, and rtwcat serve exiting 0 on SIGTERM.
Prints TAP. Environment: RTWCAT = path to the built rtwcat.
"""
import asyncio
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile

# the throwaway CA maker shared by the TLS tests
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "helpers"))
import throwaway_ca  # noqa: E402 (tests/helpers)

try:
    import websockets
except ImportError:
    print("1..0 # SKIP python3-websockets is not installed (apt-get install python3-websockets)")
    sys.exit(0)

RTWCAT = os.environ.get("RTWCAT", "")
if not RTWCAT or not os.path.exists(RTWCAT):
    print("1..0 # SKIP rtwcat not built (RTWCAT=%s)" % (RTWCAT or "unset"))
    sys.exit(0)
if shutil.which("openssl") is None:
    print("1..0 # SKIP the openssl CLI is not installed")
    sys.exit(0)

LISTENING = re.compile(r"listening on https://([0-9.]+):(\d+)/")
results = []


def check(ok, name, diag=None):
    results.append(bool(ok))
    print(("ok" if ok else "not ok") + " %d - %s" % (len(results), name))
    if not ok and diag is not None:
        for line in str(diag).splitlines():
            print("# " + line)
    sys.stdout.flush()
    return ok


def make_certs(d):
    throwaway_ca.make_ca_and_leaf(d, "rtweb interop CA")


async def ws_part(ctx, port):
    uri = "wss://localhost:%d/echo" % port
    actx = ssl.create_default_context(cafile=ctx.ca)
    actx.set_alpn_protocols(["h2", "http/1.1"])
    ws = await asyncio.wait_for(websockets.connect(uri, ssl=actx, max_size=4 << 20), 10)
    sslobj = ws.transport.get_extra_info("ssl_object")
    check(sslobj is not None and sslobj.version() in ("TLSv1.2", "TLSv1.3") and
          sslobj.selected_alpn_protocol() == "http/1.1",
          "websockets over wss: verified handshake, TLS 1.2+, ALPN http/1.1 of h2, http/1.1",
          sslobj and (sslobj.version(), sslobj.selected_alpn_protocol(), sslobj.cipher()))
    for payload in ["héllo", "x" * 70000, b"\x00\xff" * 8, bytes(range(256)) * 4096]:
        await ws.send(payload)
        got = await asyncio.wait_for(ws.recv(), 20)
        check(got == payload, "websockets over wss: %s of %d %s echoed" %
              ("binary" if isinstance(payload, bytes) else "text", len(payload),
               "bytes" if isinstance(payload, bytes) else "characters"),
              "got %r" % (type(got), ))
    await ws.close(code=4001, reason="bye")
    check(ws.close_code == 4001, "websockets over wss: close 4001 answered with 4001",
          (ws.close_code, ws.close_reason))

    nctx = ssl.create_default_context()  # the system CAs only: ours is unknown
    try:
        w2 = await asyncio.wait_for(websockets.connect(uri, ssl=nctx), 10)
        await w2.close()
        err = None
    except ssl.SSLCertVerificationError as e:
        err = e
    except Exception as e:  # noqa: BLE001 - reported
        err = e
    check(isinstance(err, ssl.SSLCertVerificationError),
          "websockets over wss: a client that does not trust the CA refuses the server", repr(err))

    ws = await asyncio.wait_for(websockets.connect(uri, ssl=actx), 10)
    await ws.send("still there")
    got = await asyncio.wait_for(ws.recv(), 10)
    await ws.close()
    check(got == "still there" and ws.close_code == 1000,
          "websockets over wss: served again after the refusal, close 1000", (got, ws.close_code))


class Ctx:
    pass


def main():
    tmp = tempfile.mkdtemp(prefix="rtweb-tls-py-")
    p = None
    try:
        make_certs(tmp)
        ctx = Ctx()
        ctx.ca = os.path.join(tmp, "ca.pem")
        p = subprocess.Popen([RTWCAT, "serve", "--port", "0",
                              "--tls-cert", os.path.join(tmp, "leaf.pem"),
                              "--tls-key", os.path.join(tmp, "leaf.key")],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        ready, _, _ = select.select([p.stdout], [], [], 10)
        line = p.stdout.readline().decode() if ready else ""
        m = LISTENING.search(line)
        if not check(m is not None, "rtwcat serve --tls-cert prints its https URL", line):
            return 1
        port = int(m.group(2))
        asyncio.run(asyncio.wait_for(ws_part(ctx, port), 90))

        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        raw.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try:
            answer = raw.recv(4096)
        except OSError as e:
            answer = repr(e).encode()
        raw.close()
        check(answer == b"", "plain HTTP on the TLS port: closed, no answer", answer)

        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, "rtwcat serve exits 0 on SIGTERM", rc)
    finally:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

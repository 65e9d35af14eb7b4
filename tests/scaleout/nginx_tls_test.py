#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tools/nginx/rtweb-cluster-tls.conf.in as shipped: nginx (non-root: -p TMPDIR -e ...)
terminating TLS and HTTP/2 in front of two rtweb-chat nodes (no Redis needed for this), with
a throwaway certificate from the openssl CLI. Checks, with curl: the page over HTTP/2; the
feed over HTTP/2 as an event stream that starts at once (no buffering); two feeds on one
HTTP/2 connection at once (what several tabs need); a WebSocket upgrade over HTTP/1.1 on the
same port reaching a node (101, from the node's Sec-WebSocket-Accept); the Host port kept
(a same-origin upgrade is accepted, which the chat checks against Host).

usage: nginx_tls_test.py RTWEB_CHAT   (RTW_SOURCE_ROOT: the source tree)
"""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

root = os.environ.get("RTW_SOURCE_ROOT") or os.path.join(os.path.dirname(__file__), "..", "..")
results = []


def tap(ok, name, diag=""):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}", flush=True)
    if not ok and diag:
        for line in str(diag).splitlines()[-15:]:
            print(f"# {line}", flush=True)
    return ok


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    exe = sys.argv[1]
    nginx = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if nginx is None:
        print("1..0 # SKIP nginx not installed (apt-get install nginx-light)")
        return 0
    for tool in ("curl", "openssl"):
        if shutil.which(tool) is None:
            print(f"1..0 # SKIP {tool} not installed")
            return 0
    print("1..6", flush=True)
    procs = []
    with tempfile.TemporaryDirectory(prefix="rtweb-nginx-tls-") as tmp:
        try:
            nodes = []
            for i in range(2):
                p = subprocess.Popen([exe, "--port", "0"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
                procs.append(p)
                line = p.stdout.readline()
                nodes.append(int(line.rsplit(":", 1)[1].split("/")[0]))
            with open(os.path.join(tmp, "upstreams.conf"), "w") as f:
                f.write("".join(f"server 127.0.0.1:{n};\n" for n in nodes))
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                            "/CN=127.0.0.1", "-keyout", os.path.join(tmp, "key.pem"), "-out",
                            os.path.join(tmp, "cert.pem")], check=True, capture_output=True)
            port = free_port()
            with open(os.path.join(root, "tools/nginx/rtweb-cluster-tls.conf.in")) as f:
                conf = f.read().replace("@DIR@", tmp).replace("@PORT@", str(port))
            with open(os.path.join(tmp, "nginx.conf"), "w") as f:
                f.write(conf)
            ng = subprocess.Popen([nginx, "-p", tmp, "-c", os.path.join(tmp, "nginx.conf"),
                                   "-e", os.path.join(tmp, "error.log"), "-g",
                                   f"daemon off; pid {os.path.join(tmp, 'nginx.pid')};"],
                                  stderr=subprocess.PIPE, text=True)
            procs.append(ng)
            base = f"https://127.0.0.1:{port}"
            page = None
            for _ in range(50):
                page = subprocess.run(["curl", "-ksi", "--http2", base + "/"],
                                      capture_output=True, text=True)
                if page.returncode == 0:
                    break
                time.sleep(0.1)
            tap(page.stdout.startswith("HTTP/2 200") and "<!doctype html>" in page.stdout,
                "the page over TLS and HTTP/2", page.stdout[:300] + page.stderr)
            # the feed: headers and the first block (retry:) must come before the stream ends;
            # curl stops after --max-time with what it got (exit 28)
            feed = subprocess.run(["curl", "-ksiN", "--http2", "--max-time", "2",
                                   base + "/events"], capture_output=True, text=True)
            tap(feed.stdout.startswith("HTTP/2 200") and "text/event-stream" in feed.stdout and
                "retry: 1000" in feed.stdout, "the feed over HTTP/2, unbuffered",
                feed.stdout[:400])
            # two feeds on one HTTP/2 connection: curl multiplexes parallel transfers
            two = subprocess.run(["curl", "-ksN", "--http2", "--parallel", "--parallel-max",
                                  "2", "--max-time", "2", "-w", "%{http_version}:%{num_connects} ",
                                  "-o", "/dev/null", base + "/events",
                                  "-o", "/dev/null", base + "/events?x=2"],
                                 capture_output=True, text=True)
            got = [w.split(":") for w in two.stdout.split()]
            tap(len(got) == 2 and all(v == "2" for v, _ in got) and
                sum(int(n) for _, n in got) == 1,
                "two feeds at once on one HTTP/2 connection", two.stdout + two.stderr)
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["http/1.1"])
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                    ctx.wrap_socket(raw) as s:
                s.sendall((f"GET /chat HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                           f"Origin: https://127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
                head = b""
                while b"\r\n\r\n" not in head:
                    d = s.recv(4096)
                    if not d:
                        break
                    head += d
            text = head.decode(errors="replace")
            tap(text.startswith("HTTP/1.1 101") and
                "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in text,
                "a same-origin WebSocket upgrade over TLS reaches a node (Host port kept)",
                text)
            up = [l for l in text.split("\r\n") if l.lower().startswith("x-rtweb-upstream:")]
            tap(len(up) == 1 and any(up[0].endswith(f":{n}") for n in nodes),
                "X-Rtweb-Upstream names the node", text)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            tap(all(p.returncode == 0 for p in procs),
                "the nodes and nginx exit with status 0",
                [p.returncode for p in procs])
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

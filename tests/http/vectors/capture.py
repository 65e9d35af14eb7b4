#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Capture the WebSocket opening handshake requests real clients send, as raw bytes.
#
# Run once on loopback; the .http files beside this script were made with it:
#
#   apt-get install -y python3-websockets nodejs npm
#   (cd /tmp/wscap && npm install ws)          # scratch dir, never inside the repo
#   /usr/bin/python3 tests/http/vectors/capture.py /tmp/wscap/node_modules tests/http/vectors
#
# With `chromium` installed (apt-get install -y chromium) it also drives headless Chromium
# against a page served from the same listener whose script opens a WebSocket; the request
# that carries "Upgrade: websocket" is stored as chromium.http.
#
# A listener on 127.0.0.1 accepts one connection per client, reads until the blank line
# that ends the request head (plus anything that arrives within 200 ms), stores the bytes
# exactly as received, and closes without answering (the clients then fail; that is fine).
import os
import socket
import subprocess
import sys
import threading

def serve_once(sock, path, result):
    conn, _ = sock.accept()
    conn.settimeout(2.0)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        conn.settimeout(0.2)
        try:
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
    finally:
        conn.close()
    with open(path, "wb") as f:
        f.write(data)
    result.append(len(data))

def capture(name, outdir, argv, env=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    port = sock.getsockname()[1]
    path = os.path.join(outdir, name + ".http")
    result = []
    t = threading.Thread(target=serve_once, args=(sock, path, result))
    t.start()
    cmd = [a.replace("@PORT@", str(port)) for a in argv]
    proc = subprocess.run(cmd, env=env, capture_output=True, timeout=20)
    t.join(timeout=10)
    sock.close()
    print("%s: %s bytes (client exit %d)" % (name, result[0] if result else "no", proc.returncode))

PY_CLIENT = r"""
import asyncio, websockets
async def main():
    try:
        async with websockets.connect("ws://127.0.0.1:@PORT@/chat?room=1",
                                      subprotocols=["chat", "superchat"],
                                      origin="http://127.0.0.1", open_timeout=3):
            pass
    except Exception:
        pass
asyncio.run(main())
"""

NODE_CLIENT = r"""
const WebSocket = require('ws');
const ws = new WebSocket('ws://127.0.0.1:@PORT@/chat?room=1', ['chat', 'superchat'],
                         { origin: 'http://127.0.0.1', handshakeTimeout: 3000 });
ws.on('error', () => {});
ws.on('close', () => process.exit(0));
"""

PAGE = b"""<!doctype html><title>capture</title><script>
new WebSocket("ws://" + location.host + "/chat?room=1", ["chat", "superchat"]);
</script>"""

def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data

def serve_page_then_capture(sock, path, result):
    while not result:
        conn, _ = sock.accept()
        conn.settimeout(5.0)
        try:
            data = read_head(conn)
            if b"upgrade: websocket" in data.lower():
                with open(path, "wb") as f:
                    f.write(data)
                result.append(len(data))
            elif data.startswith(b"GET / "):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
                             b"Connection: close\r\n\r\n" % len(PAGE) + PAGE)
            else:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
        finally:
            conn.close()

def capture_chromium(outdir):
    import shutil, tempfile
    exe = shutil.which("chromium")
    if exe is None:
        print("chromium: not installed, skipped")
        return
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    port = sock.getsockname()[1]
    result = []
    t = threading.Thread(target=serve_page_then_capture,
                         args=(sock, os.path.join(outdir, "chromium.http"), result), daemon=True)
    t.start()
    profile = tempfile.mkdtemp()
    proc = subprocess.Popen([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update",
                             "--disable-sync", "--user-data-dir=" + profile,
                             "http://127.0.0.1:%d/" % port],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t.join(timeout=30)
    proc.kill()
    proc.wait()
    shutil.rmtree(profile, ignore_errors=True)
    print("chromium: %s bytes" % (result[0] if result else "no"))

def main():
    node_modules, outdir = sys.argv[1], sys.argv[2]
    capture("python3-websockets", outdir, ["/usr/bin/python3", "-c", PY_CLIENT])
    env = dict(os.environ, NODE_PATH=node_modules)
    capture("node-ws", outdir, ["node", "-e", NODE_CLIENT], env=env)
    capture_chromium(outdir)

if __name__ == "__main__":
    main()

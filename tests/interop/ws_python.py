#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""WebSocket interoperability with Debian's python3-websockets (asyncio API).

Part A: a websockets client against `rtwcat serve` (the echo server). Part B: the
`rtwcat ws://` client against a websockets server. Sizes 0 B to 16 MiB, fragmentation with a
ping between fragments, ping/pong, close codes both ways, subprotocol selection, and the
permessage-deflate offer websockets makes by default (rtweb must decline it). Parts C and D:
permessage-deflate (RFC 7692) with compression="deflate" in both roles (`rtwcat serve
--deflate`, `rtwcat ws:// --deflate`), 16 B to 128 KiB, negotiated and really compressed
(frames with RSV1 counted in websockets' own decoder), and the Autobahn 13.x offers made
with ClientPerMessageDeflateFactory, server_max_window_bits=8 accepted and answered 8.
Prints TAP. Run with /usr/bin/python3. Environment: RTWCAT = path to the built rtwcat.
"""
import asyncio
import base64
import hashlib
import http
import json
import os
import re
import signal
import sys
import time

MIB = 1 << 20
SIZES = [0, 1, 125, 126, 65536, MIB, 16 * MIB]
DEADLINE = 150  # seconds for the whole driver

CHILDREN = []


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print(f"{'ok' if cond else 'not ok'} {self.n} - {name}", flush=True)
        if not cond and diag:
            for line in str(diag).splitlines():
                print(f"# {line}", flush=True)
        return cond

    async def test(self, name, coro_fn):
        try:
            r = await coro_fn()
        except Exception as e:  # a case that throws fails; the others still run
            return self.ok(False, name, f"{type(e).__name__}: {e}")
        if isinstance(r, tuple):
            return self.ok(bool(r[0]), name, r[1])
        return self.ok(r is not False, name)

    def end(self):
        print(f"1..{self.n}", flush=True)
        return 1 if self.failed else 0


def skip_all(why):
    print(f"1..0 # SKIP {why}", flush=True)
    sys.exit(0)


try:
    import websockets
    from websockets.exceptions import ConnectionClosed
except ImportError:
    skip_all("python3-websockets not installed (apt-get install python3-websockets)")

RTWCAT = os.environ.get("RTWCAT", "")
if not RTWCAT or not os.path.exists(RTWCAT):
    skip_all(f"rtwcat not built (RTWCAT={RTWCAT or 'unset'})")

tap = Tap()


def text_payload(n):
    unit = "aé€😀z"  # 11 bytes of UTF-8
    reps = n // 11
    return unit * reps + "x" * (n - reps * 11)


def binary_payload(n, no_newline=False):
    b = bytes((i * 167 + (i >> 8) * 13 + 5) & 0xFF for i in range(min(n, 65536)))
    b = (b * (n // 65536 + 1))[:n] if n else b""
    return b.replace(b"\n", b"\x0b") if no_newline else b


def desc(b):
    if isinstance(b, str):
        b = b.encode()
    return f"{len(b)} bytes sha256 {hashlib.sha256(b).hexdigest()[:16]}"


def kill_children():
    for p in CHILDREN:
        if p.returncode is None:
            try:
                p.kill()
            except ProcessLookupError:
                pass


async def start_serve(*args):
    """Starts `rtwcat serve --port 0 ...`; returns (process, port)."""
    p = await asyncio.create_subprocess_exec(
        RTWCAT, "serve", "--port", "0", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    CHILDREN.append(p)
    line = await asyncio.wait_for(p.stdout.readline(), 10)
    m = re.search(rb"listening on http://([0-9.]+):(\d+)/", line)
    if not m:
        p.kill()
        raise RuntimeError(f"no listening line: {line!r}")
    return p, int(m.group(2))


async def stop(p):
    if p.returncode is None:
        p.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(p.wait(), 3)
        except asyncio.TimeoutError:
            p.kill()
            await p.wait()
    return p.returncode


async def rtwcat_client(url, args, stdin_data, hold_until=None, timeout=30, close_when=None):
    """Runs `rtwcat URL ARGS`. stdin_data is written then stdin closed; with hold_until (an
    event), stdin stays open and rtwcat must exit by itself within 5 s after it is set."""
    p = await asyncio.create_subprocess_exec(
        RTWCAT, url, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    CHILDREN.append(p)

    async def feed():
        try:
            if stdin_data is not None:
                p.stdin.write(stdin_data)
                await p.stdin.drain()
                if close_when is not None:
                    await asyncio.wait_for(close_when(), timeout)
                p.stdin.close()
        except (BrokenPipeError, ConnectionResetError, asyncio.TimeoutError):
            pass

    async def watchdog():
        if hold_until is not None:
            await hold_until.wait()
            await asyncio.sleep(5)
        else:
            await asyncio.sleep(timeout)
        if p.returncode is None:
            try:
                p.kill()
            except ProcessLookupError:
                pass

    feeder = asyncio.ensure_future(feed())
    dog = asyncio.ensure_future(watchdog())
    try:
        out, err = await asyncio.wait_for(p.communicate() if stdin_data is None else both(p), timeout)
    except asyncio.TimeoutError:
        try:
            p.kill()
        except ProcessLookupError:
            pass
        out, err = await p.communicate()
    dog.cancel()
    feeder.cancel()
    if p.stdin and not p.stdin.is_closing():
        p.stdin.close()
    return p.returncode, out, err.decode(errors="replace")


async def both(p):
    out, err = await asyncio.gather(p.stdout.read(), p.stderr.read())
    await p.wait()
    return out, err


def jlines(out):
    res = []
    for line in out.decode(errors="replace").split("\n"):
        if line:
            try:
                res.append(json.loads(line))
            except ValueError:
                res.append({"unparsable": line[:200]})
    return res


# ====================================================================== A: client -> serve

async def part_a():
    serve, port = await start_serve("--subprotocol", "chat", "--subprotocol", "superchat")
    base = f"ws://127.0.0.1:{port}"
    try:
        ws = None

        async def open_default():
            nonlocal ws
            ws = await websockets.connect(f"{base}/echo", max_size=None, ping_interval=None,
                                          compression="deflate", open_timeout=10)
            ext = ws.response_headers.get("Sec-WebSocket-Extensions")
            return ws.subprotocol is None and ext is None and not ws.extensions, \
                f"subprotocol {ws.subprotocol} extensions header {ext}"
        await tap.test("websockets client: handshake; permessage-deflate offer declined", open_default)
        if ws is None:
            return

        for kind in ("text", "binary"):
            for n in SIZES:
                async def echo_case(kind=kind, n=n):
                    payload = text_payload(n) if kind == "text" else binary_payload(n)
                    await ws.send(payload)
                    got = await asyncio.wait_for(ws.recv(), 30)
                    return type(got) is type(payload) and got == payload, f"sent {desc(payload)} got {type(got).__name__} {desc(got)}"
                await tap.test(f"websockets client: {kind} {n} B echoed", echo_case)

        async def frag_case():
            async def fragments():
                yield "frag-one|"
                yield "two|"
                pong = await ws.ping(b"mid")
                fragments.pong = pong
                yield "three€"
            await ws.send(fragments())
            got = await asyncio.wait_for(ws.recv(), 10)
            await asyncio.wait_for(fragments.pong, 5)
            return got == "frag-one|two|three€", f"got {got!r}"
        await tap.test("websockets client: fragmented text with a ping between fragments", frag_case)

        async def frag_bin():
            payload = binary_payload(MIB)
            await ws.send([payload[i:i + 65536] for i in range(0, MIB, 65536)])
            got = await asyncio.wait_for(ws.recv(), 10)
            return got == payload, f"got {desc(got)}"
        await tap.test("websockets client: 1 MiB binary in 16 fragments echoed", frag_bin)

        for payload in (b"", b"hello", bytes(range(125))):
            async def ping_case(payload=payload):
                waiter = await ws.ping(payload)
                await asyncio.wait_for(waiter, 5)  # resolves only on a pong with this payload
                return True
            await tap.test(f"websockets client: ping {len(payload)} B answered by a matching pong", ping_case)

        async def close1000():
            await ws.close(1000, "done")
            return ws.close_code == 1000, f"close {ws.close_code} {ws.close_reason!r}"
        await tap.test("websockets client: close 1000 echoed", close1000)

        for code, reason in ((1001, ""), (4001, "bye ü")):
            async def close_case(code=code, reason=reason):
                c = await websockets.connect(f"{base}/c", max_size=None, ping_interval=None, open_timeout=10)
                await c.send("x")
                await asyncio.wait_for(c.recv(), 5)
                await c.close(code, reason)
                return c.close_code == code, f"close {c.close_code} {c.close_reason!r}"
            await tap.test(f"websockets client: close {code} echoed with the same code", close_case)

        async def bad_utf8():
            c = await websockets.connect(f"{base}/u", ping_interval=None, open_timeout=10)
            await c.write_frame(True, 0x1, b"a\xff")
            try:
                await asyncio.wait_for(c.recv(), 5)
                return False, "a message came back"
            except ConnectionClosed as e:
                code = e.rcvd.code if e.rcvd else None
                return code == 1007, f"received close {e.rcvd}"
        await tap.test("websockets client: invalid UTF-8 text -> server closes 1007", bad_utf8)

        for offer, want in ((["superchat", "chat"], "superchat"), (["foo", "chat"], "chat")):
            async def sp_case(offer=offer, want=want):
                c = await websockets.connect(f"{base}/sp", subprotocols=offer, ping_interval=None, open_timeout=10)
                got = c.subprotocol
                await c.close()
                return got == want, f"selected {got}"
            await tap.test(f"websockets client: subprotocols {','.join(offer)} -> {want}", sp_case)
    finally:
        await stop(serve)

    small, sport = await start_serve("--max-message", "1024")
    try:
        async def too_big():
            c = await websockets.connect(f"ws://127.0.0.1:{sport}/", ping_interval=None, open_timeout=10)
            await c.send("y" * 1024)
            first = await asyncio.wait_for(c.recv(), 5)
            await c.send("z" * 2048)
            try:
                await asyncio.wait_for(c.recv(), 5)
                return False, "a message came back"
            except ConnectionClosed as e:
                return len(first) == 1024 and e.rcvd is not None and e.rcvd.code == 1009, f"received close {e.rcvd}"
        await tap.test("websockets client: message over rtwcat serve --max-message 1024 -> close 1009", too_big)
    finally:
        code = await stop(small)
        tap.ok(code == 0, "rtwcat serve: SIGTERM -> exit 0", f"exit {code}")


# ====================================================================== B: rtwcat -> server

class Server:
    """A websockets server whose per-path behaviour each test registers; records what it saw."""

    def __init__(self):
        self.behaviours = {}
        self.records = {}

    async def handler(self, ws, path=None):
        path = ws.path
        rec = {"msgs": [], "close": None, "headers": ws.request_headers, "ws": ws,
               "done": asyncio.Event()}
        self.records[path] = rec
        try:
            b = self.behaviours.get(path)
            if b is None:
                async for m in ws:
                    await ws.send(m)
                    rec["msgs"].append(m)  # counted once echoed
            else:
                await b(ws, rec)
                await ws.wait_closed()
        except ConnectionClosed:
            pass
        finally:
            await ws.wait_closed()
            rec["close"] = (ws.close_code, ws.close_reason)
            rec["done"].set()

    async def process_request(self, path, headers):
        if path.startswith("/reject"):
            return http.HTTPStatus.FORBIDDEN, [], b"no\n"
        return None


async def part_b():
    srv = Server()
    server = await websockets.serve(srv.handler, "127.0.0.1", 0, max_size=None, ping_interval=None,
                                    compression="deflate", subprotocols=["b"],
                                    process_request=srv.process_request)
    port = server.sockets[0].getsockname()[1]
    base = f"ws://127.0.0.1:{port}"

    async def run(path, args, data, behaviour=None, timeout=30, close_when=None):
        hold = None
        if behaviour is not None:
            srv.behaviours[path] = behaviour
        if data is None:
            hold = asyncio.Event()

            async def arm():
                while path not in srv.records:
                    await asyncio.sleep(0.02)
                await srv.records[path]["done"].wait()
                hold.set()
            arming = asyncio.ensure_future(arm())
        code, out, err = await rtwcat_client(f"{base}{path}", args, data, hold, timeout, close_when)
        if data is None:
            arming.cancel()
        return code, out, err, srv.records.get(path)

    # stdin is closed (and so rtwcat's Close sent) only once the server has echoed n messages:
    # a websockets server sends nothing more once it has received a Close (RFC 6455 5.5.1)
    def echoed(path, n):
        async def wait():
            while len(srv.records.get(path, {}).get("msgs", [])) < n:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)
        return wait

    try:
        async def lines():
            code, out, err, rec = await run("/b1", ["--json"], "hello\nwörld\n\nlast\n".encode(), close_when=echoed("/b1", 4))
            want = [{"type": "open", "subprotocol": None}, {"type": "text", "data": "hello"},
                    {"type": "text", "data": "wörld"}, {"type": "text", "data": ""},
                    {"type": "text", "data": "last"}, {"type": "close", "code": 1000, "reason": ""}]
            got = jlines(out)
            await asyncio.wait_for(rec["done"].wait(), 5)
            ok = code == 0 and got == want and rec["msgs"] == ["hello", "wörld", "", "last"] and rec["close"][0] == 1000
            return ok, f"exit {code} stderr {err[:300]}\nstdout {got}\nserver {rec and rec['msgs']} {rec and rec['close']}"
        await tap.test("rtwcat ws:// -> websockets: text lines echoed, --json, close 1000", lines)

        async def no_deflate():
            rec = srv.records.get("/b1")
            ext = rec and rec["headers"].get("Sec-WebSocket-Extensions")
            return rec is not None and ext is None and not rec["ws"].extensions, f"offer {ext}"
        await tap.test("rtwcat ws:// -> websockets: no permessage-deflate offered", no_deflate)

        for kind in ("text", "binary"):
            async def send_sizes(kind=kind):
                payloads = [text_payload(n).encode() if kind == "text" else binary_payload(n, True) for n in SIZES]
                data = b"".join(p + b"\n" for p in payloads)
                code, out, err, rec = await run(f"/send-{kind}", ["--binary"] if kind == "binary" else [], data,
                                                timeout=60, close_when=echoed(f"/send-{kind}", len(payloads)))
                msgs = rec["msgs"] if rec else []
                got = [m.encode() if isinstance(m, str) else m for m in msgs]
                types_ok = all(isinstance(m, str if kind == "text" else bytes) for m in msgs)
                ok = code == 0 and got == payloads and types_ok and out == data
                return ok, f"exit {code} {err[:300]} server got {[desc(g) for g in got]} stdout {desc(out)} want {desc(data)}"
            await tap.test(f"rtwcat ws:// -> websockets: sends {kind} of {', '.join(map(str, SIZES))} B, prints echoes", send_sizes)

        async def recv_sizes():
            msgs = [text_payload(n) for n in SIZES] + [binary_payload(n) for n in SIZES]

            async def push(ws, rec):
                for m in msgs:
                    await ws.send(m)
                await ws.close(1000, "sent all")
            code, out, err, rec = await run("/recv", ["--json"], None, push, timeout=60)
            got = [o for o in jlines(out) if o.get("type") in ("text", "binary")]
            bad = []
            for i, m in enumerate(msgs):
                o = got[i] if i < len(got) else None
                if o is None:
                    bad.append(f"#{i} missing")
                elif isinstance(m, str) and (o["type"] != "text" or o["data"] != m):
                    bad.append(f"#{i} want text {desc(m)}")
                elif isinstance(m, bytes) and (o["type"] != "binary" or base64.b64decode(o["base64"]) != m):
                    bad.append(f"#{i} want binary {desc(m)}")
            last = jlines(out)[-1] if out else None
            if last != {"type": "close", "code": 1000, "reason": "sent all"}:
                bad.append(f"last line {str(last)[:200]}")
            return code == 0 and not bad, f"exit {code} {err[:300]} " + "; ".join(bad)
        await tap.test(f"rtwcat ws:// <- websockets: receives text and binary of {', '.join(map(str, SIZES))} B", recv_sizes)

        async def frag_in():
            async def push(ws, rec):
                async def frags():
                    yield "Hel"
                    rec["pong"] = await ws.ping(b"between")
                    yield "lo, "
                    yield "wörld"
                await ws.send(frags())
                await asyncio.wait_for(rec["pong"], 5)
                rec["ponged"] = True
                await ws.close(1000)
            code, out, err, rec = await run("/frag", ["--json"], None, push)
            types = [o.get("type") for o in jlines(out)]
            text = [o for o in jlines(out) if o.get("type") == "text"]
            ok = code == 0 and types == ["open", "ping", "text", "close"] and text[0]["data"] == "Hello, wörld" and rec.get("ponged")
            return ok, f"exit {code} {err[:300]} lines {types} ponged {rec and rec.get('ponged')}"
        await tap.test("rtwcat ws:// <- websockets: fragmented text with a ping between fragments", frag_in)

        async def frag_out():
            line = text_payload(10000)
            code, out, err, rec = await run("/frag-out", ["--fragment-size", "1000"], (line + "\n").encode(),
                                            close_when=echoed("/frag-out", 1))
            return code == 0 and rec["msgs"] == [line] and out == (line + "\n").encode(), f"exit {code} {err[:300]}"
        await tap.test("rtwcat ws:// --fragment-size 1000 -> websockets: 10000 B reassembled", frag_out)

        for code_, reason, exit_ in ((1000, "", 0), (4000, "custom reason", 3)):
            async def sclose(code_=code_, reason=reason, exit_=exit_):
                async def closer(ws, rec):
                    await ws.close(code_, reason)
                code, out, err, rec = await run(f"/sclose{code_}", ["--json"], None, closer)
                last = jlines(out)[-1] if out else None
                ok = code == exit_ and last == {"type": "close", "code": code_, "reason": reason}
                if exit_ == 3:
                    ok = ok and f"rtwcat: peer closed: {code_} {reason}" in err
                return ok, f"exit {code} stderr {err[:300]} last {last}"
            await tap.test(f"rtwcat ws:// <- websockets: server closes {code_} -> exit {exit_}", sclose)

        async def cclose():
            code, out, err, rec = await run("/cclose", ["--close", "4123:bye now"], b"x\n")
            await asyncio.wait_for(rec["done"].wait(), 5)
            return rec["close"] == (4123, "bye now") and code in (0, 3), f"exit {code} server saw {rec['close']}"
        await tap.test("rtwcat ws:// --close 4123:bye now -> websockets sees 4123", cclose)

        async def sp():
            code, out, err, rec = await run("/sp", ["--json", "--subprotocol", "a", "--subprotocol", "b"], b"")
            first = jlines(out)[0] if out else None
            return code == 0 and first == {"type": "open", "subprotocol": "b"}, f"exit {code} {err[:300]} first {first}"
        await tap.test("rtwcat ws:// --subprotocol a --subprotocol b -> websockets selects b", sp)

        async def too_big_in():
            async def push(ws, rec):
                await ws.send("a" * 1000)
                await ws.send("b" * 2000)
            code, out, err, rec = await run("/toobig", ["--max-message", "1000"], None, push)
            await asyncio.wait_for(rec["done"].wait(), 5)
            return code == 1 and out == b"a" * 1000 + b"\n" and rec["close"][0] == 1009, \
                f"exit {code} {err[:300]} stdout {desc(out)} server saw {rec['close']}"
        await tap.test("rtwcat ws:// --max-message 1000 <- websockets 2000 B: close 1009, exit 1", too_big_in)

        async def drop():
            async def abort(ws, rec):
                await asyncio.sleep(0.1)
                ws.transport.abort()
            code, out, err, rec = await run("/drop", [], None, abort)
            return code == 1, f"exit {code} {err[:300]}"
        await tap.test("rtwcat ws:// <- websockets: connection dropped without close -> exit 1", drop)

        async def reject():
            code, out, err, rec = await run("/reject", [], b"x\n")
            return code == 1 and out == b"", f"exit {code} {err[:300]}"
        await tap.test("rtwcat ws:// <- websockets: handshake refused with 403 -> exit 1", reject)
    finally:
        server.close()
        await server.wait_closed()


# ====================================================================== C, D: permessage-deflate

DEFLATE_SIZES = [16, 64, 256, 1024, 4096, 16384, 65536, 131072]


def chat_text(n):
    """Compressible JSON-like text (non-ASCII included), exactly n bytes of UTF-8, no LF."""
    unit = '{"user":"zoë","text":"Grüße aus Köln ✓","n":12345} '
    u = len(unit.encode())
    return unit * (n // u) + "x" * (n - (n // u) * u)


def pattern_binary(n):
    return (bytes(range(256)) * (n // 256 + 1))[:n]


def count_compressed(ws):
    """Wrap websockets' permessage-deflate decoder: counts data frames that arrive with
    RSV1 (compressed messages, RFC 7692 6). Returns the counter (a one-element list), or
    None when the extension is not active."""
    exts = [e for e in ws.extensions if e.name == "permessage-deflate"]
    if not exts:
        return None
    ext, counter = exts[0], [0]
    orig = ext.decode

    def decode(frame, **kw):
        if frame.rsv1 and frame.opcode in (websockets.frames.Opcode.TEXT,
                                           websockets.frames.Opcode.BINARY):
            counter[0] += 1
        return orig(frame, **kw)
    ext.decode = decode
    return counter


def autobahn_13_factories(pairs):
    """Autobahn 13.x offers: (requestNoContextTakeover, requestMaxWindowBits) each, with
    client_no_context_takeover and client_max_window_bits offered as Autobahn does."""
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    return [ClientPerMessageDeflateFactory(
        server_no_context_takeover=nct, client_no_context_takeover=True,
        server_max_window_bits=bits or None, client_max_window_bits=True) for nct, bits in pairs]


async def part_c():
    serve, port = await start_serve("--deflate")
    base = f"ws://127.0.0.1:{port}"
    try:
        ws = None

        async def negotiated():
            nonlocal ws
            ws = await websockets.connect(f"{base}/deflate", max_size=None, ping_interval=None,
                                          compression="deflate", open_timeout=10)
            ext = ws.response_headers.get("Sec-WebSocket-Extensions")
            return bool(ws.extensions) and ws.extensions[0].name == "permessage-deflate" and \
                ext.startswith("permessage-deflate"), f"extensions {ws.extensions} header {ext}"
        await tap.test("deflate: websockets client (compression=deflate) negotiates with rtwcat serve --deflate",
                       negotiated)
        if ws is None or not ws.extensions:
            return
        counter = count_compressed(ws)
        sent = 0
        for kind in ("text", "binary"):
            for n in DEFLATE_SIZES:
                async def echo_case(kind=kind, n=n):
                    nonlocal sent
                    payload = chat_text(n) if kind == "text" else pattern_binary(n)
                    before = counter[0]
                    await ws.send(payload)
                    got = await asyncio.wait_for(ws.recv(), 30)
                    sent += 1
                    # rtweb sends a message that would not shrink uncompressed (RFC 7692
                    # allows it); these payloads shrink from 1 KiB on
                    want = 1 if n >= 1024 else counter[0] - before
                    return type(got) is type(payload) and got == payload and counter[0] - before == want, \
                        f"sent {desc(payload)} got {type(got).__name__} {desc(got)}; compressed frames {counter[0] - before}"
                await tap.test(f"deflate: websockets client {kind} {n} B echoed (compressed, RSV1, from 1 KiB on)",
                               echo_case)

        async def frag_case():
            async def fragments():
                yield "frag-one|"
                yield "two|"
                fragments.pong = await ws.ping(b"mid")
                yield "three€"
            await ws.send(fragments())
            got = await asyncio.wait_for(ws.recv(), 10)
            await asyncio.wait_for(fragments.pong, 5)
            return got == "frag-one|two|three€", f"got {got!r}"
        await tap.test("deflate: fragmented compressed text with a ping between fragments", frag_case)

        async def close_case():
            await ws.close(1000)
            return ws.close_code == 1000, f"close {ws.close_code}"
        await tap.test("deflate: close 1000 after compressed traffic", close_case)

        # Autobahn 13.1-13.7: the offers its client makes, each accepted, its first offer
        # taken. An 8-bit server window is answered 8 (RFC 7692 7.1.2.1): rtweb deflates at 9
        # bits, whose match distances (at most 250 bytes) websockets' 8-bit inflater takes.
        cases = {"13.1": [(False, 0)], "13.2": [(True, 0)], "13.3": [(False, 8)], "13.4": [(False, 15)],
                 "13.5": [(True, 8)], "13.6": [(True, 15)], "13.7": [(True, 8), (True, 0), (False, 0)]}
        for name, pairs in cases.items():
            async def offer_case(name=name, pairs=pairs):
                c = await websockets.connect(f"{base}/{name}", max_size=None, ping_interval=None,
                                             compression=None, extensions=autobahn_13_factories(pairs),
                                             open_timeout=10)
                try:
                    header = c.response_headers.get("Sec-WebSocket-Extensions")
                    cnt = count_compressed(c)
                    want_on = True
                    for n in (16, 4096, 131072):
                        p = chat_text(n)
                        await c.send(p)
                        got = await asyncio.wait_for(c.recv(), 30)
                        if got != p:
                            return False, f"{n} B echo differs; header {header}"
                    on = cnt is not None
                    ok = on == want_on and (not on or cnt[0] >= 2)  # 4 KiB and 128 KiB at least
                    if on and pairs[0][1] in (8, 15):
                        ok = ok and f"server_max_window_bits={pairs[0][1]}" in header
                    await c.close(1000)
                    return ok and c.close_code == 1000, f"header {header!r} compressed {cnt and cnt[0]} close {c.close_code}"
                finally:
                    await c.close()
            want = "accepted, 8 answered" if pairs[0][1] == 8 else "accepted"
            await tap.test(f"deflate: Autobahn {name} offers {pairs} (no context takeover, window bits): {want}",
                           offer_case)
    finally:
        await stop(serve)


async def part_d():
    srv = Server()
    server = await websockets.serve(srv.handler, "127.0.0.1", 0, max_size=None, ping_interval=None,
                                    compression="deflate")
    port = server.sockets[0].getsockname()[1]
    try:
        async def behaviour(ws, rec):
            rec["compressed"] = count_compressed(ws)
            async for m in ws:
                await ws.send(m)
                rec["msgs"].append(m)

        lines = [chat_text(n) for n in DEFLATE_SIZES]
        srv.behaviours["/d"] = behaviour

        async def wait_echoed():
            while len(srv.records.get("/d", {}).get("msgs", [])) < len(lines):
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)
        code, out, err = await rtwcat_client(f"ws://127.0.0.1:{port}/d", ["--deflate", "--json"],
                                             "".join(l + "\n" for l in lines).encode(), None, 60, wait_echoed)
        rec = srv.records.get("/d")

        async def offered():
            offer = rec and rec["headers"].get("Sec-WebSocket-Extensions")
            first = (jlines(out) or [{}])[0]
            return rec is not None and offer and offer.startswith("permessage-deflate") and \
                rec["ws"].extensions and isinstance(first.get("deflate"), str), \
                f"exit {code} {err[:300]} offer {offer} open {first}"
        await tap.test("deflate: rtwcat ws:// --deflate offers permessage-deflate; websockets accepts", offered)

        async def echoed():
            got = [o["data"] for o in jlines(out) if o.get("type") == "text"]
            comp = rec and rec.get("compressed")
            big = sum(1 for n in DEFLATE_SIZES if n >= 1024)
            ok = code == 0 and got == lines and rec["msgs"] == lines and comp is not None and comp[0] >= big
            return ok, f"exit {code} {err[:300]} echoes {len(got)} server got {len(rec['msgs']) if rec else 0} compressed {comp}"
        await tap.test(f"deflate: rtwcat ws:// --deflate: {len(lines)} messages 16 B..128 KiB sent compressed (RSV1), echoed exactly",
                       echoed)
    finally:
        server.close()
        await server.wait_closed()


async def main():
    for part in (part_a, part_b, part_c, part_d):
        try:
            await part()
        except Exception as e:
            tap.ok(False, f"{part.__name__} ran to its end", f"{type(e).__name__}: {e}")


def on_deadline(loop):
    tap.ok(False, f"driver finished within {DEADLINE} s")
    kill_children()
    print(f"1..{tap.n}", flush=True)
    os._exit(1)


if __name__ == "__main__":
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.call_later(DEADLINE, on_deadline, loop)
    try:
        loop.run_until_complete(main())
    finally:
        kill_children()
    sys.exit(tap.end())

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A WebSocket echo server in asyncio, with rtweb doing the protocol.

asyncio owns the sockets and the clock; rtweb's ServerHandshake parses the HTTP upgrade and
builds the 101, and its Session turns received bytes into messages and queued messages into
bytes. Every text or binary message is sent back as it came. With --deflate it accepts
permessage-deflate (RFC 7692) with the library's default policy and compresses its echoes.

    RTWEB_LIBRARY=build/lib/librtweb.so PYTHONPATH=bindings/python \\
        /usr/bin/python3 bindings/python/examples/echo_server.py --port 9001

then e.g. `python3 -m websockets ws://127.0.0.1:9001/`.
"""

import argparse
import asyncio
import sys

from rtweb import HandshakeError, ProtocolError
from rtweb.handshake import ServerHandshake, INCOMPLETE, PLAIN_REQUEST
from rtweb.ws import Session, Message, DeflateConfig

READ_SIZE = 65536

NOT_WEBSOCKET = (b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n"
                 b"Connection: close\r\nContent-Type: text/plain\r\nContent-Length: 23\r\n\r\n"
                 b"WebSocket echo server.\n")


def _now_ms():
    return int(asyncio.get_running_loop().time() * 1000)


async def _handshake(reader, writer, deflate=None):
    """Read the upgrade request; return (the bytes after it, the negotiated
    permessage-deflate parameters or None), or None when the connection is answered and
    done. `deflate`: a DeflateConfig to accept permessage-deflate under, or None."""
    negotiated = []

    def on_upgrade(hs):
        negotiated.append(hs.accept_deflate(deflate))

    with ServerHandshake(on_upgrade=on_upgrade if deflate is not None else None) as hs:
        while True:
            data = await reader.read(READ_SIZE)
            if not data:
                return None
            try:
                outcome = hs.feed(data)
            except HandshakeError as exc:       # 400, 426, 431, ...: answer and close
                if exc.response:
                    writer.write(exc.response)
                return None
            if outcome == PLAIN_REQUEST:
                writer.write(NOT_WEBSOCKET)
                return None
            if outcome != INCOMPLETE:
                writer.write(hs.response)       # 101 Switching Protocols
                return hs.trailing, (negotiated[0] if negotiated else None)


async def _session(reader, writer, first_bytes, ws_options):
    def echo(event):
        # Called during ws.feed(), so each reply is queued before the session answers a
        # close frame that arrived in the same read.
        if isinstance(event, Message):
            ws.send(event.data)

    with Session("server", on_event=echo, **ws_options) as ws:
        data = first_bytes
        while True:
            if data:
                try:
                    ws.feed(data)
                except ProtocolError:           # the close frame (1002, 1007, ...) is queued
                    pass
            ws.tick(_now_ms())                  # close timeout (and keepalive, if enabled)
            out = ws.data_to_send()
            if out:
                writer.write(out)
                await writer.drain()
            if ws.finished:                     # close handshake done, or failed
                return
            deadline = ws.next_deadline
            timeout = None if deadline is None else max(0, deadline - _now_ms()) / 1000.0
            try:
                data = await asyncio.wait_for(reader.read(READ_SIZE), timeout)
            except asyncio.TimeoutError:
                data = b""
                continue
            if not data:                        # TCP closed without a closing handshake
                return


async def handle(reader, writer, ws_options=None):
    options = dict(ws_options or {})
    deflate = options.pop("deflate", None)
    try:
        rest = await _handshake(reader, writer, deflate)
        if rest is not None:
            await writer.drain()
            if rest[1] is not None:
                options.update(deflate=rest[1], deflate_config=deflate)
            await _session(reader, writer, rest[0], options)
        else:
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def start(host="127.0.0.1", port=0, **ws_options):
    """Start listening; returns the asyncio Server (port 0: see server.sockets).
    ws_options go to each Session, except deflate=DeflateConfig(...), which makes the
    handshake accept permessage-deflate under that policy."""
    return await asyncio.start_server(lambda r, w: handle(r, w, ws_options), host, port)


async def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9001)
    ap.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    ap.add_argument("--deflate", action="store_true", help="accept permessage-deflate")
    args = ap.parse_args(argv)
    server = await start(args.host, args.port,
                         **({"deflate": DeflateConfig()} if args.deflate else {}))
    print("listening on ws://%s:%d/" % server.sockets[0].getsockname()[:2], flush=True)
    async with server:
        if args.seconds:
            await asyncio.sleep(args.seconds)
        else:
            await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))

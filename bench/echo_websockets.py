#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# WebSocket echo server on Python `websockets` (Debian python3-websockets, 10.4; asyncio):
# the Python peer of the echo benchmark (bench/run_echo.sh; docs/performance.md, "Echo
# benchmark"). Run it with Debian's /usr/bin/python3.
#
#   /usr/bin/python3 bench/echo_websockets.py [--host 127.0.0.1] [--port 0] [--deflate]
#
# Every message is sent back with its type (str for text, bytes for binary). compression=None:
# no permessage-deflate (websockets enables it by default). --deflate turns it on
# (bench/run_deflate.sh) with zlib's defaults, as rtweb and node `ws` use them (level 6,
# window 15, memLevel 8; the client's offer decides context takeover), rather than
# websockets' own default of windows 12 and memLevel 5, so the three compress alike;
# websockets compresses every message (it has no threshold). Once listening it prints
# `listening on http://HOST:PORT/` (the real port), like `rtwcat serve`.
import argparse
import asyncio
import signal
import sys

import websockets
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory


async def echo(ws, path=None):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass  # the client went away mid-echo: nothing to report


async def main(host, port, deflate):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set_result, None)
    if deflate:
        compression = dict(compression=None,
                           extensions=[ServerPerMessageDeflateFactory()])
    else:
        compression = dict(compression=None)
    async with websockets.serve(echo, host, port, max_size=64 * 1024 * 1024,
                                max_queue=None, **compression) as server:
        sock = server.sockets[0]
        addr, real_port = sock.getsockname()[:2]
        print(f"echo_websockets: python {sys.version.split()[0]}, "
              f"websockets {websockets.__version__}, permessage-deflate "
              f"{'on' if deflate else 'off'}", file=sys.stderr)
        print(f"listening on http://{addr}:{real_port}/", flush=True)
        await stop


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--deflate", action="store_true")
    args = ap.parse_args()
    asyncio.run(main(args.host, args.port, args.deflate))

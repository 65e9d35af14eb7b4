#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# WebSocket echo server on Python `websockets` (Debian python3-websockets, 10.4; asyncio):
# the Python peer of the echo benchmark (bench/run_echo.sh; docs/performance.md, "Echo
# benchmark"). Run it with Debian's /usr/bin/python3.
#
#   /usr/bin/python3 bench/echo_websockets.py [--host 127.0.0.1] [--port 0]
#
# Every message is sent back with its type (str for text, bytes for binary). compression=None:
# no permessage-deflate (websockets enables it by default). Once listening it prints
# `listening on http://HOST:PORT/` (the real port), like `rtwcat serve`.
import argparse
import asyncio
import signal
import sys

import websockets


async def echo(ws, path=None):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass  # the client went away mid-echo: nothing to report


async def main(host, port):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(echo, host, port, compression=None,
                                max_size=64 * 1024 * 1024, max_queue=None) as server:
        sock = server.sockets[0]
        addr, real_port = sock.getsockname()[:2]
        print(f"echo_websockets: python {sys.version.split()[0]}, "
              f"websockets {websockets.__version__}", file=sys.stderr)
        print(f"listening on http://{addr}:{real_port}/", flush=True)
        await stop


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    asyncio.run(main(args.host, args.port))

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A Server-Sent Events server in asyncio, with rtweb doing the protocol: replay history and
Last-Event-ID resume.

GET /events opens a stream (chunked over HTTP/1.1). Every published event is serialised once
by rtweb, kept in an rtweb History and sent to every subscriber. A client reconnecting with
`Last-Event-ID` first gets exactly what it missed from the history; if the history no longer
reaches back that far it gets a `reset` event (the application's snapshot) instead.
`?limit=N` ends the stream after N events (handy for tests and curl).

    RTWEB_LIBRARY=build/lib/librtweb.so PYTHONPATH=bindings/python \\
        /usr/bin/python3 bindings/python/examples/sse_server.py --port 8080 --tick 1
    curl -N http://127.0.0.1:8080/events
    curl -N -H 'Last-Event-ID: 3' http://127.0.0.1:8080/events
"""

import argparse
import asyncio
import sys
from urllib.parse import parse_qs

from rtweb import HTTPError, HistoryGap
from rtweb import sse

READ_SIZE = 16384
HEARTBEAT_S = 15.0


def _status(code, text):
    body = text.encode() + b"\n"
    return (b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (code, text.encode(), len(body), body))


class EventServer(object):
    """The application: a history, the subscribers, and publish()."""

    def __init__(self, max_events=64, max_bytes=0):
        self.history = sse.History(max_events, max_bytes)
        self.subscribers = set()
        self.last_id = None
        self.counter = 0
        self.state = {}             # what a "reset" snapshot describes
        self.subscribed = asyncio.Event()

    def publish(self, data, event=None):
        """Serialise once, remember, broadcast. Ids are 1, 2, 3, ..."""
        self.counter += 1
        self.last_id = str(self.counter)
        payload = self.history.publish(data, id=self.last_id, event=event)
        self.state["last"] = data
        for queue in self.subscribers:
            queue.put_nowait(payload)
        return self.last_id

    def snapshot(self):
        data = "state after event %s: %r" % (self.last_id, self.state.get("last"))
        return sse.format_event(data, event="reset", id=self.last_id)

    async def handle(self, reader, writer):
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _read_request(self, reader, writer):
        with sse.HttpRequest() as req:
            while True:
                data = await reader.read(READ_SIZE)
                if not data:
                    return None
                try:
                    if req.feed(data):
                        break
                except HTTPError as exc:
                    code = {"RTW_ERR_HTTP_BAD_METHOD": 405, "RTW_ERR_HTTP_HEAD_TOO_LARGE": 431,
                            "RTW_ERR_HTTP_TOO_MANY_HEADERS": 431}.get(exc.name, 400)
                    writer.write(_status(code, exc.name))
                    return None
            if req.path != "/events":
                writer.write(_status(404, "Not Found"))
                return None
            limit = parse_qs(req.query or "").get("limit", ["0"])[0]
            # Resume now, before yielding to the loop: replay and subscription happen with no
            # publish in between, so there is no loss and no duplicate.
            queue = asyncio.Queue()
            try:
                seq = req.resume(self.history)
                backlog = [] if seq is None else self.history.since(seq)
            except HistoryGap:
                backlog = [self.snapshot()] if self.last_id is not None else []
            for item in backlog:
                queue.put_nowait(item)
            self.subscribers.add(queue)
            self.subscribed.set()
            return req.chunked, int(limit), queue

    async def _handle(self, reader, writer):
        got = await self._read_request(reader, writer)
        if got is None:
            await writer.drain()
            return
        chunked, limit, queue = got
        frame = sse.http_chunk if chunked else (lambda b: b)
        try:
            writer.write(sse.http_response_head(chunked=chunked,
                                                headers={"Access-Control-Allow-Origin": "*"}))
            writer.write(frame(sse.format_retry(2000)))
            await writer.drain()
            sent = 0
            while limit == 0 or sent < limit:
                try:
                    payload = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except asyncio.TimeoutError:    # quiet: a comment keeps proxies from closing
                    writer.write(frame(sse.format_comment("keepalive")))
                    await writer.drain()
                    continue
                writer.write(frame(payload))
                await writer.drain()
                sent += 1
            if chunked:
                writer.write(sse.LAST_CHUNK)
            await writer.drain()
        finally:
            self.subscribers.discard(queue)


async def start(app, host="127.0.0.1", port=0):
    return await asyncio.start_server(app.handle, host, port)


async def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--tick", type=float, default=1.0, help="publish an event every N s")
    ap.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    args = ap.parse_args(argv)
    app = EventServer()
    server = await start(app, args.host, args.port)
    print("listening on http://%s:%d/events" % server.sockets[0].getsockname()[:2], flush=True)
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + args.seconds if args.seconds else None
    async with server:
        while stop_at is None or loop.time() < stop_at:
            await asyncio.sleep(args.tick)
            app.publish("tick at %.1f" % loop.time(), event="tick")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))

# SPDX-License-Identifier: MIT
"""Real servers written with the binding (examples/), talked to by real clients: Debian's
python3-websockets against the asyncio echo server, curl -N against the SSE server.
Everything listens on 127.0.0.1 port 0 and is stopped by the test; curl runs with
--max-time and is killed if it outlives it."""

import asyncio
import os
import shutil
import unittest

import support
from support import run_async
from rtweb import sse, ws
from rtweb.handshake import ClientHandshake

import echo_server
import sse_server

try:
    import websockets
except ImportError:                                     # CI installs python3-websockets
    websockets = None

CURL = shutil.which("curl")


def port_of(server):
    return server.sockets[0].getsockname()[1]


@unittest.skipIf(websockets is None, "python3-websockets not installed")
class EchoServerTest(unittest.TestCase):
    def test_websockets_client_text_binary_close(self):
        async def scenario():
            server = await echo_server.start()
            url = "ws://127.0.0.1:%d/" % port_of(server)
            async with server:
                async with websockets.connect(url, max_size=None) as c:
                    await c.send("hello \u00e9")
                    self.assertEqual(await c.recv(), "hello \u00e9")
                    await c.send(b"\x00\x01binary")
                    self.assertEqual(await c.recv(), b"\x00\x01binary")
                    big = os.urandom(300000)             # several frames each way
                    await c.send(big)
                    self.assertEqual(await c.recv(), big)
                    pong = await c.ping(b"ping?")
                    await asyncio.wait_for(pong, 5)      # auto-pong from the session
                self.assertEqual(c.close_code, 1000)     # closing handshake completed
                c = await websockets.connect(url)
                await c.send("x")
                self.assertEqual(await c.recv(), "x")
                await c.close(code=4001, reason="bye")
                self.assertEqual(c.close_code, 4001)     # the server echoed our code
                server.close()
        run_async(scenario())

    def test_protocol_error_over_tcp(self):
        async def scenario():
            server = await echo_server.start()
            async with server:
                reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server))
                with ClientHandshake("127.0.0.1") as hs:
                    writer.write(hs.request)
                    while not hs.feed(await reader.read(4096)):
                        pass
                    rest = hs.trailing
                # an unmasked frame from a client: RFC 6455 5.1, close 1002
                writer.write(ws.build_frame(ws.OP_TEXT, b"unmasked"))
                data = rest + await asyncio.wait_for(reader.read(), 5)   # until the server closes
                with ws.Session("client") as client:
                    events = client.feed(data)
                self.assertEqual([e for e in events if isinstance(e, ws.Close)],
                                 [ws.Close(1002, "")])
                writer.close()
                server.close()
        run_async(scenario())

    def test_binding_client_and_plain_request(self):
        async def scenario():
            server = await echo_server.start()
            async with server:
                reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server))
                with ClientHandshake("127.0.0.1", "/") as hs, ws.Session("client") as client:
                    writer.write(hs.request)
                    while not hs.feed(await reader.read(4096)):
                        pass
                    events = client.feed(hs.trailing)
                    client.send("one")
                    client.send(b"two")
                    client.send_close(1000, "done")
                    writer.write(client.data_to_send())
                    while not client.finished:
                        data = await asyncio.wait_for(reader.read(4096), 5)
                        if not data:
                            break
                        events += client.feed(data)
                    self.assertEqual(events, [ws.Message(ws.OP_TEXT, "one"),
                                              ws.Message(ws.OP_BINARY, b"two"),
                                              ws.Close(1000, "")])
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server))
                writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertTrue((await reader.read()).startswith(b"HTTP/1.1 426 "))
                writer.close()
                server.close()
        run_async(scenario())


async def curl(url, *headers, max_time=5):
    args = [CURL, "-sS", "-N", "--max-time", str(max_time)]
    for h in headers:
        args += [h] if h.startswith("--") else ["-H", h]
    # curl is not ours to sanitize: drop a sanitizer runtime preloaded for librtweb
    env = dict((k, v) for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS"))
    proc = await asyncio.create_subprocess_exec(*args, url, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE, env=env)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), max_time + 5)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode, out, err


def events_of(body):
    with sse.Parser() as p:
        events = p.feed(body)
        return events, p.retry


@unittest.skipIf(CURL is None, "curl not installed")
class SSEServerTest(unittest.TestCase):
    def test_curl_events_and_last_event_id(self):
        async def scenario():
            app = sse_server.EventServer(max_events=4)
            server = await sse_server.start(app)
            base = "http://127.0.0.1:%d" % port_of(server)
            async with server:
                for k in (1, 2, 3):                      # before anyone listens
                    app.publish("early %d" % k)

                async def live(url, *headers, publish=()):
                    app.subscribed.clear()
                    task = asyncio.ensure_future(curl(url, *headers))
                    waiter = asyncio.ensure_future(app.subscribed.wait())
                    await asyncio.wait([task, waiter], timeout=5,
                                       return_when=asyncio.FIRST_COMPLETED)
                    if not waiter.done():               # curl ended (or hung) first
                        waiter.cancel()
                        self.fail("curl did not subscribe: %r" % (
                            task.result() if task.done() else "timeout",))
                    for data in publish:
                        app.publish(data, event="tick")
                    return await task

                # a new client gets live events only
                rc, out, err = await live(base + "/events?limit=2", publish=["four", "five"])
                self.assertEqual(rc, 0, err)
                events, retry = events_of(out)
                self.assertEqual(events, [sse.Event("tick", "four", "4"),
                                          sse.Event("tick", "five", "5")])
                self.assertEqual(retry, 2000)
                self.assertIn(b"id: 4\ndata: four\n\n", out)

                # Last-Event-ID: 3 resumes with exactly what was missed
                rc, out, err = await curl(base + "/events?limit=2", "Last-Event-ID: 3")
                self.assertEqual(rc, 0, err)
                self.assertEqual([e.id for e in events_of(out)[0]], ["4", "5"])

                # up to date: nothing replayed, then live
                rc, out, err = await live(base + "/events?limit=1", "Last-Event-ID: 5",
                                          publish=["six"])
                self.assertEqual(events_of(out)[0], [sse.Event("tick", "six", "6")])

                # evicted id (history keeps 4 events: 3..6): a reset snapshot, not silence
                rc, out, err = await curl(base + "/events?limit=1", "Last-Event-ID: 1")
                self.assertEqual(rc, 0, err)
                (reset,), _ = events_of(out)
                self.assertEqual((reset.type, reset.id), ("reset", "6"))
                self.assertIn("six", reset.data)

                # HTTP/1.0: a close-delimited body instead of chunks
                rc, out, err = await curl(base + "/events?limit=1", "Last-Event-ID: 5",
                                          "--http1.0")            # replays event 6
                self.assertEqual(rc, 0, err)
                self.assertEqual(out, b"retry: 2000\nevent: tick\nid: 6\ndata: six\n\n")

                # other paths and methods
                rc, out, err = await curl(base + "/nope")
                self.assertTrue(out.startswith(b"Not Found"), out)
                server.close()
        run_async(scenario(), timeout=40)


@unittest.skipIf(CURL is None or websockets is None, "curl or python3-websockets missing")
class ScriptsTest(unittest.TestCase):
    """The examples run as programs: start, serve one client, stop after --seconds."""

    async def _run(self, script, *args):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([support.BINDING, env.get("PYTHONPATH", "")])
        proc = await asyncio.create_subprocess_exec(
            "/usr/bin/python3", os.path.join(support.EXAMPLES, script), "--port", "0", *args,
            stdout=asyncio.subprocess.PIPE, env=env)
        try:
            line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
            self.assertTrue(line.startswith("listening on "), line)
            return proc, line.split()[-1]
        except BaseException:
            proc.kill()
            await proc.wait()
            raise

    @staticmethod
    async def _finish(proc):
        try:
            return await asyncio.wait_for(proc.wait(), 10)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    def test_echo_server_script(self):
        async def scenario():
            proc, url = await self._run("echo_server.py", "--seconds", "1.5")
            try:
                async with websockets.connect(url) as c:
                    await c.send("via script")
                    self.assertEqual(await c.recv(), "via script")
            finally:
                self.assertEqual(await self._finish(proc), 0)
        run_async(scenario())

    def test_sse_server_script(self):
        async def scenario():
            proc, url = await self._run("sse_server.py", "--tick", "0.1", "--seconds", "1.5")
            try:
                rc, out, err = await curl(url + "?limit=2")
                self.assertEqual(rc, 0, err)
                events, _ = events_of(out)
                self.assertEqual([e.type for e in events], ["tick", "tick"])
            finally:
                self.assertEqual(await self._finish(proc), 0)
        run_async(scenario())


if __name__ == "__main__":
    unittest.main()

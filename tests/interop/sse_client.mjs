// SPDX-License-Identifier: MIT
// The `rtwcat http://` Server-Sent Events client against node's own HTTP server (an
// independent HTTP/1.1 implementation: chunked transfer coding by default, Content-Length
// or connection close otherwise). Checks the request (Accept, Last-Event-ID, extra headers),
// streams cut at awkward places, reconnection with Last-Event-ID after the retry time, 204
// to stop, and the failures that must not reconnect (WHATWG HTML 9.2.3: bad status, bad
// Content-Type). Needs only node (no npm package). Prints TAP. Environment: RTWCAT.
import http from 'node:http';
import { Tap, exe, watchdog, run, within } from './lib/harness.mjs';

const rtwcat = exe('RTWCAT', 'rtwcat');
const tap = new Tap();
watchdog(90, tap);

// Each test gives a list of handlers, one per connection (the last one repeats); the
// server records every request's headers.
const routes = new Map();
const seen = new Map();
const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  const list = seen.get(path) || [];
  list.push({ headers: req.headers, at: Date.now() });
  seen.set(path, list);
  const hs = routes.get(path);
  if (!hs) { res.writeHead(404); res.end(); return; }
  hs[Math.min(list.length, hs.length) - 1](req, res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

const SSE = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' };
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

// Writes the pieces with a short pause between them, so that each is its own chunk.
async function stream(res, pieces, end = true) {
  for (const p of pieces) {
    res.write(p);
    await pause(15);
  }
  if (end) res.end();
}

function lines(buf) {
  return buf.toString().split('\n').filter((l) => l).map((l) => {
    try { return JSON.parse(l); } catch { return { unparsable: l }; }
  });
}
const events = (out) => lines(out).filter((o) => 'event' in o);
const brief = (r) => `exit ${r.code}${r.timedOut ? ' (timed out)' : ''} stderr ${r.stderr.slice(0, 300)}`;
const J = JSON.stringify;

async function client(path, args, timeoutMs = 15000) {
  return run(rtwcat, [`${base}${path}`, ...args], { timeoutMs });
}

try {
  await tap.test('rtwcat http://: chunked stream cut mid-field, mid-UTF-8 and between CR and LF', async () => {
    const utf = Buffer.from('data: wörld €\n');
    routes.set('/cut', [async (req, res) => {
      res.writeHead(200, SSE);
      await stream(res, [
        ': hello\n\nev', 'ent: greet\nda', 'ta: line 1\r', '\ndata: line 2\r\n\r', '\n',
        'id: 5\n', utf.subarray(0, 8), utf.subarray(8), '\n',
        'data:no space\n\n',
      ], false);
    }]);
    const r = await client('/cut', ['--max-events', '3']);
    const want = [{ event: 'greet', data: 'line 1\nline 2', id: '' }, { event: 'message', data: 'wörld €', id: '5' },
      { event: 'message', data: 'no space', id: '5' }];
    return [r.code === 0 && J(events(r.stdout)) === J(want), `${brief(r)}\nstdout ${r.stdout}`];
  });

  await tap.test('rtwcat http://: request has Accept: text/event-stream and the --header given', async () => {
    routes.set('/hdr', [(req, res) => { res.writeHead(204); res.end(); }]);
    const r = await client('/hdr', ['--header', 'Authorization: Bearer abc', '--max-reconnects', '0']);
    const h = (seen.get('/hdr') || [{}])[0].headers || {};
    return [r.code === 0 && /text\/event-stream/.test(h.accept || '') && h.authorization === 'Bearer abc' &&
      !('last-event-id' in h), `${brief(r)} headers ${J(h)}`];
  });

  await tap.test('rtwcat http:// --last-event-id 41: first request carries Last-Event-ID: 41', async () => {
    routes.set('/lei', [(req, res) => { res.writeHead(204); res.end(); }]);
    const r = await client('/lei', ['--last-event-id', '41']);
    const h = (seen.get('/lei') || [{}])[0].headers || {};
    return [r.code === 0 && h['last-event-id'] === '41', `${brief(r)} headers ${J(h)}`];
  });

  await tap.test('rtwcat http://: reconnects after the retry time with Last-Event-ID, stops on 204', async () => {
    routes.set('/re', [
      async (req, res) => { res.writeHead(200, SSE); await stream(res, ['retry: 100\n', 'id: 7\ndata: x\n\n']); },
      async (req, res) => { res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' }); await stream(res, ['data: y\nid: 8\n\n']); },
      (req, res) => { res.writeHead(204); res.end(); },
    ]);
    const r = await client('/re', []);
    const reqs = seen.get('/re') || [];
    const ids = reqs.map((q) => q.headers['last-event-id'] || '-');
    const gaps = reqs.slice(1).map((q, i) => q.at - reqs[i].at);
    const want = [{ event: 'message', data: 'x', id: '7' }, { event: 'message', data: 'y', id: '8' }];
    return [r.code === 0 && J(events(r.stdout)) === J(want) && J(ids) === J(['-', '7', '8']) && gaps.every((g) => g < 3000),
      `${brief(r)}\nstdout ${r.stdout}\nLast-Event-ID per request ${J(ids)}, ms between ${J(gaps)}`];
  });

  await tap.test('rtwcat http://: a Content-Length body (no chunking) then 204', async () => {
    const body = 'retry: 100\nid: 1\ndata: fixed\n\n';
    routes.set('/cl', [
      (req, res) => { res.writeHead(200, { ...SSE, 'Content-Length': Buffer.byteLength(body), Connection: 'close' }); res.end(body); },
      (req, res) => { res.writeHead(204); res.end(); },
    ]);
    const r = await client('/cl', []);
    return [r.code === 0 && J(events(r.stdout)) === J([{ event: 'message', data: 'fixed', id: '1' }]) &&
      (seen.get('/cl') || []).length === 2, `${brief(r)} stdout ${r.stdout} requests ${(seen.get('/cl') || []).length}`];
  });

  await tap.test('rtwcat http:// --comments: comment lines printed', async () => {
    routes.set('/cm', [async (req, res) => { res.writeHead(200, SSE); await stream(res, [': heartbeat\n\n', 'data: z\n\n'], false); }]);
    const r = await client('/cm', ['--comments', '--max-events', '1']);
    const l = lines(r.stdout);
    return [r.code === 0 && l.some((o) => o.comment === 'heartbeat') && J(events(r.stdout)) === J([{ event: 'message', data: 'z', id: '' }]),
      `${brief(r)} stdout ${r.stdout}`];
  });

  for (const [name, status, type] of [['Content-Type text/plain', 200, 'text/plain'], ['status 500', 500, 'text/event-stream'],
    ['status 404', 404, 'text/html']]) {
    await tap.test(`rtwcat http://: ${name} -> exit 1 without reconnecting`, async () => {
      const path = `/bad${status}${type.replace(/\W/g, '')}`;
      routes.set(path, [(req, res) => { res.writeHead(status, { 'Content-Type': type }); res.end('data: no\n\n'); }]);
      const r = await client(path, []);
      await pause(300);
      const n = (seen.get(path) || []).length;
      return [r.code === 1 && n === 1 && events(r.stdout).length === 0, `${brief(r)} requests ${n} stdout ${r.stdout}`];
    });
  }

  await tap.test('rtwcat http:// --max-reconnects 2: three connections, then exit 1', async () => {
    routes.set('/drop', [async (req, res) => { res.writeHead(200, SSE); await stream(res, ['retry: 50\n\n']); }]);
    const r = await client('/drop', ['--max-reconnects', '2']);
    const n = (seen.get('/drop') || []).length;
    return [r.code === 1 && n === 3, `${brief(r)} requests ${n}`];
  });

  await tap.test('rtwcat http://: nothing listening -> exit 1 (with --max-reconnects 0)', async () => {
    const probe = http.createServer();
    await new Promise((r) => probe.listen(0, '127.0.0.1', r));
    const port = probe.address().port;
    await new Promise((r) => probe.close(r));
    const r = await within(10000, run(rtwcat, [`http://127.0.0.1:${port}/events`, '--max-reconnects', '0'], { timeoutMs: 8000 }), 'rtwcat');
    return [r.code === 1, brief(r)];
  });
} catch (e) {
  tap.ok(false, 'driver ran to its end', e.stack);
} finally {
  server.closeAllConnections();
  server.close();
}
tap.end();
process.exit(process.exitCode);

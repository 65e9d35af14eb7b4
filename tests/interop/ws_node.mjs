// SPDX-License-Identifier: MIT
// WebSocket interoperability with the npm `ws` package (version pinned in package-lock.json):
// part A drives `rtwcat serve` (the echo server) with a ws client, part B drives the
// `rtwcat ws://` client against a ws server. Sizes 0 B to 16 MiB, fragmentation, ping/pong,
// close codes both ways, subprotocol selection, and the declined permessage-deflate offer;
// parts C and D: permessage-deflate (RFC 7692) in both roles with perMessageDeflate at
// threshold 0, 16 B to 128 KiB, negotiated (ws.extensions) and really compressed (bytes
// counted on the sockets), the server_max_window_bits=8 offer accepted (answered 8).
// Prints TAP. Environment: RTWCAT = path to the built rtwcat.
import http from 'node:http';
import net from 'node:net';
import {
  Tap, importDep, exe, watchdog, run, track, startServer, RTWCAT_LISTENING, describe, sameBytes,
  textPayload, binaryPayload, within, until, sleep,
} from './lib/harness.mjs';

const { WebSocket, WebSocketServer } = await importDep('ws');
const rtwcat = exe('RTWCAT', 'rtwcat');
const tap = new Tap();
watchdog(170, tap);

const MiB = 1 << 20;
const SIZES = [0, 1, 125, 126, 65535, 65536, MiB, 16 * MiB];

// ================================================================ A: ws client -> rtwcat serve

// A ws client whose events are queued so that a test can await them in order.
function connect(url, protocols = [], options = {}) {
  const ws = new WebSocket(url, protocols, { maxPayload: 64 * MiB, ...options });
  const events = [];
  const waiters = [];
  const push = (ev) => {
    if (waiters.length) waiters.shift()(ev); else events.push(ev);
  };
  ws.on('upgrade', (res) => { ws.upgradeHeaders = res.headers; });
  ws.on('message', (data, isBinary) => push({ type: isBinary ? 'binary' : 'text', data }));
  ws.on('pong', (data) => push({ type: 'pong', data }));
  ws.on('close', (code, reason) => push({ type: 'close', code, reason: reason.toString() }));
  ws.on('error', (err) => push({ type: 'error', err }));
  ws.next = (ms = 10000, what = 'an event') =>
    within(ms, new Promise((resolve) => {
      if (events.length) resolve(events.shift()); else waiters.push(resolve);
    }), what);
  ws.opened = within(10000, new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  }), 'open');
  return ws;
}

// The message following, skipping nothing: it must be `type` with exactly `payload`.
async function expectEcho(ws, type, payload, ms = 20000) {
  const ev = await ws.next(ms, `echo of ${type} ${describe(payload)}`);
  const ok = ev.type === type && sameBytes(ev.data, payload);
  return [ok, `sent ${type} ${describe(payload)}; got ${ev.type} ${ev.data ? describe(ev.data) : JSON.stringify(ev)}`];
}

async function closeAndWait(ws, code, reason) {
  ws.close(code, reason);
  for (;;) {
    const ev = await ws.next(6000, 'close');
    if (ev.type === 'close') return ev;
    if (ev.type === 'error') throw ev.err;
  }
}

async function partA() {
  const srv = await startServer(rtwcat, ['serve', '--port', '0', '--heartbeat', '30',
    '--subprotocol', 'chat', '--subprotocol', 'superchat']);
  const base = `ws://127.0.0.1:${srv.port}`;
  try {
    // ws offers permessage-deflate by default: rtweb must decline it (RFC 6455 9.1, RFC 7692 5).
    const ws = connect(`${base}/echo`, [], { perMessageDeflate: true });
    await tap.test('ws client: opening handshake with rtwcat serve', async () => {
      await ws.opened;
      return [ws.protocol === '', `protocol=${JSON.stringify(ws.protocol)}`];
    });
    await tap.test('ws client: permessage-deflate offer declined (no Sec-WebSocket-Extensions)', async () =>
      [ws.extensions === '' && ws.upgradeHeaders && !('sec-websocket-extensions' in ws.upgradeHeaders),
        `extensions=${JSON.stringify(ws.extensions)} headers=${JSON.stringify(ws.upgradeHeaders)}`]);

    for (const kind of ['text', 'binary']) {
      for (const n of SIZES) {
        await tap.test(`ws client: ${kind} ${n} B echoed`, async () => {
          const payload = kind === 'text' ? Buffer.from(textPayload(n)) : binaryPayload(n);
          ws.send(kind === 'text' ? payload.toString() : payload, { binary: kind === 'binary' });
          return expectEcho(ws, kind, payload);
        });
      }
    }

    await tap.test('ws client: fragmented text with a ping between fragments', async () => {
      ws.send('frag-one|', { fin: false });
      ws.send('two|', { fin: false });
      ws.ping(Buffer.from('mid'));
      ws.send('three€', { fin: true });
      const a = await ws.next(5000, 'pong');
      const b = await ws.next(5000, 'echo');
      return [a.type === 'pong' && a.data.toString() === 'mid' && b.type === 'text' &&
        b.data.toString() === 'frag-one|two|three€', `got ${a.type}:${a.data} then ${b.type}:${b.data}`];
    });
    await tap.test('ws client: fragmented 1 MiB binary in 64 KiB frames echoed', async () => {
      const payload = binaryPayload(MiB);
      for (let off = 0; off < MiB; off += 65536) {
        ws.send(payload.subarray(off, off + 65536), { binary: true, fin: off + 65536 >= MiB });
      }
      return expectEcho(ws, 'binary', payload);
    });
    await tap.test('ws client: fragmented text split inside a UTF-8 character', async () => {
      const whole = Buffer.from('a😀b');
      ws.send(whole.subarray(0, 3), { binary: false, fin: false });
      ws.send(whole.subarray(3), { binary: false, fin: true });
      return expectEcho(ws, 'text', whole);
    });
    for (const p of ['', 'ping-payload', 'x'.repeat(125)]) {
      await tap.test(`ws client: ping with ${p.length} B answered by a pong with the same payload`, async () => {
        ws.ping(Buffer.from(p));
        const ev = await ws.next(5000, 'pong');
        return [ev.type === 'pong' && ev.data.toString() === p, `got ${ev.type} ${ev.data}`];
      });
    }
    await tap.test('ws client: 4 x 4 MiB echoed while the client does not read for 1 s (backpressure)', async () => {
      const c = connect(`${base}/slow`);
      await c.opened;
      c.pause(); // the echoes pile up in the kernel buffers and in rtwcat serve
      const payloads = [1, 2, 3, 4].map((k) => { const b = binaryPayload(4 * MiB); b[0] = k; return b; });
      for (const p of payloads) c.send(p);
      await sleep(1000);
      c.resume();
      const res = [];
      for (const p of payloads) res.push(await expectEcho(c, 'binary', p));
      await closeAndWait(c, 1000);
      return [res.every((r) => r[0]), res.map((r) => r[1]).join('\n')];
    });
    await tap.test('ws client: close 1000 echoed', async () => {
      const ev = await closeAndWait(ws, 1000, 'done');
      return [ev.code === 1000, `close ${ev.code} ${JSON.stringify(ev.reason)}`];
    });

    for (const [code, reason] of [[1001, ''], [3000, 'app'], [4999, 'bye ü']]) {
      await tap.test(`ws client: close ${code} echoed with the same code`, async () => {
        const c = connect(`${base}/c${code}`);
        await c.opened;
        c.send('before close');
        const m = await c.next(5000, 'echo');
        const ev = await closeAndWait(c, code, reason);
        return [m.type === 'text' && ev.code === code,
          `echo ${m.type}; close ${ev.code} ${JSON.stringify(ev.reason)} (sent ${JSON.stringify(reason)})`];
      });
    }

    await tap.test('ws client: invalid UTF-8 in a text message -> server closes 1007', async () => {
      const c = connect(`${base}/bad-utf8`);
      await c.opened;
      c.send(Buffer.from([0x61, 0xc3, 0x28]), { binary: false });
      let ev;
      do ev = await c.next(5000, 'close'); while (ev.type !== 'close');
      return [ev.code === 1007, `close ${ev.code} ${ev.reason}`];
    });

    for (const [offer, want] of [[['superchat', 'chat'], 'superchat'], [['foo', 'chat', 'superchat'], 'chat'],
      [['chat'], 'chat']]) {
      await tap.test(`ws client: subprotocols ${offer.join(',')} -> ${want}`, async () => {
        const c = connect(`${base}/sp`, offer);
        await c.opened;
        const got = c.protocol;
        c.send('p');
        const m = await c.next(5000, 'echo');
        await closeAndWait(c, 1000);
        return [got === want && m.type === 'text', `selected ${JSON.stringify(got)}`];
      });
    }
    await tap.test('handshake: an offer of unknown subprotocols gets no Sec-WebSocket-Protocol', async () => {
      const res = await rawUpgrade(srv.port, '/sp', { 'Sec-WebSocket-Protocol': 'foo, bar' });
      return [res.status === 101 && !('sec-websocket-protocol' in res.headers),
        `status ${res.status} headers ${JSON.stringify(res.headers)}`];
    });
    await tap.test('handshake: Sec-WebSocket-Accept for the RFC 6455 1.3 sample key', async () => {
      const res = await rawUpgrade(srv.port, '/x', {});
      return [res.status === 101 && res.headers['sec-websocket-accept'] === 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
        `status ${res.status} accept ${res.headers['sec-websocket-accept']}`];
    });

    await tap.test('handshake: Firefox-style "Connection: keep-alive, Upgrade" and "Upgrade: WebSocket" accepted', async () => {
      const res = await rawUpgrade(srv.port, '/ff', { Connection: 'keep-alive, Upgrade', Upgrade: 'WebSocket' });
      return [res.status === 101, `status ${res.status}`];
    });
    await tap.test('handshake: Sec-WebSocket-Version 8 -> 426 with Sec-WebSocket-Version: 13 (RFC 6455 4.4)', async () => {
      const res = await rawUpgrade(srv.port, '/v8', { 'Sec-WebSocket-Version': '8' });
      return [res.status === 426 && /(^|,)\s*13\s*(,|$)/.test(res.headers['sec-websocket-version'] || ''),
        `status ${res.status} headers ${JSON.stringify(res.headers)}`];
    });
    await tap.test('ws client: 32 concurrent connections, 20 messages each, all echoed in order', async () => {
      const clients = Array.from({ length: 32 }, (_, i) => connect(`${base}/many${i}`));
      await Promise.all(clients.map((c) => c.opened));
      const bad = [];
      await Promise.all(clients.map(async (c, i) => {
        for (let j = 0; j < 20; j++) c.send(`c${i}m${j}`);
        for (let j = 0; j < 20; j++) {
          const ev = await c.next(10000, 'echo');
          if (ev.type !== 'text' || ev.data.toString() !== `c${i}m${j}`) bad.push(`c${i}m${j}: ${ev.type} ${ev.data}`);
        }
        await closeAndWait(c, 1000);
      }));
      return [bad.length === 0, bad.slice(0, 5).join('\n')];
    });
  } finally {
    await srv.stop();
  }

  // A second server with a small receive limit: a larger message is refused with 1009.
  const small = await startServer(rtwcat, ['serve', '--port', '0', '--max-message', '1024']);
  try {
    await tap.test('ws client: message over rtwcat serve --max-message -> close 1009', async () => {
      const c = connect(`ws://127.0.0.1:${small.port}/`);
      await c.opened;
      c.send('y'.repeat(1024));
      const ok = await c.next(5000, 'echo of 1024 B');
      c.send('z'.repeat(2048));
      let ev;
      do ev = await c.next(5000, 'close'); while (ev.type !== 'close');
      return [ok.type === 'text' && ok.data.length === 1024 && ev.code === 1009,
        `1024 B: ${ok.type} ${ok.data && ok.data.length}; close ${ev.code} ${ev.reason}`];
    });
  } finally {
    const st = await small.stop();
    tap.ok(st.code === 0, 'rtwcat serve exits 0 on SIGTERM', `status ${JSON.stringify(st)}`);
  }
}

// An upgrade request by hand (node http), to look at the response headers themselves.
function rawUpgrade(port, path, extra) {
  return within(5000, new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, path, headers: {
        Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...extra,
      },
    });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve({ status: res.statusCode, headers: res.headers }); });
    req.on('response', (res) => { res.resume(); resolve({ status: res.statusCode, headers: res.headers }); });
    req.on('error', reject);
    req.end();
  }), 'raw upgrade');
}

// ================================================================ B: rtwcat ws:// -> ws server

// One ws server; each test registers what the server does on its own path and gets a record
// of what the server saw (messages, pings, pongs, close, request headers).
const behaviours = new Map();
const records = new Map();

function startWsServer() {
  const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
  const wss = new WebSocketServer({
    server,
    maxPayload: 64 * MiB,
    perMessageDeflate: true, // offered back only if the client asks; rtwcat must not
    handleProtocols: (protocols) => (protocols.size ? [...protocols].pop() : false),
    verifyClient: (info) => !info.req.url.startsWith('/reject'),
  });
  wss.on('connection', (ws, req) => {
    const rec = { req, ws, msgs: [], pings: [], pongs: [], close: null, closed: null, extensions: ws.extensions };
    rec.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      rec.close = { code, reason: reason.toString() };
      resolve(rec.close);
    }));
    records.set(req.url, rec);
    ws.on('message', (data, isBinary) => rec.msgs.push({ type: isBinary ? 'binary' : 'text', data }));
    ws.on('ping', (d) => rec.pings.push(d));
    ws.on('pong', (d) => rec.pongs.push(d));
    ws.on('error', () => {});
    const b = behaviours.get(req.url) || echo;
    b(ws, rec);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, wss, port: server.address().port })));
}

function echo(ws) {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

function jsonLines(buf) {
  return buf.toString().split('\n').filter((l) => l.length).map((l) => {
    try { return JSON.parse(l); } catch { return { unparsable: l.slice(0, 200) }; }
  });
}

function brief(r) {
  return `exit ${r.code}${r.signal ? ' signal ' + r.signal : ''}${r.timedOut ? ' (timed out)' : ''}; stderr: ${r.stderr.slice(0, 400)}`;
}

// Runs rtwcat against the server path, with the server behaviour given; stdin is `input`
// (ended at once), or held open until the server closes when input is null.
async function client(srvPort, path, args, input, behaviour, timeoutMs = 30000) {
  if (behaviour) behaviours.set(path, behaviour);
  const url = `ws://127.0.0.1:${srvPort}${path}`;
  if (input !== null) {
    const r = await run(rtwcat, [url, ...args], { input, timeoutMs });
    return { r, rec: records.get(path) };
  }
  const child = track(rtwcat, [url, ...args]);
  const out = [], err = [];
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => err.push(d));
  let timedOut = false;
  const t = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
  // Once the server's side is closed, rtwcat must exit by itself (its stdin is still open).
  let t2;
  until(() => records.get(path), timeoutMs, 'connection').then((rec) => rec.closed).then(() => {
    t2 = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, 5000);
  }, () => {});
  const st = await child.done;
  clearTimeout(t);
  clearTimeout(t2);
  child.stdin.end();
  const r = { ...st, timedOut, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() };
  return { r, rec: records.get(path) };
}

// A TCP relay that counts the WebSocket frames the client sends (after the HTTP request).
function frameCounter(targetPort) {
  const frames = [];
  const server = net.createServer((down) => {
    const up = net.connect(targetPort, '127.0.0.1');
    let buf = Buffer.alloc(0), inHttp = true;
    down.on('data', (d) => {
      up.write(d);
      buf = Buffer.concat([buf, d]);
      if (inHttp) {
        const i = buf.indexOf('\r\n\r\n');
        if (i < 0) return;
        buf = buf.subarray(i + 4);
        inHttp = false;
      }
      for (;;) {
        if (buf.length < 2) return;
        let len = buf[1] & 0x7f, hdr = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); hdr = 4; }
        else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); hdr = 10; }
        if (buf[1] & 0x80) hdr += 4;
        if (buf.length < hdr + len) return;
        frames.push({ fin: !!(buf[0] & 0x80), opcode: buf[0] & 0x0f, len });
        buf = buf.subarray(hdr + len);
      }
    });
    up.on('data', (d) => down.write(d));
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
    down.on('error', () => {});
    up.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, frames, port: server.address().port })));
}

async function partB() {
  const { server, port } = await startWsServer();
  try {
    await tap.test('rtwcat ws://: text lines sent, echoed, --json output, close 1000', async () => {
      const { r, rec } = await client(port, '/b1', ['--json'], 'hello\nwörld\n\nlast');
      const out = jsonLines(r.stdout);
      const want = [{ type: 'open', subprotocol: null }, { type: 'text', data: 'hello' },
        { type: 'text', data: 'wörld' }, { type: 'text', data: '' }, { type: 'text', data: 'last' },
        { type: 'close', code: 1000, reason: '' }];
      const got = rec ? rec.msgs.map((m) => `${m.type}:${m.data}`) : [];
      if (rec) await within(3000, rec.closed, 'server close').catch(() => {});
      const ok = r.code === 0 && JSON.stringify(out) === JSON.stringify(want) &&
        JSON.stringify(got) === JSON.stringify(['text:hello', 'text:wörld', 'text:', 'text:last']) &&
        rec.close && rec.close.code === 1000;
      return [ok, `${brief(r)}\nstdout: ${JSON.stringify(out)}\nserver got: ${JSON.stringify(got)} close ${JSON.stringify(rec && rec.close)}`];
    });
    await tap.test('rtwcat ws: does not offer permessage-deflate (server with deflate enabled)', async () => {
      const rec = records.get('/b1');
      return [rec && rec.extensions === '' && !('sec-websocket-extensions' in rec.req.headers),
        `server extensions ${rec && JSON.stringify(rec.extensions)}`];
    });
    await tap.test('rtwcat ws://: raw output is each payload then a newline', async () => {
      const { r } = await client(port, '/b2', [], 'one\ntwo\n');
      return [r.code === 0 && r.stdout.toString() === 'one\ntwo\n', `${brief(r)} stdout ${JSON.stringify(r.stdout.toString())}`];
    });

    // Sending: every size in one run per type, echoed back and printed raw.
    for (const kind of ['text', 'binary']) {
      await tap.test(`rtwcat ws://: sends ${kind} lines of ${SIZES.join(', ')} B and prints the echoes`, async () => {
        const payloads = SIZES.map((n) => (kind === 'text' ? Buffer.from(textPayload(n)) : binaryPayload(n, { noNewline: true })));
        const input = Buffer.concat(payloads.flatMap((p) => [p, Buffer.from('\n')]));
        const { r, rec } = await client(port, `/send-${kind}`, kind === 'binary' ? ['--binary'] : [], input, null, 60000);
        const got = rec ? rec.msgs : [];
        const bad = [];
        payloads.forEach((p, i) => {
          const m = got[i];
          if (!m || m.type !== kind || !sameBytes(m.data, p)) bad.push(`#${i}: want ${kind} ${describe(p)} got ${m ? m.type + ' ' + describe(m.data) : 'nothing'}`);
        });
        if (got.length !== payloads.length) bad.push(`server got ${got.length} messages`);
        if (!sameBytes(r.stdout, input)) bad.push(`stdout ${describe(r.stdout)} != input ${describe(input)}`);
        if (r.code !== 0) bad.push(brief(r));
        return [bad.length === 0, bad.join('\n')];
      });
    }

    // Receiving: the server sends every size of both types, then closes 1000.
    await tap.test(`rtwcat ws://: receives text and binary of ${SIZES.join(', ')} B (--json)`, async () => {
      const msgs = [...SIZES.map((n) => ['text', Buffer.from(textPayload(n))]), ...SIZES.map((n) => ['binary', binaryPayload(n)])];
      const { r } = await client(port, '/recv', ['--json'], null, (ws) => {
        for (const [k, p] of msgs) ws.send(k === 'text' ? p.toString() : p, { binary: k === 'binary' });
        ws.close(1000, 'sent all');
      }, 60000);
      const out = jsonLines(r.stdout).filter((o) => o.type === 'text' || o.type === 'binary');
      const bad = [];
      msgs.forEach(([k, p], i) => {
        const o = out[i];
        const data = o && (o.type === 'text' ? Buffer.from(o.data) : Buffer.from(o.base64 || '', 'base64'));
        if (!o || o.type !== k || !sameBytes(data, p)) bad.push(`#${i}: want ${k} ${describe(p)} got ${o ? o.type + ' ' + describe(data) : 'nothing'}`);
      });
      const last = jsonLines(r.stdout).pop();
      if (!last || last.type !== 'close' || last.code !== 1000 || last.reason !== 'sent all') bad.push(`last line ${JSON.stringify(last)}`);
      if (r.code !== 0) bad.push(brief(r));
      return [bad.length === 0, bad.join('\n')];
    });

    await tap.test('rtwcat ws://: receives a fragmented text with a ping between fragments, pongs it', async () => {
      const { r, rec } = await client(port, '/frag-in', ['--json'], null, async (ws) => {
        ws.send('Hel', { fin: false });
        ws.ping(Buffer.from('between'));
        ws.send('lo, ', { fin: false });
        ws.send('wörld', { fin: true });
        const big = binaryPayload(MiB);
        for (let off = 0; off < MiB; off += 4096) ws.send(big.subarray(off, off + 4096), { binary: true, fin: off + 4096 >= MiB });
        await until(() => recPongs(ws), 5000, 'pong').catch(() => {});
        ws.close(1000);
      });
      const out = jsonLines(r.stdout);
      const types = out.map((o) => o.type).join(',');
      const text = out.find((o) => o.type === 'text');
      const bin = out.find((o) => o.type === 'binary');
      const ping = out.find((o) => o.type === 'ping');
      const ok = r.code === 0 && types === 'open,ping,text,binary,close' && text.data === 'Hello, wörld' &&
        ping.base64 === Buffer.from('between').toString('base64') &&
        sameBytes(Buffer.from(bin.base64, 'base64'), binaryPayload(MiB)) &&
        rec.pongs.length === 1 && rec.pongs[0].toString() === 'between';
      return [ok, `${brief(r)} lines ${types} pongs ${rec && rec.pongs.map(String)}`];
    });

    await tap.test('rtwcat ws://: 2 x 16 MiB lines to a server that does not read for 1 s (backpressure)', async () => {
      const payloads = [textPayload(16 * MiB), 'z' + textPayload(16 * MiB - 1)];
      const { r, rec } = await client(port, '/slow', [], payloads.join('\n') + '\n', (ws) => {
        ws._socket.pause();
        setTimeout(() => ws._socket.resume(), 1000);
        echo(ws);
      }, 60000);
      const got = rec ? rec.msgs.map((m) => m.data.toString()) : [];
      return [r.code === 0 && got.length === 2 && got[0] === payloads[0] && got[1] === payloads[1] &&
        sameBytes(r.stdout, Buffer.from(payloads.join('\n') + '\n')),
        `${brief(r)} server got ${got.map((g) => describe(g))} stdout ${describe(r.stdout)}`];
    });

    await tap.test('rtwcat ws:// --fragment-size 1000: 10000 B sent as 10 frames, reassembled', async () => {
      const relay = await frameCounter(port);
      try {
        const line = textPayload(10000);
        behaviours.set('/frag-out', echo);
        const r = await run(rtwcat, [`ws://127.0.0.1:${relay.port}/frag-out`, '--fragment-size', '1000'], { input: line + '\n' });
        const rec = records.get('/frag-out');
        const data = relay.frames.filter((f) => f.opcode !== 8);
        const shape = data.map((f) => `${f.opcode}${f.fin ? 'F' : ''}:${f.len}`).join(' ');
        const ok = r.code === 0 && rec.msgs.length === 1 && rec.msgs[0].data.toString() === line &&
          data.length === 10 && data[0].opcode === 1 && data.slice(1).every((f) => f.opcode === 0) &&
          data.every((f, i) => f.fin === (i === 9) && f.len === 1000) && r.stdout.toString() === line + '\n';
        return [ok, `${brief(r)} frames: ${shape}`];
      } finally {
        relay.server.close();
      }
    });

    await tap.test('rtwcat ws://: answers a server ping with the same payload', async () => {
      const { r, rec } = await client(port, '/ping', ['--json'], null, async (ws) => {
        ws.ping(Buffer.from([0, 1, 2, 255]));
        await until(() => recPongs(ws), 5000, 'pong').catch(() => {});
        ws.close(1000);
      });
      const ping = jsonLines(r.stdout).find((o) => o.type === 'ping');
      return [r.code === 0 && rec.pongs.length === 1 && sameBytes(rec.pongs[0], Buffer.from([0, 1, 2, 255])) &&
        ping && ping.base64 === 'AAEC/w==', `${brief(r)} pongs ${rec && rec.pongs.length} ping line ${JSON.stringify(ping)}`];
    });

    await tap.test('rtwcat ws:// --ping-interval 0.2: the server receives pings, pongs are printed', async () => {
      behaviours.set('/pi', (ws) => { setTimeout(() => ws.close(1000), 1500); });
      const { r, rec } = await client(port, '/pi', ['--json', '--ping-interval', '0.2'], null);
      const pongs = jsonLines(r.stdout).filter((o) => o.type === 'pong').length;
      return [r.code === 0 && rec.pings.length >= 2 && pongs >= 2, `${brief(r)} server saw ${rec && rec.pings.length} pings; printed ${pongs} pongs`];
    });

    for (const [code, reason, exit] of [[1000, '', 0], [1001, 'going away', 0], [1011, 'oops', 3], [4000, 'custom reason', 3]]) {
      await tap.test(`rtwcat ws://: server closes ${code} -> exit ${exit}, close line`, async () => {
        const { r } = await client(port, `/sclose${code}`, ['--json'], null, (ws) => ws.close(code, reason));
        const last = jsonLines(r.stdout).pop();
        const msgOk = exit === 0 || r.stderr.includes(`rtwcat: peer closed: ${code} ${reason}`);
        return [r.code === exit && last && last.type === 'close' && last.code === code && last.reason === reason && msgOk,
          `${brief(r)} last ${JSON.stringify(last)}`];
      });
    }

    for (const [arg, code, reason] of [['4123:bye now', 4123, 'bye now'], ['1001', 1001, ''], ['3000:', 3000, '']]) {
      await tap.test(`rtwcat ws:// --close ${arg}: the server receives ${code}`, async () => {
        const { r, rec } = await client(port, `/cclose${code}`, ['--close', arg], 'x\n');
        const c = rec && (await within(3000, rec.closed, 'server close'));
        // ws echoes the code: rtwcat may report it as the peer's close (exit 3 for codes
        // other than 1000/1001) or treat it as the answer to its own close (exit 0).
        return [c && c.code === code && c.reason === reason && (r.code === 0 || (r.code === 3 && code > 1001)),
          `${brief(r)} server got ${JSON.stringify(c)}`];
      });
    }

    await tap.test('rtwcat ws://: connection dropped without a close frame -> exit 1', async () => {
      const { r } = await client(port, '/drop', [], null, (ws) => setTimeout(() => ws.terminate(), 100));
      return [r.code === 1, brief(r)];
    });
    await tap.test('rtwcat ws://: handshake refused (HTTP 401) -> exit 1', async () => {
      const { r } = await client(port, '/reject', [], 'x\n', null, 10000);
      return [r.code === 1 && r.stdout.length === 0, brief(r)];
    });
    await tap.test('rtwcat ws://: invalid UTF-8 text from the server -> close 1007, exit 1', async () => {
      const { r, rec } = await client(port, '/bad-utf8', [], null, (ws) => ws.send(Buffer.from([0x61, 0xff]), { binary: false }));
      const c = rec && (await within(6000, rec.closed, 'server close').catch(() => null));
      return [r.code === 1 && c && c.code === 1007, `${brief(r)} server got ${JSON.stringify(c)}`];
    });
    await tap.test('rtwcat ws:// --max-message 1000: 2000 B from the server -> close 1009, exit 1', async () => {
      const { r, rec } = await client(port, '/toobig', ['--max-message', '1000'], null, (ws) => {
        ws.send('a'.repeat(1000));
        ws.send('b'.repeat(2000));
      });
      const c = rec && (await within(6000, rec.closed, 'server close').catch(() => null));
      return [r.code === 1 && r.stdout.toString() === 'a'.repeat(1000) + '\n' && c && c.code === 1009,
        `${brief(r)} stdout ${describe(r.stdout)} server got ${JSON.stringify(c)}`];
    });

    await tap.test('rtwcat ws:// --subprotocol a --subprotocol b: offered in order, server picks b', async () => {
      const { r, rec } = await client(port, '/sp', ['--json', '--subprotocol', 'a', '--subprotocol', 'b'], 'm\n');
      const first = jsonLines(r.stdout)[0];
      const offered = rec && rec.req.headers['sec-websocket-protocol'];
      return [r.code === 0 && first && first.type === 'open' && first.subprotocol === 'b' && /^a, ?b$/.test(offered || ''),
        `${brief(r)} open ${JSON.stringify(first)} offered ${offered}`];
    });
    await tap.test('rtwcat ws:// --header, --origin: sent in the opening handshake', async () => {
      const { r, rec } = await client(port, '/hdr', ['--header', 'X-Rtw-Test: 42 yes', '--origin', 'http://example.test'], '');
      const h = rec ? rec.req.headers : {};
      return [r.code === 0 && h['x-rtw-test'] === '42 yes' && h.origin === 'http://example.test',
        `${brief(r)} headers ${JSON.stringify(h)}`];
    });
  } finally {
    server.closeAllConnections?.();
    server.close();
  }
}

// ================================================================ C, D: permessage-deflate (RFC 7692)

// Compressible payloads of exactly n bytes: JSON-like chat text (with non-ASCII) and binary
// that repeats a 256-byte pattern with a random tail.
const DEFLATE_SIZES = [16, 64, 256, 1024, 4096, 16384, 65536, 131072];
function chatText(n) {
  const unit = Buffer.from('{"user":"zoë","text":"Grüße aus Köln ✓","n":12345}\n');
  const b = Buffer.alloc(n, 0x78);
  for (let off = 0; off + unit.length <= n; off += unit.length) unit.copy(b, off);
  return b; // ASCII 'x' padding after the last whole unit: valid UTF-8
}
function patternBinary(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i & 0xff;
  binaryPayload(Math.min(32, n)).copy(b, n - Math.min(32, n));
  return b;
}

// C: a ws client with perMessageDeflate (threshold 0: every message compressed) against
// `rtwcat serve --deflate`; the extension must be negotiated and the bytes on the socket
// must be much fewer than the payloads, both ways.
async function partC() {
  const srv = await startServer(rtwcat, ['serve', '--port', '0', '--deflate', '--heartbeat', '30']);
  const base = `ws://127.0.0.1:${srv.port}`;
  try {
    const ws = connect(`${base}/deflate`, [], { perMessageDeflate: { threshold: 0 } });
    await tap.test('deflate: ws client (perMessageDeflate) negotiates permessage-deflate with rtwcat serve --deflate', async () => {
      await ws.opened;
      const h = ws.upgradeHeaders ? ws.upgradeHeaders['sec-websocket-extensions'] : undefined;
      return [ws.extensions === 'permessage-deflate' && /^permessage-deflate/.test(h || ''),
        `extensions=${JSON.stringify(ws.extensions)} header=${JSON.stringify(h)}`];
    });
    if (ws.extensions !== 'permessage-deflate') return;
    let payloadBytes = 0;
    const sock = ws._socket;
    const read0 = sock.bytesRead, written0 = sock.bytesWritten;
    for (const kind of ['text', 'binary']) {
      for (const n of DEFLATE_SIZES) {
        await tap.test(`deflate: ws client ${kind} ${n} B echoed by rtwcat serve (from 4 KiB on: under 1/4 of the bytes on the wire)`, async () => {
          const payload = kind === 'text' ? chatText(n) : patternBinary(n);
          const r0 = sock.bytesRead;
          ws.send(kind === 'text' ? payload.toString() : payload, { binary: kind === 'binary', compress: true });
          const [ok, why] = await expectEcho(ws, kind, payload);
          payloadBytes += n;
          const got = sock.bytesRead - r0;
          // large compressible messages must come back much smaller than they are
          const small = n < 4096 || got < n / 4;
          return [ok && small, `${why}; ${got} bytes read for ${n}`];
        });
      }
    }
    await tap.test('deflate: fragmented compressed text with a ping between fragments', async () => {
      ws.send('frag-one|', { fin: false, compress: true });
      ws.send('two|', { fin: false, compress: true });
      ws.ping(Buffer.from('mid'));
      ws.send('three€', { fin: true, compress: true });
      const a = await ws.next(5000, 'pong');
      const b = await ws.next(5000, 'echo');
      return [a.type === 'pong' && a.data.toString() === 'mid' && b.type === 'text' &&
        b.data.toString() === 'frag-one|two|three€', `got ${a.type}:${a.data} then ${b.type}:${b.data}`];
    });
    await tap.test('deflate: 1000 small JSON messages in a burst, all echoed in order', async () => {
      const sent = [];
      for (let i = 0; i < 1000; i++) {
        const m = JSON.stringify({ user: 'bob', text: `message number ${i} ✓`, i });
        sent.push(m);
        ws.send(m, { compress: true });
      }
      for (let i = 0; i < 1000; i++) {
        const ev = await ws.next(10000, `echo ${i}`);
        if (ev.type !== 'text' || ev.data.toString() !== sent[i]) return [false, `echo ${i}: ${ev.type} ${ev.data}`];
      }
      return [true, ''];
    });
    await tap.test('deflate: bytes on the socket much fewer than the payloads, both ways', async () => {
      const r = sock.bytesRead - read0, w = sock.bytesWritten - written0;
      return [r < payloadBytes / 3 && w < payloadBytes / 3, `payload ${payloadBytes} B, read ${r} B, written ${w} B`];
    });
    await tap.test('deflate: close 1000 after compressed traffic', async () => {
      const ev = await closeAndWait(ws, 1000, 'bye');
      return [ev.code === 1000, JSON.stringify(ev)];
    });
    // Context takeover both ways (`serve --deflate-context-takeover`; the ws client refuses
    // client_no_context_takeover when told clientNoContextTakeover: false): the answer has
    // neither *_no_context_takeover, and similar messages shrink further.
    const srv2 = await startServer(rtwcat, ['serve', '--port', '0', '--deflate-context-takeover', '--heartbeat', '30']);
    try {
      const ws2 = connect(`ws://127.0.0.1:${srv2.port}/takeover`, [], {
        perMessageDeflate: { threshold: 0, clientNoContextTakeover: false, serverNoContextTakeover: false },
      });
      await tap.test('deflate: context takeover both ways (serve --deflate-context-takeover): 20 similar messages echoed', async () => {
        await ws2.opened;
        const h = ws2.upgradeHeaders ? ws2.upgradeHeaders['sec-websocket-extensions'] : '';
        const r0 = ws2._socket.bytesRead;
        let total = 0;
        for (let i = 0; i < 20; i++) {
          const p = chatText(2000 + i);
          total += p.length;
          ws2.send(p.toString(), { compress: true });
          const [ok, why] = await expectEcho(ws2, 'text', p);
          if (!ok) return [false, why];
        }
        const rd = ws2._socket.bytesRead - r0;
        return [ws2.extensions === 'permessage-deflate' && !/no_context_takeover/.test(h || '') && rd < total / 10,
          `extensions ${ws2.extensions} header ${h}; read ${rd} B for ${total} B`];
      });
      await closeAndWait(ws2, 1000, '').catch(() => {});
    } finally {
      await srv2.stop();
    }
    // server_max_window_bits=8 (Autobahn 13.3; node crashed on it once): accepted and
    // answered 8 (RFC 7692 7.1.2.1). rtweb deflates at 9 bits, whose match distances (at most
    // 512 - 262 = 250 bytes) ws's 8-bit inflater takes; text shrinks, binary with 256-byte
    // periods (out of a 9-bit zlib's reach) and random bytes still echo exactly.
    const ws3 = connect(`${base}/bits8`, [], { perMessageDeflate: { threshold: 0, serverMaxWindowBits: 8 } });
    await tap.test('deflate: server_max_window_bits=8 accepted (answered 8), echoes compressed and inflated with an 8-bit window', async () => {
      await ws3.opened;
      const h = ws3.upgradeHeaders ? ws3.upgradeHeaders['sec-websocket-extensions'] : '';
      const r0 = ws3._socket.bytesRead;
      let total = 0;
      for (const n of [16, 300, 5000, 70000]) {
        const p = chatText(n);
        total += p.length;
        ws3.send(p.toString(), { compress: true });
        const [ok, why] = await expectEcho(ws3, 'text', p);
        if (!ok) return [false, `text ${n}: ${why}`];
      }
      const rd = ws3._socket.bytesRead - r0;
      for (const n of [1000, 70000]) {
        for (const p of [patternBinary(n), binaryPayload(n)]) {
          ws3.send(p, { compress: true });
          const [ok, why] = await expectEcho(ws3, 'binary', p);
          if (!ok) return [false, `binary ${n}: ${why}`];
        }
      }
      return [ws3.extensions === 'permessage-deflate' && /server_max_window_bits=8/.test(h || '') && rd < total / 5,
        `extensions ${JSON.stringify(ws3.extensions)} header ${h}; read ${rd} B for ${total} B of text`];
    });
    await closeAndWait(ws3, 1000, '').catch(() => {});
  } finally {
    await srv.stop();
  }
}

// D: `rtwcat ws:// --deflate` against a ws server with perMessageDeflate (threshold 0); the
// server must see the offer, negotiate, and receive compressed frames (RSV1: counted on its
// socket as far fewer bytes than the payloads).
async function partD() {
  const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
  const wss = new WebSocketServer({ server, maxPayload: 64 * MiB, perMessageDeflate: { threshold: 0 } });
  const seen = [];
  wss.on('connection', (ws, req) => {
    const rec = { req, ws, msgs: [], extensions: ws.extensions, sock: req.socket };
    seen.push(rec);
    ws.on('message', (data, isBinary) => {
      rec.msgs.push(data);
      ws.send(data, { binary: isBinary, compress: true });
    });
    ws.on('error', () => {});
  });
  const port = await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
  try {
    const lines = DEFLATE_SIZES.map((n) => chatText(n).toString().replace(/\n/g, ' '));
    const input = lines.join('\n') + '\n';
    const r = await run(rtwcat, [`ws://127.0.0.1:${port}/d`, '--deflate', '--json'], { input, timeoutMs: 30000 });
    const out = jsonLines(r.stdout);
    const rec = seen[0];
    await tap.test('deflate: rtwcat ws:// --deflate offers permessage-deflate and node ws accepts it', async () => {
      const offer = rec ? rec.req.headers['sec-websocket-extensions'] : undefined;
      return [r.code === 0 && rec && rec.extensions === 'permessage-deflate' && /^permessage-deflate/.test(offer || '') &&
        out[0] && out[0].type === 'open' && typeof out[0].deflate === 'string' && out[0].deflate.startsWith('permessage-deflate'),
      `${brief(r)} offer ${offer} server extensions ${rec && rec.extensions} open ${JSON.stringify(out[0])}`];
    });
    await tap.test(`deflate: rtwcat ws:// --deflate sent ${lines.length} messages (16 B .. 128 KiB), all echoed exactly`, async () => {
      const got = out.filter((o) => o.type === 'text').map((o) => o.data);
      const srvGot = rec ? rec.msgs.map((m) => m.toString()) : [];
      return [JSON.stringify(got) === JSON.stringify(lines) && JSON.stringify(srvGot) === JSON.stringify(lines),
        `${brief(r)} got ${got.length} echoes, server got ${srvGot.length}`];
    });
    await tap.test('deflate: rtwcat ws:// --deflate really compressed (bytes at the server far below the payloads)', async () => {
      const total = lines.reduce((a, l) => a + Buffer.byteLength(l), 0);
      const rd = rec ? rec.sock.bytesRead : -1;
      return [rec && rd > 0 && rd < total / 3, `payload ${total} B, server read ${rd} B`];
    });
    // binary lines too
    const r2 = await run(rtwcat, [`ws://127.0.0.1:${port}/d2`, '--deflate', '--binary'], { input: 'abc'.repeat(30000) + '\nxyz\n', timeoutMs: 20000 });
    await tap.test('deflate: rtwcat ws:// --deflate --binary echoed', async () =>
      [r2.code === 0 && r2.stdout.toString() === 'abc'.repeat(30000) + '\nxyz\n', brief(r2)]);
    // A ws server that limits the client to 8 bits (client_max_window_bits=8, RFC 7692
    // 7.1.2.2): rtwcat accepts the answer and deflates at 9 bits, whose distances (at most
    // 250 bytes) ws's 8-bit inflater takes; text really compressed.
    const s8 = http.createServer((req, res) => { res.writeHead(404); res.end(); });
    const wss8 = new WebSocketServer({ server: s8, perMessageDeflate: { threshold: 0, clientMaxWindowBits: 8 } });
    const seen8 = [];
    wss8.on('connection', (ws, req) => {
      const rec8 = { msgs: [], sock: req.socket };
      seen8.push(rec8);
      ws.on('message', (d, b) => { rec8.msgs.push(d); ws.send(d, { binary: b, compress: true }); });
      ws.on('error', () => {});
    });
    const port8 = await new Promise((resolve) => s8.listen(0, '127.0.0.1', () => resolve(s8.address().port)));
    try {
      const r8 = await run(rtwcat, [`ws://127.0.0.1:${port8}/c8`, '--deflate', '--json'], { input, timeoutMs: 30000 });
      const o8 = jsonLines(r8.stdout);
      const got8 = o8.filter((o) => o.type === 'text').map((o) => o.data);
      const total8 = lines.reduce((a, l) => a + Buffer.byteLength(l), 0);
      const rd8 = seen8[0] ? seen8[0].sock.bytesRead : -1;
      await tap.test('deflate: ws server answering client_max_window_bits=8: rtwcat ws:// --deflate sends compressed, all echoed', async () =>
        [r8.code === 0 && o8[0] && typeof o8[0].deflate === 'string' && /client_max_window_bits=8/.test(o8[0].deflate) &&
          JSON.stringify(got8) === JSON.stringify(lines) && seen8[0] && seen8[0].msgs.length === lines.length &&
          rd8 > 0 && rd8 < total8 / 3,
        `${brief(r8)} open ${JSON.stringify(o8[0])}; ${got8.length} echoes; server read ${rd8} B for ${total8} B`]);
    } finally {
      wss8.close();
      s8.closeAllConnections?.();
      s8.close();
    }
    // A server that does not do permessage-deflate: --deflate goes on uncompressed, and
    // --deflate-required closes 1010 with status 1.
    const plain = http.createServer((req, res) => { res.writeHead(404); res.end(); });
    const wssPlain = new WebSocketServer({ server: plain, perMessageDeflate: false });
    wssPlain.on('connection', (ws) => { ws.on('message', (d, b) => ws.send(d, { binary: b })); ws.on('error', () => {}); });
    const pport = await new Promise((resolve) => plain.listen(0, '127.0.0.1', () => resolve(plain.address().port)));
    try {
      const r3 = await run(rtwcat, [`ws://127.0.0.1:${pport}/`, '--deflate', '--json'], { input: 'hi\n', timeoutMs: 20000 });
      const o3 = jsonLines(r3.stdout);
      await tap.test('deflate: server without permessage-deflate: rtwcat --deflate works uncompressed', async () =>
        [r3.code === 0 && o3[0] && o3[0].deflate === null && o3[1] && o3[1].data === 'hi', `${brief(r3)} ${JSON.stringify(o3)}`]);
      const r4 = await run(rtwcat, [`ws://127.0.0.1:${pport}/`, '--deflate-required'], { input: 'hi\n', timeoutMs: 20000 });
      await tap.test('deflate: --deflate-required against such a server: exit 1, 1010 said', async () =>
        [r4.code === 1 && /1010/.test(r4.stderr), brief(r4)]);
    } finally {
      wssPlain.close();
      plain.closeAllConnections?.();
      plain.close();
    }
  } finally {
    wss.close();
    server.closeAllConnections?.();
    server.close();
  }
}

function recPongs(ws) {
  for (const rec of records.values()) if (rec.ws === ws) return rec.pongs.length > 0;
  return false;
}

try {
  await partA();
} catch (e) {
  tap.ok(false, 'part A (ws client -> rtwcat serve) ran to its end', e.stack);
}
try {
  await partB();
} catch (e) {
  tap.ok(false, 'part B (rtwcat ws:// -> ws server) ran to its end', e.stack);
}
try {
  await partC();
} catch (e) {
  tap.ok(false, 'part C (ws client with permessage-deflate -> rtwcat serve --deflate) ran to its end', e.stack);
}
try {
  await partD();
} catch (e) {
  tap.ok(false, 'part D (rtwcat ws:// --deflate -> ws server with permessage-deflate) ran to its end', e.stack);
}
tap.end();
process.exit(process.exitCode);

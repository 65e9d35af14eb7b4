// SPDX-License-Identifier: MIT
// TLS interoperability (rtweb-tls over mbedTLS) against node's own TLS (OpenSSL) and
// Chromium's (BoringSSL). Each run makes a throwaway CA and a leaf for localhost and
// 127.0.0.1 with the openssl CLI in a temporary directory, then:
//   A. npm `ws` over wss, trusting only that CA, against `rtwcat serve --tls-cert --tls-key`:
//      handshake (TLS version, ALPN), text echo, a 4 MiB binary echo, close 1000; a client
//      that does not trust the CA fails its handshake;
//   B. npm `ws` over wss against rtweb-chat --tls-cert: a chat message between two sockets;
//   C. `rtwcat wss://127.0.0.1:PORT/ --cacert CA` against node's https.createServer + a `ws`
//      WebSocketServer: lines echoed, close 1000; without --cacert the handshake is refused
//      (exit 1, the verification reason on stderr); --insecure connects;
//   D. `rtwcat https://127.0.0.1:PORT/events --cacert CA` against a node https SSE server:
//      the events, in order;
//   E. headless Chromium (playwright-core, /usr/bin/chromium, --ignore-certificate-errors)
//      on the chat demo over https: the page loads from https, its EventSource (https) and
//      WebSocket (wss) open, a chat message makes the round trip and shows in the feed.
// Prints TAP. Environment: RTWCAT, RTWEB_CHAT.
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Tap, here, importDep, exe, skipAll, watchdog, run, startServer, within, until,
  sameBytes, describe, binaryPayload, textPayload,
} from './lib/harness.mjs';

const { WebSocket, WebSocketServer } = await importDep('ws');
const rtwcat = exe('RTWCAT', 'rtwcat');
const chat = exe('RTWEB_CHAT', 'rtweb-chat');
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' });
} catch {
  skipAll('the openssl CLI is not installed');
}
const tap = new Tap();
watchdog(170, tap);

const HTTPS_LISTENING = /listening on https:\/\/([0-9.]+):(\d+)\//;
const CHAT_HTTPS = /rtweb-chat: open https:\/\/([0-9.]+):(\d+)\/ in a browser/;
const CHROMIUM = '/usr/bin/chromium';
const MiB = 1 << 20;

// ---------------------------------------------------------------- certificates
const tmp = mkdtempSync(join(tmpdir(), 'rtweb-tls-interop-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const ossl = (...args) => execFileSync('openssl', args, { cwd: tmp, stdio: 'ignore' });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
ossl('req', '-x509', ...EC, '-days', '2', '-subj', '/CN=rtweb interop CA', '-keyout', 'ca.key', '-out', 'ca.pem');
ossl('req', ...EC, '-subj', '/CN=localhost', '-keyout', 'leaf.key', '-out', 'leaf.csr');
writeFileSync(join(tmp, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
ossl('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
  '-days', '2', '-extfile', 'ext.cnf', '-out', 'leaf.pem');
const CA = join(tmp, 'ca.pem'), CERT = join(tmp, 'leaf.pem'), KEY = join(tmp, 'leaf.key');
const ca = readFileSync(CA), cert = readFileSync(CERT), key = readFileSync(KEY);

// A ws client over wss whose events queue up, so that a test awaits them in order.
function connect(url, options = {}) {
  const ws = new WebSocket(url, { ca, family: 4, maxPayload: 64 * MiB, ...options });
  const events = [], waiters = [];
  const push = (ev) => { if (waiters.length) waiters.shift()(ev); else events.push(ev); };
  ws.on('message', (data, isBinary) => push({ type: isBinary ? 'binary' : 'text', data }));
  ws.on('close', (code, reason) => push({ type: 'close', code, reason: reason.toString() }));
  ws.on('error', (err) => push({ type: 'error', err }));
  ws.next = (ms = 10000, what = 'an event') => within(ms, new Promise((resolve) => {
    if (events.length) resolve(events.shift()); else waiters.push(resolve);
  }), what);
  ws.opened = within(10000, new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  }), 'open');
  return ws;
}

async function closeAndWait(ws, code) {
  ws.close(code);
  for (;;) {
    const ev = await ws.next(6000, 'close');
    if (ev.type === 'close') return ev;
    if (ev.type === 'error') throw ev.err;
  }
}

const brief = (r) => `exit ${r.code}${r.signal ? ' signal ' + r.signal : ''}${r.timedOut ? ' (timed out)' : ''}; stderr: ${r.stderr.slice(0, 400)}`;

// ================================================================ A: ws -> rtwcat serve (wss)
async function partA() {
  const srv = await startServer(rtwcat, ['serve', '--port', '0', '--tls-cert', CERT, '--tls-key', KEY],
    { pattern: HTTPS_LISTENING });
  try {
    const ws = connect(`wss://localhost:${srv.port}/echo`, { ALPNProtocols: ['h2', 'http/1.1'] });
    await tap.test('ws over wss -> rtwcat serve: TLS handshake verified against the CA, ALPN http/1.1 of h2, http/1.1', async () => {
      await ws.opened;
      const sock = ws._socket;
      return [sock.authorized === true && /^TLSv1\.[23]$/.test(sock.getProtocol()) && sock.alpnProtocol === 'http/1.1',
        `authorized ${sock.authorized} protocol ${sock.getProtocol()} alpn ${sock.alpnProtocol} cipher ${JSON.stringify(sock.getCipher())}`];
    });
    await tap.test('ws over wss -> rtwcat serve: text echo', async () => {
      const t = textPayload(1000);
      ws.send(t);
      const ev = await ws.next(10000, 'text echo');
      return [ev.type === 'text' && sameBytes(ev.data, Buffer.from(t)), JSON.stringify({ type: ev.type, len: ev.data && ev.data.length })];
    });
    await tap.test('ws over wss -> rtwcat serve: a 4 MiB binary message echoed (many TLS records)', async () => {
      const b = binaryPayload(4 * MiB);
      ws.send(b, { binary: true });
      const ev = await ws.next(30000, '4 MiB echo');
      return [ev.type === 'binary' && sameBytes(ev.data, b), `sent ${describe(b)}; got ${ev.type} ${ev.data ? describe(ev.data) : ''}`];
    });
    await tap.test('ws over wss -> rtwcat serve: close 1000 answered', async () => {
      const ev = await closeAndWait(ws, 1000);
      return [ev.code === 1000, JSON.stringify(ev)];
    });
    await tap.test('ws over wss: a client that does not trust the CA fails the handshake', async () => {
      const bad = connect(`wss://localhost:${srv.port}/echo`, { ca: undefined });
      const err = await bad.opened.then(() => null, (e) => e);
      if (!err) bad.terminate();
      return [err !== null && /UNABLE_TO_|SELF_SIGNED|certificate/i.test(String(err.code || err.message)),
        String(err && (err.code || err.message))];
    });
    await tap.test('rtwcat serve: still serves after the refused handshake (a second wss echo)', async () => {
      const ws2 = connect(`wss://localhost:${srv.port}/echo`);
      await ws2.opened;
      ws2.send('again');
      const ev = await ws2.next(10000, 'echo');
      await closeAndWait(ws2, 1000);
      return [ev.type === 'text' && ev.data.toString() === 'again', JSON.stringify(ev.type)];
    });
  } finally {
    await srv.stop();
  }
}

// ================================================================ B: ws -> rtweb-chat (wss)
async function partB() {
  const srv = await startServer(chat, ['--port', '0', '--tls-cert', CERT, '--tls-key', KEY],
    { pattern: CHAT_HTTPS });
  try {
    await tap.test('ws over wss -> rtweb-chat: a message between two chat sockets', async () => {
      const url = `wss://localhost:${srv.port}/chat`;
      const a = connect(url), b = connect(url);
      await a.opened;
      await b.opened;
      a.send(JSON.stringify({ name: 'node', text: 'over wss' }));
      const ma = JSON.parse((await a.next(10000, 'a copy')).data.toString());
      const mb = JSON.parse((await b.next(10000, 'b copy')).data.toString());
      const ca1 = await closeAndWait(a, 1000), cb = await closeAndWait(b, 1000);
      return [ma.mine === true && ma.text === 'over wss' && mb.text === 'over wss' && !('mine' in mb) &&
        ca1.code === 1000 && cb.code === 1000, JSON.stringify({ ma, mb, ca1, cb })];
    });
  } finally {
    const st = await srv.stop();
    tap.ok(st.code === 0, 'rtweb-chat over TLS exits 0 on SIGTERM', JSON.stringify(st));
  }
}

// ================================================================ C: rtwcat wss:// -> node https + ws
async function partC() {
  const server = https.createServer({ cert, key, ALPNProtocols: ['http/1.1'] }, (req, res) => { res.writeHead(404); res.end(); });
  const wss = new WebSocketServer({ server });
  const seen = [];
  wss.on('connection', (ws, req) => {
    const rec = { alpn: req.socket.alpnProtocol, servername: req.socket.servername, msgs: [], close: null };
    seen.push(rec);
    ws.on('message', (data, isBinary) => { rec.msgs.push(data.toString()); ws.send(data, { binary: isBinary }); });
    ws.on('close', (code) => { rec.close = code; });
    ws.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `wss://127.0.0.1:${server.address().port}/echo`;
  try {
    await tap.test('rtwcat wss:// --cacert -> node https + ws: lines echoed, close 1000', async () => {
      const r = await run(rtwcat, [url, '--cacert', CA], { input: 'hello\nwörld\n', timeoutMs: 15000 });
      await until(() => seen.length && seen[seen.length - 1].close !== null, 5000, 'server close').catch(() => {});
      const rec = seen[seen.length - 1] || {};
      return [r.code === 0 && r.stdout.toString() === 'hello\nwörld\n' &&
        JSON.stringify(rec.msgs) === JSON.stringify(['hello', 'wörld']) && rec.close === 1000,
      `${brief(r)}\nstdout ${JSON.stringify(r.stdout.toString())} server ${JSON.stringify(rec)}`];
    });
    await tap.test('rtwcat wss:// -> node: a 1 MiB line echoed', async () => {
      const line = 'z'.repeat(MiB);
      const r = await run(rtwcat, [url, '--cacert', CA, '--max-message', String(2 * MiB)], { input: line + '\n', timeoutMs: 20000 });
      return [r.code === 0 && r.stdout.toString() === line + '\n', `${brief(r)} stdout ${r.stdout.length} bytes`];
    });
    await tap.test('rtwcat wss:// without --cacert: the unknown CA is refused (exit 1, reason on stderr)', async () => {
      const n = seen.length;
      const r = await run(rtwcat, [url], { input: 'x\n', timeoutMs: 15000 });
      return [r.code === 1 && seen.length === n && /verif|certificate|CA/i.test(r.stderr), brief(r)];
    });
    await tap.test('rtwcat wss:// --insecure: connects without verifying, echo works', async () => {
      const r = await run(rtwcat, [url, '--insecure'], { input: 'insecure\n', timeoutMs: 15000 });
      return [r.code === 0 && r.stdout.toString() === 'insecure\n', brief(r)];
    });
    await tap.test('rtwcat wss:// offers ALPN http/1.1 (node saw it)', async () => {
      const rec = seen[0] || {};
      return [rec.alpn === 'http/1.1', `alpn ${rec.alpn}`];
    });
  } finally {
    wss.close();
    server.closeAllConnections?.();
    await new Promise((r) => server.close(r));
  }
}

// ================================================================ D: rtwcat https:// -> node SSE
async function partD() {
  const server = https.createServer({ cert, key }, (req, res) => {
    if (!req.url.startsWith('/events')) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.write(': hello\n\n');
    let i = 0;
    const t = setInterval(() => {
      i += 1;
      res.write(`id: ${i}\nevent: tick\ndata: ${'€'.repeat(i)} ${i}\n\n`);
      if (i === 3) { clearInterval(t); res.end(); }
    }, 20);
    req.on('close', () => clearInterval(t));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${server.address().port}/events`;
  try {
    await tap.test('rtwcat https:// --cacert -> node https SSE server: three events in order', async () => {
      const r = await run(rtwcat, [url, '--cacert', CA, '--max-events', '3'], { timeoutMs: 15000 });
      const evs = r.stdout.toString().split('\n').filter((l) => l).map((l) => { try { return JSON.parse(l); } catch { return { raw: l }; } })
        .filter((o) => 'event' in o);
      const want = [1, 2, 3].map((i) => ({ event: 'tick', data: `${'€'.repeat(i)} ${i}`, id: String(i) }));
      return [r.code === 0 && JSON.stringify(evs) === JSON.stringify(want), `${brief(r)}\nstdout ${r.stdout.toString().slice(0, 500)}`];
    });
    await tap.test('rtwcat https:// without --cacert: refused, exit 1', async () => {
      const r = await run(rtwcat, [url, '--max-events', '1', '--max-reconnects', '0'], { timeoutMs: 15000 });
      return [r.code !== 0 && !r.timedOut && /verif|certificate|CA/i.test(r.stderr), brief(r)];
    });
  } finally {
    server.closeAllConnections?.();
    await new Promise((r) => server.close(r));
  }
}

// ================================================================ E: Chromium -> rtweb-chat (https)
async function partE() {
  if (!existsSync(CHROMIUM)) { tap.skip('chromium on the chat demo over https', `${CHROMIUM} not installed`); return; }
  if (!existsSync(join(here, 'node_modules', 'playwright-core'))) {
    tap.skip('chromium on the chat demo over https', 'playwright-core not installed'); return;
  }
  const { chromium } = await import('playwright-core');
  const srv = await startServer(chat, ['--port', '0', '--tls-cert', CERT, '--tls-key', KEY], { pattern: CHAT_HTTPS });
  let browser = null;
  const T = 15000;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--ignore-certificate-errors', '--disable-background-networking', '--disable-component-update'],
    });
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    const urls = [];
    const open = async () => {
      const page = await ctx.newPage();
      page.on('request', (r) => urls.push(r.url()));
      page.on('websocket', (w) => urls.push(w.url()));
      const resp = await page.goto(`https://127.0.0.1:${srv.port}/`, { timeout: T });
      return { page, status: resp && resp.status() };
    };
    const A = await open();
    const B = await open();
    const waitOpen = (p) => p.waitForFunction(() => document.getElementById('sse-state').textContent === 'open' &&
      document.getElementById('ws-state').textContent === 'open', null, { timeout: T });
    await tap.test('chromium: the chat page loads over https; EventSource and WebSocket open', async () => {
      await waitOpen(A.page);
      await waitOpen(B.page);
      const proto = await A.page.evaluate(() => location.protocol);
      return [A.status === 200 && proto === 'https:', `status ${A.status} protocol ${proto}`];
    });
    await tap.test('chromium: the page used wss:// for /chat and https:// for /events', async () => {
      const ws = urls.filter((u) => u.endsWith('/chat'));
      const ev = urls.filter((u) => new URL(u).pathname === '/events');
      return [ws.length >= 2 && ws.every((u) => u.startsWith('wss://')) && ev.length >= 2 && ev.every((u) => u.startsWith('https://')),
        JSON.stringify(urls)];
    });
    await tap.test('chromium: a chat message from page A reaches page B over wss', async () => {
      await A.page.fill('#name', 'tls');
      await A.page.fill('#text', 'hello over wss');
      await A.page.press('#text', 'Enter');
      await B.page.waitForFunction(() => [...document.querySelectorAll('#messages li .bubble')]
        .some((e) => e.textContent === 'hello over wss'), null, { timeout: T });
      return true;
    });
    await tap.test('chromium: the feed over https shows the joins and the message', async () => {
      await B.page.waitForFunction(() => document.querySelectorAll('#feed li[data-event="message"]').length >= 1, null, { timeout: T });
      const evs = await B.page.$$eval('#feed li', (lis) => lis.map((li) => li.dataset.event));
      return [evs.filter((e) => e === 'join').length >= 2 && evs.includes('message'), JSON.stringify(evs)];
    });
    if (process.env.RTW_INTEROP_OUT) {
      await A.page.screenshot({ path: join(process.env.RTW_INTEROP_OUT, 'interop-chat-tls.png') }).catch(() => {});
    }
  } finally {
    if (browser) await browser.close().catch(() => {});
    await srv.stop();
  }
}

try {
  await partA();
  await partB();
  await partC();
  await partD();
  await partE();
} catch (e) {
  tap.ok(false, 'driver ran to the end', e && e.stack ? e.stack : String(e));
}
tap.end();
process.exit();

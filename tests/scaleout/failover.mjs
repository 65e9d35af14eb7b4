// SPDX-License-Identifier: MIT
// Failover behind nginx in a real browser (issue 16): redis-server, four rtweb-chat nodes
// sharing one log (--redis) and nginx in front (tools/nginx/rtweb-cluster.conf.in), all on
// free 127.0.0.1 ports, started and stopped here. Debian's chromium (headless, driven by npm
// playwright-core from tests/interop's lockfile, never a download) opens two pages:
//   steady    its EventSource and WebSocket, never disconnected;
//   failover  its EventSource and WebSocket on other nodes (nginx's least_conn puts a page's
//             two connections on two nodes), which are then killed with SIGKILL.
// Which node serves a connection is read from nginx's X-Rtweb-Upstream response header
// (CDP: Network.responseReceived for the EventSource, webSocketHandshakeResponseReceived for
// the WebSocket); pages are reopened until they sit where the test needs them. Every feed
// event each EventSource receives is recorded through CDP (eventSourceMessageReceived),
// before the page's own de-duplication. Checks: chat lines cross nodes; after the kill the
// failover page's EventSource and WebSocket reconnect to live nodes; its feed equals the
// steady page's event by event (id, type, data) over their common span, lines sent during
// the outage included, nothing twice; its WebSocket receives the lines sent during the
// outage (the page reconnects with /chat?after=ID) and after it, each once, and the steady
// page receives the failover page's own line.
// Prints TAP. Environment: RTWEB_CHAT, RTW_SOURCE_ROOT.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  Tap, importDep, exe, skipAll, watchdog, startServer, track, CHAT_LISTENING, sleep, until,
} from '../interop/lib/harness.mjs';

const CHROMIUM = '/usr/bin/chromium';
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const root = process.env.RTW_SOURCE_ROOT || new URL('../..', import.meta.url).pathname;
const chat = exe('RTWEB_CHAT', 'rtweb-chat');
const which = (p) => { try { return execFileSync('sh', ['-c', `command -v ${p}`]).toString().trim(); } catch { return ''; } };
const REDIS = which('redis-server');
if (!existsSync(CHROMIUM)) skipAll(`${CHROMIUM} not installed (apt-get install chromium)`);
if (!NGINX) skipAll('nginx not installed (apt-get install nginx-light)');
if (!REDIS) skipAll('redis-server not installed (apt-get install redis-server)');
if (!execFileSync(chat, ['--help']).toString().includes('--redis')) skipAll('this rtweb-chat has no --redis');
const { chromium } = await importDep('playwright-core');

const tap = new Tap();
watchdog(85, tap);
const tmp = mkdtempSync(join(tmpdir(), 'rtw-failover-'));
const T = 15000;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function redisPing(port) {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.on('error', () => resolve(false));
    c.on('connect', () => c.write('PING\r\n'));
    c.on('data', (d) => { c.destroy(); resolve(d.toString().startsWith('+PONG')); });
  });
}

async function httpOk(url) {
  try { return (await fetch(url)).ok; } catch { return false; }
}

const header = (headers, name) => {
  for (const [k, v] of Object.entries(headers || {})) if (k.toLowerCase() === name) return v;
  return undefined;
};

const procs = [];
const nodes = [];
let context = null;
try {
  // ---------------------------------------------------------------- the cluster
  const redisPort = await freePort();
  procs.push(track(REDIS, ['--bind', '127.0.0.1', '--port', String(redisPort), '--save', '',
    '--appendonly', 'no', '--dir', tmp]));
  await until(() => redisPing(redisPort), 10000, 'redis-server answers PING');
  for (let i = 0; i < 4; i++) {
    nodes.push(await startServer(chat, ['--port', '0', '--redis', `127.0.0.1:${redisPort}`,
      '--max-conns-per-addr', '100000', '--max-http-per-addr', '100000', '--join-rate', '0'],
    { pattern: CHAT_LISTENING }));
  }
  // $upstream_addr lists every node tried ("A, B" after A failed): the last one answered
  const nodeOf = (addrs) => {
    const addr = String(addrs || '').split(',').pop().trim();
    return nodes.findIndex((n) => addr === `127.0.0.1:${n.port}`);
  };
  writeFileSync(join(tmp, 'upstreams.conf'), nodes.map((n) => `server 127.0.0.1:${n.port};\n`).join(''));
  const port = await freePort();
  const conf = readFileSync(join(root, 'tools/nginx/rtweb-cluster.conf.in'), 'utf8')
    .replaceAll('@DIR@', tmp).replaceAll('@PORT@', String(port));
  writeFileSync(join(tmp, 'nginx.conf'), conf);
  const nginx = track(NGINX, ['-p', tmp, '-c', join(tmp, 'nginx.conf'), '-e', join(tmp, 'error.log'),
    '-g', `daemon off; pid ${join(tmp, 'nginx.pid')};`]);
  procs.push(nginx);
  const base = `http://127.0.0.1:${port}/`;
  await tap.test('cluster: redis-server, 4 nodes with --redis and nginx in front', async () => {
    await until(() => httpOk(base), 10000, 'nginx answers');
    return [true, `nodes ${nodes.map((n) => n.port)}, nginx ${port}`];
  });

  context = await chromium.launchPersistentContext(join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });

  // A page with its connections recorded through CDP.
  async function openPage(label) {
    const page = await context.newPage();
    const rec = { label, page, sse: [], sseNodes: [], wsNodes: [], wsText: [] };
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    cdp.on('Network.responseReceived', (e) => {
      if (new URL(e.response.url).pathname === '/events') rec.sseNodes.push(nodeOf(header(e.response.headers, 'x-rtweb-upstream')));
    });
    cdp.on('Network.webSocketHandshakeResponseReceived', (e) => rec.wsNodes.push(nodeOf(header(e.response.headers, 'x-rtweb-upstream'))));
    cdp.on('Network.webSocketFrameReceived', (e) => rec.wsText.push(e.response.payloadData));
    cdp.on('Network.eventSourceMessageReceived', (e) => rec.sse.push({ id: e.eventId, type: e.eventName, data: e.data }));
    page.on('pageerror', (e) => tap.diag(`${label} page error: ${e.message}`));
    await page.goto(base, { timeout: T });
    await page.waitForFunction(() => document.getElementById('sse-state').textContent === 'open' &&
      document.getElementById('ws-state').textContent === 'open', null, { timeout: T });
    await until(() => rec.sseNodes.length > 0 && rec.wsNodes.length > 0, T, `${label}: upstream headers`);
    return rec;
  }

  // Reopen until neither of the page's connections is on a node in `avoid`.
  async function place(label, avoid) {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const rec = await openPage(label);
      const mine = [rec.sseNodes[0], rec.wsNodes[0]];
      if (mine.every((n) => n >= 0 && !avoid.includes(n))) return [rec, attempt];
      await rec.page.close();
    }
    return [null, 10];
  }

  const [steady, sTries] = await place('steady', []);
  tap.ok(steady !== null, 'steady page: EventSource and WebSocket on known nodes', `${sTries} attempts`);
  const [fail, fTries] = await place('failover', [steady.sseNodes[0], steady.wsNodes[0]]);
  tap.ok(fail !== null, 'failover page: EventSource and WebSocket on other nodes', `${fTries} attempts`);
  const dead = [...new Set([fail.sseNodes[0], fail.wsNodes[0]])];
  tap.diag(`steady on nodes ${steady.sseNodes[0]} (feed), ${steady.wsNodes[0]} (chat); failover on ${fail.sseNodes[0]} (feed), ${fail.wsNodes[0]} (chat): those are killed`);

  const say = async (rec, text) => {
    await rec.page.fill('#text', text);
    await rec.page.press('#text', 'Enter');
  };
  const fed = (rec, text) => rec.sse.some((e) => e.type === 'message' && e.data.includes(text));
  const heard = (rec, text) => rec.wsText.some((t) => t.includes(text));

  for (let i = 0; i < 3; i++) await say(steady, `before-${i}`);
  await tap.test('before the outage: lines from the steady page reach the failover page (WebSocket and feed, across nodes)', async () => {
    await until(() => heard(fail, 'before-2') && fed(fail, 'before-2'), T, 'before-2 on the failover page');
    return true;
  });

  // ---------------------------------------------------------------- kill -9
  for (const d of dead) nodes[d].child.kill('SIGKILL');
  await Promise.all(dead.map((d) => nodes[d].child.done));
  for (let i = 0; i < 3; i++) await say(steady, `during-${i}`);
  await tap.test('after kill -9: the failover page\'s EventSource resumes on a live node', async () => {
    await until(() => fail.sseNodes.length >= 2, T, 'a second /events response');
    const n = fail.sseNodes[fail.sseNodes.length - 1];
    return [n >= 0 && !dead.includes(n), `EventSource nodes ${fail.sseNodes}`];
  });
  await tap.test('after kill -9: the failover page\'s WebSocket reconnects to a live node', async () => {
    await until(() => fail.wsNodes.length >= 2, T, 'a second WebSocket handshake');
    const n = fail.wsNodes[fail.wsNodes.length - 1];
    return [n >= 0 && !dead.includes(n), `WebSocket nodes ${fail.wsNodes}`];
  });
  await fail.page.waitForFunction(() => document.getElementById('ws-state').textContent === 'open', null, { timeout: T });
  for (let i = 0; i < 3; i++) await say(steady, `after-${i}`);
  await say(fail, 'from-failover');
  await until(() => fed(fail, 'from-failover') && fed(steady, 'from-failover'), T, 'the last line in both feeds');

  await tap.test('the failover page\'s feed equals the steady page\'s, event by event (lines sent during the outage included)', async () => {
    // the log's events, what the page shows (status events are each node's own word on the
    // log, and carry the last id so that the browser's Last-Event-ID stays)
    const logged = (e) => e.id && ['join', 'leave', 'message'].includes(e.type);
    const a = steady.sse.filter(logged);
    const b = fail.sse.filter(logged);
    const resets = fail.sse.filter((e) => e.type === 'reset').length;
    // the common span: from the later of the two first events to the last line
    let i = 0, j = 0;
    const ja = b.findIndex((e) => e.id === a[0].id);
    if (ja >= 0) j = ja; else i = a.findIndex((e) => e.id === b[0].id);
    if (i < 0) return [false, `no common event: steady starts ${a[0].id}, failover ${b[0].id}`];
    const sa = a.slice(i), sb = b.slice(j);
    const key = (e) => `${e.id} ${e.type} ${e.data}`;
    const dupes = b.length - new Set(b.map((e) => e.id)).size;
    const same = sa.length === sb.length && sa.every((e, k) => key(e) === key(sb[k]));
    const during = ['during-0', 'during-1', 'during-2'].every((t) => sb.some((e) => e.data.includes(t)));
    let firstDiff = '';
    if (!same) {
      const k = sa.findIndex((e, x) => !sb[x] || key(e) !== key(sb[x]));
      firstDiff = `first difference at ${k}: steady ${sa[k] && key(sa[k])} / failover ${sb[k] && key(sb[k])}`;
    }
    tap.diag(`${sa.length} events compared, ${b.length} log events on the failover page`);
    return [same && dupes === 0 && during && resets === 0,
      `${sa.length} vs ${sb.length} events compared, ${dupes} duplicates, ${resets} resets, during lines ${during}; ${firstDiff}`];
  });
  await tap.test('the failover page\'s WebSocket receives the lines sent after the outage', async () => {
    await until(() => heard(fail, 'after-2'), T, 'after-2 on the failover WebSocket');
    return ['after-0', 'after-1', 'after-2'].every((t) => heard(fail, t));
  });
  await tap.test('the failover page\'s WebSocket receives the lines sent during the outage (/chat?after=), each once', async () => {
    await until(() => heard(fail, 'during-2'), T, 'during-2 on the failover WebSocket');
    const count = (t) => fail.wsText.filter((x) => x.includes(`"${t}"`)).length;
    const all = ['before-0', 'before-1', 'before-2', 'during-0', 'during-1', 'during-2', 'after-0', 'after-1', 'after-2'];
    return [all.every((t) => count(t) === 1), all.map((t) => `${t}:${count(t)}`).join(' ')];
  });
  await tap.test('the steady page\'s WebSocket receives the failover page\'s line', async () => {
    await until(() => heard(steady, 'from-failover'), T, 'from-failover on the steady WebSocket');
    return true;
  });
  tap.ok(steady.sseNodes.length === 1 && steady.wsNodes.length === 1,
    'the steady page never reconnected', `EventSource ${steady.sseNodes}, WebSocket ${steady.wsNodes}`);
} catch (e) {
  tap.ok(false, 'failover scenario ran to its end', e && e.stack ? e.stack : String(e));
} finally {
  if (context) await context.close().catch(() => {});
  const alive = nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
  const st = await Promise.all(alive.map((n) => n.stop()));
  tap.ok(alive.length > 0 && st.every((x) => x.code === 0), 'the surviving nodes exit with status 0 on SIGTERM',
    st.map((x, k) => `${x.code}/${x.signal}: ${alive[k].stderr().split('\n').slice(-5).join(' | ')}`).join('\n'));
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => Promise.race([p.done, sleep(3000)])));
  rmSync(tmp, { recursive: true, force: true });
  tap.end();
}

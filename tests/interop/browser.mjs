// SPDX-License-Identifier: MIT
// The chat demo in a real browser: Debian's chromium (headless), driven by npm playwright-core
// (no browser download). Two pages load rtweb-chat; their EventSource receives the activity
// feed and they chat over WebSocket, compressed: chromium's permessage-deflate offer must be
// accepted (the page's socket reports it in `extensions`; RFC 7692).
// Then the server is stopped and restarted on the same port with the same --feed-file while
// a node `ws` client chats, and the pages must resume from Last-Event-ID with every feed
// event exactly once: their #feed ids are exactly 1..N. Screenshots go to $RTW_INTEROP_OUT.
// Prints TAP. Environment: RTWEB_CHAT = path to the built rtweb-chat.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Tap, importDep, exe, skipAll, watchdog, startServer, CHAT_LISTENING, within, sleep, until,
} from './lib/harness.mjs';

const CHROMIUM = '/usr/bin/chromium';
const chat = exe('RTWEB_CHAT', 'rtweb-chat');
if (!existsSync(CHROMIUM)) skipAll(`${CHROMIUM} not installed (apt-get install chromium)`);
const { chromium } = await importDep('playwright-core');
const { WebSocket } = await importDep('ws');

const tap = new Tap();
watchdog(180, tap);
const outDir = process.env.RTW_INTEROP_OUT || tmpdir();
const tmp = mkdtempSync(join(tmpdir(), 'rtw-browser-'));
const feedFile = join(tmp, 'feed.log');
const T = 15000; // per wait

// Records, in every page, each feed event any EventSource receives (before the page's own
// de-duplication) and the URL of each EventSource the page creates.
function instrument() {
  const Native = window.EventSource;
  window.__sse = [];
  window.__sseUrls = [];
  function Recording(url, init) {
    const s = new Native(url, init);
    window.__sseUrls.push(String(url));
    for (const t of ['join', 'leave', 'message']) s.addEventListener(t, (e) => window.__sse.push([e.lastEventId, t]));
    return s;
  }
  Recording.prototype = Native.prototype;
  Recording.CONNECTING = 0;
  Recording.OPEN = 1;
  Recording.CLOSED = 2;
  window.EventSource = Recording;
  // every WebSocket the page opens, to read its negotiated `extensions`
  const NativeWs = window.WebSocket;
  window.__ws = [];
  window.WebSocket = class extends NativeWs {
    constructor(...args) {
      super(...args);
      window.__ws.push(this);
    }
  };
}

// The feed file (examples/chat/feed.c: `id TAB type TAB data` per line): the server's record.
function feedFileIds() {
  if (!existsSync(feedFile)) return [];
  return readFileSync(feedFile, 'utf8').split('\n').filter((l) => l).map((l) => Number(l.split('\t')[0]));
}

const feedIds = (page) => page.$$eval('#feed li', (lis) => lis.map((li) => Number(li.getAttribute('data-id'))));
const messages = (page) => page.$$eval('#messages li .bubble', (els) => els.map((e) => e.textContent));
const state = (page, id) => page.textContent(id);
const isRange = (ids, n) => ids.length === n && ids.every((v, i) => v === i + 1);

async function waitOpen(page) {
  await page.waitForFunction(() => document.getElementById('sse-state').textContent === 'open' &&
    document.getElementById('ws-state').textContent === 'open', null, { timeout: T });
}

async function startChat(port) {
  // The old listener's port is reused at once; retry briefly in case bind() is refused.
  for (let attempt = 0; ; attempt++) {
    try {
      return await startServer(chat, ['--port', String(port), '--feed-file', feedFile], { pattern: CHAT_LISTENING });
    } catch (e) {
      if (port === 0 || attempt >= 10) throw e;
      await sleep(300);
    }
  }
}

let server = null;
let context = null;
try {
  server = await startChat(0);
  const port = server.port;
  const base = `http://127.0.0.1:${port}/`;
  context = await chromium.launchPersistentContext(join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 720 },
  });
  await context.addInitScript(instrument);

  // WebSocket handshakes as chromium sent and received them (CDP), per page.
  async function openPage(label) {
    const page = await context.newPage();
    const hs = { requests: [], responses: [], sse: [], label };
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    cdp.on('Network.webSocketWillSendHandshakeRequest', (e) => hs.requests.push(e.request.headers));
    cdp.on('Network.webSocketHandshakeResponseReceived', (e) => hs.responses.push(e.response));
    page.on('request', async (r) => {
      if (new URL(r.url()).pathname === '/events') hs.sse.push({ url: r.url(), headers: await r.allHeaders().catch(() => ({})) });
    });
    page.on('pageerror', (e) => tap.diag(`${label} page error: ${e.message}`));
    await page.goto(base, { timeout: T });
    return { page, hs };
  }

  const A = await openPage('A');
  await tap.test('chromium: page A loads, EventSource and WebSocket open', async () => {
    await waitOpen(A.page);
    return [(await A.page.title()).length > 0, `title ${await A.page.title()}`];
  });
  const B = await openPage('B');
  await tap.test('chromium: page B loads, EventSource and WebSocket open', async () => {
    await waitOpen(B.page);
    return true;
  });
  await tap.test('chromium: EventSource receives the feed (join events 1 and 2 on page A)', async () => {
    await A.page.waitForFunction(() => document.querySelectorAll('#feed li').length >= 2, null, { timeout: T });
    const ev = await A.page.$$eval('#feed li', (lis) => lis.map((li) => `${li.dataset.id}:${li.dataset.event}`));
    return [ev.join(',') === '1:join,2:join', `feed ${ev}`];
  });

  await tap.test('chromium: two pages chat over WebSocket (Enter in A, #send in B)', async () => {
    await A.page.fill('#text', 'hello from A');
    await A.page.press('#text', 'Enter');
    await B.page.waitForFunction(() => document.querySelectorAll('#messages li').length >= 1, null, { timeout: T });
    await B.page.fill('#text', 'hi A, B here – ü');
    await B.page.click('#send');
    const want = ['hello from A', 'hi A, B here – ü'];
    for (const p of [A.page, B.page]) {
      await p.waitForFunction(() => document.querySelectorAll('#messages li').length >= 2, null, { timeout: T });
    }
    const [ma, mb] = [await messages(A.page), await messages(B.page)];
    return [JSON.stringify(ma) === JSON.stringify(want) && JSON.stringify(mb) === JSON.stringify(want),
      `A ${JSON.stringify(ma)} B ${JSON.stringify(mb)}`];
  });
  await tap.test('chromium: the chat messages appear in the feed as message events', async () => {
    await A.page.waitForFunction(() => document.querySelectorAll('#feed li[data-event="message"]').length >= 2, null, { timeout: T });
    const ids = await feedIds(A.page);
    return [isRange(ids, 4), `ids ${ids}`];
  });

  await tap.test('chromium: "mine" is what the server says, not the name (both pages named alike)', async () => {
    for (const p of [A.page, B.page]) await p.fill('#name', 'Same Name');
    await A.page.fill('#text', 'whose is this?');
    await A.page.press('#text', 'Enter');
    for (const p of [A.page, B.page]) {
      await p.waitForFunction(() => document.querySelectorAll('#messages li').length >= 3, null, { timeout: T });
    }
    const mine = (p) => p.$$eval('#messages li', (lis) => lis.map((li) => li.classList.contains('mine')));
    const [ma, mb] = [await mine(A.page), await mine(B.page)];
    return [JSON.stringify(ma) === '[true,false,true]' && JSON.stringify(mb) === '[false,true,false]',
      `A ${JSON.stringify(ma)} B ${JSON.stringify(mb)}`];
  });

  await tap.test('chromium: a name with U+202E is refused: the page shows why, nobody sees it', async () => {
    await A.page.fill('#name', '\u202Eevil');
    await A.page.fill('#text', 'reversed?');
    await A.page.press('#text', 'Enter');
    await A.page.waitForFunction(() => /U\+202E/.test(document.getElementById('hint').textContent), null, { timeout: T });
    await A.page.fill('#name', 'Same Name');
    await A.page.fill('#text', 'after the refusal');
    await A.page.press('#text', 'Enter');
    await B.page.waitForFunction(() => document.querySelectorAll('#messages li').length >= 4, null, { timeout: T });
    const mb = await messages(B.page);
    return [mb[3] === 'after the refusal' && !mb.includes('reversed?'), `B ${JSON.stringify(mb)}`];
  });

  await tap.test('chromium offers permessage-deflate; rtweb-chat accepts it (Sec-WebSocket-Extensions answered)', async () => {
    const req = A.hs.requests[0] || {};
    const res = A.hs.responses[0] || { headers: {} };
    const offered = Object.entries(req).some(([k, v]) => k.toLowerCase() === 'sec-websocket-extensions' && /permessage-deflate/.test(v));
    const answer = Object.entries(res.headers).find(([k]) => k.toLowerCase() === 'sec-websocket-extensions');
    return [offered && res.status === 101 && answer && /^permessage-deflate/.test(answer[1]),
      `request ${JSON.stringify(req)}\nresponse ${res.status} ${JSON.stringify(res.headers)}`];
  });
  await tap.test('chromium: the page\'s WebSocket reports permessage-deflate in ws.extensions (both pages)', async () => {
    const ext = async (p) => p.evaluate(() => (window.__ws || []).filter((w) => w.readyState === 1).map((w) => w.extensions));
    const [ea, eb] = [await ext(A.page), await ext(B.page)];
    // the browser reports the server's whole answer, parameters included
    return [ea.length === 1 && eb.length === 1 && /^permessage-deflate(;|$)/.test(ea[0]) && /^permessage-deflate(;|$)/.test(eb[0]),
      `A ${JSON.stringify(ea)} B ${JSON.stringify(eb)}`];
  });
  await tap.test('chromium: a long chat line crosses compressed (3 KiB of text, page A to page B)', async () => {
    const long = 'compressible chat line – ü '.repeat(110).slice(0, 3000);
    await A.page.fill('#text', long);
    await A.page.press('#text', 'Enter');
    await B.page.waitForFunction((t) => [...document.querySelectorAll('#messages li .bubble')].some((e) => e.textContent === t),
      long, { timeout: T });
    return true;
  });

  await tap.test('chromium: screenshots of both pages saved', async () => {
    const files = [join(outDir, 'interop-chat-a.png'), join(outDir, 'interop-chat-b.png')];
    await A.page.screenshot({ path: files[0], fullPage: true });
    await B.page.screenshot({ path: files[1], fullPage: true });
    tap.diag(`screenshots: ${files.join(' ')}`);
    return [files.every((f) => statSync(f).size > 1000), files.join(' ')];
  });

  // ------------------------------------------------------------ restart
  const before = await feedIds(A.page);
  await tap.test('rtweb-chat: SIGTERM -> exit 0, the pages see the feed drop', async () => {
    const st = await server.stop();
    await A.page.waitForFunction(() => document.getElementById('sse-state').textContent !== 'open', null, { timeout: T });
    return [st.code === 0, `exit ${JSON.stringify(st)}`];
  });

  const away = ['while away 1', 'while away 2', 'while away 3'];
  let awayState = '';
  await tap.test('rtweb-chat restarted on the same port with the same --feed-file; a ws client chats at once', async () => {
    server = await startChat(port);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
    const got = [];
    ws.on('message', (d) => got.push(JSON.parse(d.toString())));
    await within(5000, new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); }), 'ws open');
    for (const t of away) ws.send(JSON.stringify({ name: 'node-ws', text: t }));
    await until(() => got.filter((m) => m.name === 'node-ws').length >= 3, 5000, 'broadcast of the 3 messages');
    const sseState = await state(A.page, '#sse-state');
    ws.close(1000);
    await within(5000, new Promise((res) => ws.once('close', res)), 'ws close');
    awayState = sseState;
    return [server.port === port && got.filter((m) => m.name === 'node-ws').map((m) => m.text).join('|') === away.join('|'),
      `port ${server.port} got ${JSON.stringify(got)}`];
  });

  await tap.test('chromium: page A was still disconnected (#sse-state not open) while the ws client chatted', async () =>
    [awayState === 'connecting' || awayState === 'closed', `#sse-state ${awayState}`]);
  await tap.test('chromium: both pages reconnect (EventSource and WebSocket open again)', async () => {
    await waitOpen(A.page);
    await waitOpen(B.page);
    return true;
  });

  // Settled: the server's last id is what both pages show, for half a second.
  let n = 0;
  await tap.test('chromium: after the restart #feed ids are exactly 1..N on both pages', async () => {
    let stable = 0, last = '';
    await until(async () => {
      const f = feedFileIds();
      const [a, b] = [await feedIds(A.page), await feedIds(B.page)];
      const key = `${f.at(-1)}/${a.at(-1)}/${b.at(-1)}`;
      const agree = f.length && a.at(-1) === f.at(-1) && b.at(-1) === f.at(-1);
      stable = agree && key === last ? stable + 1 : 0;
      last = key;
      return stable >= 5;
    }, T, 'the pages to show the last feed id').catch(() => {});
    const f = feedFileIds();
    n = f.length;
    const [a, b] = [await feedIds(A.page), await feedIds(B.page)];
    tap.diag(`N = ${n}; ids before the restart 1..${before.length}`);
    return [n > before.length + 3 && isRange(f, n) && isRange(a, n) && isRange(b, n),
      `feed file ${f}\nA ${a}\nB ${b}\n(before the restart: ${before})`];
  });
  await tap.test('chromium: the messages sent while the page was away are in its feed', async () => {
    const texts = await A.page.$$eval('#feed li[data-event="message"] .what', (els) => els.map((e) => e.textContent));
    return [away.every((t) => texts.some((x) => x.includes(t))), `message items ${JSON.stringify(texts)}`];
  });
  await tap.test('chromium: EventSource received every feed event exactly once (no replayed duplicate)', async () => {
    const bad = [];
    for (const P of [A, B]) {
      const raw = await P.page.evaluate(() => window.__sse.map((e) => Number(e[0])));
      // page B opened after event 1: it may start later, but must then be contiguous
      const start = raw[0];
      if (!raw.every((v, i) => v === start + i) || raw.at(-1) !== n) bad.push(`${P.hs.label}: ${raw}`);
    }
    return [bad.length === 0, bad.join('\n')];
  });
  await tap.test('chromium: the reconnecting EventSource sent Last-Event-ID (header or lastEventId query)', async () => {
    const last = String(before.at(-1));
    const resumed = A.hs.sse.slice(1).map((r) => r.headers['last-event-id'] || new URL(r.url).searchParams.get('lastEventId'));
    return [resumed.length > 0 && resumed.includes(last), `requests after the first: ${JSON.stringify(A.hs.sse.slice(1))}; want ${last}`];
  });
  await tap.test('chromium: the two pages chat again after the restart', async () => {
    const na = (await messages(A.page)).length;
    await B.page.fill('#text', 'after the restart');
    await B.page.press('#text', 'Enter');
    await A.page.waitForFunction((k) => document.querySelectorAll('#messages li').length > k, na, { timeout: T });
    const ma = await messages(A.page);
    return [ma.at(-1) === 'after the restart', `A ${JSON.stringify(ma)}`];
  });
  await tap.test('chromium: screenshot after the restart saved', async () => {
    const f = join(outDir, 'interop-chat-a-restarted.png');
    await A.page.screenshot({ path: f, fullPage: true });
    return [statSync(f).size > 1000, f];
  });
  // ------------------------------------------------------------ chromium <-> rtwcat serve
  const rtwcat = process.env.RTWCAT;
  if (rtwcat && existsSync(rtwcat)) {
    await rtwcatCases(context, rtwcat);
  } else {
    tap.skip('chromium against rtwcat serve', `rtwcat not built (RTWCAT=${rtwcat || 'unset'})`);
  }
} catch (e) {
  tap.ok(false, 'browser driver ran to its end', e && e.stack ? e.stack : String(e));
} finally {
  if (context) await within(10000, context.close(), 'browser close').catch((e) => tap.diag(String(e)));
  if (server) {
    const st = await server.stop();
    tap.ok(st.code === 0, 'rtweb-chat: exits 0 on SIGTERM at the end', JSON.stringify(st));
  }
  rmSync(tmp, { recursive: true, force: true });
}
tap.end();
process.exit(process.exitCode);

// Chromium's own WebSocket and EventSource against `rtwcat serve`: the page is the server's
// 404 page, so that EventSource to /events is same-origin.
async function rtwcatCases(ctx, rtwcat) {
  const srv = await startServer(rtwcat, ['serve', '--port', '0', '--heartbeat', '30', '--subprotocol', 'chat']);
  const page = await ctx.newPage();
  try {
    await page.goto(`http://127.0.0.1:${srv.port}/nothing`, { timeout: T }).catch(() => {});
    await tap.test('chromium WebSocket -> rtwcat serve: text and binary of 0 B to 16 MiB echoed', async () => {
      const res = await page.evaluate(async (sizes) => {
        const ws = new WebSocket(`ws://${location.host}/echo`);
        ws.binaryType = 'arraybuffer';
        const queue = [];
        let wake = null;
        ws.onmessage = (e) => { queue.push(e.data); if (wake) wake(); };
        await new Promise((ok, bad) => { ws.onopen = ok; ws.onerror = () => bad(new Error('ws error')); });
        const next = () => new Promise((ok) => { if (queue.length) ok(queue.shift()); else wake = () => { wake = null; ok(queue.shift()); }; });
        const out = [];
        for (const n of sizes) {
          const text = 'aé€😀z'.repeat(Math.floor(n / 11)) + 'x'.repeat(n % 11);
          ws.send(text);
          const t = await next();
          const bin = new Uint8Array(n);
          for (let i = 0; i < n; i++) bin[i] = (i * 167 + (i >> 8) * 13 + 5) & 0xff;
          ws.send(bin);
          const b = new Uint8Array(await next());
          let same = b.length === n;
          for (let i = 0; same && i < n; i++) same = b[i] === bin[i];
          out.push(`${n}:${typeof t === 'string' && t === text}:${same}`);
        }
        ws.close(1000);
        return out;
      }, [0, 1, 125, 126, 65536, 1 << 20, 16 << 20]);
      return [res.every((r) => r.endsWith(':true:true')), `results ${res}`];
    });
    await tap.test('chromium WebSocket -> rtwcat serve: subprotocol, extensions, close 4000 echoed', async () => {
      const res = await page.evaluate(async () => {
        const ws = new WebSocket(`ws://${location.host}/sp`, ['foo', 'chat']);
        await new Promise((ok, bad) => { ws.onopen = ok; ws.onerror = () => bad(new Error('ws error')); });
        const info = { protocol: ws.protocol, extensions: ws.extensions };
        const closed = new Promise((ok) => { ws.onclose = (e) => ok(e); });
        ws.close(4000, 'bye');
        const e = await closed;
        return { ...info, code: e.code, clean: e.wasClean };
      });
      return [res.protocol === 'chat' && res.extensions === '' && res.code === 4000 && res.clean, JSON.stringify(res)];
    });
    await tap.test('chromium EventSource -> rtwcat serve /events: stdin lines arrive with ids', async () => {
      await page.evaluate(() => {
        window.__got = [];
        window.__es = new EventSource('/events');
        window.__es.onmessage = (e) => window.__got.push(`${e.lastEventId}:${e.data}`);
      });
      await page.waitForFunction(() => window.__es.readyState === 1, null, { timeout: T });
      srv.child.stdin.write('first\nsecond ü\n');
      await page.waitForFunction(() => window.__got.length >= 2, null, { timeout: T });
      const got = await page.evaluate(() => { window.__es.close(); return window.__got; });
      return [JSON.stringify(got) === JSON.stringify(['1:first', '2:second ü']), JSON.stringify(got)];
    });
  } finally {
    await page.close().catch(() => {});
    await srv.stop();
  }
}

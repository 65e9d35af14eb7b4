// SPDX-License-Identifier: MIT
// Shared pieces of the node interop drivers: TAP output, child processes that are always
// stopped (timeouts, exit handlers), servers started with `--port 0` whose real port is read
// from the line they print, and small checks (hashes, waiting with a deadline).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(dirname(fileURLToPath(import.meta.url)));

// ---------------------------------------------------------------- TAP
// Cases are numbered as they finish; the plan is printed at the end ("1..N" last is valid TAP),
// so a driver that dies half way is still reported as failed by the runner.
export class Tap {
  constructor() { this.n = 0; this.failed = 0; }
  ok(cond, name, diag) {
    this.n += 1;
    if (!cond) this.failed += 1;
    console.log(`${cond ? 'ok' : 'not ok'} ${this.n} - ${name}`);
    if (!cond && diag !== undefined) this.diag(diag);
    return cond;
  }
  skip(name, why) {
    this.n += 1;
    console.log(`ok ${this.n} - ${name} # SKIP ${why}`);
  }
  diag(text) {
    for (const line of String(text).split('\n')) console.log(`# ${line}`);
  }
  // Runs one case: fn returns true/false, or [bool, diagnostics]; a throw fails the case.
  async test(name, fn) {
    try {
      const r = await fn();
      if (Array.isArray(r)) return this.ok(r[0], name, r[1]);
      return this.ok(r !== false, name);
    } catch (e) {
      return this.ok(false, name, e && e.stack ? e.stack : String(e));
    }
  }
  end() {
    console.log(`1..${this.n}`);
    process.exitCode = this.failed ? 1 : 0;
  }
}

// A whole-driver plan of zero with a reason: meson and CI count it as skipped, not failed.
export function skipAll(why) {
  console.log(`1..0 # SKIP ${why}`);
  process.exit(0);
}

// Node modules come from `npm ci --prefix tests/interop`; without them the driver skips.
export async function importDep(name) {
  const dir = join(here, 'node_modules', name);
  if (!existsSync(dir)) skipAll(`${name} not installed (run: npm ci --prefix tests/interop)`);
  return import(name);
}

// The executables under test, from the environment (tests/interop/meson.build sets it).
// A missing one skips the whole driver.
export function exe(envName, what) {
  const p = process.env[envName];
  if (!p || !existsSync(p)) skipAll(`${what} not built (${envName}=${p || 'unset'})`);
  return p;
}

// ---------------------------------------------------------------- processes
const children = new Set();

function killAll() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* already gone */ }
  }
  children.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { killAll(); process.exit(1); });
}

// The whole driver has a deadline; past it every child is killed and the driver fails.
export function watchdog(seconds, tap) {
  const t = setTimeout(() => {
    if (tap) tap.ok(false, `driver finished within ${seconds} s`);
    if (tap) tap.end();
    killAll();
    process.exit(1);
  }, seconds * 1000);
  t.unref();
}

// Starts a child and records it so that it is killed when the driver exits, whatever happens.
export function track(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  children.add(child);
  child.stdin.on('error', () => { /* EPIPE when the child exits first: judged by its status */ });
  child.done = new Promise((resolve) => {
    child.on('close', (code, signal) => { children.delete(child); resolve({ code, signal }); });
    child.on('error', (err) => { children.delete(child); resolve({ code: null, signal: null, err }); });
  });
  return child;
}

// Runs a command to its end with optional stdin, a timeout (SIGKILL) and collected output.
export async function run(cmd, args, { input, timeoutMs = 20000, env } = {}) {
  const child = track(cmd, args, env ? { env: { ...process.env, ...env } } : {});
  const out = [], err = [];
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => err.push(d));
  let timedOut = false;
  const t = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
  if (input !== undefined) child.stdin.end(input); else child.stdin.end();
  const st = await child.done;
  clearTimeout(t);
  return { ...st, timedOut, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() };
}

// Starts a server that prints one line with its URL once listening (`--port 0`), and returns
// {child, port, url, stderr()}. Fails if the line does not come within timeoutMs.
export async function startServer(cmd, args, { pattern = RTWCAT_LISTENING, timeoutMs = 10000, env } = {}) {
  const child = track(cmd, args, env ? { env: { ...process.env, ...env } } : {});
  let errText = '';
  child.stderr.on('data', (d) => { errText += d.toString(); if (errText.length > 65536) errText = errText.slice(-32768); });
  const line = await new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`no listening line from ${cmd} within ${timeoutMs} ms; stderr: ${errText}`)), timeoutMs);
    const onData = (d) => {
      buf += d.toString();
      const m = buf.match(pattern);
      if (m) { clearTimeout(t); child.stdout.off('data', onData); resolve(m); }
    };
    child.stdout.on('data', onData);
    child.done.then((st) => { clearTimeout(t); reject(new Error(`${cmd} exited (${st.code}/${st.signal}) before listening; stdout: ${buf} stderr: ${errText}`)); });
  });
  return {
    child,
    host: line[1],
    port: Number(line[2]),
    stderr: () => errText,
    // SIGTERM, then SIGKILL after graceMs; resolves to the exit status.
    async stop(graceMs = 3000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.done;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const st = await child.done;
      clearTimeout(t);
      return st;
    },
  };
}

export const RTWCAT_LISTENING = /listening on http:\/\/([0-9.]+):(\d+)\//;
export const CHAT_LISTENING = /rtweb-chat: open http:\/\/([0-9.]+):(\d+)\/ in a browser/;

// ---------------------------------------------------------------- checks
export function sha256(buf) { return createHash('sha256').update(buf).digest('hex'); }

// A short description of a payload for diagnostics: length and hash (never the bytes).
export function describe(buf) {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf));
  return `${b.length} bytes sha256 ${sha256(b).slice(0, 16)}`;
}

export function sameBytes(a, b) {
  const x = Buffer.isBuffer(a) ? a : Buffer.from(a);
  const y = Buffer.isBuffer(b) ? b : Buffer.from(b);
  return x.length === y.length && x.equals(y);
}

// Deterministic payloads: text cycles through 1-, 2-, 3- and 4-byte UTF-8 characters (cut to
// exactly n bytes at a character boundary, padded with ASCII); binary covers all byte values.
export function textPayload(n) {
  const unit = 'aé€😀z'; // 1 + 2 + 3 + 4 + 1 = 11 bytes
  const u = Buffer.from(unit);
  const reps = Math.floor(n / u.length);
  return unit.repeat(reps) + 'x'.repeat(n - reps * u.length);
}

export function binaryPayload(n, { noNewline = false } = {}) {
  const b = Buffer.allocUnsafe(n);
  let x = 0x2545f491;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    let v = (x >>> 0) & 0xff;
    if (noNewline && v === 0x0a) v = 0x0b;
    b[i] = v;
  }
  return b;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Waits for pred() to be true, polling; throws after timeoutMs with the given message.
export async function until(pred, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

// Races a promise against a timeout.
export function within(ms, p, what) {
  let t;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms); }),
  ]);
}

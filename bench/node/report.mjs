// SPDX-License-Identifier: MIT
// Turns the records of bench_sse and bench_sse.mjs into the SSE benchmark table and checks.
//
// usage: node report.mjs FILE...   (the tab-separated records described in bench/bench_sse.c)
// Exit status: 0 when every parser ran and all agree with the generator on every stream,
// 1 otherwise. Missed speed targets are printed, not turned into a failure.

import { readFileSync } from 'node:fs';
import { cpus, release, type } from 'node:os';

const TARGET_ESP = 5; // rtweb >= 5x eventsource-parser
const TARGET_MEMCHR = 2; // rtweb >= 2x the memchr baseline
const NOISY = 1.25; // flag a row whose slowest repetition took this many times its fastest

const STREAM_LABEL = {
  json: 'json: ~100 B JSON events',
  big: 'big: 64 KiB multi-line events',
  heartbeat: 'heartbeat: comments only',
};
const PARSERS = [
  ['rtweb', 'rtweb'],
  ['rtweb-stream', 'rtweb, data streamed (on_data)'],
  ['memchr', 'memchr baseline (C)'],
  ['esp-decode', 'eventsource-parser, decode+parse'],
  ['esp-string', 'eventsource-parser, parse only'],
];

const info = {};
const streams = [];
const results = {};
const errors = [];
for (const file of process.argv.slice(2)) {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'info') info[f[1]] = f[2];
    if (f[0] === 'stream') {
      streams.push({ name: f[1], bytes: +f[2], events: +f[3], comments: +f[4],
        dataBytes: +f[5], commentBytes: +f[6] });
    }
    if (f[0] === 'result') {
      results[`${f[1]}/${f[2]}`] = { events: +f[3], comments: +f[4], dataBytes: +f[5],
        commentBytes: +f[6], bytes: +f[7], passes: +f[8], reps: +f[9], median: +f[10],
        min: +f[11], max: +f[12] };
    }
    if (f[0] === 'error') errors.push(`${f[1]} / ${f[2]}: ${f[3]}`);
  }
}

const FIELDS = [['events', 'events'], ['comments', 'comments'], ['dataBytes', 'data bytes'],
  ['commentBytes', 'comment bytes']];
const gbs = (bytes, s) => bytes / s / 1e9;
function rate(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} k`;
  return n.toFixed(1);
}
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

// --------------------------------------------------------------- header
const opt = info.optimization;
console.log(`rtweb ${info.rtweb ?? '?'} SSE parse benchmark`);
console.log(`  machine: ${cpus()[0]?.model ?? '?'} x${cpus().length}, ${type()} ${release()}`);
console.log(`  C: ${info.compiler ?? '?'}, buildtype ${info.buildtype ?? '?'}, optimization -O${opt ?? '?'}`);
console.log(`  node ${info.node ?? '?'}, eventsource-parser ${info['eventsource-parser'] ?? '?'}`);
console.log(`  same bytes for every parser, fed in ${info.chunk ?? '?'}-byte chunks; median of ` +
  `${info.reps ?? '?'} repetitions, each >= ${info.min_time ?? '?'} s; GB/s = 1e9 bytes/s`);
if (opt !== undefined && !['2', '3'].includes(opt)) {
  console.log(`  WARNING: built with optimization ${opt}; use a release or debugoptimized build`);
}
console.log('');

// --------------------------------------------------------------- throughput
let noisy = false;
console.log(`${pad('stream / parser', 36)}${lpad('events', 10)}${lpad('events/s', 12)}` +
  `${lpad('GB/s', 8)}${lpad('min..max GB/s', 16)}`);
for (const s of streams) {
  const units = s.events + s.comments;
  console.log(`${STREAM_LABEL[s.name] ?? s.name} (${(s.bytes / 1048576).toFixed(1)} MiB, ` +
    `${units} ${s.events ? 'events' : 'comments, counted as events'})`);
  for (const [key, label] of PARSERS) {
    const r = results[`${s.name}/${key}`];
    if (!r) {
      console.log(`  ${pad(label, 34)}${lpad('-', 10)}  (no result)`);
      continue;
    }
    const n = r.events + r.comments;
    const same = FIELDS.every(([f]) => r[f] === s[f]);
    console.log(`  ${pad(label, 34)}${lpad(n, 10)}${lpad(rate(n / r.median), 12)}` +
      `${lpad(gbs(r.bytes, r.median).toFixed(3), 8)}` +
      `${lpad(`${gbs(r.bytes, r.max).toFixed(2)}..${gbs(r.bytes, r.min).toFixed(2)}`, 16)}` +
      `${same ? '' : '  <-- MISMATCH'}${r.max > NOISY * r.min ? '  (noisy)' : ''}`);
    if (r.max > NOISY * r.min) noisy = true;
  }
}
if (noisy) {
  console.log(`(noisy): the slowest repetition took over ${NOISY}x the fastest; the machine was ` +
    'busy, so rerun on a quiet one before quoting numbers');
}
console.log('');

// --------------------------------------------------------------- ratios
console.log('Ratios of median throughput (eventsource-parser: its faster mode, to be conservative)');
console.log(`${pad('stream', 11)}${pad('rtweb/eventsource-parser', 36)}${pad('target', 14)}` +
  `${pad('rtweb/memchr', 14)}target`);
const verdict = (x, t) => `>=${t}x ${x >= t ? 'met' : 'MISSED'}`;
for (const s of streams) {
  const rt = results[`${s.name}/rtweb`];
  const mc = results[`${s.name}/memchr`];
  const esp = [results[`${s.name}/esp-decode`], results[`${s.name}/esp-string`]]
    .filter(Boolean).sort((a, b) => a.median - b.median)[0];
  let a = 'n/a';
  let at = '';
  let b = 'n/a';
  let bt = '';
  if (rt && esp) {
    const x = esp.median / rt.median;
    const mode = esp === results[`${s.name}/esp-string`] ? 'parse only' : 'decode+parse';
    a = `${x.toFixed(2)}x (vs ${mode})`;
    at = verdict(x, TARGET_ESP);
  }
  if (rt && mc) {
    const x = mc.median / rt.median;
    b = `${x.toFixed(2)}x`;
    bt = verdict(x, TARGET_MEMCHR);
  }
  console.log(`${pad(s.name, 11)}${pad(a, 36)}${pad(at, 14)}${pad(b, 14)}${bt}`);
}
console.log('');

// --------------------------------------------------------------- agreement
const problems = [...errors.map((e) => `error: ${e}`)];
for (const s of streams) {
  for (const [key, label] of PARSERS) {
    const r = results[`${s.name}/${key}`];
    if (!r) {
      problems.push(`${s.name} / ${label}: no result`);
      continue;
    }
    for (const [f, fl] of FIELDS) {
      if (r[f] !== s[f]) problems.push(`${s.name} / ${label}: ${fl} ${r[f]}, generator made ${s[f]}`);
    }
  }
}
if (streams.length === 0) problems.push('no streams: did bench_sse run?');
if (problems.length === 0) {
  console.log('Counts: OK. On every stream all parsers report the events, comments, data bytes ' +
    'and comment bytes the generator put in.');
  process.exit(0);
}
const bar = '!'.repeat(78);
console.log(bar);
console.log('!!! MISMATCH: the parsers did not all see the same events; the numbers above do not compare');
for (const p of problems) console.log(`!!!   ${p}`);
console.log(bar);
process.exit(1);

// SPDX-License-Identifier: MIT
// Prints the table of issue 15 from the records bench/run_perf.sh collected: `bench_ws -P`
// (rows r1-r7, allocations, idle session), ws_recv.mjs (node ws, r1), bench_sse and
// bench_sse.mjs (r8, r9) and the callgrind counts (`cgir row impl messages Ir`).
//
// usage: node perf_report.mjs [--smoke] [--tsv OUT] FILE...
//   --smoke   the figures come from tiny streams and one repetition: print no targets,
//             check only that every implementation ran and agreed
//   --tsv OUT also write one line per row (for tools/plot-bench.sh)
// Exit status: 0 when every implementation ran and agreed with the generator (counts and
// payload hashes: checked where they are measured); 1 otherwise. A missed target is
// printed, never turned into a failure (CI does not time things).

import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, type } from 'node:os';

const NOISY = 1.25; // flag a figure whose slowest repetition took this many times its fastest

const args = process.argv.slice(2);
let smoke = false;
let tsvOut = null;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--smoke') smoke = true;
  else if (args[i] === '--tsv') tsvOut = args[++i];
  else files.push(args[i]);
}

const info = {};
const res = {}; // "row/impl" -> { messages, bytes, median, min, max }
const allocs = []; // { row, impl, keep, messages, calls }
const idle = {};
const cg = {}; // "row/impl" -> instructions per message
const errors = [];
const sse = {}; // "stream/parser" -> bench_sse result record
const sseStreams = {};
for (const file of files) {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = line.split('\t');
    switch (f[0]) {
      case 'info': info[f[1]] = f[2]; break;
      case 'error': errors.push(`${f[1]} ${f[2]}: ${f[3]}`); break;
      case 'idle': idle[f[1]] = { bytes: +f[2], calls: +f[3] }; break;
      case 'alloc':
        allocs.push({ row: f[1], impl: f[2], keep: f[3], messages: +f[4], calls: +f[5] });
        break;
      case 'cgir': cg[`${f[1]}/${f[2]}`] = +f[4] / +f[3]; break;
      case 'stream':
        sseStreams[f[1]] = { bytes: +f[2], events: +f[3], comments: +f[4], dataBytes: +f[5],
          commentBytes: +f[6] };
        break;
      case 'result':
        if (f.length === 9) {
          res[`${f[1]}/${f[2]}`] = { messages: +f[3], bytes: +f[4], median: +f[6], min: +f[7],
            max: +f[8] };
        } else {
          sse[`${f[1]}/${f[2]}`] = { events: +f[3], comments: +f[4], dataBytes: +f[5],
            commentBytes: +f[6], bytes: +f[7], median: +f[10], min: +f[11], max: +f[12] };
        }
        break;
      default: break;
    }
  }
}

// The SSE rows in the WebSocket shape; a parser that disagrees with the generator is an error.
for (const [key, r] of Object.entries(sse)) {
  const [stream, parser] = key.split('/');
  const want = sseStreams[stream];
  if (!want || r.events !== want.events || r.comments !== want.comments ||
      r.dataBytes !== want.dataBytes || r.commentBytes !== want.commentBytes) {
    errors.push(`SSE ${stream} ${parser}: counts differ from the generator's`);
    continue;
  }
  const row = stream === 'json' ? 'r8' : stream === 'big' ? 'r9' : stream;
  res[`${row}/${parser}`] = { messages: r.events, bytes: r.bytes, median: r.median,
    min: r.min, max: r.max };
}

const rate = (r) => r.messages / r.median; // messages (events) per second
const gbs = (r) => r.bytes / r.median / 1e9;

// Each row: what is compared, the unit it is quoted in, and the target as a same-run ratio.
const ROWS = [
  { id: 'r1', work: 'receive binary 1 MiB, whole messages', short: 'recv bin 1 MiB whole / memcpy', unit: 'GB/s',
    peers: ['wslay_event', 'node_ws', 'memcpy'], target: ['memcpy', 0.4],
    note: 'keep: >= 0.4 of memcpy' },
  { id: 'r2', work: 'receive binary 16 B, streamed', short: 'recv bin 16 B / wslay_frame', unit: 'Mmsg/s', peers: ['wslay_frame'],
    target: ['wslay_frame', 1.5], note: '>= 1.5x wslay_frame (aim 120 Mmsg/s)' },
  { id: 'r3', work: 'receive text 1 MiB, whole', short: 'recv text 1 MiB / memcpy', unit: 'GB/s', peers: ['memcpy', 'wslay_event'],
    target: ['memcpy', 0.4], note: '>= 0.4 of memcpy' },
  { id: 'r4', work: 'receive text 16 B, whole', short: 'recv text 16 B / wslay_frame', unit: 'Mmsg/s', peers: ['wslay_frame'],
    target: ['wslay_frame', 0.7], note: '>= 0.7x wslay_frame (no UTF-8 check); aim 40 Mmsg/s' },
  { id: 'r5', work: 'send server binary 16 B (NOCOPY + gather)', short: 'send 16 B / wslay_frame', unit: 'Mmsg/s',
    peers: ['wslay_frame', 'rtweb_copy'], target: ['wslay_frame', 1.0],
    note: '>= 1x wslay_frame' },
  // r6's target is met by either means issue 15 names: rtweb's validation (the default) or the
  // flag for text the application vouches for (wslay_frame checks nothing). The `r6 ceiling`
  // row shows why the first cannot reach 0.8x: a bare read pass plus the copy does not.
  { id: 'r6', work: 'send server text 1 MiB (validated)', short: 'send text 1 MiB / wslay_frame', unit: 'GB/s', peers: ['wslay_frame'],
    target: ['wslay_frame', 0.8], alt: 'rtweb_valid_utf8',
    note: '>= 0.8x wslay_frame, validated or vouched (r6+)' },
  { id: 'r6', impl: 'rtweb_valid_utf8', work: 'extra: r6 with RTW_WS_QUEUE_VALID_UTF8', short: '(r6 VALID_UTF8 / wslay_frame)',
    unit: 'GB/s', peers: ['wslay_frame'], target: ['wslay_frame', 0.8],
    note: '(not the target row)' },
  { id: 'r7', work: 'send client binary 1 MiB (masked, output taken)', short: 'send client 1 MiB / memcpy', unit: 'GB/s',
    peers: ['memcpy', 'wslay_frame'], target: ['memcpy', 0.8], note: '>= 0.8 of memcpy' },
  { id: 'r8', work: 'SSE ~100 B events', short: 'SSE 100 B / memchr C', unit: 'Mev/s', peers: ['memchr', 'esp-string',
    'esp-decode'], target: ['memchr', 2.5], note: '>= 2.5x memchr C (about 150 Mev/s)' },
  { id: 'r8', impl: 'rtweb-stream', work: 'extra: r8, data streamed (on_data)', short: '(r8 streamed / memchr C)', unit: 'Mev/s',
    peers: ['memchr'], target: ['memchr', 2.5], note: '(not the target row)' },
  { id: 'r9', work: 'SSE 64 KiB events', short: 'SSE 64 KiB / memchr C', unit: 'GB/s', peers: ['memchr'],
    target: ['memchr', 2.0], note: '>= 2x memchr C' },
  { id: 'r9', impl: 'rtweb-stream', work: 'extra: r9, data streamed (on_data)', short: '(r9 streamed / memchr C)', unit: 'GB/s',
    peers: ['memchr'], target: ['memchr', 2.0], note: '(not the target row)' },
  // last, so the rows of an older perf15_before.tsv still line up in the chart
  { id: 'r2', impl: 'rtweb_inplace', work: 'extra: r2, read buffer + rtw_ws_recv_inplace',
    short: '(r2 in place / wslay_frame)', unit: 'Mmsg/s', peers: ['wslay_frame'],
    target: ['wslay_frame', 1.5], note: '(not the target row)' },
  { id: 'r7', impl: 'rtweb_ring', work: 'extra: r7, output copied into the 64 KiB ring',
    short: '(r7 + ring copy / memcpy)', unit: 'GB/s', peers: ['memcpy'],
    target: ['memcpy', 0.8], note: '(not the target row)' },
  { id: 'r6', impl: 'read_pass', work: 'extra: r6 ceiling, one read pass over the text + the copy',
    short: '(r6 ceiling / wslay_frame)', unit: 'GB/s', peers: ['wslay_frame'],
    target: ['wslay_frame', 0.8], note: '(bounds any validating send)' },
];
const PEER_LABEL = { wslay_event: 'wslay_event', wslay_frame: 'wslay_frame', node_ws: 'node ws',
  memcpy: 'memcpy', rtweb_copy: 'rtweb copy+contiguous', memchr: 'memchr C',
  'esp-string': 'eventsource-parser', 'esp-decode': 'eventsource-parser+TextDecoder' };

function figure(r, unit) {
  if (!r) return null;
  return unit === 'GB/s' ? gbs(r) : rate(r) / 1e6;
}
function fmt(v) {
  if (v === null || !Number.isFinite(v)) return 'n/a';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}
const noisy = (r) => (r && r.max > NOISY * r.min ? '~' : '');

const lines = [];
const tsv = ['# row\tshort\tunit\trtweb\ttarget_peer\tpeer\tratio\ttarget_ratio'];
let met = 0;
let missed = 0;
for (const row of ROWS) {
  const mine = res[`${row.id}/${row.impl || 'rtweb'}`];
  const a = figure(mine, row.unit);
  const peers = [];
  const ratios = [];
  for (const p of row.peers) {
    const r = res[`${row.id}/${p}`];
    const v = figure(r, row.unit);
    peers.push(`${PEER_LABEL[p]} ${fmt(v)}${noisy(r)}`);
    // ratio of rates: the same work, so of figures in any unit
    ratios.push(r && mine ? `${(r.median / mine.median).toFixed(2)}x` : 'n/a');
  }
  const tr = res[`${row.id}/${row.target[0]}`];
  const ratio = tr && mine ? tr.median / mine.median : NaN;
  let verdict = '';
  if (!smoke && Number.isFinite(ratio)) {
    let ok = ratio >= row.target[1];
    verdict = ok ? 'met' : 'MISSED';
    if (!ok && row.alt) { // the row's other means (r6: the vouching flag)
      const alt = res[`${row.id}/${row.alt}`];
      if (alt && tr && tr.median / alt.median >= row.target[1]) {
        ok = true;
        verdict = `met by ${row.id}+ ${row.alt}; validated ${ratio.toFixed(2)}x`;
      }
    }
    if (!row.impl) (ok ? met++ : missed++);
  }
  lines.push([row.id + (row.impl ? '+' : ''), row.work, `${fmt(a)}${noisy(mine)} ${row.unit}`,
    peers.join(', '), ratios.join(', '), row.note, verdict]);
  tsv.push([row.id + (row.impl ? '+' : ''), row.short, row.unit, fmt(a), row.target[0],
    fmt(figure(tr, row.unit)), Number.isFinite(ratio) ? ratio.toFixed(3) : 'nan',
    row.target[1]].join('\t'));
}

const cpu = cpus()[0] ? cpus()[0].model : 'unknown';
console.log(`rtweb ${info.rtweb || '?'}: issue 15 table (bench/run_perf.sh${smoke ? ' --smoke' : ''})`);
console.log(`  machine: ${cpu}, ${type()} ${release()}; ${info.pinned || 'not pinned'}`);
console.log(`  C: ${info.compiler}, buildtype ${info.buildtype}, -O${info.optimization}; ` +
  `wslay ${info.wslay_package || info.wslay}; node ${info.node}, ws ${info.ws} ` +
  `(bufferutil: ${info.ws_bufferutil}), eventsource-parser ${info['eventsource-parser']}`);
console.log(`  median of ${info.reps} repetitions, each >= ${info.min_time} s; ` +
  `${info.chunk}-byte input chunks; ~ marks a figure whose slowest repetition took ` +
  `> ${NOISY}x its fastest`);
console.log('  GB/s = 1e9 wire bytes/s; ratios are peer time / rtweb time in this run ' +
  '(> 1: rtweb faster)\n');
const head = ['#', 'work', 'rtweb', 'peers (same run)', 'rtweb/peer', 'target', ''];
const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
const pad = (l) => l.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
console.log(pad(head));
console.log(pad(widths.map((w) => '-'.repeat(w))));
for (const l of lines) console.log(pad(l));
if (!smoke) console.log(`\nTargets: ${met} met, ${missed} missed (of the ${met + missed} target rows).`);

console.log('\nAllocations per message after a warm-up pass (counting rtw_mem; target 0):');
const akeys = [...new Set(allocs.map((x) => `${x.row}/${x.impl}`))];
for (const k of akeys) {
  const [row, impl] = k.split('/');
  const cell = (keep) => {
    const x = allocs.find((y) => y.row === row && y.impl === impl && y.keep === keep);
    return x ? `${(x.calls / x.messages).toFixed(3)} (${x.calls}/${x.messages})` : 'n/a';
  };
  console.log(`  ${row} ${impl.padEnd(17)} default keep_buffer ${cell('default').padEnd(26)}` +
    ` keep_buffer=SIZE_MAX ${cell('SIZE_MAX')}`);
}
for (const [role, v] of Object.entries(idle)) {
  console.log(`Idle session (${role}, rtw_ws_new, no traffic): ${v.bytes} bytes in ${v.calls} ` +
    `allocation(s); target <= 1024: ${v.bytes <= 1024 ? 'met' : 'MISSED'}`);
}
if (Object.keys(cg).length > 0) {
  console.log('\ncallgrind instructions per message (deterministic; valgrind hides AVX-512, ' +
    'so SIMD code takes its AVX2 path):');
  for (const [row, peer] of [['r2', 'wslay_frame'], ['r2', 'rtweb_inplace'], ['r4', 'wslay_frame'],
    ['r5', 'wslay_frame'], ['r5', 'rtweb_copy']]) {
    const a = cg[`${row}/rtweb`];
    const b = cg[`${row}/${peer}`];
    if (a === undefined || b === undefined) continue;
    console.log(`  ${row} rtweb ${a.toFixed(1).padStart(7)}  ${peer.padEnd(13)} ` +
      `${b.toFixed(1).padStart(7)}  rtweb/${peer} ${(a / b).toFixed(2)}`);
  }
}

const expected = new Set();
for (const row of ROWS) {
  expected.add(`${row.id}/${row.impl || 'rtweb'}`);
  for (const p of row.peers) expected.add(`${row.id}/${p}`);
}
for (const k of expected) if (!res[k]) errors.push(`${k}: no result`);
if (tsvOut) {
  const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
  tsv.unshift(`# measured: ${when} UTC`);
  tsv.unshift('# bench/run_perf.sh (perf_report.mjs --tsv): ratio = rtweb / target_peer, same run');
  writeFileSync(tsvOut, `${tsv.join('\n')}\n`);
}
if (errors.length > 0) {
  console.log('\nFAILED:');
  for (const e of [...new Set(errors)]) console.log(`  ${e}`);
  process.exit(1);
}
console.log('\nCounts: OK. Every implementation delivered the messages, bytes and (checked ' +
  'once per implementation) the payloads the generator made.');

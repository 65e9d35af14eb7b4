// SPDX-License-Identifier: MIT
// node `ws` side of row r1 of bench/run_perf.sh (issue 15): ws's own Receiver, in process,
// fed the masked client frames bench_ws wrote, in the same chunks rtweb gets.
//
// usage: node ws_recv.mjs DIR [REPS] [MIN_SECONDS]
//
// Reads DIR/ws_r1.tsv (chunk, messages, wire_bytes), DIR/ws_r1.wire (the frames) and
// DIR/ws_r1.payload (the payloads they carry), written by `bench_ws -P -d DIR`. Each pass
// makes a new Receiver (server side: it unmasks; binaryType nodebuffer; no size limit;
// synchronous events, ws's default) and writes every chunk to it; 'message' events count
// messages and bytes. The first pass also compares the delivered payloads with
// ws_r1.payload byte for byte. Prints `info` and `result` records in the format of
// `bench_ws -P` (see bench/bench_ws.c) on stdout. ws unmasks with bufferutil when that
// optional package is installed; bench/node does not install it, so unmasking is ws's
// JavaScript loop, as for a plain `npm install ws`.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Receiver } from 'ws';
import { benchArgs, measurePasses } from './timing.mjs';

const { dir, reps, minTime } = benchArgs('node ws_recv.mjs DIR [REPS] [MIN_SECONDS]');
const manifest = {};
for (const line of readFileSync(join(dir, 'ws_r1.tsv'), 'utf8').split('\n')) {
  const f = line.split('\t');
  if (f.length === 2) manifest[f[0]] = Number.parseInt(f[1], 10);
}
const wire = readFileSync(join(dir, 'ws_r1.wire'));
const payload = readFileSync(join(dir, 'ws_r1.payload'));
const chunks = [];
for (let off = 0; off < wire.length; off += manifest.chunk) {
  chunks.push(wire.subarray(off, off + manifest.chunk));
}

function pass(parts) {
  const c = { messages: 0, bytes: 0, errors: 0 };
  const r = new Receiver({ isServer: true, maxPayload: 0, binaryType: 'nodebuffer' });
  r.on('message', (data) => {
    c.messages++;
    c.bytes += data.length;
    if (parts) parts.push(data);
  });
  r.on('error', () => {
    c.errors++;
  });
  for (let i = 0; i < chunks.length; i++) r.write(chunks[i]);
  return c;
}

function same(a, b) {
  return a.messages === b.messages && a.bytes === b.bytes && a.errors === b.errors;
}

const require = createRequire(import.meta.url);
let bufferutil = 'no';
try {
  require.resolve('bufferutil');
  bufferutil = 'yes';
} catch {
  // not installed: ws masks in JavaScript
}
console.log(`info\tnode\t${process.version}`);
console.log(`info\tws\t${require('ws/package.json').version}`);
console.log(`info\tws_bufferutil\t${bufferutil}`);

process.stderr.write('ws_recv.mjs: binary 1 MiB, ws Receiver ...');
const parts = [];
const check = pass(parts);
let error = '';
if (check.errors > 0 || check.messages !== manifest.messages) {
  error = `ws delivered ${check.messages} messages (expected ${manifest.messages}), ` +
    `${check.errors} errors`;
} else if (!Buffer.concat(parts).equals(payload)) {
  error = 'ws delivered payloads that differ from the generator\'s';
}
const m = error ? { error } : measurePasses(() => pass(null), same, reps, minTime);
if (m.error) {
  process.stderr.write(` FAILED: ${m.error}\n`);
  console.log(`error\tr1\tnode_ws\t${m.error}`);
  process.exit(1);
}
process.stderr.write(` ${(wire.length / m.median / 1e9).toFixed(3)} GB/s\n`);
console.log(['result', 'r1', 'node_ws', m.first.messages, wire.length, reps,
  m.median.toFixed(9), m.min.toFixed(9), m.max.toFixed(9)].join('\t'));

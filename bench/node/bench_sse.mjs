// SPDX-License-Identifier: MIT
// eventsource-parser side of the SSE parse benchmark: times it on the streams bench_sse wrote.
//
// usage: node bench_sse.mjs DIR [REPS] [MIN_SECONDS]
//
// Reads DIR/manifest.tsv (chunk size and stream files, written by `bench_sse -d DIR`) and,
// for each stream, times two ways of feeding eventsource-parser the same bytes in the same
// chunks as the C side:
//   esp-decode  a TextDecoder (stream: true) turns each byte chunk into a string inside the
//               timed loop, as a real client reading a fetch() body must
//   esp-string  the chunks are decoded once beforehand; only parser.feed() is timed
// Prints `result` records in bench_sse's format (see bench/bench_sse.c) on stdout; the
// timing loop is timing.mjs's. The callbacks read the lengths, as the C callbacks do. V8 may keep a multi-line `data` as
// a rope (concatenation not flattened); nothing here forces it flat, which favours
// eventsource-parser.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createParser } from 'eventsource-parser';
import { benchArgs, measurePasses } from './timing.mjs';

const { dir, reps, minTime } = benchArgs('node bench_sse.mjs DIR [REPS] [MIN_SECONDS]');

let chunk = 16384;
const streams = [];
for (const line of readFileSync(join(dir, 'manifest.tsv'), 'utf8').split('\n')) {
  const f = line.split('\t');
  if (f[0] === 'chunk') chunk = Number.parseInt(f[1], 10);
  if (f[0] === 'stream') streams.push({ name: f[1], file: f[2] });
}

function newCounts() {
  return { events: 0, comments: 0, dataBytes: 0, commentBytes: 0, metaBytes: 0, errors: 0 };
}

function makeParser(c) {
  return createParser({
    onEvent(ev) {
      c.events++;
      c.dataBytes += ev.data.length;
      c.metaBytes += (ev.event === undefined ? 7 : ev.event.length) +
        (ev.id === undefined ? 0 : ev.id.length);
    },
    onComment(text) {
      c.comments++;
      c.commentBytes += text.length;
    },
    onError() {
      c.errors++;
    },
  });
}

// One pass with decoding inside the timed region. reset() is the end of stream: like
// rtw_sse_parser_end() it drops an unfinished line and event.
function passDecode(bytes, c) {
  const parser = makeParser(c);
  const decoder = new TextDecoder('utf-8');
  for (let off = 0; off < bytes.length; off += chunk) {
    parser.feed(decoder.decode(bytes.subarray(off, off + chunk), { stream: true }));
  }
  const rest = decoder.decode();
  if (rest) parser.feed(rest);
  parser.reset();
}

// One pass over chunks decoded beforehand.
function passString(strings, c) {
  const parser = makeParser(c);
  for (let i = 0; i < strings.length; i++) parser.feed(strings[i]);
  parser.reset();
}

function decodeAll(bytes) {
  const decoder = new TextDecoder('utf-8');
  const out = [];
  for (let off = 0; off < bytes.length; off += chunk) {
    out.push(decoder.decode(bytes.subarray(off, off + chunk), { stream: true }));
  }
  const rest = decoder.decode();
  if (rest) out.push(rest);
  return out;
}

function sameCounts(a, b) {
  return a.events === b.events && a.comments === b.comments && a.dataBytes === b.dataBytes &&
    a.commentBytes === b.commentBytes && a.metaBytes === b.metaBytes && a.errors === b.errors;
}

function measure(s, parserName, pass, input) {
  process.stderr.write(`bench_sse.mjs: ${s.name.padEnd(9)} ${parserName.padEnd(10)} ...`);
  const m = measurePasses(() => {
    const c = newCounts();
    pass(input, c);
    return c;
  }, sameCounts, reps, minTime);
  if (m.error) {
    console.log(`error\t${s.name}\t${parserName}\t${m.error}`);
    process.stderr.write(' failed\n');
    return;
  }
  if (m.first.errors > 0) {
    console.log(`error\t${s.name}\t${parserName}\tonError fired ${m.first.errors} times per pass`);
  }
  process.stderr.write(` ${(s.bytes / m.median / 1e9).toFixed(3)} GB/s\n`);
  console.log(['result', s.name, parserName, m.first.events, m.first.comments,
    m.first.dataBytes, m.first.commentBytes, s.bytes, m.passes, reps, m.median.toFixed(9),
    m.min.toFixed(9), m.max.toFixed(9)].join('\t'));
}

const espVersion = JSON.parse(readFileSync(new URL(
  './node_modules/eventsource-parser/package.json', import.meta.url), 'utf8')).version;
console.log(`info\tnode\t${process.version}`);
console.log(`info\teventsource-parser\t${espVersion}`);

for (const s of streams) {
  let bytes = readFileSync(join(dir, s.file));
  s.bytes = bytes.length;
  measure(s, 'esp-decode', passDecode, bytes);
  const strings = decodeAll(bytes);
  bytes = null;
  measure(s, 'esp-string', passString, strings);
}

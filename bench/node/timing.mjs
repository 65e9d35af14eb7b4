// SPDX-License-Identifier: MIT
// The timing loop shared by the node benchmarks (bench_sse.mjs, ws_recv.mjs). It mirrors
// measure() in bench/bench_sse.c, plus a second warm-up pass so the timed passes run
// optimized code rather than the JIT's first tiers.
//
// Timing uses process.hrtime.bigint(), which on Linux is clock_gettime(CLOCK_MONOTONIC).

function seconds(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

// pass() runs one whole pass and returns its counts; same(a, b) compares two counts.
// Two warm-up passes (the second calibrates), then `reps` repetitions of as many passes as
// fill minTime seconds; every pass must return the counts of the first.
// Returns { first, passes, median, min, max } (seconds per pass) or { error }.
export function measurePasses(pass, same, reps, minTime) {
  const first = pass();
  let t0 = process.hrtime.bigint();
  const second = pass();
  const warm = seconds(t0);
  if (!same(first, second)) return { error: 'result changed between passes' };
  const passes = warm >= minTime ? 1 : Math.floor(minTime / Math.max(warm, 1e-6)) + 1;
  const t = [];
  for (let r = 0; r < reps; r++) {
    t0 = process.hrtime.bigint();
    for (let i = 0; i < passes; i++) {
      if (!same(first, pass())) return { error: 'result changed between passes' };
    }
    t.push(seconds(t0) / passes);
  }
  t.sort((a, b) => a - b);
  const mid = reps >> 1;
  const median = reps % 2 ? t[mid] : (t[mid - 1] + t[mid]) / 2;
  return { first, passes, median, min: t[0], max: t[reps - 1] };
}

// "DIR [REPS] [MIN_SECONDS]" from the command line, checked; exits with 2 when wrong.
export function benchArgs(usage) {
  const [dir, repsArg = '9', minArg = '0.3'] = process.argv.slice(2);
  const reps = Number.parseInt(repsArg, 10);
  const minTime = Number.parseFloat(minArg);
  if (!dir || !(reps >= 1 && reps <= 101) || !(minTime >= 0)) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  return { dir, reps, minTime };
}

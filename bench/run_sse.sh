#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the SSE parse benchmark (rtweb, a memchr baseline, eventsource-parser) and prints one table.
#
# usage: bench/run_sse.sh [BUILD_DIR]      (default: build)
#
# Builds nothing: run `meson setup build && ninja -C build` first. BUILD_DIR is taken relative
# to the current directory, or else to the repository root. Installs eventsource-parser with
# `npm ci` in bench/node when its node_modules is missing. Environment knobs:
#   BENCH_REPS=9        timed repetitions per parser and stream (the median is reported)
#   BENCH_MIN_TIME=0.3  minimum seconds per repetition
#   BENCH_MIB=1         size of each stream in MiB (1: stays in cache, as socket buffers do)
#   BENCH_KEEP=1        keep the streams and raw records (the directory is printed)
#   NODE=node           the node binary
# Exit status: non-zero when a parser failed or the parsers disagree on the events.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-build}
reps=${BENCH_REPS:-9}
min_time=${BENCH_MIN_TIME:-0.3}
mib=${BENCH_MIB:-1}
node=${NODE:-node}

if [ ! -x "$build/bench/bench_sse" ] && [ -x "$root/$build/bench/bench_sse" ]; then
  build=$root/$build
fi
bin=$build/bench/bench_sse
if [ ! -x "$bin" ]; then
  echo "run_sse.sh: $bin not found; build it first:" >&2
  echo "  meson setup $build && ninja -C $build" >&2
  exit 2
fi
if ! command -v "$node" >/dev/null 2>&1; then
  echo "run_sse.sh: node not found (set NODE=/path/to/node)" >&2
  exit 2
fi
if [ ! -d "$here/node/node_modules/eventsource-parser" ]; then
  echo "run_sse.sh: installing eventsource-parser (npm ci in bench/node)" >&2
  (cd "$here/node" && npm ci --no-audit --no-fund) >&2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtweb-bench-sse.XXXXXX")
if [ "${BENCH_KEEP:-0}" = 1 ]; then
  echo "run_sse.sh: keeping streams and records in $tmp" >&2
else
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT TERM
fi

"$bin" -d "$tmp" -r "$reps" -t "$min_time" -m "$mib" >"$tmp/c.tsv"
"$node" "$here/node/bench_sse.mjs" "$tmp" "$reps" "$min_time" >"$tmp/node.tsv"
echo >&2
"$node" "$here/node/report.mjs" "$tmp/c.tsv" "$tmp/node.tsv"

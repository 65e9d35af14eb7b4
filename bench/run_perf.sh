#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every row of issue 15's table in one run and prints it: rtweb beside wslay (frame and
# event APIs), node ws, memcpy, a memchr C SSE parser and eventsource-parser, each ratio
# measured in the same run, with the target and met/MISSED per row; then allocations per
# message, idle session bytes and callgrind instructions per message for the 16 B rows.
#
# usage: bench/run_perf.sh [--smoke] [BUILD_DIR]      (default: build)
#
# Builds nothing: run `meson setup build-rel --buildtype=release && ninja -C build-rel`
# first (wslay needed: Debian libwslay-dev). BUILD_DIR is taken relative to the current
# directory, or else to the repository root. Runs `npm ci` in bench/node when its
# node_modules is missing (ws, eventsource-parser, pinned by package-lock.json).
# Pinned to one CPU with taskset when it exists (the last CPU, or BENCH_CPU).
# --smoke: tiny streams, one repetition, no callgrind: checks that every implementation
# runs and agrees with the generator (counts and payload hashes); takes a few seconds.
# Environment knobs:
#   BENCH_REPS=7        timed repetitions per figure (>= 7; the median is reported)
#   BENCH_MIN_TIME=0.2  minimum seconds per repetition
#   BENCH_MIB=4         size of each WebSocket stream in MiB (cache-resident, replayed)
#   BENCH_CHUNK=16384   bytes per recv call (rtweb, wslay's reads are its own, ws, SSE)
#   BENCH_CALLGRIND=1   0 skips the callgrind counts (they need valgrind)
#   BENCH_CG_MSGS=50000 messages in each callgrind pass
#   BENCH_TSV=FILE      also write the table as TSV (bench/results/perf15.tsv is the chart's)
#   BENCH_CPU=N         the CPU to pin to; BENCH_CPU=none does not pin
#   NODE=node           the node binary
# Exit status: 0 when every implementation ran and agreed; 1 otherwise; 2 usage or a
# missing program; 77 (--smoke only) when node or its packages are missing (skipped).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
smoke=0
if [ "${1:-}" = --smoke ]; then
  smoke=1
  shift
fi
build=${1:-build}
reps=${BENCH_REPS:-7}
min_time=${BENCH_MIN_TIME:-0.2}
mib=${BENCH_MIB:-4}
chunk=${BENCH_CHUNK:-16384}
cg_msgs=${BENCH_CG_MSGS:-50000}
node=${NODE:-node}

if [ ! -x "$build/bench/bench_ws" ] && [ -x "$root/$build/bench/bench_ws" ]; then
  build=$root/$build
fi
for b in bench_ws bench_sse; do
  if [ ! -x "$build/bench/$b" ]; then
    echo "run_perf.sh: $build/bench/$b not found; build it first (bench_ws needs wslay):" >&2
    echo "  meson setup $build --buildtype=release && ninja -C $build" >&2
    exit 2
  fi
done
if ! command -v "$node" >/dev/null 2>&1; then
  echo "run_perf.sh: node not found (set NODE=/path/to/node)" >&2
  [ "$smoke" = 1 ] && exit 77
  exit 2
fi
if [ ! -d "$here/node/node_modules/ws" ] || [ ! -d "$here/node/node_modules/eventsource-parser" ]; then
  if [ "$smoke" = 1 ]; then
    echo "run_perf.sh: SKIP: bench/node/node_modules missing (run npm ci in bench/node)" >&2
    exit 77
  fi
  echo "run_perf.sh: installing ws and eventsource-parser (npm ci in bench/node)" >&2
  (cd "$here/node" && npm ci --no-audit --no-fund) >&2
fi

pin=
pinned="not pinned"
if [ "${BENCH_CPU:-}" != none ] && command -v taskset >/dev/null 2>&1; then
  cpu=${BENCH_CPU:-$(($(getconf _NPROCESSORS_ONLN) - 1))}
  if taskset -c "$cpu" true 2>/dev/null; then
    pin="taskset -c $cpu"
    pinned="pinned to CPU $cpu (taskset)"
  fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtweb-bench-perf.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

{
  printf 'info\tpinned\t%s\n' "$pinned"
  if command -v dpkg-query >/dev/null 2>&1; then
    pkg=$(dpkg-query -W -f '${Version}' libwslay1 2>/dev/null || true)
    [ -n "$pkg" ] && printf 'info\twslay_package\tlibwslay1 %s\n' "$pkg"
  fi
} >"$tmp/env.tsv"

if [ "$smoke" = 1 ]; then
  ws_args="-P -S"
  sse_args="-r 1 -t 0 -m 1"
  node_args="1 0"
else
  ws_args="-P -r $reps -t $min_time -m $mib"
  sse_args="-r $reps -t $min_time -m 1"
  node_args="$reps $min_time"
fi

# The WebSocket rows (r1-r7), then node ws on r1's stream, then the SSE rows (r8, r9).
# A failing part is reported by the table (missing rows), so carry on.
# shellcheck disable=SC2086
$pin "$build/bench/bench_ws" $ws_args -c "$chunk" -d "$tmp" >"$tmp/ws.tsv" || true
# shellcheck disable=SC2086
$pin "$node" "$here/node/ws_recv.mjs" "$tmp" $node_args >"$tmp/node_ws.tsv" || true
# shellcheck disable=SC2086
$pin "$build/bench/bench_sse" -s json,big -c "$chunk" -d "$tmp" $sse_args >"$tmp/sse.tsv" || true
# shellcheck disable=SC2086
$pin "$node" "$here/node/bench_sse.mjs" "$tmp" $node_args >"$tmp/sse_node.tsv" || true

# callgrind: instructions per message for the 16 B rows, collected only inside cg_pass
# (one untimed pass over cg_msgs messages; the session's creation is included).
: >"$tmp/cg.tsv"
if [ "$smoke" = 0 ] && [ "${BENCH_CALLGRIND:-1}" != 0 ]; then
  if command -v valgrind >/dev/null 2>&1; then
    for item in r2:rtweb r2:wslay_frame r2:rtweb_inplace r4:rtweb r4:wslay_frame r5:rtweb \
                r5:rtweb_copy r5:wslay_frame; do
      echo "run_perf.sh: callgrind $item ($cg_msgs messages) ..." >&2
      if valgrind --tool=callgrind --toggle-collect=cg_pass --callgrind-out-file=/dev/null \
          "$build/bench/bench_ws" -P -C "$item" -n "$cg_msgs" >"$tmp/cg.out" 2>"$tmp/cg.log"; then
        ir=$(sed -n 's/.*Collected : *\([0-9][0-9]*\).*/\1/p' "$tmp/cg.log" | tail -n 1)
        printf 'cgir\t%s\t%s\t%s\t%s\n' "${item%%:*}" "${item#*:}" "$cg_msgs" "$ir" >>"$tmp/cg.tsv"
      else
        printf 'error\tcallgrind\t%s\t%s\n' "$item" "$(tail -n 1 "$tmp/cg.log")" >>"$tmp/cg.tsv"
      fi
    done
  else
    echo "run_perf.sh: valgrind not found: no callgrind counts" >&2
  fi
fi

echo >&2
report_args=
[ "$smoke" = 1 ] && report_args=--smoke
[ -n "${BENCH_TSV:-}" ] && report_args="$report_args --tsv ${BENCH_TSV}"
# shellcheck disable=SC2086
"$node" "$here/node/perf_report.mjs" $report_args "$tmp/env.tsv" "$tmp/ws.tsv" \
  "$tmp/node_ws.tsv" "$tmp/sse.tsv" "$tmp/sse_node.tsv" "$tmp/cg.tsv"

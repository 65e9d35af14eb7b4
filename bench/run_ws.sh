#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the WebSocket benchmark (rtweb vs wslay's frame and event APIs vs memcpy, receive and
# send) and prints one table.
#
# usage: bench/run_ws.sh [BUILD_DIR]      (default: build)
#
# Builds nothing: run `meson setup build --buildtype=release && ninja -C build` first, with
# wslay installed (Debian: apt-get install libwslay-dev), or bench_ws is not built.
# BUILD_DIR is taken relative to the current directory, or else to the repository root.
# Environment knobs:
#   BENCH_REPS=9        timed repetitions per implementation and stream (>= 7; the median
#                       is reported)
#   BENCH_MIN_TIME=0.3  minimum seconds per repetition
#   BENCH_MIB=4         size of each receive stream in MiB (4: stays in cache, replayed)
#   BENCH_CHUNK=16384   bytes per rtw_ws_recv() call
# Exit status: non-zero when an implementation failed or the counts disagree.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-build}
reps=${BENCH_REPS:-9}
min_time=${BENCH_MIN_TIME:-0.3}
mib=${BENCH_MIB:-4}
chunk=${BENCH_CHUNK:-16384}

if [ ! -x "$build/bench/bench_ws" ] && [ -x "$root/$build/bench/bench_ws" ]; then
  build=$root/$build
fi
bin=$build/bench/bench_ws
if [ ! -x "$bin" ]; then
  echo "run_ws.sh: $bin not found; build it first (it needs wslay: libwslay-dev):" >&2
  echo "  meson setup $build --buildtype=release && ninja -C $build" >&2
  exit 2
fi

# The headers of Debian's wslay 1.1.1 still say 1.0.1-DEV; name the package too.
if command -v dpkg-query >/dev/null 2>&1; then
  pkg=$(dpkg-query -W -f '${Version}' libwslay1 2>/dev/null || true)
  if [ -n "$pkg" ]; then
    echo "wslay package: libwslay1 $pkg"
  fi
fi
exec "$bin" -r "$reps" -t "$min_time" -m "$mib" -c "$chunk"

#!/bin/sh
# SPDX-License-Identifier: MIT
# The echo benchmark: rtweb's echo server (`rtwcat serve`) against a node `ws` echo server,
# a Python `websockets` echo server and a plain TCP echo (the ceiling), driven by
# bench/echo_load (a load generator written on rtweb). See docs/performance.md,
# "Echo benchmark".
#
# usage: bench/run_echo.sh [BUILD_DIR]     (default: build-release)
#
# Configures BUILD_DIR with --buildtype=release if it does not exist yet, then builds
# echo_load, tcp_echo and rtwcat in it. Starts the four servers once (all on SERVER_CPU),
# then runs every point of the matrix against every server, back to back and interleaved
# (repetition after repetition), the load generator on LOAD_CPU; each number quoted is the
# MEDIAN over the repetitions. Prints a markdown table. Every server started is stopped on
# exit (trap). Raw results: one JSON line per run, kept in $ECHO_OUT if set.
#
# Environment knobs:
#   ECHO_REPS=3         repetitions of every (server, point); medians are quoted
#   ECHO_DURATION=3     measured seconds per run
#   ECHO_WARMUP=1       warm-up seconds per run (not counted)
#   ECHO_PIPELINED=1    1: add a pipelined point (1 connection, 32 B, 16 in flight)
#   SERVER_CPU=0        CPU the servers are pinned to (taskset -c)
#   LOAD_CPU=1          CPU the load generator is pinned to
#   ECHO_SERVERS="rtweb node python tcp"   servers to run (a subset is fine)
#   ECHO_PRIO=""        command prefix for servers and load generator, e.g. "nice -n -10"
#                       (needs root): on a machine shared with other work, gives the
#                       benchmark the larger share of the CPUs. Do NOT use "chrt -f/-r":
#                       under SCHED_FIFO node's threads, pinned to one CPU, can livelock
#                       (a spin-wait on a thread that never gets the CPU), seen here
#   NODE=node  PYTHON=/usr/bin/python3
#   ECHO_GROUP_NICE=""  e.g. -10: nice value of this shell session's autogroup during the
#                       run (root; Linux autogroup scheduling shares the CPUs equally
#                       between sessions regardless of ECHO_PRIO); restored on exit
#   ECHO_OUT=FILE       keep the raw JSON lines there
#   ECHO_REPORT=FILE    run nothing: print the tables from a file ECHO_OUT wrote
#
# Needs: node with bench/node/node_modules (`npm ci` in bench/node is run when missing),
# Debian python3-websockets, taskset (util-linux). The two CPUs must be different for the
# numbers to mean anything: server and load generator each get a core of their own.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-build-release}
reps=${ECHO_REPS:-3}
duration=${ECHO_DURATION:-3}
warmup=${ECHO_WARMUP:-1}
pipelined=${ECHO_PIPELINED:-1}
server_cpu=${SERVER_CPU:-0}
load_cpu=${LOAD_CPU:-1}
servers=${ECHO_SERVERS:-rtweb node python tcp}
prio=${ECHO_PRIO:-}
node=${NODE:-node}
python=${PYTHON:-/usr/bin/python3}
prog=run_echo.sh
# shellcheck source-path=SCRIPTDIR source=echo_common.sh
. "$here/echo_common.sh"

# Print the tables from a file of JSON lines (one per run, with "server" and "rep" added).
report() {
"$python" - "$1" <<'EOF'
import json, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
names = {"rtweb": "rtweb", "node": "node ws", "python": "py websockets", "tcp": "TCP echo"}
order = [s for s in ("rtweb", "node", "python", "tcp") if any(r["server"] == s for r in rows)]
points = []
for r in rows:
    p = (r["connections"], r["size"], r["pipeline"])
    if p not in points:
        points.append(p)

def med(server, p, key):
    v = [r[key] for r in rows if r["server"] == server and
         (r["connections"], r["size"], r["pipeline"]) == p]
    return statistics.median(v) if v else None

def label(p):
    c, s, d = p
    size = f"{s // 1024} KiB" if s >= 1024 and s % 1024 == 0 else f"{s} B"
    return f"{c} conn, {size}" + (f", pipeline {d}" if d > 1 else "")

def rate(v):
    return "-" if v is None else (f"{v / 1000:.1f} k" if v < 1e6 else f"{v / 1e6:.2f} M")

def us(v):
    return "-" if v is None else f"{v:.1f}"

peers = [s for s in order if s in ("node", "python")]
print("Throughput (messages/s, round trips completed per second; median)")
print()
print("| point | " + " | ".join(names[s] for s in order) + " | rtweb / best peer | >= 1.2x |")
print("|---" * (len(order) + 3) + "|")
for p in points:
    cells = [rate(med(s, p, "msgs_per_s")) for s in order]
    rt = med("rtweb", p, "msgs_per_s")
    best = max([med(s, p, "msgs_per_s") or 0 for s in peers] or [0])
    if rt is not None and best > 0:
        ratio = f"{rt / best:.2f}x"
        met = "met" if rt >= 1.2 * best else "MISSED"
    else:
        ratio, met = "-", "-"
    print(f"| {label(p)} | " + " | ".join(cells) + f" | {ratio} | {met} |")
print()
print("Latency (round trip, microseconds; median over repetitions of each run's p50 / p99)")
print()
print("| point | " + " | ".join(f"p50 {names[s]}" for s in order) +
      " | rtweb p50 - TCP p50 | " + " | ".join(f"p99 {names[s]}" for s in order) + " |")
print("|---" * (2 * len(order) + 2) + "|")
for p in points:
    p50 = [med(s, p, "p50_us") for s in order]
    p99 = [med(s, p, "p99_us") for s in order]
    rt, tcp = med("rtweb", p, "p50_us"), med("tcp", p, "p50_us")
    if rt is not None and tcp is not None:
        d = rt - tcp
        delta = f"{d:+.1f}" + ((" (<= 4: met)" if d <= 4.0 else " (> 4: MISSED)") if p[0] == 1 and p[2] == 1 else "")
    else:
        delta = "-"
    print(f"| {label(p)} | " + " | ".join(us(v) for v in p50) + f" | {delta} | " +
          " | ".join(us(v) for v in p99) + " |")
print()
print("CPU (share of one core over warm-up + measured time, median): server / load "
      "generator. A load generator near 1.00 may itself be the limit; with both on one CPU "
      "the two shares add up to at most 1.")
print()
print("| point | " + " | ".join(names[s] for s in order) + " |")
print("|---" * (len(order) + 1) + "|")
for p in points:
    cells = []
    for s in order:
        a, b = med(s, p, "server_cpu"), med(s, p, "load_cpu")
        cells.append("-" if a is None else f"{a:.2f} / {b:.2f}")
    print(f"| {label(p)} | " + " | ".join(cells) + " |")
print()
spread = []
for s in order:
    for p in points:
        v = [r["msgs_per_s"] for r in rows if r["server"] == s and
             (r["connections"], r["size"], r["pipeline"]) == p]
        if len(v) > 1 and min(v) > 0 and max(v) / min(v) > 1.25:
            spread.append(f"{names[s]} / {label(p)}: {min(v) / 1000:.1f}..{max(v) / 1000:.1f} k")
if spread:
    print("Noisy (max/min over repetitions > 1.25): " + "; ".join(spread))
EOF
}

if [ -n "${ECHO_REPORT:-}" ]; then
  report "$ECHO_REPORT"
  exit 0
fi

# Raise this session's autogroup (ECHO_GROUP_NICE): with autogroup scheduling every session
# gets an equal CPU share whatever its tasks' nice values, so other sessions' busy work
# would otherwise take half the CPUs. The old value is restored on exit.
old_group_nice=""
if [ -n "${ECHO_GROUP_NICE:-}" ]; then
  if [ -w /proc/self/autogroup ]; then
    old_group_nice=$(sed -n 's/.* nice \(-*[0-9][0-9]*\)$/\1/p' /proc/self/autogroup)
    echo "$ECHO_GROUP_NICE" >/proc/self/autogroup ||
      echo "run_echo.sh: could not set the autogroup nice (root needed)" >&2
  else
    echo "run_echo.sh: no /proc/self/autogroup (no autogroup scheduling): ECHO_GROUP_NICE ignored" >&2
  fi
fi

configure_build
if [ "$(meson introspect --buildoptions "$build" 2>/dev/null |
        "$python" -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"][0])' 2>/dev/null || echo unknown)" != release ]; then
  echo "run_echo.sh: warning: $build is not a release build; numbers will be pessimistic" >&2
fi
ninja -C "$build" bench/echo_load bench/tcp_echo tools/rtwcat >&2

setup_run echo
node_modules

active=""
for s in $servers; do
  case $s in
    rtweb)
      if start rtweb "$build/tools/rtwcat" serve --host 127.0.0.1 --port 0; then
        active="$active rtweb"
      else
        echo "run_echo.sh: 'rtwcat serve' did not start; the table has no rtweb column" >&2
      fi ;;
    node) start node "$node" "$here/node/echo_ws.mjs" --port 0 && active="$active node" ;;
    python) start python "$python" "$here/echo_websockets.py" --port 0 && active="$active python" ;;
    tcp) start tcp "$build/bench/tcp_echo" --port 0 && active="$active tcp" ;;
    *) echo "run_echo.sh: unknown server $s" >&2; exit 2 ;;
  esac
done

# connections size pipeline
points="1:32:1 100:32:1 1:16384:1 100:16384:1"
if [ "$pipelined" = 1 ]; then
  points="$points 1:32:16"
fi

# one_point CONNECTIONS:SIZE:PIPELINE: one run against every server
one_point() {
  c=${1%%:*}
  rest=${1#*:}
  sz=${rest%%:*}
  pl=${rest#*:}
  for s in $active; do
    mode=""
    [ "$s" = tcp ] && mode=--tcp
    printf 'run_echo.sh: rep %s/%s %-6s %3s conn %5s B pipeline %-2s ' "$r" "$reps" "$s" "$c" "$sz" "$pl" >&2
    # shellcheck disable=SC2086 # $mode: split on purpose
    run_load "$s" --connections "$c" --size "$sz" --pipeline "$pl" --duration "$duration" \
      --warmup "$warmup" --binary $mode
    if [ "$load_ok" = 1 ]; then
      echo "$line" | sed 's/.*"msgs_per_s":\([0-9]*\).*"p50_us":\([0-9.]*\).*"load_cpu":\([0-9.]*\).*/\1 msg\/s, p50 \2 us, cpu load \3/' |
        sed "s/\$/ server $scpu/" >&2
    fi
  done
}

run_reps
keep_results "${ECHO_OUT:-}"

print_header "Echo benchmark"
# shellcheck disable=SC2016 # the quotes are literal text inside a double-quoted string
echo "servers on CPU $server_cpu, load generator on CPU $load_cpu${prio:+, both under '$prio'}${ECHO_GROUP_NICE:+, autogroup nice $ECHO_GROUP_NICE};" \
     "$reps repetitions of ${warmup} s warm-up + ${duration} s measured; medians; binary messages"
print_report

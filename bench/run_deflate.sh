#!/bin/sh
# SPDX-License-Identifier: MIT
# The echo benchmark with permessage-deflate (RFC 7692) negotiated: rtweb's echo server
# (`rtwcat serve --deflate`) against node `ws` (perMessageDeflate, threshold 0) and Python
# `websockets` (permessage-deflate with zlib's defaults), all driven by bench/echo_load
# --deflate (a load generator on rtweb: it offers the default rtweb offer, checks the answer
# and compresses every message it sends). Same data for every server: JSON chat messages
# (100..200 B, varied, deterministic: bench/deflate_data.c) and 64 KiB of JSON-like text.
# See docs/performance.md, "permessage-deflate".
#
# usage: bench/run_deflate.sh [BUILD_DIR]     (default: build-release)
#
# Configures BUILD_DIR with --buildtype=release if it does not exist yet, builds echo_load
# and rtwcat in it, starts the three servers once (all on SERVER_CPU), then runs every point
# against every server, interleaved repetition after repetition, the load generator on
# LOAD_CPU. Each number quoted is the MEDIAN over the repetitions. Prints markdown tables.
# Every server started is stopped on exit (trap).
#
# Environment knobs:
#   DEFLATE_REPS=3        repetitions of every (server, point)
#   DEFLATE_DURATION=3    measured seconds per run
#   DEFLATE_WARMUP=1      warm-up seconds per run (not counted; echoes are checked)
#   DEFLATE_TAKEOVER=0    1: context takeover both ways: echo_load --deflate-takeover offers
#                         it, rtwcat runs with --deflate-context-takeover (node ws and
#                         websockets accept it by default)
#   DEFLATE_POINTS="chat:1 chat:100 text:1 text:10"   data:connections (text = 64 KiB)
#   SERVER_CPU=0  LOAD_CPU=1
#   DEFLATE_SERVERS="rtweb rtweb-notrim node python"   rtweb-notrim: the same rtwcat with
#                         glibc's heap trimming off (GLIBC_TUNABLES trim_threshold and
#                         mmap_threshold raised): without context takeover rtweb frees each
#                         message's zlib state (about 300 KiB), and glibc otherwise gives the
#                         heap top back to the kernel and takes it again every message
#   RTWEB_SERVER="..."    the rtweb server command (default: BUILD_DIR/tools/rtwcat serve
#                         --deflate [--deflate-context-takeover] --host 127.0.0.1
#                         --port 0); it must print
#                         `listening on http://HOST:PORT/`
#   NODE=node  PYTHON=/usr/bin/python3
#   DEFLATE_OUT=FILE      keep the raw JSON lines (one per run) there
#   DEFLATE_REPORT=FILE   run nothing: print the tables from a file DEFLATE_OUT wrote
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-build-release}
reps=${DEFLATE_REPS:-3}
duration=${DEFLATE_DURATION:-3}
warmup=${DEFLATE_WARMUP:-1}
takeover=${DEFLATE_TAKEOVER:-0}
points=${DEFLATE_POINTS:-chat:1 chat:100 text:1 text:10}
server_cpu=${SERVER_CPU:-0}
load_cpu=${LOAD_CPU:-1}
servers=${DEFLATE_SERVERS:-rtweb rtweb-notrim node python}
node=${NODE:-node}
python=${PYTHON:-/usr/bin/python3}
prio=""
prog=run_deflate.sh
# shellcheck source-path=SCRIPTDIR source=echo_common.sh
. "$here/echo_common.sh"

report() {
"$python" - "$1" <<'EOF'
import json, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
names = {"rtweb": "rtweb", "rtweb-notrim": "rtweb (no heap trim)", "node": "node ws",
         "python": "py websockets"}
order = [s for s in ("rtweb", "rtweb-notrim", "node", "python")
         if any(r["server"] == s for r in rows)]
ours = [s for s in order if s.startswith("rtweb")]
points = []
for r in rows:
    p = (r["data"], r["connections"])
    if p not in points:
        points.append(p)

def med(server, p, key):
    v = [r[key] for r in rows if r["server"] == server and (r["data"], r["connections"]) == p]
    return statistics.median(v) if v else None

def label(p):
    d, c = p
    return ("JSON chat" if d == "chat" else "64 KiB text") + f", {c} conn"

def rate(v):
    return "-" if v is None else (f"{v / 1000:.1f} k" if v < 1e6 else f"{v / 1e6:.2f} M")

def mbs(v):
    return "-" if v is None else f"{v / 1e6:.1f}"

print("Throughput with permessage-deflate (echo round trips per second, and payload MB/s one "
      "way; median)")
print()
print("| point | " + " | ".join(f"{names[s]} msg/s" for s in order) + " | " +
      " | ".join(f"{names[s]} MB/s" for s in order) + " | " +
      " | ".join(f"{names[s]} / node ws (>= 1.2x)" for s in ours) + " |")
print("|---" * (2 * len(order) + len(ours) + 1) + "|")
for p in points:
    nd = med("node", p, "msgs_per_s")
    cells = []
    for s in ours:
        rt = med(s, p, "msgs_per_s")
        cells.append(f"{rt / nd:.2f}x " + ("met" if rt >= 1.2 * nd else "MISSED")
                     if rt is not None and nd else "-")
    print(f"| {label(p)} | " + " | ".join(rate(med(s, p, "msgs_per_s")) for s in order) +
          " | " + " | ".join(mbs(med(s, p, "bytes_per_s")) for s in order) +
          " | " + " | ".join(cells) + " |")
print()
print("Server CPU per echo (microseconds of server CPU time per round trip, warm-up included: "
      "server CPU share / msg/s, median over repetitions; lower is better). Less sensitive "
      "than msg/s to other work on the machine; node's zlib runs on its worker threads, "
      "counted too")
print()
print("| point | " + " | ".join(names[s] for s in order) + " | " +
      " | ".join(f"node ws / {names[s]}" for s in ours) + " |")
print("|---" * (len(order) + len(ours) + 1) + "|")

def cpu_per_echo(server, p):
    v = [r["server_cpu"] / r["msgs_per_s"] * 1e6 for r in rows
         if r["server"] == server and (r["data"], r["connections"]) == p and r["msgs_per_s"]]
    return statistics.median(v) if v else None

for p in points:
    vals = [cpu_per_echo(s, p) for s in order]
    nd = cpu_per_echo("node", p)
    cells = []
    for s in ours:
        v = cpu_per_echo(s, p)
        cells.append("-" if v is None or nd is None else f"{nd / v:.2f}x")
    print(f"| {label(p)} | " + " | ".join("-" if v is None else f"{v:.0f}" for v in vals) +
          " | " + " | ".join(cells) + " |")
print()
print("Compression (payload bytes / bytes on the wire, frame headers included): each server's "
      "echoes; the load generator's (rtweb client) messages")
print()
print("| point | mean message | " + " | ".join(names[s] for s in order) +
      " | load generator (rtweb) |")
print("|---" * (len(order) + 3) + "|")
for p in points:
    sizes = [med(s, p, "mean_size") for s in order if med(s, p, "mean_size")]
    tx = [med(s, p, "tx_ratio") for s in order if med(s, p, "tx_ratio")]
    print(f"| {label(p)} | {statistics.median(sizes):.0f} B | " +
          " | ".join("-" if med(s, p, "rx_ratio") is None else f"{med(s, p, 'rx_ratio'):.2f}x"
                     for s in order) +
          f" | {statistics.median(tx):.2f}x |")
print()
print("Latency p50 / p99 (us) and CPU share of the server / load generator (median)")
print()
print("| point | " + " | ".join(names[s] for s in order) + " |")
print("|---" * (len(order) + 1) + "|")
for p in points:
    cells = []
    for s in order:
        a = med(s, p, "p50_us")
        cells.append("-" if a is None else
                     f"{a:.0f} / {med(s, p, 'p99_us'):.0f} us, cpu {med(s, p, 'server_cpu'):.2f}"
                     f" / {med(s, p, 'load_cpu'):.2f}")
    print(f"| {label(p)} | " + " | ".join(cells) + " |")
print()
for s in order:
    ext = sorted(set(r["extension"] for r in rows if r["server"] == s))
    print(f"- {names[s]} answered: " + "; ".join(f"`{e}`" for e in ext))
spread = []
for s in order:
    for p in points:
        v = [r["msgs_per_s"] for r in rows if r["server"] == s and
             (r["data"], r["connections"]) == p]
        if len(v) > 1 and min(v) > 0 and max(v) / min(v) > 1.25:
            spread.append(f"{names[s]} / {label(p)}: {min(v) / 1000:.1f}..{max(v) / 1000:.1f} k")
if spread:
    print("- noisy (max/min over repetitions > 1.25): " + "; ".join(spread))
EOF
}

if [ -n "${DEFLATE_REPORT:-}" ]; then
  report "$DEFLATE_REPORT"
  exit 0
fi

configure_build
ninja -C "$build" bench/echo_load tools/rtwcat >&2

setup_run deflate
node_modules

rtweb_takeover=""
[ "$takeover" = 1 ] && rtweb_takeover=--deflate-context-takeover
active=""
for s in $servers; do
  case $s in
    rtweb)
      # shellcheck disable=SC2086 # RTWEB_SERVER is a command line: split on purpose
      if start rtweb ${RTWEB_SERVER:-$build/tools/rtwcat serve --deflate $rtweb_takeover --host 127.0.0.1 --port 0}; then
        active="$active rtweb"
      fi ;;
    rtweb-notrim)
      # shellcheck disable=SC2086 # as above
      if start rtweb-notrim env "GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456:glibc.malloc.mmap_threshold=33554432" \
           ${RTWEB_SERVER:-$build/tools/rtwcat serve --deflate $rtweb_takeover --host 127.0.0.1 --port 0}; then
        active="$active rtweb-notrim"
      fi ;;
    node) start node "$node" "$here/node/echo_ws.mjs" --port 0 --deflate && active="$active node" ;;
    python) start python "$python" "$here/echo_websockets.py" --port 0 --deflate &&
              active="$active python" ;;
    *) echo "run_deflate.sh: unknown server $s" >&2; exit 2 ;;
  esac
done

flag=--deflate
[ "$takeover" = 1 ] && flag=--deflate-takeover

# one_point DATA:CONNECTIONS: one run against every server
one_point() {
  data=${1%%:*}
  c=${1#*:}
  size=65536
  for s in $active; do
    printf 'run_deflate.sh: rep %s/%s %-6s %-4s %3s conn ' "$r" "$reps" "$s" "$data" "$c" >&2
    run_load "$s" --connections "$c" --size "$size" --data "$data" --text $flag \
      --duration "$duration" --warmup "$warmup"
    if [ "$load_ok" = 1 ]; then
      echo "$line" | sed 's/.*"msgs_per_s":\([0-9]*\).*"rx_ratio":\([0-9.]*\).*/\1 msg\/s, server ratio \2/' |
        sed "s/\$/, server cpu $scpu/" >&2
    fi
  done
}

run_reps
keep_results "${DEFLATE_OUT:-}"

print_header "permessage-deflate echo benchmark"
echo "servers on CPU $server_cpu, load generator on CPU $load_cpu; $reps repetitions of" \
     "${warmup} s warm-up + ${duration} s measured; medians; text messages; echo_load $flag"
print_report

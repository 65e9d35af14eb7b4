#!/bin/sh
# SPDX-License-Identifier: MIT
# The TLS benchmark (issue #14): rtweb's WebSocket echo over rtw_tls (bench/tls_echo) against
# node `ws` on node's https (bench/node/echo_wss.mjs), with the same throwaway certificate and
# the same load generators, plus both servers over plain TCP for the cost of TLS. See
# docs/performance.md, "TLS".
#
# usage: bench/run_tls.sh [BUILD_DIR]     (default: build-release)
#
# Three parts, each server started once (all on SERVER_CPU), load on LOAD_CPU:
#   1. memory per idle connection: the server's VmRSS before and after echo_load --idle
#      opens TLS_IDLE connections (TLS handshake and WebSocket upgrade done, then silent),
#      divided by their number; first, on fresh servers;
#   2. handshakes per second (bench/tls_handshake, TLS_HS_CONC at a time): full handshakes
#      and resumed ones (the session ticket of a first full handshake offered by every later
#      connection), with the server's CPU time per handshake (from /proc/PID/stat);
#   3. echo throughput: message sizes x connections (TLS_POINTS), every server, repetition
#      after repetition, interleaved; the MEDIAN over the repetitions is quoted, with the
#      ratio rtweb/node per point over TLS (goal >= 1.2x) and the cost of TLS for each server
#      (plain / TLS, from the same run).
# Prints markdown tables. Every server started is stopped on exit (trap). Raw results: one
# JSON line per run, kept in $TLS_OUT if set; TLS_REPORT=FILE prints the tables from it.
#
# The certificate: a throwaway CA and a leaf for localhost / 127.0.0.1 (EC P-256, 2 days),
# made with the openssl command line in the temporary directory and deleted with it. The
# echo clients verify the leaf against that CA (server name 127.0.0.1); the handshake and
# idle clients skip verification (--insecure), so that the client's signature check does not
# set the pace: the same client is used against both servers, so the ratio stays fair.
#
# Environment knobs (and echo_common.sh's: SERVER_CPU=0, LOAD_CPU=1, NODE, PYTHON, TLS_PRIO
# as ECHO_PRIO):
#   TLS_REPS=3            repetitions of every echo point and handshake run
#   TLS_DURATION=2        measured seconds per run;  TLS_WARMUP=0.5  warm-up seconds
#   TLS_POINTS="1:16 1:1024 1:16384 1:65536 50:16 50:1024 50:16384 50:65536"
#                         CONNECTIONS:SIZE echo points
#   TLS_HS_CONC=8         handshakes in flight
#   TLS_IDLE=1000         idle connections for the memory figure (0: skip that part)
#   TLS_SERVERS="rtweb-tls node-tls rtweb node"   servers to run
#   TLS_NODE_CHACHA=0     1: node's server prefers ChaCha20-Poly1305 (echo_wss.mjs
#                         --prefer-chacha), for a machine where rtweb-tls has no AES-GCM
#                         kernel and so prefers ChaCha20-Poly1305 (docs/tls.md, the record
#                         path); 0: node's defaults, which follow the client's order, so both
#                         servers run AES-128-GCM with rtweb's client where rtweb's kernels
#                         run (x86-64 with AES-NI). The report names each server's suite.
#   TLS_GROUP_NICE=""     e.g. -10: this session's autogroup nice during the run (root;
#                         see run_echo.sh), restored on exit
#
# Needs: node with bench/node/node_modules (`npm ci` when missing), openssl, taskset.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-build-release}
reps=${TLS_REPS:-3}
duration=${TLS_DURATION:-2}
warmup=${TLS_WARMUP:-0.5}
server_cpu=${SERVER_CPU:-0}
load_cpu=${LOAD_CPU:-1}
servers=${TLS_SERVERS:-rtweb-tls node-tls rtweb node}
prio=${TLS_PRIO:-}
node=${NODE:-node}
python=${PYTHON:-/usr/bin/python3}
hs_conc=${TLS_HS_CONC:-8}
idle=${TLS_IDLE:-1000}
points=${TLS_POINTS:-1:16 1:1024 1:16384 1:65536 50:16 50:1024 50:16384 50:65536}
prog=run_tls.sh
# shellcheck source-path=SCRIPTDIR source=echo_common.sh
. "$here/echo_common.sh"

report() {
"$python" - "$1" <<'EOF'
import json, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
names = {"rtweb-tls": "rtweb TLS", "node-tls": "node ws TLS", "rtweb": "rtweb plain",
         "node": "node ws plain"}

def med(v):
    return statistics.median(v) if v else None

def rate(v):
    return "-" if v is None else (f"{v / 1000:.1f} k" if v < 1e6 else f"{v / 1e6:.2f} M")

def ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.2f}x"

echo = [r for r in rows if r.get("kind", "echo") == "echo"]
points = []
for r in echo:
    p = (r["connections"], r["size"])
    if p not in points:
        points.append(p)

def em(server, p, key="msgs_per_s"):
    return med([r[key] for r in echo if r["server"] == server and
                (r["connections"], r["size"]) == p])

def label(p):
    c, s = p
    size = f"{s // 1024} KiB" if s >= 1024 and s % 1024 == 0 else f"{s} B"
    return f"{c} conn, {size}"

suites = []
for s in ("rtweb-tls", "node-tls"):
    c = next((r["tls"] for r in rows if r.get("server") == s and r.get("tls")), "")
    if c:
        suites.append(f"{names[s]}: {c}")
if suites:
    print("Negotiated (as seen by the client): " + "; ".join(suites))
    print()
if points:
    print("Echo throughput (messages/s, round trips per second; median)")
    print()
    print("| point | rtweb TLS | node ws TLS | rtweb / node (TLS) | >= 1.2x | rtweb plain | "
          "node ws plain | rtweb plain / TLS | node plain / TLS |")
    print("|---" * 9 + "|")
    for p in points:
        rt, nt, rp, np_ = em("rtweb-tls", p), em("node-tls", p), em("rtweb", p), em("node", p)
        met = "-" if rt is None or not nt else ("met" if rt >= 1.2 * nt else "MISSED")
        print(f"| {label(p)} | {rate(rt)} | {rate(nt)} | {ratio(rt, nt)} | {met} | {rate(rp)} | "
              f"{rate(np_)} | {ratio(rp, rt)} | {ratio(np_, nt)} |")
    print()
    print("Server CPU per echo (microseconds of the server's user + system time inside the "
          "measured window per round trip, median; the figure that compares servers when the "
          "load generator is the limit)")
    print()
    print("| point | rtweb TLS | node ws TLS | node / rtweb (TLS) | rtweb plain | node ws plain |")
    print("|---" * 6 + "|")

    def cpu_per(server, p):
        return med([r["server_cpu_s"] / r["messages"] * 1e6 for r in echo
                    if r["server"] == server and (r["connections"], r["size"]) == p and
                    r.get("server_cpu_s", -1) >= 0 and r["messages"] > 0])

    def us(v):
        return "-" if v is None else f"{v:.1f}"
    for p in points:
        rt, nt = cpu_per("rtweb-tls", p), cpu_per("node-tls", p)
        print(f"| {label(p)} | {us(rt)} | {us(nt)} | {ratio(nt, rt)} | "
              f"{us(cpu_per('rtweb', p))} | {us(cpu_per('node', p))} |")
    print()
    print("Latency p50 / p99 (microseconds, median over repetitions) and CPU (server / load "
          "generator, share of one core over warm-up + measured time; the server's share "
          "includes the connection setup, TLS handshakes too)")
    print()
    order = [s for s in names if any(r["server"] == s for r in echo)]
    print("| point | " + " | ".join(f"{names[s]} p50 / p99" for s in order) + " | " +
          " | ".join(f"{names[s]} CPU" for s in order) + " |")
    print("|---" * (2 * len(order) + 1) + "|")
    for p in points:
        lat = []
        cpu = []
        for s in order:
            a, b = em(s, p, "p50_us"), em(s, p, "p99_us")
            lat.append("-" if a is None else f"{a:.0f} / {b:.0f}")
            x, y = em(s, p, "server_cpu"), em(s, p, "load_cpu")
            cpu.append("-" if x is None else f"{x:.2f} / {y:.2f}")
        print(f"| {label(p)} | " + " | ".join(lat) + " | " + " | ".join(cpu) + " |")
    print()

hs = [r for r in rows if r.get("kind") == "handshake"]
if hs:
    print("TLS handshakes (median over repetitions; server CPU = the server's user + system "
          "time per handshake; load = the client's CPU share)")
    print()
    print("| server | handshake | per second | resumed | server CPU per handshake | load CPU |")
    print("|---" * 6 + "|")
    for s in ("rtweb-tls", "node-tls"):
        for mode in ("full", "resumed"):
            v = [r for r in hs if r["server"] == s and r["mode"] == mode]
            if not v:
                continue
            per = med([r["per_s"] for r in v])
            res = med([r["resumed"] / r["handshakes"] if r["handshakes"] else 0 for r in v])
            cpu = med([r["server_cpu_s"] / r["handshakes"] * 1e6 for r in v if r["handshakes"]])
            load = med([r["load_cpu"] for r in v])
            print(f"| {names[s]} | {mode} | {per:.0f} | {res * 100:.0f} % | {cpu:.0f} us | "
                  f"{load:.2f} |")
    for mode in ("full", "resumed"):
        a = [r for r in hs if r["server"] == "rtweb-tls" and r["mode"] == mode and r["handshakes"]]
        b = [r for r in hs if r["server"] == "node-tls" and r["mode"] == mode and r["handshakes"]]
        if a and b:
            ca = med([r["server_cpu_s"] / r["handshakes"] for r in a])
            cb = med([r["server_cpu_s"] / r["handshakes"] for r in b])
            pa = med([r["per_s"] for r in a])
            pb = med([r["per_s"] for r in b])
            print()
            print(f"{mode}: rtweb / node handshakes per second {pa / pb:.2f}x; server CPU per "
                  f"handshake, node / rtweb {cb / ca:.2f}x (above 1: rtweb spends less)", end="")
    print()
    print()

idle = [r for r in rows if r.get("kind") == "idle"]
if idle:
    print("Memory per idle connection (server VmRSS after opening them minus before, divided "
          "by their number; TLS: handshake done, WebSocket upgraded; median)")
    print()
    print("| server | connections | RSS before | RSS delta | per connection |")
    print("|---" * 5 + "|")
    for s in names:
        v = [r for r in idle if r["server"] == s]
        if not v:
            continue
        n = v[0]["idle"]
        before = med([r["rss_before_kib"] for r in v])
        delta = med([r["rss_after_kib"] - r["rss_before_kib"] for r in v])
        print(f"| {names[s]} | {n} | {before / 1024:.1f} MiB | {delta / 1024:.1f} MiB | "
              f"{delta / n:.1f} KiB |")
    print()

spread = []
for s in names:
    for p in points:
        v = [r["msgs_per_s"] for r in echo if r["server"] == s and
             (r["connections"], r["size"]) == p]
        if len(v) > 1 and min(v) > 0 and max(v) / min(v) > 1.25:
            spread.append(f"{names[s]} / {label(p)}: {min(v) / 1000:.1f}..{max(v) / 1000:.1f} k")
if spread:
    print("Noisy (max/min over repetitions > 1.25): " + "; ".join(spread))
EOF
}

if [ -n "${TLS_REPORT:-}" ]; then
  report "$TLS_REPORT"
  exit 0
fi

# TLS_GROUP_NICE: as run_echo.sh's ECHO_GROUP_NICE (this session's autogroup nice, root only,
# restored on exit), so that other sessions' work takes less of the CPUs meanwhile.
old_group_nice=""
if [ -n "${TLS_GROUP_NICE:-}" ]; then
  if [ -w /proc/self/autogroup ]; then
    old_group_nice=$(sed -n 's/.* nice \(-*[0-9][0-9]*\)$/\1/p' /proc/self/autogroup)
    echo "$TLS_GROUP_NICE" >/proc/self/autogroup ||
      echo "$prog: could not set the autogroup nice (root needed)" >&2
  else
    echo "$prog: no /proc/self/autogroup: TLS_GROUP_NICE ignored" >&2
  fi
fi

configure_build
ninja -C "$build" bench/echo_load bench/tls_echo bench/tls_handshake >&2
setup_run tls
node_modules
results=$tmp/results.jsonl
: >"$results"

# The throwaway certificate (never committed; deleted with $tmp).
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
# shellcheck disable=SC2086 # $ec: split on purpose
openssl req -x509 $ec -days 2 -subj /CN=rtweb-bench-ca -keyout "$tmp/ca.key" \
  -out "$tmp/ca.crt" 2>/dev/null
# shellcheck disable=SC2086
openssl req $ec -subj /CN=localhost -keyout "$tmp/leaf.key" -out "$tmp/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tmp/leaf.ext"
openssl x509 -req -in "$tmp/leaf.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" \
  -CAcreateserial -days 2 -extfile "$tmp/leaf.ext" -out "$tmp/leaf.crt" 2>/dev/null

tls_args="--tls --ca $tmp/ca.crt"
is_tls() { case $1 in *-tls) return 0 ;; *) return 1 ;; esac; }

start_server() {
  case $1 in
    rtweb-tls) start rtweb-tls "$build/bench/tls_echo" --port 0 --tls-cert "$tmp/leaf.crt" \
                 --tls-key "$tmp/leaf.key" ;;
    node-tls)
      chacha=""
      [ "${TLS_NODE_CHACHA:-0}" = 1 ] && chacha=--prefer-chacha
      # shellcheck disable=SC2086 # $chacha: empty or one word
      start node-tls "$node" "$here/node/echo_wss.mjs" --port 0 --cert "$tmp/leaf.crt" \
        --key "$tmp/leaf.key" $chacha ;;
    rtweb) start rtweb "$build/bench/tls_echo" --port 0 ;;
    node) start node "$node" "$here/node/echo_ws.mjs" --port 0 ;;
    *) echo "$prog: unknown server $1" >&2; exit 2 ;;
  esac
}

active=""
for s in $servers; do
  if start_server "$s"; then
    active="$active $s"
  else
    echo "$prog: $s did not start; it is left out" >&2
  fi
done

rss_kib() {
  sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$(cat "$tmp/$1.pid")/status"
}

# 1. Memory per idle connection, on the fresh servers.
if [ "$idle" -gt 0 ]; then
  for s in $active; do
    mode=""
    is_tls "$s" && mode="--tls --insecure"
    sleep 0.5
    before=$(rss_kib "$s")
    # shellcheck disable=SC2086 # $mode, $prio: split on purpose
    taskset -c "$load_cpu" $prio "$load" --port "$(cat "$tmp/$s.port")" --connections "$idle" \
      $mode --idle 600 >"$tmp/idle-$s.out" 2>"$tmp/idle-$s.err" &
    lp=$!
    i=0
    while ! grep -q '"idle"' "$tmp/idle-$s.out" 2>/dev/null; do
      i=$((i + 1))
      if [ $i -gt 1200 ] || ! kill -0 "$lp" 2>/dev/null; then
        echo "$prog: idle connections to $s failed:" >&2
        cat "$tmp/idle-$s.err" >&2
        break
      fi
      sleep 0.1
    done
    if grep -q '"idle"' "$tmp/idle-$s.out" 2>/dev/null; then
      sleep 1 # let the server finish what the last connections started
      after=$(rss_kib "$s")
      echo "{\"kind\":\"idle\",\"server\":\"$s\",\"idle\":$idle,\"rss_before_kib\":$before,\"rss_after_kib\":$after}" >>"$results"
      echo "$prog: $s: $idle idle connections, VmRSS $before -> $after KiB" >&2
    fi
    kill "$lp" 2>/dev/null || true
    wait "$lp" 2>/dev/null || true
  done
  sleep 1 # the servers close the idle connections
fi

# 2. Handshakes per second, full and resumed.
r=1
while [ "$r" -le "$reps" ]; do
  for s in $active; do
    is_tls "$s" || continue
    for mode in full resumed; do
      extra=""
      [ "$mode" = resumed ] && extra=--resume
      port=$(cat "$tmp/$s.port")
      # shellcheck disable=SC2086 # $extra, $prio: split on purpose
      if line=$(taskset -c "$load_cpu" $prio "$build/bench/tls_handshake" --port "$port" \
                  --insecure $extra --concurrency "$hs_conc" --duration "$duration" \
                  --warmup "$warmup" --server-pid "$(cat "$tmp/$s.pid")"); then
        scpu=$(echo "$line" | sed 's/.*"server_cpu_s":\([-0-9.]*\).*/\1/')
        echo "$line" | sed "s/^{/{\"kind\":\"handshake\",\"server\":\"$s\",\"rep\":$r,/" >>"$results"
        echo "$prog: rep $r/$reps $s $mode: $(echo "$line" | sed 's/.*"per_s":\([0-9]*\).*"resumed":\([0-9]*\).*/\1 per s, \2 resumed/'), server CPU $scpu s" >&2
      else
        echo "$prog: rep $r/$reps $s $mode: FAILED" >&2
      fi
    done
  done
  r=$((r + 1))
done

# 3. Echo throughput.
# one_point CONNECTIONS:SIZE: one run against every server
one_point() {
  c=${1%%:*}
  sz=${1#*:}
  for s in $active; do
    mode=""
    is_tls "$s" && mode=$tls_args
    printf '%s: rep %s/%s %-9s %3s conn %5s B ' "$prog" "$r" "$reps" "$s" "$c" "$sz" >&2
    # shellcheck disable=SC2086 # $mode: split on purpose
    run_load "$s" --connections "$c" --size "$sz" --duration "$duration" --warmup "$warmup" \
      --binary --server-pid "$(cat "$tmp/$s.pid")" $mode
    if [ "$load_ok" = 1 ]; then
      echo "$line" | sed 's/.*"msgs_per_s":\([0-9]*\).*"p50_us":\([0-9.]*\).*"load_cpu":\([0-9.]*\).*/\1 msg\/s, p50 \2 us, cpu load \3/' |
        sed "s/\$/ server $scpu/" >&2
    fi
  done
}
# run_reps (echo_common.sh) truncates $results: keep parts 1 and 2 aside.
cp "$results" "$tmp/parts12.jsonl"
run_reps
cat "$tmp/parts12.jsonl" "$results" >"$tmp/all.jsonl"
results=$tmp/all.jsonl
keep_results "${TLS_OUT:-}"

print_header "TLS benchmark"
# shellcheck disable=SC2016 # the quotes are literal text inside a double-quoted string
echo "servers on CPU $server_cpu, load generators on CPU $load_cpu${prio:+, both under '$prio'}${TLS_GROUP_NICE:+, autogroup nice $TLS_GROUP_NICE};" \
     "$reps repetitions of ${warmup} s warm-up + ${duration} s measured; medians; binary" \
     "messages; rtweb $(basename "$build") ($(meson introspect --buildoptions "$build" 2>/dev/null |
       "$python" -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"][0])' 2>/dev/null || echo '?'))"
print_report
for s in rtweb-tls node-tls; do
  if [ -s "$tmp/$s.err" ]; then head -n 1 "$tmp/$s.err"; fi
done

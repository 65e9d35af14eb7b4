#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The cluster benchmark (docs/scale-out.md, "Capacity"): tools/cluster.sh starts redis-server,
# 3 rtweb-chat nodes sharing the chat through it and nginx in front (plain HTTP, loopback);
# bench/cluster_load.py then opens 1,000 SSE subscribers and 100 chatting WebSocket clients
# through nginx and prints the delivery latency percentiles and the lost events (must be 0).
#
#   bench/run_cluster.sh [BUILD_DIR] [cluster_load.py options: --sse --ws --rate --seconds]
#
# BUILD_DIR (default build-bench) holds examples/chat/rtweb-chat; it is configured
# (--buildtype=release) and built when missing. The nodes get --max-conns 4096 and no
# per-socket rate limits (--msg-rate 0 --byte-rate 0): the load is the benchmark's.
set -euo pipefail
cd "$(dirname "$0")/.."
build="build-bench"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then build=$1; shift; fi
if [ ! -x "$build/examples/chat/rtweb-chat" ]; then
  [ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release -Dtests=disabled >/dev/null
  ninja -C "$build" examples/chat/rtweb-chat >/dev/null
fi
ulimit -n "$(ulimit -Hn)"
out=$(mktemp)
RTWEB_CHAT=$build/examples/chat/rtweb-chat tools/cluster.sh --nodes 3 --port 0 -- \
  --max-conns 4096 --msg-rate 0 --byte-rate 0 >"$out" 2>"$out.err" &
cluster=$!
trap 'kill $cluster 2>/dev/null; wait $cluster 2>/dev/null; rm -f "$out" "$out.err"' EXIT
for _ in $(seq 100); do
  grep -q 'open http' "$out" && break
  kill -0 $cluster 2>/dev/null || { cat "$out.err" >&2; exit 1; }
  sleep 0.1
done
url=$(sed -n 's|.*open \(http://[^ ]*\) .*|\1|p' "$out")
echo "run_cluster: $url (3 nodes behind nginx, $(nproc) cores shared with everything else)"
/usr/bin/python3 bench/cluster_load.py "$url" "$@"

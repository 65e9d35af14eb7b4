#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A local rtweb cluster in one command (docs/scale-out.md, "Running a cluster"): redis-server,
# N rtweb-chat nodes sharing one chat through it (--redis), and nginx in front of them
# (tools/nginx/rtweb-cluster.conf.in, or -tls.conf.in with --tls), all on free 127.0.0.1
# ports, with their files in a temporary directory. Prints the URL; Ctrl-C stops everything.
#
#   tools/cluster.sh [--nodes 3] [--port 8080] [--tls] [--keep] [-- NODE OPTIONS...]
#
# --nodes N   rtweb-chat processes (default 3)
# --port P    nginx's port (default 8080; 0: a free one)
# --tls       nginx serves https and HTTP/2 with a throwaway self-signed certificate (openssl)
#             and proxies to the nodes in plain HTTP
# --keep      keep the temporary directory (logs) after stopping
# after --    options for every node (e.g. -- --history 5000)
# RTWEB_CHAT=path/to/rtweb-chat uses that binary; otherwise it is built in build-demo/ as
# tools/demo.sh does. Needs redis-server, nginx (and openssl for --tls): Debian packages
# redis-server nginx-light (or nginx) openssl.
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=3 port=8080 tls=0 keep=0
node_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) nodes=$2; shift 2 ;;
    --nodes=*) nodes=${1#*=}; shift ;;
    --port) port=$2; shift 2 ;;
    --port=*) port=${1#*=}; shift ;;
    --tls) tls=1; shift ;;
    --keep) keep=1; shift ;;
    --) shift; node_args=("$@"); break ;;
    -h|--help) sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "cluster: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$nodes" in ''|*[!0-9]*) echo "cluster: --nodes needs a number" >&2; exit 2 ;; esac
[ "$nodes" -ge 1 ] || { echo "cluster: --nodes must be at least 1" >&2; exit 2; }

for p in redis-server nginx; do
  command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] ||
    { echo "cluster: $p is missing (apt-get install redis-server nginx-light)" >&2; exit 1; }
done
PATH=$PATH:/usr/sbin

chat=${RTWEB_CHAT:-}
if [ -z "$chat" ]; then
  chat=build-demo/examples/chat/rtweb-chat
  opts=(-Dtests=disabled -Dbench=false -Dexamples=true)
  if [ ! -f build-demo/build.ninja ]; then
    meson setup build-demo "${opts[@]}" >/dev/null
  fi
  echo "cluster: building rtweb-chat" >&2
  ninja -C build-demo examples/chat/rtweb-chat >/dev/null
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/rtweb-cluster.XXXXXX")
pids=()
stop() {
  trap - INT TERM EXIT
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$keep" -eq 1 ]; then echo "cluster: stopped; logs in $dir" >&2; else rm -rf "$dir"; fi
}
trap stop EXIT
trap 'exit 130' INT TERM

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# 1. redis-server: no persistence, only in this directory
redis_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$dir" \
  --logfile "$dir/redis.log" &
pids+=($!)
for _ in $(seq 50); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done

# 2. the nodes: --port 0, each prints its URL; behind nginx every connection comes from
# 127.0.0.1, so the per-address limits are nginx's (limit_conn) and not the nodes'
redis_opts=()
if "$chat" --help | grep -q -- '--redis'; then
  redis_opts=(--redis "127.0.0.1:$redis_port")
else
  echo "cluster: this rtweb-chat has no --redis: the nodes do not share a chat" >&2
fi
: >"$dir/upstreams.conf"
for i in $(seq "$nodes"); do
  "$chat" --port 0 --max-conns-per-addr 100000 --max-http-per-addr 100000 --join-rate 0 \
    ${redis_opts[@]+"${redis_opts[@]}"} ${node_args[@]+"${node_args[@]}"} \
    >"$dir/node$i.out" 2>"$dir/node$i.log" &
  pids+=($!)
  for _ in $(seq 100); do
    grep -q 'open http' "$dir/node$i.out" && break
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$dir/node$i.log" >&2; exit 1; }
    sleep 0.05
  done
  nport=$(sed -n 's|.*://127.0.0.1:\([0-9]*\)/.*|\1|p' "$dir/node$i.out")
  [ -n "$nport" ] || { echo "cluster: node $i did not start" >&2; exit 1; }
  echo "server 127.0.0.1:$nport;" >>"$dir/upstreams.conf"
  echo "cluster: node $i on 127.0.0.1:$nport (pid ${pids[-1]}, log $dir/node$i.log)" >&2
done

# 3. nginx in front
[ "$port" = 0 ] && port=$(free_port)
conf=tools/nginx/rtweb-cluster.conf.in
scheme=http
if [ "$tls" -eq 1 ]; then
  conf=tools/nginx/rtweb-cluster-tls.conf.in
  scheme=https
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
fi
sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" "$conf" >"$dir/nginx.conf"
nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -g "daemon off; pid $dir/nginx.pid;" &
pids+=($!)
for _ in $(seq 50); do
  curl -ksf -o /dev/null "$scheme://127.0.0.1:$port/" && break
  kill -0 "${pids[-1]}" 2>/dev/null || { cat "$dir/error.log" >&2; exit 1; }
  sleep 0.1
done
echo "cluster: redis on 127.0.0.1:$redis_port, nginx on 127.0.0.1:$port, files in $dir" >&2
echo "cluster: open $scheme://127.0.0.1:$port/ in a browser (Ctrl-C stops everything)"
wait -n "${pids[@]}" || true
echo "cluster: a process exited; stopping" >&2

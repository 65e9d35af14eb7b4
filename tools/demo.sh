#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's demo command: builds and starts the chat demo (examples/chat), one server on
# one port with a page, a live activity feed over Server-Sent Events and a chat over
# WebSocket. Installs the build dependencies when missing (Debian/Ubuntu, apt-get as root or
# via sudo), builds rtweb-chat in build-demo/, and runs it on http://127.0.0.1:${PORT:-8080}/
# (it prints the URL). The feed is kept in build-demo/chat-feed.log across restarts.
# Arguments go to rtweb-chat (see `tools/demo.sh --help`), e.g. `tools/demo.sh --port 9000`,
# except `--tls`: serve https and wss instead, with a throwaway self-signed certificate for
# localhost and 127.0.0.1 made by the openssl CLI in a temporary directory (deleted on exit).
set -euo pipefail
cd "$(dirname "$0")/.."

tls=0
args=()
for a in "$@"; do
  if [ "$a" = "--tls" ]; then tls=1; else args+=("$a"); fi
done

packages=(meson ninja-build pkg-config gcc python3 libmbedtls-dev node-llhttp zlib1g-dev)
[ "$tls" -eq 1 ] && packages+=(openssl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "demo: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

log=build-demo.log
opts=(-Dtests=disabled -Dbench=false -Dexamples=true)
if [ -f build-demo/build.ninja ]; then
  # --reconfigure: also picks up options added since build-demo was first set up
  meson setup --reconfigure build-demo "${opts[@]}" >"$log" 2>&1 ||
    meson setup --wipe build-demo "${opts[@]}" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
else
  meson setup build-demo "${opts[@]}" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
fi
echo "demo: building rtweb-chat" >&2
ninja -C build-demo examples/chat/rtweb-chat >>"$log" 2>&1 || { cat "$log" >&2; exit 1; }
rm -f "$log"

chat=(build-demo/examples/chat/rtweb-chat --port "${PORT:-8080}"
      --feed-file build-demo/chat-feed.log)
if [ "$tls" -eq 0 ]; then
  exec "${chat[@]}" ${args[@]+"${args[@]}"}
fi

# --tls: an EC P-256 certificate valid for 2 days, never reused, never committed
tlsdir=$(mktemp -d "${TMPDIR:-/tmp}/rtweb-demo-tls.XXXXXX")
trap 'rm -rf "$tlsdir"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$tlsdir/key.pem" -out "$tlsdir/cert.pem" 2>/dev/null
echo "demo: https with a self-signed certificate made for this run (for localhost and" >&2
echo "demo: 127.0.0.1): the browser warns about it; accept it, or for a test start Chromium" >&2
echo "demo: with --ignore-certificate-errors. Ctrl-C stops it and deletes the certificate." >&2
"${chat[@]}" --tls-cert "$tlsdir/cert.pem" --tls-key "$tlsdir/key.pem" \
  ${args[@]+"${args[@]}"}

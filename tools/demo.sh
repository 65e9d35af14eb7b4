#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's demo command: builds and starts the chat demo (examples/chat), one server on
# one port with a page, a live activity feed over Server-Sent Events and a chat over
# WebSocket. Installs the build dependencies when missing (Debian/Ubuntu, apt-get as root or
# via sudo), builds rtweb-chat in build-demo/, and runs it on http://127.0.0.1:${PORT:-8080}/
# (it prints the URL). The feed is kept in build-demo/chat-feed.log across restarts.
# Arguments go to rtweb-chat (see `tools/demo.sh --help`), e.g. `tools/demo.sh --port 9000`.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(meson ninja-build pkg-config gcc python3 libmbedtls-dev node-llhttp zlib1g-dev)
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

exec build-demo/examples/chat/rtweb-chat --port "${PORT:-8080}" \
  --feed-file build-demo/chat-feed.log "$@"

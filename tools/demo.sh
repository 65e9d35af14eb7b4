#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's demo command until the chat demo exists (issue 5): installs the build
# dependencies (Debian/Ubuntu, apt-get as root or via sudo), builds rtweb, and decodes a small
# event stream and a captured WebSocket frame with rtwcat.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(meson ninja-build pkg-config gcc libcmocka-dev libmbedtls-dev node-llhttp zlib1g-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
[ -f build-demo/build.ninja ] || meson setup build-demo -Dbench=false >/dev/null
ninja -C build-demo tools/rtwcat >/dev/null

echo '$ printf "id: 1\nevent: greeting\ndata: hello\ndata: world\n\n" | rtwcat decode sse'
printf 'id: 1\nevent: greeting\ndata: hello\ndata: world\n\n' | build-demo/tools/rtwcat decode sse
echo '$ (a masked client text frame "Hello", RFC 6455 5.7) | rtwcat decode ws'
printf '\201\205\067\372\041\075\177\237\115\121\130' | build-demo/tools/rtwcat decode ws

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run the whole rtweb test suite: installs what it needs (Debian/Ubuntu, apt-get), then builds
# and tests with gcc and clang (both --werror), again under ASan+UBSan, and the unit tests under
# valgrind. Ends with one line "N passed, M failed" counting individual test cases.
#
# Usage: tools/run-tests.sh            (as root, or with sudo available for apt-get)
# Environment: RTW_SKIP_INSTALL=1 skips apt-get; RTW_CONFIGS="gcc clang asan valgrind" picks runs.
set -uo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
PY=/usr/bin/python3 # Debian's python (meson needs it anyway); not a pyenv shim on PATH

packages=(meson ninja-build pkg-config gcc g++ clang libcmocka-dev libmbedtls-dev node-llhttp
  zlib1g-dev valgrind python3)

install_deps() {
  local missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq || return 1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || return 1
}

if [ "${RTW_SKIP_INSTALL:-0}" != 1 ]; then
  install_deps || { echo "apt-get failed"; echo "0 passed, 1 failed"; exit 1; }
fi

configs=${RTW_CONFIGS:-"gcc clang asan valgrind"}
passed=0
failed=0
summary=()

# Count TAP cases in meson's JSON test log; a test that failed without printing a failing
# case (crash, timeout, sanitizer abort) counts as one more failure.
count() {
  "$PY" - "$1" <<'PYEOF'
import json, re, sys
p = f = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = t.get("stdout") or ""
    # a skipped case ("ok N - x # SKIP why") ran nothing: it is not counted as passed
    ok = len(re.findall(r"^ok \d+(?!.*#\s*SKIP)", out, re.M | re.I))
    bad = len(re.findall(r"^not ok \d+", out, re.M))
    if t["result"] not in ("OK", "EXPECTEDFAIL", "SKIP") and bad == 0:
        bad = 1
        print(f"  {t['name']}: {t['result']} (no failing case reported)", file=sys.stderr)
    p += ok
    f += bad
print(p, f)
PYEOF
}

run_config() {
  local name=$1 dir="build-ci-$1" cc=gcc opts=(--werror -Dbench=false) wrap=() suites=()
  case $name in
    gcc) ;;
    clang) cc=clang ;;
    asan) opts+=(-Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fno-sanitize-recover=all) ;;
    valgrind) dir=build-ci-gcc; wrap=(--wrapper "valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect -q") ;;
    *) echo "unknown config $name"; return 1 ;;
  esac
  echo "== $name"
  if [ ! -f "$dir/build.ninja" ]; then
    CC=$cc meson setup "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1 ||
      { cat "$dir.setup.log"; failed=$((failed + 1)); summary+=("$name: setup failed"); return; }
  fi
  ninja -C "$dir" >"$dir.build.log" 2>&1 ||
    { tail -50 "$dir.build.log"; failed=$((failed + 1)); summary+=("$name: build failed"); return; }
  if [ "$name" = valgrind ]; then
    # the unit tests under valgrind (the corpus runs are covered by the sanitizer build)
    suites=(core deps sse_parser sse_writer sse_history ws_frame ws_session ws_autobahn
      http_base64 http_handshake http_sse)
  fi
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C "$dir" --print-errorlogs --logbase "testlog-$name" "${wrap[@]}" "${suites[@]}" \
    >"$dir.test-$name.log" 2>&1
  grep -E '^ *[0-9]+/[0-9]+ ' "$dir.test-$name.log" | sed 's/^/  /'
  grep -q -E '^(Fail|Timeout): +[1-9]' "$dir.test-$name.log" && tail -60 "$dir.test-$name.log"
  local c
  local log
  log=$(ls -t "$dir"/meson-logs/testlog-"$name"*.json 2>/dev/null | head -n 1)
  c=$(count "$log") || c="0 1"
  set -- $c
  passed=$((passed + $1))
  failed=$((failed + $2))
  summary+=("$name: $1 passed, $2 failed")
}

for c in $configs; do run_config "$c"; done
echo
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

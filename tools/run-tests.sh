#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run the whole rtweb test suite: installs what it needs (Debian/Ubuntu, apt-get; npm ci for the
# interop peers), then builds and tests with gcc and clang (both --werror), again under
# ASan+UBSan, the unit tests and fuzz corpora under valgrind, and each libFuzzer target for a
# bounded time.
# The gcc run includes the interop suite (node ws, python3-websockets, headless Chromium, curl),
# the Python binding, the Doxygen completeness check and the install/subproject tests.
# Ends with one line "N passed, M failed" counting individual test cases.
#
# Usage: tools/run-tests.sh            (as root, or with sudo available for apt-get)
# Environment: RTW_SKIP_INSTALL=1 skips apt-get and npm; RTW_CONFIGS picks runs (default
# "gcc clang asan valgrind fuzz"); RTW_FUZZ_SECONDS sets the time per fuzz target (default 15).
set -uo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
PY=/usr/bin/python3 # Debian's python (meson needs it anyway); not a pyenv shim on PATH

packages=(meson ninja-build pkg-config gcc g++ clang libclang-rt-14-dev libcmocka-dev
  libmbedtls-dev node-llhttp zlib1g-dev valgrind python3 python3-websockets curl libuv1-dev
  chromium fonts-dejavu-core doxygen openssl redis-server libhiredis-dev nginx)
# Node.js and npm: the machine's own when present (it may come from elsewhere than Debian)
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

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

# The interop peers (ws, playwright-core), pinned by tests/interop/package-lock.json.
install_npm() {
  [ -f tests/interop/package-lock.json ] || return 0
  echo "== npm ci (tests/interop)"
  (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error) >/dev/null
}

if [ "${RTW_SKIP_INSTALL:-0}" != 1 ]; then
  install_deps || { echo "apt-get failed"; echo "0 passed, 1 failed"; exit 1; }
  install_npm || { echo "npm ci failed"; echo "0 passed, 1 failed"; exit 1; }
fi

configs=${RTW_CONFIGS:-"gcc clang asan valgrind fuzz"}
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

# Count TAP lines printed by a command that is not a meson test (the fuzz runs).
count_tap() {
  local ok bad
  ok=$(grep -E '^ok [0-9]+' "$1" | grep -v -i -c -E '#[[:space:]]*SKIP')
  bad=$(grep -c -E '^not ok [0-9]+' "$1")
  echo "$ok $bad"
}

run_fuzz() {
  echo "== fuzz"
  local log=build-ci-fuzz.log rc c
  tools/fuzz-ci.sh >"$log" 2>&1
  rc=$?
  grep -E '^(not )?ok |^1\.\.|^# ' "$log" | sed 's/^/  /'
  c=$(count_tap "$log")
  set -- $c
  if [ "$rc" -ne 0 ] && [ "$2" -eq 0 ]; then
    tail -40 "$log"
    set -- "$1" 1
  fi
  passed=$((passed + $1))
  failed=$((failed + $2))
  summary+=("fuzz: $1 passed, $2 failed")
}

run_config() {
  local name=$1 dir="build-ci-$1" cc=gcc opts=(--werror -Dbench=false) wrap=() suites=()
  [ "$name" = fuzz ] && { run_fuzz; return; }
  case $name in
    gcc) ;;
    # the suites that do not depend on the compiler or sanitizers run once, in the gcc build
    clang) cc=clang; suites=(--no-suite interop --no-suite python --no-suite docs --no-suite install --no-suite scaleout) ;;
    asan) opts+=(-Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fno-sanitize-recover=all)
      suites=(--no-suite python --no-suite docs --no-suite install --no-suite scaleout) ;;
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
    # the unit tests, and every fuzz corpus replayed (with the allocation-failure sweeps),
    # under valgrind (about 15 s more). meson takes test names here, so the fuzz suite's are
    # listed.
    suites=(core deps sse_parser sse_writer sse_history ws_frame ws_session ws_autobahn
      ws_deflate_session ws_deflate_zlib ws_deflate_ext ws_prepared http_deflate_handshake
      http_base64 http_handshake http_sse limits tls_certs tls_engine tls_stack tls_versions
      tls_record ws_recv ws_send_alloc ws_batch utf8_simd chacha utf8_units
      utf8_dfa ws_fast_state
      $(meson test -C "$dir" --list 2>/dev/null | sed -n 's/^rtweb:fuzz \/ //p'))
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

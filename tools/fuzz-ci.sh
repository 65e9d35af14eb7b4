#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the libFuzzer targets with clang and run each for a bounded time, printing TAP.
#
# For CI (tools/run-tests.sh calls it): every fuzz_<target> runs for RTW_FUZZ_SECONDS
# (default 30) from a scratch copy of its committed corpus (fuzz/corpus/ is never written),
# with its dictionary, -timeout=10 -rss_limit_mb=2048 and a -max_len of at least 4096 (more
# when a committed input is longer). Any crash, failed oracle, leak, timeout or OOM fails:
#
#   1..11
#   ok 1 - fuzz_sse_parser: 81234 execs, cov 731
#   not ok 2 - fuzz_ws_server: crash, artifact build-ci-fuzz/fuzz-artifacts/fuzz_ws_server/crash-...
#
# The artifact is kept under $RTW_FUZZ_ARTIFACTS (default BUILDDIR/fuzz-artifacts) with the
# log next to it; reproduce it with BUILDDIR/fuzz/fuzz_<target> ARTIFACT (docs/fuzzing.md).
# Without clang or its libFuzzer runtime the script prints `1..0 # SKIP ...` and exits 0.
#
# Environment: RTW_FUZZ_SECONDS (15), RTW_FUZZ_SEED (1; 0 = random), RTW_FUZZ_BUILDDIR (build-ci-fuzz), RTW_FUZZ_TARGETS
# (space-separated names without fuzz_, default every directory in fuzz/corpus),
# RTW_FUZZ_ARTIFACTS, CC (clang).
# Run time: one run per corpus directory (16 targets: about 6 minutes at 20 s) plus the build (about
# 2 minutes on 2 cores, instrumented library and the targets).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
seconds=${RTW_FUZZ_SECONDS:-15}
# A fixed seed makes the CI run repeatable: the same corpus and seed replay the same mutations
# in the same order, so a crash found once is found again and can be fixed. RTW_FUZZ_SEED=0
# lets libFuzzer pick one (the exploring runs of docs/fuzzing.md).
seed=${RTW_FUZZ_SEED:-1}
builddir=${RTW_FUZZ_BUILDDIR:-build-ci-fuzz}
cc=${CC:-clang}
case $cc in *clang*) ;; *) cc=clang ;; esac
artifacts=${RTW_FUZZ_ARTIFACTS:-$root/$builddir/fuzz-artifacts}

skip() {
  echo "1..0 # SKIP $1"
  exit 0
}

# clang with the libFuzzer runtime (Debian: clang plus libclang-rt-<version>-dev)
command -v "$cc" >/dev/null 2>&1 || skip "$cc not found"
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
  'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
  'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
  > "$probe_dir/probe.c"
"$cc" -fsanitize=fuzzer,address,undefined "$probe_dir/probe.c" -o "$probe_dir/probe" \
  >/dev/null 2>&1 || skip "$cc cannot link libFuzzer programs (install libclang-rt-dev)"

if [ ! -f "$builddir/build.ninja" ]; then
  CC=$cc meson setup "$builddir" -Dfuzzing=libfuzzer -Dtests=disabled -Dbench=false \
    -Dexamples=false >"$probe_dir/setup.log" 2>&1 || {
    echo "1..1"
    echo "not ok 1 - meson setup $builddir failed"
    sed 's/^/# /' "$probe_dir/setup.log" | tail -20
    exit 1
  }
fi
if ! ninja -C "$builddir" >"$probe_dir/build.log" 2>&1; then
  echo "1..1"
  echo "not ok 1 - build $builddir failed"
  sed 's/^/# /' "$probe_dir/build.log" | tail -30
  exit 1
fi

if [ -n "${RTW_FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$RTW_FUZZ_TARGETS"
else
  targets=()
  for d in fuzz/corpus/fuzz_*/; do
    d=${d%/}
    targets+=("${d#fuzz/corpus/fuzz_}")
  done
fi

echo "1..${#targets[@]}"
n=0
failed=0
for t in "${targets[@]}"; do
  n=$((n + 1))
  name=fuzz_$t
  exe=$builddir/fuzz/$name
  case $exe in /*) ;; *) exe=$root/$exe ;; esac
  if [ ! -x "$exe" ]; then
    echo "not ok $n - $name: not built ($exe missing)"
    failed=$((failed + 1))
    continue
  fi
  work=$(mktemp -d)
  mkdir -p "$work/corpus" "$work/artifacts"
  if [ -d "fuzz/corpus/$name" ]; then
    cp -R "fuzz/corpus/$name/." "$work/corpus/"
  fi
  # -max_len: 4096, or the longest committed input, so that no seed is truncated
  max_len=4096
  longest=$(find "$work/corpus" -type f -printf '%s\n' 2>/dev/null | sort -n | tail -1)
  [ -n "$longest" ] && [ "$longest" -gt "$max_len" ] && max_len=$longest
  dict=()
  [ -f "fuzz/$name.dict" ] && dict=("-dict=$root/fuzz/$name.dict")
  (cd "$work" && "$exe" "${dict[@]}" -seed="$seed" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1)
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1 | cut -d' ' -f2)
  note=
  # libFuzzer's timeout and slow-unit reports are wall-clock: a paused VM (snapshot, host
  # suspend) or a machine shared with other work makes an ordinary input look like a hang
  # (a 27 s "slowest unit" was seen here). A real hang hangs again when replayed alone.
  for a in "$work"/artifacts/timeout-* "$work"/artifacts/slow-unit-*; do
    [ -f "$a" ] || continue
    if (cd "$work" && timeout 60 "$exe" -timeout=10 -runs=1 "$a" >"$work/replay.log" 2>&1); then
      note="$note (spurious ${a##*/}: ran at once when replayed)"
      rm -f "$a"
      # a slow unit does not stop libFuzzer; a timeout does, with a non-zero status
      case ${a##*/} in timeout-*) rc=0 ;; esac
    fi
  done
  art=$(find "$work/artifacts" -type f | head -1)
  if [ "$rc" -eq 0 ] && [ -z "$art" ]; then
    echo "ok $n - $name: ${execs:-?} execs, cov ${cov:-?}${note}"
  else
    kind=crash
    case ${art##*/} in
      leak-*) kind=leak ;;
      timeout-*) kind=timeout ;;
      oom-*) kind=oom ;;
      slow-unit-*) kind=slow ;;
    esac
    mkdir -p "$artifacts/$name"
    cp "$work/log" "$artifacts/$name/log"
    if [ -n "$art" ]; then
      cp "$art" "$artifacts/$name/"
      echo "not ok $n - $name: $kind, artifact $artifacts/$name/${art##*/}"
    else
      echo "not ok $n - $name: exit status $rc, no artifact (log $artifacts/$name/log)"
    fi
    if grep -q -E 'ERROR|fuzz check failed|SUMMARY' "$work/log"; then
      grep -E 'ERROR|fuzz check failed|SUMMARY' "$work/log" | head -5 | sed 's/^/# /'
    else
      tail -8 "$work/log" | sed 's/^/# /' # no sanitizer report: show how the run ended
    fi
    if [ -n "$art" ]; then # does the artifact fail again on its own?
      (cd "$work" && timeout 60 "$exe" -runs=1 "$art" >"$work/replay.log" 2>&1)
      echo "# replayed alone: exit status $?"
      grep -E 'ERROR|fuzz check failed|SUMMARY' "$work/replay.log" | head -3 | sed 's/^/# /'
    fi
    failed=$((failed + 1))
  fi
  rm -rf "$work"
done
[ "$failed" -eq 0 ]

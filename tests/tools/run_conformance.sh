#!/bin/sh
# SPDX-License-Identifier: MIT
# Run a decode corpus through `rtwcat decode FORMAT` (sse: tests/sse/conformance, ws:
# tests/tools/ws), then check that command's command line; print TAP: a plan, then one
# `ok N - name` / `not ok N - name` line per case.
#
# usage: run_conformance.sh RTWCAT sse|ws CORPUS_DIR
#
# A case NAME is NAME.input (raw bytes fed on stdin), NAME.expected (the exact stdout) and,
# optionally, NAME.args (extra arguments, one per line). Each case runs three ways: input
# whole, --chunk 1 and --chunk 7. It passes when every run prints exactly NAME.expected and
# exits 1 when the last expected line is an error line ({"error":...} for sse,
# {"type":"error",...} for ws), 0 otherwise. Failures are explained on `#` lines (which run,
# the exit status, a diff, stderr).
#
# Environment: RTW_CONFORMANCE_WAYS overrides the runs (default "whole 1 7"; a number is a
# --chunk size); RTW_CONFORMANCE_FILTER, a shell pattern, runs only the matching cases (and
# skips the command-line checks).

set -u
LC_ALL=C
export LC_ALL

if [ $# -ne 3 ]; then
  echo "usage: $0 RTWCAT sse|ws CORPUS_DIR" >&2
  exit 2
fi
rtwcat=$1
format=$2
dir=$3
case $format in
  sse) error_line='^{"error":' ;;
  ws) error_line='^{"type":"error",' ;;
  *)
    echo "usage: $0 RTWCAT sse|ws CORPUS_DIR" >&2
    exit 2
    ;;
esac
ways=${RTW_CONFORMANCE_WAYS:-whole 1 7}
filter=${RTW_CONFORMANCE_FILTER:-*}

if [ ! -x "$rtwcat" ]; then
  echo "Bail out! rtwcat not found or not executable: $rtwcat"
  exit 1
fi
if [ ! -d "$dir" ]; then
  echo "Bail out! corpus directory not found: $dir"
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtw-conformance.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' HUP INT TERM

n=0      # TAP test number
failed=0 # number of `not ok` lines

# ok|not_ok NAME: print the TAP line for the next test.
report() {
  n=$((n + 1))
  if [ "$1" = ok ]; then
    echo "ok $n - $2"
  else
    failed=$((failed + 1))
    echo "not ok $n - $2"
  fi
}

# Indent a file as TAP diagnostics, at most 40 lines.
diag_file() {
  sed -e 's/^/#   /' "$1" | head -n 40
}

# ------------------------------------------------------------------ corpus

# run_way CASE_BASE WAY: run rtwcat on one case one way, leaving stdout in $tmp/out, stderr in
# $tmp/err and the exit status in $status. The case's .args lines come after rtwcat's own.
run_way() {
  base=$1
  way=$2
  set --
  if [ -f "$base.args" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      set -- "$@" "$line"
    done <"$base.args"
  fi
  if [ "$way" = whole ]; then
    "$rtwcat" decode "$format" "$@" <"$base.input" >"$tmp/out" 2>"$tmp/err"
  else
    "$rtwcat" decode "$format" --chunk "$way" "$@" <"$base.input" >"$tmp/out" 2>"$tmp/err"
  fi
  status=$?
}

# check_case NAME: run every way; report one TAP line.
check_case() {
  name=$1
  base=$dir/$name
  if [ ! -f "$base.expected" ]; then
    report not_ok "$name"
    echo "# $name.expected is missing"
    return
  fi
  want_status=0
  if tail -n 1 "$base.expected" | grep -q "$error_line"; then
    want_status=1
  fi
  : >"$tmp/diag"
  for way in $ways; do
    run_way "$base" "$way"
    if [ "$way" = whole ]; then label="input whole"; else label="--chunk $way"; fi
    if [ "$status" -ne "$want_status" ]; then
      echo "$label: exit status $status, expected $want_status" >>"$tmp/diag"
    fi
    if ! cmp -s "$tmp/out" "$base.expected"; then
      echo "$label: output differs (- expected, + rtwcat):" >>"$tmp/diag"
      diff -u "$base.expected" "$tmp/out" 2>&1 | sed -e '1,2d' >>"$tmp/diag"
    fi
    if [ -s "$tmp/diag" ] && [ -s "$tmp/err" ]; then
      echo "$label: stderr:" >>"$tmp/diag"
      cat "$tmp/err" >>"$tmp/diag"
    fi
    if [ -s "$tmp/diag" ]; then
      break # one failing way is enough to explain
    fi
  done
  if [ -s "$tmp/diag" ]; then
    report not_ok "$name"
    diag_file "$tmp/diag"
  else
    report ok "$name"
  fi
}

# ------------------------------------------------------------------ command line

# cli NAME WANT_STATUS STDOUT_PATTERN STDIN_FILE ARGS...: run rtwcat with ARGS, require the
# exit status, a stdout matching the grep pattern ("" = empty stdout) and, for status 2, a
# message on stderr.
cli() {
  name=$1
  want_status=$2
  pattern=$3
  input=$4
  shift 4
  "$rtwcat" "$@" <"$input" >"$tmp/out" 2>"$tmp/err"
  status=$?
  : >"$tmp/diag"
  if [ "$status" -ne "$want_status" ]; then
    echo "exit status $status, expected $want_status" >>"$tmp/diag"
  fi
  if [ -z "$pattern" ]; then
    if [ -s "$tmp/out" ]; then
      echo "stdout should be empty:" >>"$tmp/diag"
      cat "$tmp/out" >>"$tmp/diag"
    fi
  elif ! grep -q -e "$pattern" "$tmp/out"; then
    echo "stdout does not match /$pattern/:" >>"$tmp/diag"
    cat "$tmp/out" >>"$tmp/diag"
  fi
  if [ "$want_status" -eq 2 ] && [ ! -s "$tmp/err" ]; then
    echo "no message on stderr" >>"$tmp/diag"
  fi
  if [ -s "$tmp/diag" ]; then
    report not_ok "cli: $name"
    diag_file "$tmp/diag"
  else
    report ok "cli: $name"
  fi
}

# check_write_error INPUT: a failed write of the output (a full disk) exits 1 with a message.
check_write_error() {
  if [ -w /dev/full ]; then
    "$rtwcat" decode "$format" <"$1" >/dev/full 2>"$tmp/err"
    status=$?
    if [ "$status" -eq 1 ] && [ -s "$tmp/err" ]; then
      report ok "cli: write error exits 1"
    else
      report not_ok "cli: write error exits 1"
      echo "# exit status $status, expected 1 with a message on stderr"
    fi
  else
    report not_ok "cli: write error exits 1"
    echo "# no /dev/full on this machine: the check could not run"
  fi
}

run_cli_checks_sse() {
  null=/dev/null
  printf 'data:a\n\n' >"$tmp/event.in"
  event='^{"event":"message","data":"a","id":""}$'
  cli "--help prints the usage" 0 'decode sse' "$null" --help
  cli "-h prints the usage" 0 'decode sse' "$null" -h
  cli "help prints the usage" 0 'decode sse' "$null" help
  cli "help decode sse lists its options" 0 '--last-event-id' "$null" help decode sse
  cli "decode sse --help lists its options" 0 '--chunk' "$null" decode sse --help
  cli "no arguments is a usage error" 2 '' "$null"
  cli "unknown command" 2 '' "$null" bogus
  cli "decode without a format" 2 '' "$null" decode
  cli "decode with an unknown format" 2 '' "$null" decode bogus
  cli "help for an unknown command" 2 '' "$null" help bogus
  cli "unknown option" 2 '' "$tmp/event.in" decode sse --bogus
  cli "unexpected argument" 2 '' "$tmp/event.in" decode sse file.txt
  cli "--chunk without a value" 2 '' "$tmp/event.in" decode sse --chunk
  cli "--chunk 0" 2 '' "$tmp/event.in" decode sse --chunk 0
  cli "--chunk not a number" 2 '' "$tmp/event.in" decode sse --chunk 7x
  cli "--chunk negative" 2 '' "$tmp/event.in" decode sse --chunk -1
  cli "--chunk above 65536" 2 '' "$tmp/event.in" decode sse --chunk 65537
  cli "--chunk=N form" 0 "$event" "$tmp/event.in" decode sse --chunk=3
  cli "--chunk 65536" 0 "$event" "$tmp/event.in" decode sse --chunk 65536
  cli "--last-event-id without a value" 2 '' "$tmp/event.in" decode sse --last-event-id
  cli "--last-event-id=ID form" 0 '"id":"x"}$' "$tmp/event.in" decode sse --last-event-id=x
  cli "--last-event-id with CR is refused" 2 '' "$tmp/event.in" decode sse \
    --last-event-id "$(printf 'a\rb')"
  cli "empty input prints nothing" 0 '' "$null" decode sse
  check_write_error "$tmp/event.in"
}

run_cli_checks_ws() {
  null=/dev/null
  # A masked text frame "a" (key 01 02 03 04), as a client sends it.
  printf '\201\201\001\002\003\004\140' >"$tmp/frame.in"
  # The same message unmasked, as a server sends it.
  printf '\201\001a' >"$tmp/server-frame.in"
  text='^{"type":"text","data":"a"}$'
  cli "--help lists decode ws" 0 'decode ws' "$null" --help
  cli "help decode ws lists its options" 0 '--role' "$null" help decode ws
  cli "decode ws --help lists its options" 0 '--chunk' "$null" decode ws --help
  cli "decode ws -h" 0 '--role' "$null" decode ws -h
  cli "decode without a format" 2 '' "$null" decode
  cli "unknown option" 2 '' "$tmp/frame.in" decode ws --bogus
  cli "unexpected argument" 2 '' "$tmp/frame.in" decode ws frames.bin
  cli "--role without a value" 2 '' "$tmp/frame.in" decode ws --role
  cli "--role with an unknown role" 2 '' "$tmp/frame.in" decode ws --role peer
  cli "--role=server form" 0 "$text" "$tmp/frame.in" decode ws --role=server
  cli "--role client" 0 "$text" "$tmp/server-frame.in" decode ws --role client
  cli "--role=client form" 0 "$text" "$tmp/server-frame.in" decode ws --role=client
  cli "server role is the default" 0 "$text" "$tmp/frame.in" decode ws
  cli "--chunk without a value" 2 '' "$tmp/frame.in" decode ws --chunk
  cli "--chunk 0" 2 '' "$tmp/frame.in" decode ws --chunk 0
  cli "--chunk not a number" 2 '' "$tmp/frame.in" decode ws --chunk 7x
  cli "--chunk above 65536" 2 '' "$tmp/frame.in" decode ws --chunk 65537
  cli "--chunk=N form" 0 "$text" "$tmp/frame.in" decode ws --chunk=3
  cli "--chunk 65536" 0 "$text" "$tmp/frame.in" decode ws --chunk 65536
  cli "empty input prints nothing" 0 '' "$null" decode ws
  check_write_error "$tmp/frame.in"
}

# the number of report calls in run_cli_checks_$format
if [ "$format" = sse ]; then cli_checks=24; else cli_checks=21; fi

# ------------------------------------------------------------------ main

cases=$(cd "$dir" && for f in *.input; do
  [ -f "$f" ] || continue
  name=${f%.input}
  # shellcheck disable=SC2254 # $filter is a pattern on purpose
  case $name in $filter) echo "$name" ;; esac
done)
ncases=0
for name in $cases; do ncases=$((ncases + 1)); done
if [ "$ncases" -eq 0 ]; then
  echo "Bail out! no cases in $dir"
  exit 1
fi

plan=$ncases
if [ "$filter" = "*" ]; then plan=$((plan + cli_checks)); fi
echo "1..$plan"
for name in $cases; do
  check_case "$name"
done
if [ "$filter" = "*" ]; then
  run_cli_checks_"$format"
fi
echo "# $((n - failed))/$n passed"
[ "$failed" -eq 0 ]

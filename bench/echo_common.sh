# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# The harness shared by bench/run_echo.sh and bench/run_deflate.sh (sourced by both, not run
# on its own): build, server start/stop, CPU pinning, the repetition loop, the JSON lines and
# the report header. Functions only; nothing runs when it is sourced.
#
# The sourcing script sets: prog (its name, for messages), here, root, build, python, node,
# server_cpu, load_cpu, prio (command prefix, may be empty), reps, duration, warmup, points,
# and, if it changes the autogroup nice, old_group_nice. It defines one_point PT (runs one
# point of $points against every server in $active) and report FILE.
# shellcheck disable=SC2154 # the variables above are set by the sourcing script

# configure_build: makes $build absolute (a relative BUILD_DIR: relative to the current
# directory if it exists there, else to the repository root, where it is created when
# missing) and configures it with --buildtype=release if it has no build.ninja yet.
configure_build() {
  case $build in
    /*) ;;
    *) if [ -d "$build" ]; then build=$(pwd)/$build; else build=$root/$build; fi ;;
  esac
  if [ ! -f "$build/build.ninja" ]; then
    echo "$prog: configuring $build (release)" >&2
    meson setup "$build" "$root" --buildtype=release >&2
  fi
}

# setup_run NAME: the load generator's path, a temporary directory for the servers' output
# and the results, and the traps that stop every server started on exit.
setup_run() {
  load=$build/bench/echo_load
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtweb-$1.XXXXXX")
  pids=""
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

cleanup() {
  for p in $pids; do
    kill "$p" 2>/dev/null || true
  done
  for p in $pids; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
  if [ -n "${old_group_nice:-}" ]; then
    echo "$old_group_nice" >/proc/self/autogroup 2>/dev/null || true
  fi
}

# Start a server: start NAME COMMAND...; waits for its `listening on http://H:P/` (or https) line.
start() {
  name=$1
  shift
  # shellcheck disable=SC2086 # $prio is a command prefix: split on purpose
  taskset -c "$server_cpu" $prio "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
  pids="$pids $!"
  echo $! >"$tmp/$name.pid"
  i=0
  while ! grep -q '^listening on https\{0,1\}://' "$tmp/$name.out" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$!" 2>/dev/null; then
      echo "$prog: $name did not start:" >&2
      cat "$tmp/$name.err" >&2
      return 1
    fi
    sleep 0.1
  done
  sed -n 's#^listening on https\{0,1\}://.*:\([0-9][0-9]*\)/$#\1#p' "$tmp/$name.out" >"$tmp/$name.port"
  echo "$prog: $name listening on port $(cat "$tmp/$name.port")" >&2
}

# The node servers need bench/node/node_modules.
node_modules() {
  if [ ! -d "$here/node/node_modules/ws" ]; then
    (cd "$here/node" && npm ci --no-audit --no-fund >&2)
  fi
}

server_ticks() {
  awk '{ print $14 + $15 }' "/proc/$(cat "$tmp/$1.pid")/stat"
}

# run_reps: every point of $points (one_point PT), repetition after repetition; the JSON
# lines go to $results.
run_reps() {
  hz=$(getconf CLK_TCK)
  results=$tmp/results.jsonl
  : >"$results"
  r=1
  while [ $r -le "$reps" ]; do
    for pt in $points; do
      one_point "$pt"
    done
    r=$((r + 1))
  done
}

# run_load SERVER ARGS...: one run of the load generator (on LOAD_CPU) against SERVER, with
# --port SERVER's port and ARGS. On success load_ok=1, line is its JSON line, scpu the
# server's CPU share over warm-up + measured time (from /proc/PID/stat utime + stime), and the
# line goes to $results with "server", "rep" and "server_cpu" added. On failure load_ok=0 and
# FAILED is printed.
run_load() {
  rl_server=$1
  shift
  port=$(cat "$tmp/$rl_server.port")
  load_ok=0
  t0=$(server_ticks "$rl_server")
  # shellcheck disable=SC2086 # $prio is a command prefix: split on purpose
  if line=$(taskset -c "$load_cpu" $prio "$load" --port "$port" "$@"); then
    t1=$(server_ticks "$rl_server")
    scpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v d="$duration" -v w="$warmup" \
             'BEGIN { printf "%.2f", (b - a) / hz / (d + w) }')
    echo "$line" | sed "s/^{/{\"server\":\"$rl_server\",\"rep\":$r,\"server_cpu\":$scpu,/" >>"$results"
    # shellcheck disable=SC2034 # load_ok is read by the sourcing script
    load_ok=1
  else
    echo "FAILED" >&2
  fi
}

# keep_results FILE: copies the JSON lines to FILE (nothing if FILE is empty).
keep_results() {
  if [ -n "$1" ]; then
    cp "$results" "$1"
  fi
}

# print_header TITLE: a blank line, then TITLE with the date and the machine.
print_header() {
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  echo
  echo "$1, $(date -u '+%Y-%m-%d %H:%M UTC'), $cpu, $(nproc) CPUs, $(uname -sr)"
}

# print_report: the node and python servers' first line on stderr (their versions), a blank
# line, then the tables.
print_report() {
  for s in node python; do
    if [ -s "$tmp/$s.err" ]; then head -n 1 "$tmp/$s.err"; fi
  done
  echo
  report "$results"
}

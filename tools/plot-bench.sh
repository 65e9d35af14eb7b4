#!/bin/sh
# SPDX-License-Identifier: MIT
# Plot the benchmark results in bench/results/ (sse.tsv, ws.tsv; taken from the tables in
# docs/performance.md) into one PNG: SSE parse throughput per stream against
# eventsource-parser and a memchr-per-line C parser, and WebSocket receive throughput by
# message size against wslay. Needs gnuplot (Debian: gnuplot-nox).
#
# usage: tools/plot-bench.sh [RESULTS_DIR [OUTPUT_PNG]]
#        defaults: bench/results and docs/img/performance.png, relative to the source root
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
results=${1:-$root/bench/results}
out=${2:-$root/docs/img/performance.png}

command -v gnuplot > /dev/null 2>&1 || {
  echo "plot-bench.sh: gnuplot not found (Debian: apt-get install gnuplot-nox)" >&2
  exit 1
}
for f in sse.tsv ws.tsv; do
  [ -f "$results/$f" ] || { echo "plot-bench.sh: $results/$f missing" >&2; exit 1; }
done
mkdir -p "$(dirname "$out")"

gnuplot <<EOF
set terminal pngcairo size 1400,680 font "DejaVu Sans,11" noenhanced
set output "$out"
set datafile separator "\t"
set datafile commentschars "#"
set multiplot layout 1,2 title "rtweb 0.1.0 throughput (medians; AMD EPYC, gcc 12.2 -O3; higher is better)" font ",13"

# ---------------------------------------------------------------- SSE: grouped bars
set title "SSE: parsing an event stream (1 MiB, 16 KiB chunks)"
set ylabel "GB/s (10^9 bytes/s)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:10]
set xrange [-0.6:2.6]
set grid ytics lc rgb "#dddddd"
set key below box horizontal maxcols 2
set xtics nomirror
set ytics nomirror
plot "$results/sse.tsv" using 2:xtic(1) title "rtweb" lc rgb "#1f77b4", \
     "" using 3 title "memchr-per-line C" lc rgb "#7f7f7f", \
     "" using 4 title "eventsource-parser (parse only)" lc rgb "#ff7f0e", \
     "" using 5 title "eventsource-parser + TextDecoder" lc rgb "#ffbb78"

# ---------------------------------------------------------------- WebSocket: by size
unset style
unset xrange
set style data linespoints
set title "WebSocket: receiving masked client frames, by message payload size"
unset xlabel
set ylabel "GB/s of wire bytes (log scale)"
set logscale xy
set xrange [10:2000000]
set yrange [0.1:200]
set xtics ("16" 16, "125" 125, "1 KiB" 1024, "64 KiB" 65536, "1 MiB" 1048576)
set key below box horizontal maxcols 2
plot "$results/ws.tsv" index 0 using 2:3 title "rtweb, binary" lw 2 pt 7 lc rgb "#1f77b4", \
     "" index 1 using 2:3 title "rtweb, text (UTF-8 validated)" lw 2 pt 5 dt 2 lc rgb "#1f77b4", \
     "" index 0 using 2:5 title "wslay frame API, binary" lw 2 pt 7 lc rgb "#d62728", \
     "" index 0 using 2:6 title "wslay event API, binary" lw 2 pt 9 lc rgb "#ff9896", \
     "" index 1 using 2:6 title "wslay event API, text" lw 2 pt 9 dt 2 lc rgb "#ff9896", \
     "" index 0 using 2:7 title "memcpy (ceiling)" lw 1 pt 0 dt 3 lc rgb "#7f7f7f"
unset multiplot
EOF
echo "plot-bench.sh: wrote $out"

# Issue 15 (bench/run_perf.sh, BENCH_TSV=bench/results/perf15_before.tsv; perf15_after.tsv
# when the re-measured table exists): rtweb's same-run ratio per row against its target.
before=$results/perf15_before.tsv
after=$results/perf15_after.tsv
out15=$(dirname "$out")/performance-issue15.png
if [ -f "$before" ]; then
  # with an after table, its rows (it may have more: extra rows at its end) name the bars
  # and give the targets; the before bars line up with its first rows
  labels=$before
  extra=
  if [ -f "$after" ]; then
    labels=$after
    extra=", \"$after\" using 7 title \"after ($(sed -n 's/^# measured: //p' "$after"))\" lc rgb \"#1f77b4\""
  fi
  gnuplot <<EOF15
set terminal pngcairo size 1400,700 font "DejaVu Sans,11" noenhanced
set output "$out15"
set bmargin 9
set rmargin 16
set datafile separator "\t"
set datafile commentschars "#"
set title "rtweb, issue 15: each row's ratio to its peer in the same run (bench/run_perf.sh; higher is better)" font ",13"
set ylabel "rtweb / peer (same run)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:3]
set grid ytics lc rgb "#dddddd"
set key top left box
set xtics rotate by -30 nomirror
set ytics nomirror
set xtics ($(grep -v '^#' "$labels" | awk -F'\t' '{printf "%s\"%s\" %d", (NR > 1 ? ", " : ""), $2, NR - 1}'))
plot "$before" using 7 title "before (main, $(sed -n 's/^# measured: //p' "$before"))" lc rgb "#aec7e8"$extra, \
     "$labels" using 8 title "target" lc rgb "#2ca02c"
EOF15
  echo "plot-bench.sh: wrote $out15"
fi

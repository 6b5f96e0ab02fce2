#!/usr/bin/env bash
# Turns one shardis latency dump into a percentile table and a PNG plot.
#
#   scripts/latency-report.sh DUMP [OUT.png]
#
# DUMP is a file the server writes every latency-log-interval seconds when
# latency-log-dir is set: latency-<port>-<unix time>.hlog (an HdrHistogram
# interval log, for HdrHistogram's own tools) or the .csv written next to it
# with the same interval as percentiles in microseconds:
#
#   tag,count,min_us,mean_us,p50_us,p90_us,p99_us,p99.9_us,p99.99_us,max_us
#   all,56532,0.430,1.144,0.643,1.999,4.079,20.223,166.911,4653.055
#   get,20000,...                       (one row per command, most calls first)
#
# The script reads the CSV (given an .hlog, the .csv beside it; the .hlog's
# header adds the interval's times to the title):
#   - stdout: a Markdown table, one row per command ("all" = every command);
#   - OUT.png (default: DUMP with .png instead of .hlog/.csv): latency by
#     percentile (p50 ... p99.99, max; log scale), one line for "all" and
#     one for each of the 8 commands with the most calls. Drawn by gnuplot
#     (Debian package gnuplot-nox); without gnuplot the table is still
#     printed and the script says so on stderr and exits 0.
#
# Exit status: 0 done (the plot skipped only when gnuplot is missing);
# 1 bad usage or an unreadable dump; 2 gnuplot failed.
set -euo pipefail

usage() {
    echo "usage: $0 DUMP.hlog|DUMP.csv [OUT.png]" >&2
    exit 1
}

[[ $# -ge 1 && $# -le 2 ]] || usage
dump="$1"
case "$dump" in
*.hlog)
    csv="${dump%.hlog}.csv"
    hlog="$dump"
    base="${dump%.hlog}"
    ;;
*.csv)
    csv="$dump"
    hlog="${dump%.csv}.hlog"
    base="${dump%.csv}"
    ;;
*) usage ;;
esac
png="${2:-$base.png}"

if [[ ! -r $csv ]]; then
    echo "latency-report: cannot read $csv (the percentiles written next to each .hlog dump)" >&2
    exit 1
fi
header="$(head -n 1 "$csv")"
if [[ $header != tag,count,min_us,mean_us,p50_us,p90_us,p99_us,p99.9_us,p99.99_us,max_us ]]; then
    echo "latency-report: $csv is not a shardis latency dump (header: $header)" >&2
    exit 1
fi

# "interval 1795328855.875-1795328856.883" from the .hlog's first line.
interval=""
if [[ -r $hlog ]]; then
    interval="$(head -n 1 "$hlog" | sed -n 's/.*interval \([0-9.]*\)-\([0-9.]*\)\].*/\1 \2/p')"
fi
title="$(basename "$base")"
if [[ -n $interval ]]; then
    read -r from to <<<"$interval"
    secs="$(awk -v a="$from" -v b="$to" 'BEGIN { printf "%.3f", b - a }')"
    when="$(date -u -d "@${from%.*}" '+%Y-%m-%d %H:%M:%S UTC' 2>/dev/null || echo "$from")"
    title="$title: $secs s from $when"
fi

# ---- the table -------------------------------------------------------------

echo "## Latency in microseconds, $title"
echo
echo "| command | calls | min | mean | p50 | p90 | p99 | p99.9 | p99.99 | max |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
tail -n +2 "$csv" | awk -F, 'NF == 10 {
    printf "| %s |", $1
    for (i = 2; i <= 10; i++) printf " %s |", $i
    printf "\n"
}'

# ---- the plot --------------------------------------------------------------

if ! command -v gnuplot >/dev/null 2>&1; then
    echo "latency-report: gnuplot is not installed, so no plot was drawn (Debian: apt-get install gnuplot-nox)" >&2
    exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
data="$work/data"
# One block per line of the plot (separated by two blank lines, gnuplot's
# `index`): "x label value" for p50 ... max. At most 9 rows: all + 8.
tail -n +2 "$csv" | head -n 9 | awk -F, '
    NF == 10 {
        split("p50 p90 p99 p99.9 p99.99 max", label, " ")
        split("5 6 7 8 9 10", col, " ")
        if (n++) printf "\n\n"
        for (i = 1; i <= 6; i++) {
            v = $(col[i]) + 0
            if (v <= 0) v = 0.001
            printf "%d %s %s\n", i - 1, label[i], v
        }
    }' >"$data"
names="$(tail -n +2 "$csv" | head -n 9 | cut -d, -f1 | tr '\n' ' ')"
blocks="$(wc -w <<<"$names")"
if [[ $blocks -eq 0 ]]; then
    echo "latency-report: no command ran in this interval; nothing to plot" >&2
    exit 0
fi

if ! gnuplot >"$work/gnuplot.log" 2>&1 <<EOF; then
set terminal png size 1000,600
set output "$png"
set title "shardis latency by percentile — $title" noenhanced
set xlabel "percentile"
set ylabel "latency (µs)"
set logscale y
set grid ytics mytics
set key outside right top noenhanced
set xrange [-0.3:5.3]
names = "$names"
plot for [i=0:$((blocks - 1))] "$data" index i using 1:3:xtic(2) with linespoints lw 2 title word(names, i + 1)
EOF
    echo "latency-report: gnuplot failed:" >&2
    cat "$work/gnuplot.log" >&2
    exit 2
fi
echo
echo "Plot: $png"

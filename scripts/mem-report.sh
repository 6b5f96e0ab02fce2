#!/usr/bin/env bash
# Memory fragmentation report: fill, delete half, refill, on one or two
# running servers (shardis or redis-server) given as host:port, sampling
# INFO memory as it goes.
#
#   ./scripts/mem-report.sh --a HOST:PORT [--b HOST:PORT] [options]
#
# For each server in turn (a, then b) it writes, with `redis-cli --pipe`:
#
#   baseline     one sample before writing anything
#   fill         SET memreport:<i> <value-size bytes>, i = 0 .. keys-1
#   delete-half  DEL the odd keys
#   refill       SET the odd keys again, <refill-size bytes> each
#   cleanup      DEL every key it wrote (skipped with --keep), one sample
#
# Each of fill, delete-half and refill is sent in --steps batches; INFO memory
# and DBSIZE are sampled after every batch. The keys are in database --db and
# named memreport:<i>; the script stops if memreport:0 exists already.
#
# Outputs, in --out DIR (default ./mem-report-<date>-<time>):
#   mem-report.csv   one row per sample: elapsed_s,server,phase,step,keys,
#                    used_memory,used_memory_rss,used_memory_peak,
#                    mem_fragmentation_ratio,allocator_allocated,
#                    allocator_active,allocator_resident,allocator_frag_ratio,
#                    allocator_rss_ratio (keys = DBSIZE of the db)
#   summary.csv      one row per server: server,keys,value_size,refill_size,
#                    bytes_per_key,rss_bytes_per_key,peak_used_memory,peak_rss,
#                    peak_frag_ratio,frag_ratio_after_delete,final_frag_ratio,
#                    final_used_memory,final_rss,used_after_cleanup,
#                    rss_after_cleanup
#   summary.txt      the same side by side, also printed
#   mem-report.png   used_memory and RSS, and the fragmentation ratios, per
#                    server over the samples (needs gnuplot: Debian's
#                    gnuplot-nox; skipped with a note when it is missing)
#
# Definitions: bytes_per_key = (used_memory after fill - at baseline) / keys,
# rss_bytes_per_key likewise with RSS; peak_frag_ratio is the highest
# mem_fragmentation_ratio during fill, delete-half and refill;
# frag_ratio_after_delete is the ratio once half the keys are deleted;
# final_* are taken after refill (before cleanup).
#
# Options:
#   --a HOST:PORT        first server (required)
#   --b HOST:PORT        second server, reported side by side
#   --labels A[,B]       names of the servers (default: their host:port)
#   --keys N             keys written by fill (default 100000)
#   --value-size N       bytes per value in fill (default 100)
#   --refill-size N      bytes per value in refill (default: --value-size)
#   --steps N            batches per phase, each followed by a sample (default 5)
#   --db N               database to use (default 0)
#   --settle SECONDS     wait before each sample (default 0.2: redis-server
#                        refreshes its RSS and allocator figures every 100 ms)
#   --keep               leave the keys in place (no cleanup phase)
#   --no-plot            do not draw the PNG
#   --out DIR            output directory
#   -h, --help           this text
#
# Environment: REDISCLI_AUTH (a password, read by redis-cli).
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; }
die() {
    echo "mem-report: $*" >&2
    exit 1
}
note() { echo "$*" >&2; }

addr_a=""
addr_b=""
labels=""
keys=100000
value_size=100
refill_size=""
steps=5
db=0
settle=0.2
keep=0
plot=1
out=""
PREFIX="memreport:"

need_arg() { [[ $# -ge 2 && -n $2 ]] || die "option $1 needs a value"; }
while [[ $# -gt 0 ]]; do
    case "$1" in
    --a) need_arg "$@"; addr_a="$2"; shift 2 ;;
    --b) need_arg "$@"; addr_b="$2"; shift 2 ;;
    --labels) need_arg "$@"; labels="$2"; shift 2 ;;
    --keys) need_arg "$@"; keys="$2"; shift 2 ;;
    --value-size) need_arg "$@"; value_size="$2"; shift 2 ;;
    --refill-size) need_arg "$@"; refill_size="$2"; shift 2 ;;
    --steps) need_arg "$@"; steps="$2"; shift 2 ;;
    --db) need_arg "$@"; db="$2"; shift 2 ;;
    --settle) need_arg "$@"; settle="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --no-plot) plot=0; shift ;;
    --out) need_arg "$@"; out="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
    esac
done

is_count() { [[ $1 =~ ^[0-9]+$ && $1 -gt 0 ]]; }
is_size() { [[ $1 =~ ^[0-9]+$ ]]; }
[[ -n $addr_a ]] || die "--a HOST:PORT is required (see --help)"
[[ -n $refill_size ]] || refill_size="$value_size"
is_count "$keys" || die "--keys: not a positive number: $keys"
is_count "$steps" || die "--steps: not a positive number: $steps"
is_size "$value_size" || die "--value-size: not a number: $value_size"
is_size "$refill_size" || die "--refill-size: not a number: $refill_size"
is_size "$db" || die "--db: not a number: $db"
[[ $settle =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--settle: not a number of seconds: $settle"
[[ $value_size -le 104857600 && $refill_size -le 104857600 ]] || die "values above 100 MiB are refused"

command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found (apt-get install redis-tools)"

# "host:port" or "[v6]:port" -> ADDR_HOST, ADDR_PORT.
split_addr() {
    local a="$1"
    if [[ $a =~ ^\[(.+)\]:([0-9]+)$ || $a =~ ^([^:]+):([0-9]+)$ ]]; then
        ADDR_HOST="${BASH_REMATCH[1]}"
        ADDR_PORT="${BASH_REMATCH[2]}"
    else
        die "not HOST:PORT: $a"
    fi
}

declare -a NAMES=() HOSTS=() PORTS=()
IFS=, read -r -a label_list <<<"$labels"
idx=0
for a in "$addr_a" "$addr_b"; do
    [[ -n $a ]] || continue
    split_addr "$a"
    HOSTS+=("$ADDR_HOST")
    PORTS+=("$ADDR_PORT")
    name="${label_list[$idx]:-$a}"
    [[ $name =~ ^[][A-Za-z0-9_.:@-]+$ ]] || die "label '$name': use letters, digits and _.:@[]-"
    NAMES+=("$name")
    idx=$((idx + 1))
done
if [[ ${#NAMES[@]} -eq 2 && ${NAMES[0]} == "${NAMES[1]}" ]]; then
    die "the two servers need different labels (--labels A,B)"
fi

[[ -n $out ]] || out="./mem-report-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
CSV="$out/mem-report.csv"
SUMMARY_CSV="$out/summary.csv"
SUMMARY_TXT="$out/summary.txt"
PNG="$out/mem-report.png"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mem-report.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# cli INDEX ARGS...: redis-cli against server INDEX in the chosen db.
cli() { redis-cli -h "${HOSTS[$1]}" -p "${PORTS[$1]}" -n "$db" "${@:2}"; }

# RESP for SET prefix<i> <size bytes> over i in [from, to) with i % step_mod == rem.
gen_set() {
    awk -v from="$1" -v to="$2" -v size="$3" -v m="$4" -v r="$5" -v prefix="$PREFIX" 'BEGIN {
        v = ""
        if (size > 0) { v = "x"; while (length(v) < size) v = v v; v = substr(v, 1, size) }
        for (i = from; i < to; i++) {
            if (i % m != r) continue
            k = prefix i
            printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, size, v
        }
    }'
}

# RESP for DEL prefix<i> over i in [from, to) with i % m == r.
gen_del() {
    awk -v from="$1" -v to="$2" -v m="$3" -v r="$4" -v prefix="$PREFIX" 'BEGIN {
        for (i = from; i < to; i++) {
            if (i % m != r) continue
            k = prefix i
            printf "*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n", length(k), k
        }
    }'
}

# pipe INDEX: sends stdin with redis-cli --pipe; fails on any error reply.
pipe() {
    local res
    res="$(cli "$1" --pipe 2>&1)" || die "redis-cli --pipe to ${NAMES[$1]} failed: $res"
    grep -q 'errors: 0,' <<<"$res" || die "redis-cli --pipe to ${NAMES[$1]} reported errors: $res"
}

START_NS="$(date +%s%N)"
elapsed() { awk -v a="$START_NS" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'; }

echo "elapsed_s,server,phase,step,keys,used_memory,used_memory_rss,used_memory_peak,mem_fragmentation_ratio,allocator_allocated,allocator_active,allocator_resident,allocator_frag_ratio,allocator_rss_ratio" >"$CSV"

# sample INDEX PHASE STEP: appends one row to the CSV.
sample() {
    local i="$1" phase="$2" step="$3" info nkeys t
    sleep "$settle"
    info="$(cli "$i" INFO memory)" || die "INFO memory on ${NAMES[$i]} failed"
    nkeys="$(cli "$i" DBSIZE | tr -d '\r')"
    [[ $nkeys =~ ^[0-9]+$ ]] || die "DBSIZE on ${NAMES[$i]} answered: $nkeys"
    t="$(elapsed)"
    tr -d '\r' <<<"$info" | awk -F: -v t="$t" -v s="${NAMES[$i]}" -v p="$phase" -v st="$step" -v k="$nkeys" '
        { f[$1] = $2 }
        END {
            n = split("used_memory used_memory_rss used_memory_peak mem_fragmentation_ratio allocator_allocated allocator_active allocator_resident allocator_frag_ratio allocator_rss_ratio", names, " ")
            row = t "," s "," p "," st "," k
            for (j = 1; j <= n; j++) row = row "," f[names[j]]
            print row
        }' >>"$CSV"
}

# run_server INDEX: the whole workload against one server.
run_server() {
    local i="$1" s from to reply
    reply="$(cli "$i" PING 2>&1 || true)"
    [[ $reply == PONG ]] || die "${NAMES[$i]} (${HOSTS[$i]}:${PORTS[$i]}) does not answer PING: $reply"
    reply="$(cli "$i" EXISTS "${PREFIX}0" | tr -d '\r')"
    [[ $reply == 0 ]] || die "${NAMES[$i]}: ${PREFIX}0 exists in db $db; delete the ${PREFIX}* keys or use --db"
    note "${NAMES[$i]}: $keys keys of $value_size bytes, refill with $refill_size bytes, $steps steps per phase"
    sample "$i" baseline 0
    for s in $(seq "$steps"); do
        from=$(((s - 1) * keys / steps))
        to=$((s * keys / steps))
        gen_set "$from" "$to" "$value_size" 1 0 | pipe "$i"
        sample "$i" fill "$s"
    done
    for s in $(seq "$steps"); do
        from=$(((s - 1) * keys / steps))
        to=$((s * keys / steps))
        gen_del "$from" "$to" 2 1 | pipe "$i"
        sample "$i" delete-half "$s"
    done
    for s in $(seq "$steps"); do
        from=$(((s - 1) * keys / steps))
        to=$((s * keys / steps))
        gen_set "$from" "$to" "$refill_size" 2 1 | pipe "$i"
        sample "$i" refill "$s"
    done
    if [[ $keep -eq 0 ]]; then
        gen_del 0 "$keys" 1 0 | pipe "$i"
        sample "$i" cleanup 0
    fi
}

for i in "${!NAMES[@]}"; do
    run_server "$i"
done

# --- summary ------------------------------------------------------------------

echo "server,keys,value_size,refill_size,bytes_per_key,rss_bytes_per_key,peak_used_memory,peak_rss,peak_frag_ratio,frag_ratio_after_delete,final_frag_ratio,final_used_memory,final_rss,used_after_cleanup,rss_after_cleanup" >"$SUMMARY_CSV"
for i in "${!NAMES[@]}"; do
    awk -F, -v s="${NAMES[$i]}" -v keys="$keys" -v vs="$value_size" -v rs="$refill_size" -v steps="$steps" '
        NR == 1 || $2 != s { next }
        $3 == "baseline" { u0 = $6; r0 = $7 }
        $3 == "fill" && $4 == steps { u1 = $6; r1 = $7 }
        $3 == "fill" || $3 == "delete-half" || $3 == "refill" {
            if ($6 > pu) pu = $6
            if ($7 > pr) pr = $7
            if (pf == "" || $9 + 0 > pf + 0) pf = $9
        }
        $3 == "delete-half" && $4 == steps { fd = $9 }
        $3 == "refill" && $4 == steps { ff = $9; fu = $6; fr = $7 }
        $3 == "cleanup" { cu = $6; cr = $7 }
        END {
            printf "%s,%d,%d,%d,%.1f,%.1f,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", s, keys, vs, rs,
                (u1 - u0) / keys, (r1 - r0) / keys, pu, pr, pf, fd, ff, fu, fr, cu, cr
        }' "$CSV" >>"$SUMMARY_CSV"
done

{
    echo "Memory report: fill $keys keys x $value_size B, delete half, refill x $refill_size B ($steps steps per phase)"
    for i in "${!NAMES[@]}"; do
        echo "  ${NAMES[$i]}: ${HOSTS[$i]}:${PORTS[$i]} ($(cli "$i" INFO server | tr -d '\r' | awk -F: '$1 == "redis_version" || $1 == "shardis_version" { printf "%s=%s ", $1, $2 }'))"
    done
    echo
    awk -F, '
        NR == 1 { for (j = 1; j <= NF; j++) name[j] = $j; nf = NF; next }
        { n++; for (j = 1; j <= NF; j++) v[n, j] = $j }
        END {
            for (j = 1; j <= nf; j++) {
                line = sprintf("%-24s", name[j])
                for (k = 1; k <= n; k++) line = line sprintf(" %18s", v[k, j])
                print line
            }
        }' "$SUMMARY_CSV"
} >"$SUMMARY_TXT"
cat "$SUMMARY_TXT"
echo
echo "samples: $CSV"
echo "summary: $SUMMARY_CSV, $SUMMARY_TXT"

# --- plot -----------------------------------------------------------------------

if [[ $plot -eq 0 ]]; then
    exit 0
fi
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "plot skipped: gnuplot not found (apt-get install gnuplot-nox)"
    exit 0
fi
terminal=png
if gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1; then terminal=pngcairo; fi
plots_mem=""
plots_frag=""
for i in "${!NAMES[@]}"; do
    dat="$WORK/server$i.dat"
    # sample number, MiB used, MiB rss, frag ratio, allocator frag ratio, tick label
    awk -F, -v s="${NAMES[$i]}" 'NR > 1 && $2 == s {
        n++; printf "%d %.3f %.3f %s %s %s%s\n", n, $6 / 1048576, $7 / 1048576, ($9 == "" ? "NaN" : $9), ($13 == "" ? "NaN" : $13), $3, ($4 > 0 ? "-" $4 : "")
    }' "$CSV" >"$dat"
    tics=""
    if [[ $i -eq 0 ]]; then tics=":xtic(6)"; fi
    plots_mem+="'$dat' using 1:2$tics with linespoints title '${NAMES[$i]} used_memory', '$dat' using 1:3 with linespoints title '${NAMES[$i]} RSS', "
    plots_frag+="'$dat' using 1:4$tics with linespoints title '${NAMES[$i]} mem_fragmentation_ratio', '$dat' using 1:5 with linespoints title '${NAMES[$i]} allocator_frag_ratio', "
done
gnuplot <<EOF || die "gnuplot failed"
set terminal $terminal size 1200,900 noenhanced
set output '$PNG'
set datafile missing 'NaN'
set multiplot layout 2,1 title 'fill $keys x $value_size B, delete half, refill x $refill_size B'
set key outside right
set grid
set xtics rotate by -45 font ',8'
set ylabel 'MiB'
set title 'memory'
plot ${plots_mem%, }
set ylabel 'ratio'
set title 'fragmentation'
plot ${plots_frag%, }
unset multiplot
EOF
echo "plot: $PNG"

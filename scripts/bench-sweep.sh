#!/usr/bin/env bash
# Pipeline sweep: shardis and redis-server side by side, with redis-benchmark.
#
#   ./scripts/bench-sweep.sh [options]
#
# Starts shardis ($SHARDIS_BIN, else target/release/shardis-server, built with
# `cargo build --release` if missing) and Debian's redis-server on spare ports
# bound to 127.0.0.1, each in a temp dir and pinned with `taskset -c
# <server cpus>`; redis runs with persistence off (--save '' --appendonly no),
# and shardis gets the same flags. For every round and every pipeline depth P
# it runs, pinned to the client cpus,
#
#   redis-benchmark -h 127.0.0.1 -p <port> -t <tests> -c 50 -n N -r 100000 -P P --csv
#
# against one server and then the other, swapping which goes first each round.
# It prints the median requests/s and the median p50 and p99 latencies (ms,
# from redis-benchmark's CSV columns) per (test, P) of each server and the
# ratio shardis/redis, after a header naming the machine (CPUs, kernel,
# transparent huge pages, CPU frequency governor). Benchmarks are not tests:
# quote the medians and ratios together with the command line printed at the
# top.
#
# Options:
#   --threads N          shardis --threads (default: number of server cpus)
#   --threads-flag M     auto|yes|no: pass --threads to the shardis binary.
#                        auto (default) leaves it out when the binary is
#                        redis-server (SHARDIS_BIN=/usr/bin/redis-server
#                        tries the script itself)
#   --server-cpus LIST   taskset cpu list for both servers (default "1")
#   --client-cpus LIST   taskset cpu list for redis-benchmark (default "0")
#   -n N                 requests per redis-benchmark test (default 1000000)
#   -c N                 redis-benchmark clients (default 50)
#   --rounds R           rounds (default 3)
#   --pipelines "LIST"   pipeline depths (default "1 16 64")
#   --tests LIST         redis-benchmark -t list (default set,get,incr,mset);
#                        any of redis-benchmark's tests (ping_inline, set,
#                        get, incr, lpush, rpush, lpop, rpop, sadd, hset,
#                        spop, zadd, zpopmin, lrange_100, mset, ...)
#   --cluster            start both servers with --cluster-enabled yes and
#                        give each all slots (CLUSTER ADDSLOTSRANGE 0 16383);
#                        benchmark the node directly (see the note printed)
#   --memory             after the sweep, per server: FLUSHALL, fill with
#                        redis-benchmark -t set -r 1000000 -n 3000000 -d 16
#                        -P 16, then print INFO used_memory and VmRSS
#   --memory-n N         requests of the --memory fill (default 3000000)
#   --memory-r N         -r (key space) of the --memory fill (default 1000000)
#   --shardis-args STR   extra arguments for shardis (word-split)
#   --server-args STR    extra arguments for both servers, after the
#                        persistence-off defaults (word-split), e.g.
#                        "--appendonly yes --appendfsync always"
#   --csv FILE.csv       also write the table as CSV: test,pipeline,
#                        shardis_rps,redis_rps,shardis_over_redis,
#                        shardis_p50_ms,redis_p50_ms,shardis_p99_ms,
#                        redis_p99_ms (with --memory, the memory figures go
#                        to FILE-memory.csv); --out is the same option
#   --markdown FILE.md   also write the report in Markdown: machine, command
#                        lines, the table (and the memory table)
#   --plot FILE.png      also draw, per test, requests/s and p50/p99 latency
#                        against the pipeline depth for each server (needs
#                        gnuplot: Debian's gnuplot-nox)
#   -h, --help           this text
#
# Environment: SHARDIS_BIN, REDIS_SERVER (default: redis-server on PATH).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; }
die() {
    echo "bench-sweep: $*" >&2
    exit 1
}
note() { echo "$*" >&2; }

threads=""
threads_flag=auto
server_cpus=1
client_cpus=0
requests=1000000
clients=50
rounds=3
pipelines="1 16 64"
tests="set,get,incr,mset"
cluster=0
memory=0
memory_n=3000000
memory_r=1000000
shardis_args=""
server_args=""
out=""
markdown=""
plot=""

need_arg() { [[ $# -ge 2 && -n $2 ]] || die "option $1 needs a value"; }
while [[ $# -gt 0 ]]; do
    case "$1" in
    --threads) need_arg "$@"; threads="$2"; shift 2 ;;
    --threads-flag) need_arg "$@"; threads_flag="$2"; shift 2 ;;
    --server-cpus) need_arg "$@"; server_cpus="$2"; shift 2 ;;
    --client-cpus) need_arg "$@"; client_cpus="$2"; shift 2 ;;
    -n) need_arg "$@"; requests="$2"; shift 2 ;;
    -c) need_arg "$@"; clients="$2"; shift 2 ;;
    --rounds) need_arg "$@"; rounds="$2"; shift 2 ;;
    --pipelines) need_arg "$@"; pipelines="$2"; shift 2 ;;
    --tests) need_arg "$@"; tests="$2"; shift 2 ;;
    --cluster) cluster=1; shift ;;
    --memory) memory=1; shift ;;
    --memory-n) need_arg "$@"; memory_n="$2"; shift 2 ;;
    --memory-r) need_arg "$@"; memory_r="$2"; shift 2 ;;
    --shardis-args) need_arg "$@"; shardis_args="$2"; shift 2 ;;
    --server-args) need_arg "$@"; server_args="$2"; shift 2 ;;
    --out | --csv) need_arg "$@"; out="$2"; shift 2 ;;
    --markdown) need_arg "$@"; markdown="$2"; shift 2 ;;
    --plot) need_arg "$@"; plot="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
    esac
done

# A positive decimal number.
is_count() { [[ $1 =~ ^[0-9]+$ && $1 -gt 0 ]]; }
for v in "$requests" "$clients" "$rounds" "$memory_n" "$memory_r"; do
    is_count "$v" || die "not a positive number: $v"
done
for p in $pipelines; do
    is_count "$p" || die "not a pipeline depth: $p"
done
[[ -n ${pipelines// /} ]] || die "--pipelines is empty"
case "$threads_flag" in auto | yes | no) ;; *) die "--threads-flag takes auto, yes or no" ;; esac
for f in "$out" "$markdown" "$plot"; do
    if [[ -n $f ]]; then mkdir -p "$(dirname "$f")"; fi
done

# Number of cpus in a taskset list such as "1", "0-3" or "1,3,5-6".
count_cpus() {
    local n=0 part lo hi
    local -a parts
    IFS=, read -r -a parts <<<"$1"
    for part in "${parts[@]}"; do
        if [[ $part =~ ^([0-9]+)-([0-9]+)$ ]]; then
            lo=${BASH_REMATCH[1]} hi=${BASH_REMATCH[2]}
            [[ $hi -ge $lo ]] || die "bad cpu range: $part"
            n=$((n + hi - lo + 1))
        elif [[ $part =~ ^[0-9]+$ ]]; then
            n=$((n + 1))
        else
            die "bad cpu list: $1"
        fi
    done
    echo "$n"
}
[[ -n $threads ]] || threads="$(count_cpus "$server_cpus")"
is_count "$threads" || die "bad --threads: $threads"
count_cpus "$client_cpus" >/dev/null

# --- tools and binaries -------------------------------------------------------

for tool in redis-cli redis-benchmark taskset; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "$tool not found (apt-get install redis-tools redis-server util-linux)"
done
if [[ -n $plot ]]; then
    command -v gnuplot >/dev/null 2>&1 || die "--plot needs gnuplot (apt-get install gnuplot-nox)"
fi

# The machine, for the report header: one "name: value" per line.
machine_info() {
    local model governor thp
    model="$(awk -F': ' '$1 ~ /^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
    thp="$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || true)"
    governor="$(cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor 2>/dev/null || true)"
    echo "cpus: $(nproc 2>/dev/null || echo '?') online (${model:-unknown model}), affinity $(taskset -pc $$ 2>/dev/null | sed 's/.*: //' || echo '?')"
    echo "kernel: $(uname -srm)"
    echo "transparent hugepages: ${thp:-n/a}"
    echo "cpu governor: ${governor:-n/a (no cpufreq)}"
}
REDIS_SERVER="${REDIS_SERVER:-$(command -v redis-server || true)}"
[[ -n $REDIS_SERVER && -x $REDIS_SERVER ]] ||
    die "redis-server not found (apt-get install redis-server)"

if [[ -n ${SHARDIS_BIN:-} ]]; then
    [[ -x $SHARDIS_BIN ]] || die "SHARDIS_BIN=$SHARDIS_BIN is not an executable"
else
    target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
    [[ $target_dir == /* ]] || target_dir="$ROOT/$target_dir"
    SHARDIS_BIN="$target_dir/release/shardis-server"
    if [[ ! -x $SHARDIS_BIN ]]; then
        note "building $SHARDIS_BIN (cargo build --release)"
        (cd "$ROOT" && cargo build --release) >&2
    fi
    [[ -x $SHARDIS_BIN ]] || die "$SHARDIS_BIN was not built"
fi

# Debian's redis-server is a symlink to redis-check-rdb: look at both names.
is_redis_binary() {
    local name real
    name="$(basename "$1")"
    real="$(basename "$(readlink -f "$1")")"
    case "$name:$real" in
    redis-server:* | valkey-server:* | *:redis-server | *:redis-check-rdb | *:valkey-server) return 0 ;;
    esac
    return 1
}
pass_threads=1
case "$threads_flag" in
no) pass_threads=0 ;;
auto) if is_redis_binary "$SHARDIS_BIN"; then pass_threads=0; fi ;;
esac

# --- servers ------------------------------------------------------------------

WORK="$(mktemp -d "${TMPDIR:-/tmp}/bench-sweep.XXXXXX")"
declare -A PID=() PORT=() LOG=()

# The running redis-benchmark, if any. Clients run in the background and are
# waited for, so a TERM reaches the trap at once instead of after the client.
CLIENT_PID=""
client_wait() {
    local status=0
    CLIENT_PID=$1
    wait "$CLIENT_PID" || status=$?
    CLIENT_PID=""
    return "$status"
}

cleanup() {
    local name pid
    if [[ -n $CLIENT_PID ]]; then
        kill -TERM "$CLIENT_PID" 2>/dev/null || true
        wait "$CLIENT_PID" 2>/dev/null || true
    fi
    for name in "${!PID[@]}"; do
        pid=${PID[$name]}
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            note "killed $name (pid $pid) with SIGKILL"
        fi
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# True if something listens on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port with nothing on it (and nothing on port+10000, the cluster bus).
# Tries random ports in 20000..29999, skipping ports already handed out.
pick_port() {
    local p q taken
    for _ in $(seq 200); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 10000))
        taken=0
        for q in "${PORT[@]}"; do
            if [[ $q -eq $p ]]; then taken=1; fi
        done
        [[ $taken -eq 0 ]] || continue
        port_in_use "$p" && continue
        port_in_use $((p + 10000)) && continue
        echo "$p"
        return 0
    done
    die "found no free port"
}

rcli() { redis-cli -h 127.0.0.1 -p "${PORT[$1]}" "${@:2}"; }

show_log() {
    note "--- last lines of $1's log (${LOG[$1]}):"
    tail -n 20 "${LOG[$1]}" >&2 || true
}

# start_server NAME BINARY [EXTRA ARGS...]
start_server() {
    local name="$1" bin="$2" port dir
    shift 2
    port="$(pick_port)"
    dir="$WORK/$name"
    mkdir -p "$dir"
    local -a args=(--port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no)
    if [[ $cluster -eq 1 ]]; then
        args+=(--cluster-enabled yes --cluster-config-file "$dir/nodes.conf")
    fi
    if [[ -n $server_args ]]; then
        local -a common
        read -r -a common <<<"$server_args"
        args+=("${common[@]}")
    fi
    args+=("$@")
    PORT[$name]=$port
    LOG[$name]="$dir/server.log"
    printf '%q ' taskset -c "$server_cpus" "$bin" "${args[@]}" >"$dir/cmdline"
    taskset -c "$server_cpus" "$bin" "${args[@]}" >"${LOG[$name]}" 2>&1 </dev/null &
    PID[$name]=$!
    for _ in $(seq 300); do
        if ! kill -0 "${PID[$name]}" 2>/dev/null; then
            show_log "$name"
            die "$name exited during startup"
        fi
        if [[ "$(rcli "$name" PING 2>/dev/null || true)" == PONG ]]; then
            break
        fi
        sleep 0.1
    done
    [[ "$(rcli "$name" PING 2>/dev/null || true)" == PONG ]] || {
        show_log "$name"
        die "$name does not answer PING on port $port"
    }
    if [[ $cluster -eq 1 ]]; then
        local reply
        reply="$(rcli "$name" CLUSTER ADDSLOTSRANGE 0 16383 2>&1 || true)"
        [[ $reply == OK ]] || die "$name: CLUSTER ADDSLOTSRANGE 0 16383 answered: $reply"
        # redis-server holds a lone master's state at fail for ~2 s.
        for _ in $(seq 300); do
            rcli "$name" CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok' && break
            sleep 0.1
        done
        rcli "$name" CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok' ||
            die "$name: cluster_state did not become ok"
    fi
    note "started $name: pid ${PID[$name]}, port $port ($(cat "$dir/cmdline"))"
}

shardis_extra=()
if [[ $pass_threads -eq 1 ]]; then shardis_extra+=(--threads "$threads"); fi
if [[ -n $shardis_args ]]; then
    read -r -a more <<<"$shardis_args"
    shardis_extra+=("${more[@]}")
fi
start_server shardis "$SHARDIS_BIN" "${shardis_extra[@]}"
start_server redis "$REDIS_SERVER"

# --- sweep --------------------------------------------------------------------

# In cluster mode redis-benchmark's plain MSET names keys of many slots
# (CROSSSLOT), so mset runs as a custom command whose 10 keys share the hash
# tag {m}: one slot, and on shardis one core.
plain_tests="$tests"
custom_mset=0
if [[ $cluster -eq 1 ]]; then
    plain_tests="$(tr ',' '\n' <<<"$tests" | grep -vix mset | paste -sd, - || true)"
    if [[ $plain_tests != "$tests" ]]; then custom_mset=1; fi
fi
mset_cmd=(MSET)
for _ in $(seq 10); do mset_cmd+=('key:{m}:__rand_int__' xxx); done

RAW="$WORK/raw.csv" # server,test,pipeline,round,rps,p50_ms,p99_ms
: >"$RAW"

# bench SERVER P ROUND [EXTRA redis-benchmark ARGS...]: appends to $RAW.
bench() {
    local name="$1" p="$2" round="$3" status=0
    shift 3
    local outf="$WORK/bench.out" errf="$WORK/bench.err"
    taskset -c "$client_cpus" redis-benchmark -h 127.0.0.1 -p "${PORT[$name]}" \
        -c "$clients" -n "$requests" -r 100000 -P "$p" --csv "$@" \
        >"$outf" 2>"$errf" </dev/null &
    client_wait $! || status=$?
    if [[ $status -ne 0 ]] || grep -q 'Error' "$errf"; then
        note "redis-benchmark against $name failed (exit $status):"
        cat "$errf" "$outf" >&2
        kill -0 "${PID[$name]}" 2>/dev/null || show_log "$name"
        exit 1
    fi
    # The header names the columns ("test","rps",...,"p50_latency_ms",
    # ...,"p99_latency_ms",...); rows look like "SET","123.45",... Key a test
    # by its first word in lower case ("MSET (10 keys)" and the custom MSET
    # both become mset).
    awk -F'","' -v s="$name" -v p="$p" -v r="$round" '
        { gsub(/^"|"$/, "") }
        NR == 1 { for (j = 1; j <= NF; j++) col[$j] = j; next }
        NF >= 2 {
            t = $1; split(t, w, " "); t = tolower(w[1])
            p50 = ("p50_latency_ms" in col) ? $(col["p50_latency_ms"]) : ""
            p99 = ("p99_latency_ms" in col) ? $(col["p99_latency_ms"]) : ""
            printf "%s,%s,%s,%s,%s,%s,%s\n", s, t, p, r, $2, p50, p99
        }' "$outf" >>"$RAW"
}

bench_cmd="redis-benchmark -h 127.0.0.1 -p <port> -t $tests -c $clients -n $requests -r 100000 -P <P> --csv"
machine_info | while IFS= read -r line; do note "$line"; done
note "shardis: $SHARDIS_BIN"
note "redis:   $REDIS_SERVER ($("$REDIS_SERVER" --version | head -n 1))"
note "client:  taskset -c $client_cpus $bench_cmd"
note "rounds: $rounds, pipelines: $pipelines, server cpus: $server_cpus, client cpus: $client_cpus"

order=(shardis redis)
for round in $(seq "$rounds"); do
    for p in $pipelines; do
        for name in "${order[@]}"; do
            note "round $round/$rounds  P=$p  $name"
            if [[ -n $plain_tests ]]; then bench "$name" "$p" "$round" -t "$plain_tests"; fi
            if [[ $custom_mset -eq 1 ]]; then bench "$name" "$p" "$round" "${mset_cmd[@]}"; fi
        done
    done
    order=("${order[1]}" "${order[0]}")
done

# --- report -------------------------------------------------------------------

# median SERVER TEST P [COLUMN [FORMAT]]: median over the rounds of a $RAW
# column (default 5, rps, as "%.0f"; "" if none).
median() {
    awk -F, -v s="$1" -v t="$2" -v p="$3" -v c="${4:-5}" '$1 == s && $2 == t && $3 == p && $c != "" { print $c }' "$RAW" |
        sort -g |
        awk -v f="${5:-%.0f}\n" '{ v[NR] = $1 } END {
            if (NR == 0) exit
            if (NR % 2) printf f, v[(NR + 1) / 2]
            else printf f, (v[NR / 2] + v[NR / 2 + 1]) / 2
        }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }'; }

# Tests in the order asked for, as keyed in $RAW.
mapfile -t test_keys < <(awk -F, '!seen[$2]++ { print $2 }' "$RAW")

table="$WORK/table.csv"
echo "test,pipeline,shardis_rps,redis_rps,shardis_over_redis,shardis_p50_ms,redis_p50_ms,shardis_p99_ms,redis_p99_ms" >"$table"
for t in "${test_keys[@]}"; do
    for p in $pipelines; do
        a="$(median shardis "$t" "$p")"
        b="$(median redis "$t" "$p")"
        lat=""
        for col in 6 7; do
            for name in shardis redis; do
                lat+=",$(median "$name" "$t" "$p" "$col" "%.3f")"
            done
        done
        echo "$t,$p,$a,$b,$(ratio "$a" "$b")$lat" >>"$table"
    done
done

# The lines above the table, shared by the terminal and Markdown reports.
report_notes() {
    echo "Median requests/s and latency over $rounds round(s), -c $clients -n $requests -r 100000, server cpus $server_cpus, client cpus $client_cpus$([[ $cluster -eq 1 ]] && echo ", cluster mode")"
    if is_redis_binary "$SHARDIS_BIN"; then
        echo "(note: the 'shardis' column is $SHARDIS_BIN, a redis-server)"
    fi
    if [[ $cluster -eq 1 ]]; then
        echo "Cluster mode: each server is a one-node cluster owning all 16384 slots."
        echo "redis-benchmark --cluster refuses single-node clusters, so the node is benchmarked"
        echo "directly in plain mode, with keys of all slots (no MOVED: it owns them all)."
        if [[ $custom_mset -eq 1 ]]; then
            echo "mset: plain MSET would span slots (CROSSSLOT), so it is 'MSET key:{m}:__rand_int__ xxx' x10 (one slot)."
        fi
    fi
}

echo
machine_info
report_notes
awk -F, 'NR == 1 { printf "%-10s %4s %12s %12s %8s %10s %10s %10s %10s\n", "test", "P", "shardis rps", "redis rps", "ratio", "s p50 ms", "r p50 ms", "s p99 ms", "r p99 ms"; next }
         { printf "%-10s %4s %12s %12s %8s %10s %10s %10s %10s\n", toupper($1), $2, $3, $4, $5, $6, $7, $8, $9 }' "$table"
if [[ -n $out ]]; then
    cp "$table" "$out"
    echo "CSV written to $out"
fi

if [[ -n $plot ]]; then
    terminal=png
    if gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1; then terminal=pngcairo; fi
    gp="$WORK/plot.gp"
    {
        echo "set terminal $terminal size 1200,$((360 * ${#test_keys[@]} + 60)) noenhanced"
        echo "set output '$plot'"
        echo "set datafile separator ','"
        echo "set datafile missing ''"
        echo "set multiplot layout ${#test_keys[@]},2 title 'shardis vs redis-server: -c $clients -n $requests, $rounds round(s), median'"
        echo "set grid"
        echo "set key top left"
        echo "set logscale x 2"
        echo "set xlabel 'pipeline depth'"
        echo "set xtics ($(tr ' ' '\n' <<<"$pipelines" | grep . | paste -sd, -))"
        for t in "${test_keys[@]}"; do
            dat="$WORK/plot-$t.csv"
            awk -F, -v t="$t" 'NR > 1 && $1 == t' "$table" >"$dat"
            echo "set title '${t^^}: throughput'"
            echo "unset logscale y"
            echo "set ylabel 'requests/s'"
            echo "plot '$dat' using 2:3 with linespoints title 'shardis', '$dat' using 2:4 with linespoints title 'redis'"
            echo "set title '${t^^}: latency'"
            echo "set logscale y"
            echo "set ylabel 'ms (log)'"
            echo "plot '$dat' using 2:6 with linespoints title 'shardis p50', '$dat' using 2:8 with linespoints title 'shardis p99', '$dat' using 2:7 with linespoints title 'redis p50', '$dat' using 2:9 with linespoints title 'redis p99'"
        done
        echo "unset multiplot"
    } >"$gp"
    gnuplot "$gp" || die "gnuplot failed (script: $gp)"
    echo "plot written to $plot"
fi

# --- memory -------------------------------------------------------------------

if [[ $memory -eq 1 ]]; then
    mem_table="$WORK/memory.csv"
    echo "server,keys,used_memory_bytes,rss_bytes" >"$mem_table"
    mem_cmd="redis-benchmark -h 127.0.0.1 -p <port> -t set -r $memory_r -n $memory_n -d 16 -P 16 -q"
    note "memory fill: taskset -c $client_cpus $mem_cmd"
    for name in shardis redis; do
        reply="$(rcli "$name" FLUSHALL 2>&1 || true)"
        [[ $reply == OK ]] || die "$name: FLUSHALL answered: $reply"
        note "memory fill of $name"
        taskset -c "$client_cpus" redis-benchmark -h 127.0.0.1 -p "${PORT[$name]}" \
            -t set -r "$memory_r" -n "$memory_n" -d 16 -P 16 -q \
            >"$WORK/mem.out" 2>&1 </dev/null &
        client_wait $! || {
            cat "$WORK/mem.out" >&2
            die "memory fill of $name failed"
        }
        used="$(rcli "$name" INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }')"
        keys="$(rcli "$name" DBSIZE | tr -d '\r')"
        rss_kb="$(awk '$1 == "VmRSS:" { print $2 }' "/proc/${PID[$name]}/status")"
        echo "$name,$keys,${used:-},$((rss_kb * 1024))" >>"$mem_table"
    done
    echo
    echo "Memory after FLUSHALL + $mem_cmd"
    awk -F, '
        function mib(x) { return (x == "") ? "n/a" : sprintf("%.1f MiB", x / 1048576) }
        NR == 1 { printf "%-10s %10s %16s %16s\n", "server", "keys", "used_memory", "RSS (VmRSS)"; next }
        { k[$1] = $2; u[$1] = $3; r[$1] = $4
          printf "%-10s %10s %16s %16s\n", $1, $2, mib($3), mib($4) }
        END {
            ur = (u["shardis"] != "" && u["redis"] > 0) ? sprintf("%.2f", u["shardis"] / u["redis"]) : "n/a"
            rr = (r["shardis"] != "" && r["redis"] > 0) ? sprintf("%.2f", r["shardis"] / r["redis"]) : "n/a"
            printf "%-10s %10s %16s %16s\n", "ratio", "", ur, rr
        }' "$mem_table"
    if [[ -n $out ]]; then
        cp "$mem_table" "${out%.csv}-memory.csv"
        echo "memory CSV written to ${out%.csv}-memory.csv"
    fi
fi

# --- markdown -----------------------------------------------------------------

if [[ -n $markdown ]]; then
    {
        echo "# shardis vs redis-server: pipeline sweep"
        echo
        echo "## Machine"
        echo
        machine_info | sed 's/^/- /'
        echo
        echo "## Run"
        echo
        echo "- shardis: \`$SHARDIS_BIN\` ($(cat "$WORK/shardis/cmdline"))"
        echo "- redis: \`$REDIS_SERVER\` ($("$REDIS_SERVER" --version | head -n 1))"
        echo "- client: \`taskset -c $client_cpus $bench_cmd\`"
        echo "- rounds: $rounds, pipelines: $pipelines, tests: $tests"
        echo
        report_notes | sed 's/^/> /'
        echo
        echo "## Results"
        echo
        echo "| test | P | shardis rps | redis rps | shardis/redis | shardis p50 ms | redis p50 ms | shardis p99 ms | redis p99 ms |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        awk -F, 'NR > 1 { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", toupper($1), $2, $3, $4, $5, $6, $7, $8, $9 }' "$table"
        if [[ $memory -eq 1 ]]; then
            echo
            echo "## Memory"
            echo
            echo "After FLUSHALL + \`$mem_cmd\`"
            echo
            echo "| server | keys | used_memory bytes | RSS bytes |"
            echo "|---|---:|---:|---:|"
            awk -F, 'NR > 1 { printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$WORK/memory.csv"
        fi
        if [[ -n $plot ]]; then
            echo
            echo "![sweep]($plot)"
        fi
    } >"$markdown"
    echo "Markdown report written to $markdown"
fi

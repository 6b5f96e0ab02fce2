#!/usr/bin/env bash
# Persistence figures, shardis and redis-server side by side, one core each:
#
#   aof     SET throughput with appendonly yes, appendfsync always and then
#           everysec, at pipeline 1 and 16: scripts/bench-sweep.sh with
#           --tests set --pipelines "1 16" --server-args "--appendonly yes
#           --appendfsync POLICY" (servers on --server-cpus, the benchmark
#           on --client-cpus; its table has the medians and ratios)
#   bgsave  --keys keys (DEBUG POPULATE, 16-byte values), then a steady SET
#           load over the same keys (redis-benchmark -c 4 -P 1, pinned to the
#           client cpus); BGSAVE; the peak of the server's memory while the
#           save runs over its memory just before. Memory is PSS summed over
#           the server process and its children (/proc/PID/smaps_rollup), so
#           a forked redis-server child's copied pages count once and shared
#           ones are not counted twice.
#   load    the same --keys keys written as SET commands (redis-cli --pipe)
#           with appendonly yes, then SAVE: start-up time (process start to
#           the first PONG) from the RDB (appendonly no) and from the AOF
#           (appendonly yes, the commands as written, no rewrite)
#
#   ./scripts/persistence-figures.sh [--only aof,bgsave,load] [--rounds N]
#        [--keys N] [--server-cpus LIST] [--client-cpus LIST] [-n N]
#        [--out DIR]
#
#   --rounds N         rounds of each figure (default 3; medians are quoted)
#   --keys N           dataset size for bgsave and load (default 2000000)
#   -n N               redis-benchmark requests per aof test (default 200000)
#   --server-cpus L    taskset list for the servers (default 1)
#   --client-cpus L    taskset list for clients (default 0)
#   --out DIR          where figures.csv and the logs go (default
#                      ./persistence-figures-<date>-<time>)
#
# Servers bind 127.0.0.1 on free ports in temp dirs (the AOF and RDB files
# go there: the disk under $TMPDIR is what is measured) and are stopped on
# exit. shardis runs with --threads 1. Needs redis-server, redis-cli,
# redis-benchmark (Debian's redis-server and redis-tools) and taskset.
# Output: a table on stdout and figures.csv: figure,server,round,value,unit.
set -euo pipefail

ROUNDS=3
KEYS=2000000
REQUESTS=200000
SERVER_CPUS=1
CLIENT_CPUS=0
ONLY="aof,bgsave,load"
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --keys) KEYS="$2"; shift 2 ;;
    -n) REQUESTS="$2"; shift 2 ;;
    --server-cpus) SERVER_CPUS="$2"; shift 2 ;;
    --client-cpus) CLIENT_CPUS="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
for v in "$ROUNDS" "$KEYS" "$REQUESTS"; do
    [[ $v =~ ^[0-9]+$ && $v -gt 0 ]] || { echo "not a positive number: $v" >&2; exit 2; }
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARDIS="${SHARDIS_BIN:-$ROOT/target/release/shardis-server}"
OUT="${OUT:-./persistence-figures-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
CSV="$OUT/figures.csv"
echo "figure,server,round,value,unit" >"$CSV"

for bin in redis-server redis-cli redis-benchmark taskset; do
    command -v "$bin" >/dev/null || { echo "missing $bin" >&2; exit 1; }
done
[ -x "$SHARDIS" ] || (cd "$ROOT" && cargo build --release -q)

# shellcheck source=scripts/lib/figures.sh
. "$ROOT/scripts/lib/figures.sh"
record() { echo "$1,$2,$3,$4,$5" >>"$CSV"; }
cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }
info_field() { cli "$1" INFO persistence | tr -d '\r' | awk -F: -v f="$2" '$1==f{print $2}'; }

# start KIND DIR PORT [ARGS...]: starts a server pinned to the server cpus
# (no wait); sets SERVER_PID.
start() {
    local kind="$1" dir="$2" port="$3" bin
    shift 3
    mkdir -p "$dir"
    local -a args=(--port "$port" --bind 127.0.0.1 --dir "$dir" --enable-debug-command yes "$@")
    if [ "$kind" = shardis ]; then
        bin="$SHARDIS"
        args+=(--threads 1)
    else
        bin=redis-server
    fi
    taskset -c "$SERVER_CPUS" "$bin" "${args[@]}" >>"$dir/server.log" 2>&1 </dev/null &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
}

# wait_pong PORT: until PING answers PONG (not -LOADING), at most 10 min.
wait_pong() {
    local i
    for i in $(seq 12000); do
        [ "$(cli "$1" PING 2>/dev/null)" = PONG ] && return 0
        sleep 0.05
    done
    echo "server on port $1 did not answer PONG" >&2
    return 1
}

stop() {
    cli "$1" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    local i
    for i in $(seq 200); do kill -0 "$2" 2>/dev/null || return 0; sleep 0.05; done
    kill -9 "$2" 2>/dev/null || true
}

# pss PID: PSS in KiB of PID and its children.
pss() {
    local total=0 p v
    for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
        v="$(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)"
        total=$((total + ${v:-0}))
    done
    echo "$total"
}


wants() { [[ ",$ONLY," == *",$1,"* ]]; }

echo "machine: $(nproc) cpus, $(uname -r), servers on cpus $SERVER_CPUS, clients on $CLIENT_CPUS"
echo "shardis: $SHARDIS; redis: $(redis-server --version | head -1)"

# ---- aof ----------------------------------------------------------------------
if wants aof; then
    for policy in always everysec; do
        echo
        echo "== aof: appendfsync $policy"
        "$ROOT/scripts/bench-sweep.sh" --tests set --pipelines "1 16" --rounds "$ROUNDS" \
            -n "$REQUESTS" --threads 1 --server-cpus "$SERVER_CPUS" --client-cpus "$CLIENT_CPUS" \
            --server-args "--appendonly yes --appendfsync $policy" \
            --csv "$OUT/aof-$policy.csv" | tee "$OUT/aof-$policy.txt"
        # test,pipeline,shardis_rps,redis_rps,ratio,...
        tail -n +2 "$OUT/aof-$policy.csv" | while IFS=, read -r t p s r _; do
            record "aof-$policy-$t-P$p" shardis median "$s" rps
            record "aof-$policy-$t-P$p" redis median "$r" rps
        done
    done
fi

# ---- bgsave -------------------------------------------------------------------
fig_bgsave() {
    local kind="$1" round="$2" dir port pid before peak now load_pid
    dir="$WORK/bgsave-$kind-$round"
    port="$(free_port)"
    start "$kind" "$dir" "$port" --save '' --appendonly no
    pid=$SERVER_PID
    wait_pong "$port"
    [ "$(cli "$port" DEBUG POPULATE "$KEYS" key 16)" = OK ] || { echo "DEBUG POPULATE failed" >&2; exit 1; }
    taskset -c "$CLIENT_CPUS" redis-benchmark -h 127.0.0.1 -p "$port" -t set -r "$KEYS" -d 16 \
        -c 4 -P 1 -n 100000000 -q >/dev/null 2>&1 &
    load_pid=$!
    sleep 3
    before="$(pss "$pid")"
    peak=$before
    local started
    started="$(now_ms)"
    cli "$port" BGSAVE >/dev/null
    for _ in $(seq 12000); do
        now="$(pss "$pid")"
        [ "$now" -gt "$peak" ] && peak=$now
        [ "$(info_field "$port" rdb_bgsave_in_progress)" = 0 ] && break
        sleep 0.02
    done
    local took=$(($(now_ms) - started))
    kill "$load_pid" 2>/dev/null || true
    wait "$load_pid" 2>/dev/null || true
    local status
    status="$(info_field "$port" rdb_last_bgsave_status)"
    stop "$port" "$pid"
    echo "bgsave $kind round $round: pss before ${before} KiB, peak ${peak} KiB, $(ratio "$peak" "$before")x, ${took} ms, status $status"
    record bgsave-peak-over-before "$kind" "$round" "$(ratio "$peak" "$before")" ratio
    record bgsave-ms "$kind" "$round" "$took" ms
}

# ---- load ---------------------------------------------------------------------
# gen_sets N: N SET commands in RESP (keys key:0..N-1, 16-byte values).
gen_sets() {
    awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) { k = "key:" i; printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\nxxxxxxxxxxxxxxxx\r\n", length(k), k } }'
}

# startup_ms KIND DIR ARGS...: ms from process start to the first PONG.
startup_ms() {
    local kind="$1" dir="$2" port t0 ms
    shift 2
    port="$(free_port)"
    t0="$(now_ms)"
    start "$kind" "$dir" "$port" "$@"
    wait_pong "$port"
    ms=$(($(now_ms) - t0))
    local n
    n="$(cli "$port" DBSIZE)"
    [ "$n" = "$KEYS" ] || echo "warning: $kind loaded $n keys, expected $KEYS" >&2
    stop "$port" "$SERVER_PID"
    echo "$ms"
}

fig_load() {
    local kind="$1" dir port pid
    dir="$WORK/load-$kind"
    rm -rf "$dir"
    port="$(free_port)"
    # No automatic rewrite: the AOF stays the commands as written.
    start "$kind" "$dir" "$port" --save '' --appendonly yes --appendfsync no \
        --auto-aof-rewrite-percentage 0
    pid=$SERVER_PID
    wait_pong "$port"
    gen_sets "$KEYS" | cli "$port" --pipe >/dev/null
    local r
    r="$(cli "$port" SAVE)"
    [ "$r" = OK ] || { echo "SAVE on $kind failed: $r" >&2; exit 1; }
    stop "$port" "$pid"
    local round ms
    for round in $(seq "$ROUNDS"); do
        ms="$(startup_ms "$kind" "$dir" --save '' --appendonly no)"
        echo "load $kind round $round: rdb ${ms} ms"
        record load-rdb-ms "$kind" "$round" "$ms" ms
        ms="$(startup_ms "$kind" "$dir" --save '' --appendonly yes --auto-aof-rewrite-percentage 0)"
        echo "load $kind round $round: aof ${ms} ms"
        record load-aof-ms "$kind" "$round" "$ms" ms
    done
    rm -rf "$dir"
}

if wants bgsave; then
    echo
    echo "== bgsave: $KEYS keys under a SET load"
    for round in $(seq "$ROUNDS"); do
        if [ $((round % 2)) = 1 ]; then order="shardis redis"; else order="redis shardis"; fi
        for kind in $order; do fig_bgsave "$kind" "$round"; done
    done
fi
if wants load; then
    echo
    echo "== load: $KEYS keys"
    fig_load shardis
    fig_load redis
fi

# ---- table --------------------------------------------------------------------
echo
printf '%-32s %14s %14s %8s\n' figure shardis redis ratio
for fig in $(tail -n +2 "$CSV" | cut -d, -f1 | awk '!seen[$0]++'); do
    s="$(awk -F, -v f="$fig" '$1==f && $2=="shardis"{print $4}' "$CSV" | median)"
    r="$(awk -F, -v f="$fig" '$1==f && $2=="redis"{print $4}' "$CSV" | median)"
    printf '%-32s %14s %14s %8s\n' "$fig" "$s" "$r" "$(ratio "$s" "$r")"
done
echo "figures: $CSV"

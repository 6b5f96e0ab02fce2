#!/usr/bin/env bash
# Memory of the aggregate types, shardis and redis-server side by side.
#
#   ./scripts/types-memory.sh [--scale F] [--threads N] [--server-cpus LIST]
#
# Starts shardis ($SHARDIS_BIN, else target/release/shardis-server) and
# Debian's redis-server ($REDIS_SERVER, else redis-server on PATH) on spare
# ports of 127.0.0.1, persistence off, each pinned with taskset, and fills each
# with the same three workloads, one at a time (FLUSHALL in between):
#
#   hashes  1M hashes of 10 small fields  (HSET h:<i> f0 <v> ... f9 <v>)
#   sets    1M sets of 10 small integers   (SADD s:<i> 0 .. 9 + i)
#   zsets   100k sorted sets of 100 members (ZADD z:<i> <score> m<j> ...)
#
# (counts times --scale, default 1). Commands are generated as RESP by awk
# and sent with `redis-cli --pipe`. After each fill it prints INFO
# used_memory and the process's VmRSS for both servers and the ratio
# shardis/redis. Not a test: quote the figures with the command line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scale=1
threads=1
cpus=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --scale) scale="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --server-cpus) cpus="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "types-memory: unknown option $1" >&2; exit 2 ;;
    esac
done

SHARDIS_BIN="${SHARDIS_BIN:-$ROOT/target/release/shardis-server}"
REDIS_SERVER="${REDIS_SERVER:-$(command -v redis-server || true)}"
[[ -x $SHARDIS_BIN ]] || (cd "$ROOT" && cargo build --release)
[[ -n $REDIS_SERVER ]] || { echo "types-memory: redis-server not found" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "types-memory: redis-cli not found" >&2; exit 1; }

# shellcheck source=scripts/lib/figures.sh
. "$ROOT/scripts/lib/figures.sh"

# start_pair: fresh servers on new ports (sets sp, rp), so RSS starts low.
start_pair() {
    sp="$(free_port)"
    rp="$(free_port)"
    while [[ $rp == "$sp" ]]; do rp="$(free_port)"; done
    rm -rf "$WORK/s" "$WORK/r"
    mkdir -p "$WORK/s" "$WORK/r"
    (cd "$WORK/s" && exec taskset -c "$cpus" "$SHARDIS_BIN" --port "$sp" --bind 127.0.0.1 --save '' --appendonly no --threads "$threads" >"$WORK/s.log" 2>&1) &
    PIDS+=($!)
    (cd "$WORK/r" && exec taskset -c "$cpus" "$REDIS_SERVER" --port "$rp" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/r.log" 2>&1) &
    PIDS+=($!)
    local p
    for p in "$sp" "$rp"; do
        for _ in $(seq 100); do
            redis-cli -p "$p" ping >/dev/null 2>&1 && break
            sleep 0.1
        done
        redis-cli -p "$p" ping >/dev/null 2>&1 || {
            echo "types-memory: server on port $p did not start:" >&2
            cat "$WORK/s.log" "$WORK/r.log" >&2
            exit 1
        }
    done
}

stop_pair() {
    redis-cli -p "$sp" shutdown nosave >/dev/null 2>&1 || true
    redis-cli -p "$rp" shutdown nosave >/dev/null 2>&1 || true
    wait 2>/dev/null || true
    PIDS=()
}

pid_of() { redis-cli -p "$1" info server | tr -d '\r' | awk -F: '$1=="process_id"{print $2}'; }
used() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '$1=="used_memory"{print $2}'; }
rss() { awk '/VmRSS/{print $2 * 1024}' "/proc/$(pid_of "$1")/status"; }

# gen KIND COUNT: RESP commands on stdout.
gen() {
    awk -v kind="$1" -v n="$2" 'function cmd(a, k,   s, i) {
            s = "*" k "\r\n"
            for (i = 1; i <= k; i++) s = s "$" length(a[i]) "\r\n" a[i] "\r\n"
            printf "%s", s
        }
        BEGIN {
            for (i = 0; i < n; i++) {
                delete a
                if (kind == "hashes") {
                    a[1] = "HSET"; a[2] = "h:" i; k = 2
                    for (j = 0; j < 10; j++) { a[++k] = "f" j; a[++k] = "v" (i + j) % 1000 }
                } else if (kind == "sets") {
                    a[1] = "SADD"; a[2] = "s:" i; k = 2
                    for (j = 0; j < 10; j++) a[++k] = j + i % 100
                } else {
                    a[1] = "ZADD"; a[2] = "z:" i; k = 2
                    for (j = 0; j < 100; j++) { a[++k] = (j * 7 + i) % 1000; a[++k] = "m" j }
                }
                cmd(a, k)
            }
        }'
}

count() {
    awk -v s="$scale" -v n="$1" 'BEGIN { printf "%d", n * s }'
}

echo "# types-memory: shardis $($SHARDIS_BIN --version 2>/dev/null | head -n1) vs $($REDIS_SERVER --version | head -n1)"
echo "# scale=$scale threads=$threads server-cpus=$cpus"
printf '%-8s %10s %14s %14s %7s %14s %14s %7s\n' workload keys shardis_used redis_used ratio shardis_rss redis_rss ratio
for kind in hashes sets zsets; do
    case "$kind" in
        zsets) n="$(count 100000)" ;;
        *) n="$(count 1000000)" ;;
    esac
    line=()
    start_pair
    for p in "$sp" "$rp"; do
        base_used="$(used "$p")"
        base_rss="$(rss "$p")"
        gen "$kind" "$n" | redis-cli -p "$p" --pipe >/dev/null
        line+=("$(( $(used "$p") - base_used ))" "$(( $(rss "$p") - base_rss ))")
    done
    stop_pair
    awk -v k="$kind" -v n="$n" -v su="${line[0]}" -v sr="${line[1]}" -v ru="${line[2]}" -v rr="${line[3]}" \
        'BEGIN { printf "%-8s %10d %14d %14d %7.2f %14d %14d %7.2f\n", k, n, su, ru, su / (ru ? ru : 1), sr, rr, sr / (rr ? rr : 1) }'
done

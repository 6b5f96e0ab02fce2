#!/usr/bin/env bash
# Cluster figures, shardis and redis-server side by side on this machine:
#
#   create   time from `redis-cli --cluster create` (6 nodes, --cluster-replicas 1)
#            to cluster_state:ok on every node
#   reshard  `redis-cli --cluster reshard` of --slots slots holding about


#   gossip   bus bytes sent per second per node in an idle 6-node cluster
#            (TCP bytes_sent of every socket on a bus port, from `ss -ti`,
#            over --idle seconds)
#
#   ./scripts/cluster-figures.sh [--rounds N] [--keys N] [--slots N]
#                                [--idle SECONDS] [--out DIR] [--only LIST]
#
# Servers bind 127.0.0.1 on free ports, run from temp dirs, and are stopped
# on exit. Both kinds run the same way: node i on CPU i mod CPUs (taskset).
# Needs redis-server, redis-cli, redis-benchmark (Debian's redis-server and
# redis-tools) and ss (iproute2). shardis is built with `cargo build --release`.
#
# Output: a table on stdout and figures.csv in --out (default
# ./cluster-figures-<date>-<time>): figure,server,round,value,unit.
set -euo pipefail

ROUNDS=3
KEYS=200000
SLOTS=1000
IDLE=10
ONLY="create,reshard,gossip"
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS="$2"; shift 2 ;;
        --keys) KEYS="$2"; shift 2 ;;
        --slots) SLOTS="$2"; shift 2 ;;
        --idle) IDLE="$2"; shift 2 ;;
        --only) ONLY="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARDIS="$ROOT/target/release/shardis-server"
OUT="${OUT:-./cluster-figures-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
CSV="$OUT/figures.csv"
echo "figure,server,round,value,unit" >"$CSV"

for bin in redis-server redis-cli redis-benchmark ss; do
    command -v "$bin" >/dev/null || { echo "missing $bin" >&2; exit 1; }
done
[ -x "$SHARDIS" ] || (cd "$ROOT" && cargo build --release -q)

# shellcheck source=scripts/lib/figures.sh
. "$ROOT/scripts/lib/figures.sh"

# start_nodes KIND N -> sets PORTS (array); KIND is shardis or redis.
start_nodes() {
    local kind="$1" n="$2" port dir i cpus
    cpus=$(nproc)
    PORTS=()
    for i in $(seq 0 $((n - 1))); do
        port=$(free_port)
        dir="$WORK/$kind-$port"
        mkdir -p "$dir"
        local args=(--port "$port" --bind 127.0.0.1 --dir "$dir" --cluster-enabled yes
            --cluster-node-timeout 5000 --save "" --appendonly no)
        # Nodes take the CPUs in turn, both kinds alike (a shardis core pins
        # itself to the first CPU of its affinity mask: unrestricted, every
        # node would pin to CPU 0).
        if [ "$kind" = shardis ]; then
            taskset -c $((i % cpus)) "$SHARDIS" "${args[@]}" --threads 1 >"$dir/log" 2>&1 &
        else
            taskset -c $((i % cpus)) redis-server "${args[@]}" >"$dir/log" 2>&1 &
        fi
        PIDS+=($!)
        PORTS+=("$port")
    done
    for port in "${PORTS[@]}"; do
        for _ in $(seq 1 200); do
            redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
            sleep 0.05
        done
    done
}

stop_nodes() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    PIDS=()
}

all_ok() {
    local port
    for port in "${PORTS[@]}"; do
        redis-cli -p "$port" cluster info 2>/dev/null | grep -q "cluster_state:ok" || return 1
    done
}

create_cluster() {
    local replicas="$1" addrs=() port
    for port in "${PORTS[@]}"; do addrs+=("127.0.0.1:$port"); done
    if ! redis-cli --cluster create "${addrs[@]}" --cluster-replicas "$replicas" --cluster-yes \
        >"$WORK/create.log" 2>&1; then
        echo "cluster create failed:" >&2
        cat "$WORK/create.log" >&2
        return 1
    fi
}

wait_ok() {
    for _ in $(seq 1 1200); do all_ok && return 0; sleep 0.05; done
    echo "cluster never ok" >&2
    for port in "${PORTS[@]}"; do redis-cli -p "$port" cluster nodes >&2 || true; done
    return 1
}

record() { echo "$1,$2,$3,$4,$5" >>"$CSV"; }

# A hash tag whose slot the node at port $1 serves, past the first
# --slots slots of its range (the ones a reshard from it moves).
tag_for_node() {
    redis-cli -p "$1" cluster nodes | awk '/myself/ {print $NF}' | python3 -c "
import sys
lo, _, hi = sys.stdin.read().strip().partition('-')
lo, hi = int(lo), int(hi or lo)
want = range(min(lo + $SLOTS, hi), hi + 1)
def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc
i = 0
while crc16(b'load%d' % i) % 16384 not in want:
    i += 1
print('load%d' % i)
"
}

# Writes --keys keys spread over every slot (reshard:<i>, no hash tags:
# redis-benchmark --cluster would put each node's keys in one slot), each
# sent with redis-cli --pipe to the node serving its slot.
fill_spread() {
    local port
    for port in "${PORTS[@]}"; do
        redis-cli -p "$port" cluster nodes | awk '/myself/ {for (i = 9; i <= NF; i++) print $i}' |
            sed "s/^/$port /" >>"$WORK/ranges"
    done
    python3 - "$KEYS" "$WORK" <<'PY'
import sys
keys, work = int(sys.argv[1]), sys.argv[2]
def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc
owner = [None] * 16384
for line in open(f"{work}/ranges"):
    port, rng = line.split()
    lo, _, hi = rng.partition("-")
    for s in range(int(lo), int(hi or lo) + 1):
        owner[s] = port
out = {}
for i in range(keys):
    k = f"reshard:{i}".encode()
    port = owner[crc16(k) % 16384]
    out.setdefault(port, []).append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\nxxxxxxxxxxxxxxxx\r\n" % (len(k), k))
for port, cmds in out.items():
    with open(f"{work}/fill-{port}", "wb") as f:
        f.writelines(cmds)
PY
    for port in "${PORTS[@]}"; do
        [ -f "$WORK/fill-$port" ] && redis-cli -p "$port" --pipe <"$WORK/fill-$port" >/dev/null
    done
    rm -f "$WORK/ranges" "$WORK"/fill-*
}

fig_create() {
    local kind="$1" round="$2" t0 t1
    start_nodes "$kind" 6
    t0=$(now_ms)
    create_cluster 1
    wait_ok
    t1=$(now_ms)
    record create "$kind" "$round" $((t1 - t0)) ms
    stop_nodes
}

fig_reshard() {
    local kind="$1" round="$2" t0 t1 from to errs
    start_nodes "$kind" 3
    create_cluster 0
    wait_ok
    fill_spread
    local total=0 port
    for port in "${PORTS[@]}"; do total=$((total + $(redis-cli -p "$port" dbsize))); done
    record reshard_keys_total "$kind" "$round" "$total" keys
    record reshard_keys_on_source "$kind" "$round" "$(redis-cli -p "${PORTS[0]}" dbsize)" keys
    from=$(redis-cli -p "${PORTS[0]}" cluster myid)
    to=$(redis-cli -p "${PORTS[1]}" cluster myid)
    # The load: one plain redis-benchmark per master, SETs of 100 keys behind
    # a hash tag of a slot the reshard does not move (redis-benchmark
    # --cluster follows the source's slots as they move and would keep
    # seeding the next slot to move with its keys).
    local loads=() i tag
    for i in 0 1 2; do
        tag=$(tag_for_node "${PORTS[$i]}")
        redis-benchmark -p "${PORTS[$i]}" -n 100000000 -r 100 -c 4 \
            set "{$tag}:__rand_int__" xxxxxxxxxxxxxxxx >"$WORK/load-$i.log" 2>&1 &
        loads+=($!)
    done
    sleep 1
    t0=$(now_ms)
    redis-cli --cluster reshard "127.0.0.1:${PORTS[0]}" --cluster-from "$from" --cluster-to "$to" \
        --cluster-slots "$SLOTS" --cluster-yes >"$WORK/reshard.log" 2>&1
    t1=$(now_ms)
    kill "${loads[@]}" 2>/dev/null || true
    wait "${loads[@]}" 2>/dev/null || true
    cp "$WORK/reshard.log" "$OUT/reshard-$kind-$round.log"
    errs=$(cat "$WORK"/load-*.log | tr '\r' '\n' | grep -ci "error" || true)
    record reshard "$kind" "$round" $((t1 - t0)) ms
    record reshard_keys_moved "$kind" "$round" "$(tr -cd '.' <"$WORK/reshard.log" | wc -c)" keys
    record reshard_keys_on_target "$kind" "$round" "$(redis-cli -p "${PORTS[1]}" dbsize)" keys
    record reshard_client_errors "$kind" "$round" "$errs" lines
    stop_nodes
}

bus_bytes() {
    local filter="" port
    for port in "${PORTS[@]}"; do
        filter="$filter${filter:+ or }sport = :$((port + 10000)) or dport = :$((port + 10000))"
    done
    ss -Htin state established "( $filter )" | grep -o 'bytes_sent:[0-9]*' | cut -d: -f2 |
        awk '{s += $1} END {print s + 0}'
}

fig_gossip() {
    local kind="$1" round="$2" b0 b1
    start_nodes "$kind" 6
    create_cluster 1
    wait_ok
    sleep 2
    b0=$(bus_bytes)
    sleep "$IDLE"
    b1=$(bus_bytes)
    record gossip_bytes_per_node_per_s "$kind" "$round" $(( (b1 - b0) / IDLE / 6 )) B/s
    stop_nodes
}

for round in $(seq 1 "$ROUNDS"); do
    for fig in create reshard gossip; do
        case ",$ONLY," in *",$fig,"*) ;; *) continue ;; esac
        # Alternate the order so neither kind always runs first.
        if [ $((round % 2)) -eq 1 ]; then kinds="shardis redis"; else kinds="redis shardis"; fi
        for kind in $kinds; do
            echo "round $round: $fig $kind" >&2
            "fig_$fig" "$kind" "$round"
        done
    done
done

# Medians per figure and server, and the shardis/redis ratio.
python3 - "$CSV" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
figs = {}
for r in rows:
    figs.setdefault((r["figure"], r["unit"]), {}).setdefault(r["server"], []).append(float(r["value"]))
print(f"{'figure':34} {'shardis':>12} {'redis':>12} {'ratio':>8}")
for (fig, unit), by in figs.items():
    s = statistics.median(by.get("shardis", [0]))
    r = statistics.median(by.get("redis", [0]))
    ratio = f"{s / r:.2f}" if r else "-"
    print(f"{fig + ' (' + unit + ')':34} {s:12.0f} {r:12.0f} {ratio:>8}")
EOF
echo "raw figures: $CSV"

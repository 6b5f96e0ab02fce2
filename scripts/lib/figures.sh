# Helpers shared by the figure scripts (sourced, not run): a temp dir and
# the servers started into PIDS, both removed on exit; free ports; medians
# and ratios. Sourcing it creates $WORK and installs the EXIT trap.

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# port_in_use PORT: something listens on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port: a port in 20000..29999 with nothing on it nor on port + 10000
# (the cluster bus); 200 tries.
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 10000))
        port_in_use "$p" || port_in_use $((p + 10000)) || { echo "$p"; return 0; }
    done
    echo "found no free port" >&2
    return 1
}

now_ms() { date +%s%3N; }

# median: the median of the numbers on stdin ("" when none).
median() { sort -g | awk '{a[NR]=$1} END { if (NR == 0) print ""; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

# ratio A B: A/B with two decimals, n/a when either is missing or B is 0.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }'; }

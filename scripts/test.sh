#!/usr/bin/env bash
# Run every check and test of shardis: the project's single test command.
#
#   ./scripts/test.sh
#
# Steps, in order; the first failure stops the run with a non-zero exit:
#   1. make sure redis-cli, redis-benchmark and redis-server are there (the
#      integration tests use them as a client we did not write and as the
#      reference server); as root, install Debian's redis-tools and
#      redis-server if any is missing, and make sure the system service the
#      install may start does not stay running. Not root: say so and go on;
#      tests that need them skip with a printed reason.
#   2. cargo fmt --check
#   3. cargo clippy --all-targets -- -D warnings
#   4. cargo build --release (integration tests spawn the release binary,
#      found through SHARDIS_BIN)
#   5. cargo test --release
#
# Environment:
#   SHARDIS_TEST_TIMEOUT  seconds the test step may take in all (default
#                         3000); a hung test then fails the run with a clear
#                         message instead of eating CI's whole 90 minutes.
#   CARGO_TARGET_DIR      honoured when locating the release binary.
#
# Test runner: plain `cargo test --release`, not nextest. It comes with every
# Rust toolchain, so a developer's machine and CI run the very same command
# whatever else is installed; it also runs doctests, which nextest skips; and
# its "test result: ..." lines are what CI reads to count tests. Nextest's
# per-test process isolation buys little here (integration tests already
# spawn a server process each, on its own port and temp dir), and its per-test
# timeouts need a config file; the overall timeout below guards against hangs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '\n==> %s\n' "$*"; }

# --- 1. Redis tools ---------------------------------------------------------

REDIS_PIDFILE=/run/redis/redis-server.pid

# Prints the pid of the system redis-server service, if one is running.
system_redis_pid() {
    local pid
    [[ -r $REDIS_PIDFILE ]] || return 0
    pid="$(tr -dc '0-9' <"$REDIS_PIDFILE" 2>/dev/null || true)"
    [[ -n $pid ]] || return 0
    if [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == redis-server* ]]; then
        echo "$pid"
    fi
}

# Stops and disables the system redis-server service that the package install
# started. Containers often have no systemd and sometimes no `service`, so
# every way is tried quietly, and the pid from the service's pidfile is killed
# last if it is still alive.
stop_system_redis() {
    local pid="$1" i
    echo "stopping the redis-server service the install started (pid $pid)"
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
        systemctl stop redis-server >/dev/null 2>&1 || true
        systemctl disable redis-server >/dev/null 2>&1 || true
    fi
    if command -v service >/dev/null 2>&1; then
        service redis-server stop >/dev/null 2>&1 || true
    elif [[ -x /etc/init.d/redis-server ]]; then
        /etc/init.d/redis-server stop >/dev/null 2>&1 || true
    fi
    if command -v update-rc.d >/dev/null 2>&1; then
        update-rc.d redis-server disable >/dev/null 2>&1 || true
    fi
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        if [[ $i -eq 20 ]]; then kill "$pid" 2>/dev/null || true; fi
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

ensure_redis_tools() {
    local missing=() tool before after
    for tool in redis-cli redis-benchmark redis-server shellcheck gnuplot; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        echo "redis tools present: $(redis-server --version | head -n 1)"
        return 0
    fi
    if [[ $(id -u) -ne 0 ]]; then
        echo "NOTE: missing ${missing[*]} and not root, so not installing them."
        echo "      Install Debian's redis-tools and redis-server to run every test;"
        echo "      tests that need them will skip with a printed reason."
        return 0
    fi
    echo "missing ${missing[*]}: installing redis-tools, redis-server, shellcheck and gnuplot-nox with apt-get"
    before="$(system_redis_pid)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update </dev/null
    apt-get install -y -o DPkg::Lock::Timeout=300 \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        redis-tools redis-server shellcheck gnuplot-nox </dev/null
    after="$(system_redis_pid)"
    if [[ -n $after && $after != "$before" ]]; then
        stop_system_redis "$after"
    fi
    echo "installed: $(redis-server --version | head -n 1)"
}

log "redis tools"
ensure_redis_tools

# --- 2-5. Rust checks, build and tests ---------------------------------------

log "cargo fmt --check"
cargo fmt --check

log "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

log "cargo build --release"
cargo build --release

target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
[[ $target_dir == /* ]] || target_dir="$ROOT/$target_dir"
SHARDIS_BIN="$target_dir/release/shardis-server"
if [[ ! -x $SHARDIS_BIN ]]; then
    echo "error: $SHARDIS_BIN was not built" >&2
    exit 1
fi
export SHARDIS_BIN
echo "SHARDIS_BIN=$SHARDIS_BIN"

log "cargo test --release"
test_timeout="${SHARDIS_TEST_TIMEOUT:-3000}"
# timeout(1) runs the tests in a process group of their own, so on expiry it
# can signal them all (test binaries and the servers they spawn); Ctrl-C at a
# terminal no longer reaches that group, hence the trap forwarding it.
timeout --kill-after=30 "$test_timeout" cargo test --release </dev/null &
test_pid=$!
trap 'kill -TERM "$test_pid" 2>/dev/null || true' INT TERM
status=0
wait "$test_pid" || status=$?
# An interrupted wait returns early: wait again for the real exit status.
while kill -0 "$test_pid" 2>/dev/null; do
    wait "$test_pid" || status=$?
done
trap - INT TERM
if [[ $status -eq 124 || $status -eq 137 ]]; then
    echo "error: cargo test did not finish within ${test_timeout}s (SHARDIS_TEST_TIMEOUT); a test hangs" >&2
fi
if [[ $status -ne 0 ]]; then
    exit "$status"
fi

log "all checks and tests passed"

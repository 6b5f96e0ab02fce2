#!/usr/bin/env bash
# Prints recommended vs current for every host setting of tuning/apply.sh.
# See tuning/README.md.
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
Usage: $PROG [OPTIONS]

Prints a table of every setting tuning/apply.sh manages: the recommended
value, the current one and a status (ok, OFF, or n/a when this host or its
kernel does not have it). Changes nothing; needs no root.

$SETTING_OPTIONS_HELP

Exit status: 0 every setting ok (or n/a), 1 some setting is OFF, 2 usage or
configuration error.
Environment: SHARDIS_TUNING_ROOT (a root prefix: test mode, see README.md).
EOF
}

while (($#)); do
    case $1 in
        -h | --help) usage && exit 0 ;;
        *)
            take_setting_opt "$@" || usage_error "unknown argument '$1'"
            shift "$TAKEN"
            ;;
    esac
done

init_root
resolve_settings
load_sysctl_conf
collect_all

# The table's rows; the per-CPU governors are folded into one.
T_NAME=() T_WANT=() T_CUR=() T_STATUS=()
gov_done=0
for i in "${!S_NAME[@]}"; do
    if [[ ${S_GROUP[i]} == governor ]]; then
        ((gov_done)) && continue
        gov_done=1
        declare -A counts=()
        order=() ncpu=0 any_off=0 all_na=1
        for j in "${!S_NAME[@]}"; do
            [[ ${S_GROUP[j]} == governor ]] || continue
            ncpu=$((ncpu + 1))
            [[ ${S_STATUS[j]} != off ]] || any_off=1
            [[ ${S_STATUS[j]} == n/a ]] || all_na=0
            c=${S_CUR[j]}
            [[ -n ${counts[$c]:-} ]] || order+=("$c")
            counts[$c]=$((${counts[$c]:-0} + 1))
        done
        if ((${#order[@]} == 1)); then
            cur=${order[0]}
        else
            cur=""
            for c in "${order[@]}"; do cur+="${cur:+, }$c x${counts[$c]}"; done
        fi
        status=ok
        ((all_na)) && status=n/a
        ((any_off)) && status=off
        T_NAME+=("cpufreq scaling_governor ($ncpu CPUs)") T_WANT+=("${S_WANT[i]}")
        T_CUR+=("$cur") T_STATUS+=("$status")
    else
        T_NAME+=("${S_NAME[i]}") T_WANT+=("${S_WANT[i]}")
        T_CUR+=("${S_CUR[i]}") T_STATUS+=("${S_STATUS[i]}")
    fi
done

w1=7 w2=11 w3=7
for i in "${!T_NAME[@]}"; do
    ((${#T_NAME[i]} <= w1)) || w1=${#T_NAME[i]}
    ((${#T_WANT[i]} <= w2)) || w2=${#T_WANT[i]}
    ((${#T_CUR[i]} <= w3)) || w3=${#T_CUR[i]}
done

off=0 ok=0 na=0
printf '%-*s  %-*s  %-*s  %s\n' "$w1" SETTING "$w2" RECOMMENDED "$w3" CURRENT STATUS
for i in "${!T_NAME[@]}"; do
    case ${T_STATUS[i]} in
        off) shown=OFF off=$((off + 1)) ;;
        ok) shown=ok ok=$((ok + 1)) ;;
        *) shown=n/a na=$((na + 1)) ;;
    esac
    printf '%-*s  %-*s  %-*s  %s\n' "$w1" "${T_NAME[i]}" "$w2" "${T_WANT[i]}" "$w3" "${T_CUR[i]}" "$shown"
done
echo

if [[ -f $ROOT$MANIFEST ]]; then
    msg "saved originals: $(grep -c . "$ROOT$MANIFEST") in $SAVED_DIR (tuning/revert.sh restores them)"
fi
if ((off)); then
    msg "$off setting(s) OFF, $ok ok, $na n/a: run tuning/apply.sh (as root) to apply them"
    exit 1
fi
msg "all settings as recommended: $ok ok, $na n/a"

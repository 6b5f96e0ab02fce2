#!/usr/bin/env bash
# Applies the host settings shardis wants on bare metal. See tuning/README.md.
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
Usage: $PROG [--dry-run] [OPTIONS]

Applies the host settings a thread-per-core server wants: the sysctls of
tuning/sysctl.conf, transparent huge pages, the nofile/memlock limits file
$LIMITS_FILE, the CPU frequency governor and (opt-in)
NIC IRQ placement. Every value it changes is saved first under
$SAVED_DIR (once: a second run keeps the first originals);
tuning/revert.sh puts them back. Settings already as recommended are left
alone. Runtime values only: run it again after a reboot.

  --dry-run           print what would change, change nothing (no root needed)
$SETTING_OPTIONS_HELP

Needs root. Exit status: 0 all applied, 1 something could not be applied,
2 usage or configuration error.
Environment: SHARDIS_TUNING_ROOT (a root prefix: test mode, see README.md),
SHARDIS_TUNING_UID (the uid the root check sees).
EOF
}

DRY_RUN=0
while (($#)); do
    case $1 in
        --dry-run) DRY_RUN=1 && shift ;;
        -h | --help) usage && exit 0 ;;
        *)
            take_setting_opt "$@" || usage_error "unknown argument '$1'"
            shift "$TAKEN"
            ;;
    esac
done

init_root
((DRY_RUN)) || require_root
resolve_settings
load_sysctl_conf
collect_all

# What cannot be done stops everything before any change.
bad=()
for i in "${!S_NAME[@]}"; do
    if [[ ${S_KIND[i]} == none && ${S_STATUS[i]} == off ]]; then
        bad+=("${S_NAME[i]}: ${S_CUR[i]}")
    fi
done
((${#bad[@]} == 0)) || die "$(printf '%s; ' "${bad[@]}")nothing changed"

todo=()
n_ok=0
for i in "${!S_NAME[@]}"; do
    case ${S_STATUS[i]} in
        off) todo+=("$i") ;;
        ok) n_ok=$((n_ok + 1)) ;;
        *) msg "skip  ${S_NAME[i]}: ${S_CUR[i]}" ;;
    esac
done

# describe I: "NAME: CURRENT -> NEW"
describe() {
    local i=$1
    if [[ ${S_KIND[i]} == install ]]; then
        printf '%s: %s -> install tuning/limits.conf' "${S_NAME[i]}" "${S_CUR[i]}"
    else
        printf '%s: %s -> %s' "${S_NAME[i]}" "${S_CUR[i]}" "${S_NEW[i]}"
    fi
}

if ((DRY_RUN)); then
    for i in "${todo[@]}"; do
        msg "would set  $(describe "$i")"
    done
    if ((${#todo[@]})); then
        msg "would save the current values to $SAVED_DIR first (unless saved by an earlier apply)"
        msg "dry run: ${#todo[@]} to change, $n_ok already as recommended; nothing changed"
    else
        msg "dry run: nothing to change ($n_ok already as recommended)"
    fi
    exit 0
fi

# Save every original first, then change.
load_manifest
for i in "${todo[@]}"; do
    case ${S_KIND[i]} in
        value) save_original file "${S_PATH[i]}" ;;
        select) save_original select "${S_PATH[i]}" ;;
        install)
            [[ -d $ROOT$LIMITS_DIR ]] || save_original dir "$LIMITS_DIR"
            if [[ -e $ROOT${S_PATH[i]} ]]; then
                save_original file "${S_PATH[i]}"
            else
                save_original absent "${S_PATH[i]}"
            fi
            ;;
    esac
done

failed=0
for i in "${todo[@]}"; do
    path=${S_PATH[i]}
    case ${S_KIND[i]} in
        value | select) put "$path" "${S_NEW[i]}"$'\n' || failed=$((failed + 1)) ;;
        install)
            mkdir -p -- "$ROOT$LIMITS_DIR"
            put_file "$path" "$LIMITS_CONF" || failed=$((failed + 1))
            ;;
    esac
    msg "set   $(describe "$i")"
done

mkdir -p -- "$ROOT$STATE_DIR"
options_text >"$ROOT$OPTIONS_FILE"

if [[ -n $IRQ_CPUS ]]; then
    msg "note: a running irqbalance may move the IRQs of $NIC back; see tuning/README.md"
fi

# Read everything back: the kernel may refuse or clamp a value.
collect_all
still=()
for i in "${!S_NAME[@]}"; do
    [[ ${S_STATUS[i]} != off ]] || still+=("${S_NAME[i]} (${S_CUR[i]})")
done
if ((${#still[@]})); then
    die "not as recommended after apply: $(printf '%s, ' "${still[@]}" | sed 's/, $//'); originals saved in $SAVED_DIR"
fi
if ((failed == 0 && ${#todo[@]} == 0)); then
    msg "nothing to change: $n_ok settings already as recommended"
else
    msg "applied: ${#todo[@]} changed, $n_ok already as recommended; originals in $SAVED_DIR (tuning/revert.sh restores them)"
fi

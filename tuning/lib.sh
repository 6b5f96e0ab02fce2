# shellcheck shell=bash
# tuning/lib.sh: functions shared by apply.sh, revert.sh and check.sh.
# Sourced by them, never run on its own. See tuning/README.md.
#
# Every path below is a host path ("/proc/sys/..."); the scripts read and
# write "$ROOT$path", where ROOT is $SHARDIS_TUNING_ROOT (empty = the real
# host). The tests point it at a fake root in a temporary directory.

PROG=${0##*/}
TUNING_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
SYSCTL_CONF=$TUNING_DIR/sysctl.conf
LIMITS_CONF=$TUNING_DIR/limits.conf

# Everything the scripts may write (README.md, "What it touches").
STATE_DIR=/var/lib/shardis-tuning
SAVED_DIR=$STATE_DIR/saved
MANIFEST=$SAVED_DIR/manifest
OPTIONS_FILE=$STATE_DIR/options
LIMITS_DIR=/etc/security/limits.d
LIMITS_FILE=$LIMITS_DIR/90-shardis.conf
THP_DIR=/sys/kernel/mm/transparent_hugepage
CPU_DIR=/sys/devices/system/cpu

umask 022

# --- messages ----------------------------------------------------------------

msg() { printf '%s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
# die [CODE] MESSAGE: exit CODE (default 1).
die() {
    local code=1
    if [[ $1 =~ ^[0-9]+$ ]]; then
        code=$1
        shift
    fi
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit "$code"
}
usage_error() {
    printf '%s: %s (see %s --help)\n' "$PROG" "$*" "$PROG" >&2
    exit 2
}

# --- root prefix, test mode and the root check ---------------------------------

# Sets ROOT and TEST_MODE from SHARDIS_TUNING_ROOT. A non-empty prefix other
# than "/" is test mode: the root check is skipped (unless SHARDIS_TUNING_UID
# is set, see require_root).
init_root() {
    local r=${SHARDIS_TUNING_ROOT:-}
    while [[ $r == */ ]]; do
        r=${r%/}
    done
    TEST_MODE=0
    if [[ -n $r ]]; then
        [[ $r == /* ]] || die 2 "SHARDIS_TUNING_ROOT must be an absolute path, not '$r'"
        [[ -d $r ]] || die 2 "SHARDIS_TUNING_ROOT is not a directory: $r"
        TEST_MODE=1
    fi
    ROOT=$r
    [[ -d $ROOT/proc/sys ]] || die 2 "$ROOT/proc/sys not found: is /proc mounted (or SHARDIS_TUNING_ROOT right)?"
}

# Refuses to go on unless root. SHARDIS_TUNING_UID, when set, stands for the
# effective uid and makes the check run even in test mode (how the tests see
# the refusal while CI runs as root).
require_root() {
    local uid
    if [[ -n ${SHARDIS_TUNING_UID:-} ]]; then
        [[ $SHARDIS_TUNING_UID =~ ^[0-9]+$ ]] || die 2 "SHARDIS_TUNING_UID must be a number"
        uid=$SHARDIS_TUNING_UID
    elif ((TEST_MODE)); then
        return 0
    else
        uid=$EUID
    fi
    ((uid == 0)) || die "refusing to change host settings: not root (uid $uid); run with sudo, or use --dry-run to see what would change"
}

# True when PATH (a host path) is one the scripts may write: what README.md
# documents, nothing else. revert.sh checks every path of the saved state.
allowed_path() {
    local p=$1
    [[ $p == /* && $p != *..* && $p != *//* ]] || return 1
    case $p in
        /proc/sys/?* | "$THP_DIR/enabled" | "$THP_DIR/defrag" | "$LIMITS_FILE" | "$LIMITS_DIR") return 0 ;;
        "$CPU_DIR"/cpu[0-9]*/cpufreq/scaling_governor | /proc/irq/[0-9]*/smp_affinity_list) return 0 ;;
    esac
    return 1
}

# --- small helpers ---------------------------------------------------------------

# Collapses runs of spaces, tabs and newlines into one space; trims.
norm_words() {
    local -a w=()
    read -r -d '' -a w <<<"$1" || true
    printf '%s' "${w[*]}"
}

# num_cmp A B: prints -1, 0 or 1. Non-negative integers of any length
# (sysctls can hold values past 2^63).
num_cmp() {
    local a=$1 b=$2
    while [[ ${#a} -gt 1 && $a == 0* ]]; do a=${a#0}; done
    while [[ ${#b} -gt 1 && $b == 0* ]]; do b=${b#0}; done
    if ((${#a} != ${#b})); then
        if ((${#a} < ${#b})); then echo -1; else echo 1; fi
    elif [[ $a < $b ]]; then
        echo -1
    elif [[ $a > $b ]]; then
        echo 1
    else
        echo 0
    fi
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# cpulist_expand "0-2,5" prints "0 1 2 5" (the kernel's list format, sorted,
# without duplicates); fails when the list is malformed.
cpulist_expand() {
    local list=$1 part a b i
    local -a set=()
    [[ $list =~ ^[0-9]{1,5}(-[0-9]{1,5})?(,[0-9]{1,5}(-[0-9]{1,5})?)*$ ]] || return 1
    local IFS=,
    for part in $list; do
        if [[ $part == *-* ]]; then
            a=$((10#${part%-*}))
            b=$((10#${part#*-}))
        else
            a=$((10#$part))
            b=$a
        fi
        ((a <= b)) || return 1
        for ((i = a; i <= b; i++)); do set[i]=1; done
    done
    IFS=' '
    printf '%s' "${!set[*]}"
}

# Host path of a sysctl key: dots are directories, and a '/' in a key stands
# for a '.' in a name (as sysctl(8) has it: net.ipv4.conf.eth0/1.rp_filter).
sysctl_path() {
    local k=$1 out="" c i
    for ((i = 0; i < ${#k}; i++)); do
        c=${k:i:1}
        case $c in
            .) out+=/ ;;
            /) out+=. ;;
            *) out+=$c ;;
        esac
    done
    printf '/proc/sys/%s' "$out"
}

# The selected word of a sysfs choice file: the bracketed one in the
# kernel's format ("always madvise [never]"), else the whole (trimmed) content.
selected_word() {
    local re='\[([^]]*)\]'
    if [[ $1 =~ $re ]]; then
        printf '%s' "${BASH_REMATCH[1]}"
    else
        norm_words "$1"
    fi
}

# put HOSTPATH CONTENT: one write of CONTENT (sysfs and procfs want a single
# write at offset 0). Prints a warning and fails when the kernel refuses it.
put() {
    local err
    if ! err=$({ printf '%s' "$2" >"$ROOT$1"; } 2>&1); then
        warn "could not write $1: ${err##*: }"
        return 1
    fi
}

# put_file HOSTPATH SOURCE: writes SOURCE's bytes to HOSTPATH.
put_file() {
    local err
    if ! err=$({ cat -- "$2" >"$ROOT$1"; } 2>&1); then
        warn "could not write $1: ${err##*: }"
        return 1
    fi
}

# --- options shared by apply.sh and check.sh --------------------------------------

OPT_THP="" OPT_THP_DEFRAG="" OPT_GOVERNOR="" OPT_IRQ_CPUS="" OPT_NIC=""

# shellcheck disable=SC2034 # used by apply.sh and check.sh
SETTING_OPTIONS_HELP='  --thp MODE          transparent huge pages: never (default), madvise, or skip
                      (leave as is)
  --thp-defrag MODE   THP defrag: always, defer, defer+madvise, madvise, never,
                      or skip; default follows --thp (never -> never,
                      madvise -> madvise)
  --governor NAME     CPU frequency governor (default performance), or skip
  --irq-cpus LIST     move the IRQs of the NIC given by --nic to these CPUs
                      (kernel list format: 0 or 0-1,8); none = off (default)
  --nic NAME          the NIC whose IRQs --irq-cpus moves (e.g. eth0)

The options of the last apply.sh are remembered in /var/lib/shardis-tuning/options
and are the defaults of later apply.sh and check.sh runs.'

# take_setting_opt "$@": if $1 is one of the options above, stores it and
# sets TAKEN to the number of arguments used; else fails.
# shellcheck disable=SC2034 # TAKEN is for the caller
take_setting_opt() {
    local name=$1 val
    case $name in
        --thp=* | --thp-defrag=* | --governor=* | --irq-cpus=* | --nic=*)
            val=${name#*=}
            name=${name%%=*}
            TAKEN=1
            ;;
        --thp | --thp-defrag | --governor | --irq-cpus | --nic)
            (($# >= 2)) || usage_error "$name needs a value"
            val=$2
            TAKEN=2
            ;;
        *) return 1 ;;
    esac
    [[ -n $val ]] || usage_error "$name needs a value"
    case $name in
        --thp) OPT_THP=$val ;;
        --thp-defrag) OPT_THP_DEFRAG=$val ;;
        --governor) OPT_GOVERNOR=$val ;;
        --irq-cpus) OPT_IRQ_CPUS=$val ;;
        --nic) OPT_NIC=$val ;;
    esac
}

# Sets THP, THP_DEFRAG, GOVERNOR, IRQ_CPUS (empty = off) and NIC from the
# command line, else the options the last apply.sh recorded, else defaults.
resolve_settings() {
    local rec_thp="" rec_defrag="" rec_gov="" rec_cpus="" rec_nic="" line k v
    if [[ -f $ROOT$OPTIONS_FILE ]]; then
        while IFS= read -r line || [[ -n $line ]]; do
            [[ $line == *=* ]] || continue
            k=${line%%=*}
            v=${line#*=}
            case $k in
                thp) rec_thp=$v ;;
                thp_defrag) rec_defrag=$v ;;
                governor) rec_gov=$v ;;
                irq_cpus) rec_cpus=$v ;;
                nic) rec_nic=$v ;;
            esac
        done <"$ROOT$OPTIONS_FILE"
    fi

    THP=${OPT_THP:-${rec_thp:-never}}
    case $THP in
        never | madvise | skip) ;;
        *) usage_error "--thp must be never, madvise or skip, not '$THP'" ;;
    esac
    if [[ -n $OPT_THP_DEFRAG ]]; then
        THP_DEFRAG=$OPT_THP_DEFRAG
    elif [[ -z $OPT_THP && -n $rec_defrag ]]; then
        THP_DEFRAG=$rec_defrag
    else
        THP_DEFRAG=$THP
    fi
    case $THP_DEFRAG in
        always | defer | defer+madvise | madvise | never | skip) ;;
        *) usage_error "--thp-defrag must be always, defer, defer+madvise, madvise, never or skip, not '$THP_DEFRAG'" ;;
    esac

    GOVERNOR=${OPT_GOVERNOR:-${rec_gov:-performance}}
    [[ $GOVERNOR =~ ^[A-Za-z0-9_]+$ ]] || usage_error "bad --governor '$GOVERNOR'"

    IRQ_CPUS=${OPT_IRQ_CPUS:-$rec_cpus}
    NIC=${OPT_NIC:-$rec_nic}
    if [[ $IRQ_CPUS == none ]]; then
        IRQ_CPUS="" NIC=""
    fi
    if [[ -n $IRQ_CPUS || -n $NIC ]]; then
        [[ -n $IRQ_CPUS ]] || usage_error "--nic needs --irq-cpus"
        [[ -n $NIC ]] || usage_error "--irq-cpus needs --nic"
        cpulist_expand "$IRQ_CPUS" >/dev/null || usage_error "bad --irq-cpus list '$IRQ_CPUS' (e.g. 0 or 0-1,8)"
        [[ $NIC =~ ^[A-Za-z0-9_.:@-]+$ ]] || usage_error "bad --nic name '$NIC'"
    fi
}

# The options recorded for later runs (written by apply.sh).
options_text() {
    printf 'thp=%s\nthp_defrag=%s\ngovernor=%s\nirq_cpus=%s\nnic=%s\n' \
        "$THP" "$THP_DEFRAG" "$GOVERNOR" "$IRQ_CPUS" "$NIC"
}

# --- the settings ------------------------------------------------------------------

# Reads sysctl.conf into SYSCTL_KEYS, SYSCTL_OPS, SYSCTL_VALS.
load_sysctl_conf() {
    local line n=0 key op val path
    local re='^([A-Za-z0-9_][A-Za-z0-9_./-]*)[[:space:]]*(>=|<=|=)[[:space:]]*(.*)$'
    local -A seen=()
    SYSCTL_KEYS=() SYSCTL_OPS=() SYSCTL_VALS=()
    [[ -r $SYSCTL_CONF ]] || die 2 "cannot read $SYSCTL_CONF"
    while IFS= read -r line || [[ -n $line ]]; do
        n=$((n + 1))
        line=${line%%#*}
        line=$(norm_words "$line")
        [[ -n $line && $line != \;* ]] || continue
        [[ $line =~ $re ]] || die 2 "$SYSCTL_CONF:$n: expected 'key = value', 'key >= value' or 'key <= value'"
        key=${BASH_REMATCH[1]} op=${BASH_REMATCH[2]} val=${BASH_REMATCH[3]}
        [[ -n $val ]] || die 2 "$SYSCTL_CONF:$n: $key has no value"
        if [[ $op != = ]] && ! is_uint "$val"; then
            die 2 "$SYSCTL_CONF:$n: $op needs a non-negative integer"
        fi
        path=$(sysctl_path "$key")
        if ! allowed_path "$path" || [[ "$path/" == */./* ]]; then
            die 2 "$SYSCTL_CONF:$n: bad key '$key'"
        fi
        [[ -z ${seen[$key]:-} ]] || die 2 "$SYSCTL_CONF:$n: $key is set twice"
        seen[$key]=1
        SYSCTL_KEYS+=("$key") SYSCTL_OPS+=("$op") SYSCTL_VALS+=("$val")
    done <"$SYSCTL_CONF"
}

# The rows: one per file the scripts check and may write.
#   S_NAME    what check.sh shows
#   S_KIND    value   write S_NEW (plus a newline); revert writes the saved bytes
#             select  a sysfs choice file: write the word S_NEW; revert writes
#                     the word that was selected
#             install write limits.conf's bytes; revert restores or removes
#             none    nothing can be written (e.g. no IRQs found)
#   S_PATH    host path
#   S_WANT    recommended, as shown
#   S_CUR     current, as shown
#   S_STATUS  ok, off or n/a (not on this host, or not offered by its kernel)
#   S_NEW     what apply.sh writes
#   S_GROUP   rows check.sh shows as one (the per-CPU governors)
add_row() {
    S_NAME+=("$1") S_KIND+=("$2") S_PATH+=("$3") S_WANT+=("$4")
    S_CUR+=("$5") S_STATUS+=("$6") S_NEW+=("${7:-}") S_GROUP+=("${8:-}")
}

# read_setting HOSTPATH: sets RAW to the file's content; fails (with RAW set
# to what to show) when it is absent or unreadable.
read_setting() {
    if [[ ! -f $ROOT$1 ]]; then
        RAW="(absent)"
        return 1
    fi
    if ! RAW=$(cat -- "$ROOT$1" 2>/dev/null); then
        RAW="(unreadable)"
        return 1
    fi
}

collect_sysctls() {
    local i key op val path want cur status
    for i in "${!SYSCTL_KEYS[@]}"; do
        key=${SYSCTL_KEYS[i]} op=${SYSCTL_OPS[i]} val=${SYSCTL_VALS[i]}
        path=$(sysctl_path "$key")
        want=$val
        [[ $op == = ]] || want="$op $val"
        if ! read_setting "$path"; then
            add_row "$key" value "$path" "$want" "$RAW" n/a
            continue
        fi
        cur=$(norm_words "$RAW")
        status=off
        case $op in
            =) [[ $cur == "$val" ]] && status=ok ;;
            '>=') is_uint "$cur" && [[ $(num_cmp "$cur" "$val") != -1 ]] && status=ok ;;
            '<=') is_uint "$cur" && [[ $(num_cmp "$cur" "$val") != 1 ]] && status=ok ;;
        esac
        add_row "$key" value "$path" "$want" "$cur" "$status" "$val"
    done
}

# thp_row NAME HOSTPATH WANT
thp_row() {
    local name=$1 path=$2 want=$3 cur offered
    [[ $want != skip ]] || return 0
    if ! read_setting "$path"; then
        add_row "$name" select "$path" "$want" "$RAW" n/a
        return 0
    fi
    cur=$(selected_word "$RAW")
    if [[ $RAW == *\[* ]]; then
        offered=${RAW//\[/}
        offered=$(norm_words "${offered//\]/}")
        if [[ " $offered " != *" $want "* ]]; then
            add_row "$name" select "$path" "$want" "$cur (kernel offers: $offered)" n/a
            return 0
        fi
    fi
    if [[ $cur == "$want" ]]; then
        add_row "$name" select "$path" "$want" "$cur" ok "$want"
    else
        add_row "$name" select "$path" "$want" "$cur" off "$want"
    fi
}

collect_governors() {
    local f path cpu cur avail found=0
    [[ $GOVERNOR != skip ]] || return 0
    for f in "$ROOT$CPU_DIR"/cpu[0-9]*/cpufreq/scaling_governor; do
        [[ -f $f ]] || continue
        found=1
        path=${f#"$ROOT"}
        cpu=${path#"$CPU_DIR"/}
        cpu=${cpu%%/*}
        if ! read_setting "$path"; then
            add_row "$cpu scaling_governor" value "$path" "$GOVERNOR" "$RAW" n/a "" governor
            continue
        fi
        cur=$(norm_words "$RAW")
        avail=${f%/*}/scaling_available_governors
        if [[ -f $avail && " $(norm_words "$(cat -- "$avail" 2>/dev/null || true)") " != *" $GOVERNOR "* ]]; then
            add_row "$cpu scaling_governor" value "$path" "$GOVERNOR" "$cur (not offered)" n/a "" governor
        elif [[ $cur == "$GOVERNOR" ]]; then
            add_row "$cpu scaling_governor" value "$path" "$GOVERNOR" "$cur" ok "$GOVERNOR" governor
        else
            add_row "$cpu scaling_governor" value "$path" "$GOVERNOR" "$cur" off "$GOVERNOR" governor
        fi
    done
    if ((!found)); then
        add_row "scaling_governor" none "" "$GOVERNOR" "(no cpufreq)" n/a
    fi
}

collect_limits() {
    local name="$LIMITS_FILE (nofile, memlock)"
    if [[ ! -d $ROOT/etc/security ]]; then
        add_row "$name" none "$LIMITS_FILE" installed "(no /etc/security: no pam_limits)" n/a
    elif [[ ! -e $ROOT$LIMITS_FILE ]]; then
        add_row "$name" install "$LIMITS_FILE" installed missing off
    elif cmp -s -- "$LIMITS_CONF" "$ROOT$LIMITS_FILE"; then
        add_row "$name" install "$LIMITS_FILE" installed installed ok
    else
        add_row "$name" install "$LIMITS_FILE" installed "differs from tuning/limits.conf" off
    fi
}

# IRQs of NIC: those whose /proc/interrupts line names a device NIC, NIC-...,
# NIC@..., NIC.... , NIC:... or NIC_..., plus the NIC's MSI IRQs in sysfs.
collect_irqs() {
    local first rest w irq path cur want_exp cur_exp f
    local -a words=()
    local -A names=()
    [[ -n $IRQ_CPUS ]] || return 0
    want_exp=$(cpulist_expand "$IRQ_CPUS")
    if [[ -r $ROOT/proc/interrupts ]]; then
        while read -r first rest; do
            [[ $first =~ ^([0-9]+):$ ]] || continue
            irq=${BASH_REMATCH[1]}
            read -r -a words <<<"$rest"
            for w in "${words[@]}"; do
                w=${w%,}
                if [[ $w == "$NIC" || $w == "$NIC"[-@.:_]* ]]; then
                    names[$irq]=$w
                    break
                fi
            done
        done <"$ROOT/proc/interrupts"
    fi
    for f in "$ROOT/sys/class/net/$NIC/device/msi_irqs"/*; do
        irq=${f##*/}
        is_uint "$irq" || continue
        names[$irq]=${names[$irq]:-$NIC}
    done
    if ((${#names[@]} == 0)); then
        add_row "IRQs of $NIC" none "" "$IRQ_CPUS" "(none in /proc/interrupts)" off
        return 0
    fi
    while read -r irq; do
        path=/proc/irq/$irq/smp_affinity_list
        if ! read_setting "$path"; then
            add_row "irq $irq (${names[$irq]})" value "$path" "$IRQ_CPUS" "$RAW" n/a
            continue
        fi
        cur=$(norm_words "$RAW")
        cur_exp=$(cpulist_expand "$cur") || cur_exp="?"
        if [[ $cur_exp == "$want_exp" ]]; then
            add_row "irq $irq (${names[$irq]})" value "$path" "$IRQ_CPUS" "$cur" ok "$IRQ_CPUS"
        else
            add_row "irq $irq (${names[$irq]})" value "$path" "$IRQ_CPUS" "$cur" off "$IRQ_CPUS"
        fi
    done < <(printf '%s\n' "${!names[@]}" | sort -n)
}

# Fills the S_* rows from the host (or the fake root).
collect_all() {
    S_NAME=() S_KIND=() S_PATH=() S_WANT=() S_CUR=() S_STATUS=() S_NEW=() S_GROUP=()
    collect_sysctls
    thp_row transparent_hugepage/enabled "$THP_DIR/enabled" "$THP"
    thp_row transparent_hugepage/defrag "$THP_DIR/defrag" "$THP_DEFRAG"
    collect_governors
    collect_limits
    collect_irqs
}

# --- saved state ---------------------------------------------------------------------
#
# $SAVED_DIR/manifest has one line per saved original, in the order saved:
#   file PATH     the bytes were copied to $SAVED_DIR/files/PATH; revert writes them back
#   select PATH   likewise, for a sysfs choice file: revert writes back the
#                 word that was selected
#   absent PATH   the file did not exist: revert removes it
#   dir PATH      the directory did not exist: revert removes it when empty
# A path already in the manifest is never saved again, so the originals stay
# the originals however often apply.sh runs.

declare -gA SAVED=()

load_manifest() {
    local kind path
    SAVED=()
    [[ -f $ROOT$MANIFEST ]] || return 0
    while read -r kind path; do
        [[ -n $kind ]] || continue
        SAVED[$path]=$kind
    done <"$ROOT$MANIFEST"
}

# save_original KIND HOSTPATH (KIND as in the manifest; for file and select
# the current bytes are copied first).
save_original() {
    local kind=$1 path=$2 blob
    [[ -z ${SAVED[$path]:-} ]] || return 0
    allowed_path "$path" || die "internal error: refusing to save $path"
    mkdir -p -- "$ROOT$SAVED_DIR"
    if [[ $kind == file || $kind == select ]]; then
        blob=$ROOT$SAVED_DIR/files$path
        mkdir -p -- "${blob%/*}"
        cat -- "$ROOT$path" >"$blob"
    fi
    printf '%s %s\n' "$kind" "$path" >>"$ROOT$MANIFEST"
    SAVED[$path]=$kind
}

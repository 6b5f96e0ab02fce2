#!/usr/bin/env bash
# Restores the host settings tuning/apply.sh changed. See tuning/README.md.
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
Usage: $PROG [--dry-run]

Restores every value tuning/apply.sh saved in $SAVED_DIR,
byte for byte, removes the files and directories apply.sh created (such as
$LIMITS_FILE), then removes $STATE_DIR.
Values changed by hand since apply.sh are overwritten with the originals too.

  --dry-run   print what would be restored, change nothing (no root needed)

Needs root. Exit status: 0 restored (or nothing to restore), 1 something
could not be restored (the saved state is then kept), 2 usage error.
Environment: SHARDIS_TUNING_ROOT (a root prefix: test mode, see README.md),
SHARDIS_TUNING_UID (the uid the root check sees).
EOF
}

DRY_RUN=0
while (($#)); do
    case $1 in
        --dry-run) DRY_RUN=1 && shift ;;
        -h | --help) usage && exit 0 ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
done

init_root
((DRY_RUN)) || require_root
state=$ROOT$STATE_DIR # only ever this directory is removed whole

if [[ ! -f $ROOT$MANIFEST ]]; then
    if [[ -d $state ]] && ((!DRY_RUN)); then
        rm -rf -- "$state"
    fi
    msg "nothing to revert: no saved state in $SAVED_DIR"
    exit 0
fi

# Read and check the whole manifest before touching anything.
kinds=() paths=()
n=0
while read -r kind path; do
    n=$((n + 1))
    [[ -n $kind ]] || continue
    allowed_path "$path" || die "$MANIFEST:$n: refusing to restore '$path' (not a path apply.sh writes)"
    case $kind in
        file | select)
            [[ -f $ROOT$SAVED_DIR/files$path ]] || die "$MANIFEST:$n: saved copy of $path is missing"
            ;;
        absent | dir) ;;
        *) die "$MANIFEST:$n: unknown entry '$kind'" ;;
    esac
    kinds+=("$kind") paths+=("$path")
done <"$ROOT$MANIFEST"

failed=0
# Newest first: a file is removed before the directory created for it.
for ((i = ${#kinds[@]} - 1; i >= 0; i--)); do
    kind=${kinds[i]} path=${paths[i]}
    blob=$ROOT$SAVED_DIR/files$path
    case $kind in
        file | select)
            if [[ ! -e $ROOT$path && $path != /etc/* ]]; then
                warn "$path no longer exists (device or IRQ gone?): skipped"
                continue
            fi
            if [[ $kind == select ]]; then
                word=$(selected_word "$(cat -- "$blob")")
                if ((DRY_RUN)); then
                    msg "would restore $path: $word"
                else
                    put "$path" "$word"$'\n' || failed=$((failed + 1))
                    msg "restored $path: $word"
                fi
            else
                shown=$(norm_words "$(head -c 200 -- "$blob")")
                [[ $path != "$LIMITS_FILE" ]] || shown="(the file as it was)"
                if ((DRY_RUN)); then
                    msg "would restore $path: $shown"
                else
                    put_file "$path" "$blob" || failed=$((failed + 1))
                    msg "restored $path: $shown"
                fi
            fi
            ;;
        absent)
            if [[ -f $ROOT$path ]]; then
                if ((DRY_RUN)); then
                    msg "would remove $path"
                else
                    rm -f -- "$ROOT$path"
                    msg "removed $path"
                fi
            fi
            ;;
        dir)
            if ((DRY_RUN)); then
                msg "would remove $path (if empty)"
            elif [[ -d $ROOT$path ]]; then
                if rmdir -- "$ROOT$path" 2>/dev/null; then
                    msg "removed $path"
                else
                    warn "$path is not empty: kept"
                fi
            fi
            ;;
    esac
done

if ((DRY_RUN)); then
    msg "dry run: would then remove $STATE_DIR; nothing changed"
    exit 0
fi
((failed == 0)) || die "$failed value(s) could not be restored; saved state kept in $SAVED_DIR"
rm -rf -- "$state"
msg "reverted: ${#kinds[@]} saved value(s) restored; $STATE_DIR removed"

#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# verify-units.sh - host: `systemd-analyze verify` of the shipped units and of
# what cfsroot-generator produces for every golden case that writes units,
# with the static unit and the generated drop-ins/units/symlinks in one unit
# directory (as systemd sees them in the initrd). The installed path of cfsroot
# is replaced by the freshly built binary so ExecStart= can be checked.
# A missing systemd-analyze is a failure, not a skip.
#
# Usage: verify-units.sh GENERATOR SRCDIR CFSROOT SETUP_UNIT STATUS_UNIT BINDIR
set -euo pipefail
gen=$1 src=$2 cfsroot=$3 setup_unit=$4 status_unit=$5 bindir=$6
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not found (install systemd)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cfsroot=$(readlink -f "$cfsroot")

# systemd-analyze verify prints problems but may still exit 0 for warnings: fail on any output
# that is not about units outside our control.
check() {
    local what=$1 dir=$2; shift 2
    local out
    out=$(cd "$dir" && SYSTEMD_LOG_LEVEL=warning SYSTEMD_UNIT_PATH="$dir:" \
          systemd-analyze verify --man=no "$@" 2>&1) || { echo "FAIL $what:"; echo "$out"; return 1; }
    # systemd <= 252 has no halt-force; the generator writes poweroff-force before it on purpose
    out=$(printf '%s\n' "$out" | grep -v -E 'Failed to parse (Failure|Success)Action=, ignoring: halt-force$' || true)
    if [ -n "$out" ]; then
        echo "FAIL $what: systemd-analyze verify complained:"; echo "$out"; return 1
    fi
    echo "ok   $what"
}

fail=0
status_dir=$work/status
mkdir -p "$status_dir"
sed "s|$bindir/cfsroot|$cfsroot|g" "$status_unit" > "$status_dir/cfsroot-status.service"
check cfsroot-status.service "$status_dir" cfsroot-status.service || fail=1

n=0
for case_dir in "$src"/cases/*/; do
    case_dir=${case_dir%/}
    name=$(basename "$case_dir")
    d=$work/$name
    mkdir -p "$d/gen"
    policy=$case_dir/policy.conf
    [ -e "$policy" ] || policy=$case_dir/does-not-exist.conf
    envs=(SYSTEMD_IN_INITRD=1)
    [ -e "$case_dir/env" ] && mapfile -t -O 1 envs < "$case_dir/env"
    env -u SYSTEMD_IN_INITRD SYSTEMD_LOG_TARGET=console CFSROOT_POLICY="$policy" \
        SYSTEMD_PROC_CMDLINE="$(cat "$case_dir/cmdline")" "${envs[@]}" \
        "$gen" "$d/gen" 2>/dev/null
    [ -n "$(find "$d/gen" -mindepth 1)" ] || continue
    n=$((n + 1))
    unitdir=$d/units
    mkdir -p "$unitdir"
    sed "s|$bindir/cfsroot|$cfsroot|g" "$setup_unit" > "$unitdir/cfsroot-setup.service"
    # in the initrd systemd-fstab-generator makes sysroot.mount from root=
    printf '[Mount]\nWhat=/dev/vda\nWhere=/sysroot\n' > "$unitdir/sysroot.mount"
    (cd "$d/gen" && find . -type f) | while IFS= read -r f; do
        mkdir -p "$unitdir/$(dirname "$f")"
        sed "s|$bindir/cfsroot|$cfsroot|g" "$d/gen/$f" > "$unitdir/$f"
    done
    (cd "$d/gen" && find . -type l) | while IFS= read -r l; do
        mkdir -p "$unitdir/$(dirname "$l")"
        ln -sfn "$unitdir/$(basename "$l")" "$unitdir/$l"
    done
    units=()
    for u in "$unitdir"/*.service; do units+=("$(basename "$u")"); done
    check "$name: ${units[*]}" "$unitdir" "${units[@]}" || fail=1
done
[ "$n" -gt 0 ] || { echo "no case produced units"; exit 1; }
exit "$fail"

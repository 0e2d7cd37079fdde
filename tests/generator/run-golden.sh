#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-golden.sh - golden tests of cfsroot-generator (host; no root needed).
# For each tests/generator/cases/<case>/:
#   cmdline      the kernel command line ($SYSTEMD_PROC_CMDLINE)
#   policy.conf  the boot policy ($CFSROOT_POLICY); absent: no policy file
#   env          optional extra environment, KEY=VALUE per line
#                (default SYSTEMD_IN_INITRD=1)
#   log          expected stderr of the generator (may be absent: no output)
# run the generator into a fresh directory and compare the tree (files, modes,
# contents, symlink targets) with expected/<case>/ (absent or only .gitkeep:
# nothing may be written). The configured binary and unit paths are replaced
# by @bindir@ and @unitdir@ before comparing, so any prefix works.
# CFSROOT_REGENERATE=1 rewrites expected/ and the logs instead (review the diff!).
#
# Usage: run-golden.sh GENERATOR SRCDIR BINDIR UNITDIR
set -euo pipefail
gen=$1 src=$2 bindir=$3 unitdir=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One line per entry: type, mode, path, and the content or the link target.
manifest() {
    local dir=$1 p
    [ -d "$dir" ] || return 0
    (cd "$dir" && find . -mindepth 1 ! -name .gitkeep -printf '%P\n' | LC_ALL=C sort) |
        while IFS= read -r p; do
            if [ -L "$dir/$p" ]; then
                printf 'link %s -> %s\n' "$p" "$(readlink "$dir/$p")"
            elif [ -d "$dir/$p" ]; then
                printf 'dir  %s %s\n' "$(stat -c %a "$dir/$p")" "$p"
            else
                printf 'file %s %s\n' "$(stat -c %a "$dir/$p")" "$p"
                sed 's/^/    | /' "$dir/$p"
            fi
        done
}

normalize() {
    sed -e "s|$unitdir/|@unitdir@/|g" -e "s|$bindir/|@bindir@/|g" -e "s|$src/|@srcdir@/|g"
}

fail=0 n=0
for case_dir in "$src"/cases/*/; do
    case_dir=${case_dir%/}
    name=$(basename "$case_dir")
    n=$((n + 1))
    out=$work/$name
    mkdir -p "$out/normal" "$out/early" "$out/late"
    policy=$case_dir/policy.conf
    [ -e "$policy" ] || policy=$case_dir/does-not-exist.conf
    envs=(SYSTEMD_IN_INITRD=1)
    if [ -e "$case_dir/env" ]; then
        mapfile -t extra < "$case_dir/env"
        envs+=("${extra[@]}")
    fi
    rc=0
    env -u SYSTEMD_IN_INITRD SYSTEMD_LOG_TARGET=console CFSROOT_POLICY="$policy" \
        SYSTEMD_PROC_CMDLINE="$(cat "$case_dir/cmdline")" "${envs[@]}" \
        "$gen" "$out/normal" "$out/early" "$out/late" 2> "$out/log" || rc=$?
    normalize < "$out/log" > "$out/log.norm"
    manifest "$out/normal" | normalize > "$out/got"

    if [ -n "${CFSROOT_REGENERATE:-}" ]; then
        rm -rf "$src/expected/$name"
        mkdir -p "$src/expected/$name"
        cp -a "$out/normal/." "$src/expected/$name/"
        find "$src/expected/$name" -type l | while IFS= read -r l; do
            t=$(readlink "$l" | normalize)
            ln -sfn "$t" "$l"
        done
        find "$src/expected/$name" -type f | while IFS= read -r f; do
            normalize < "$f" > "$f.tmp" && cat "$f.tmp" > "$f" && rm -f "$f.tmp"
        done
        [ -n "$(ls -A "$src/expected/$name")" ] || touch "$src/expected/$name/.gitkeep"
        if [ -s "$out/log.norm" ]; then cp "$out/log.norm" "$case_dir/log"; else rm -f "$case_dir/log"; fi
    fi

    manifest "$src/expected/$name" > "$out/want"
    if [ -e "$case_dir/log" ]; then cp "$case_dir/log" "$out/log.want"; else : > "$out/log.want"; fi
    ok=1
    if [ "$rc" -ne 0 ]; then
        echo "FAIL $name: generator exited with $rc"; ok=0
    fi
    if [ -n "$(find "$out/early" "$out/late" -mindepth 1)" ]; then
        echo "FAIL $name: wrote into the early or late directory"; ok=0
    fi
    if ! diff -u "$out/want" "$out/got"; then
        echo "FAIL $name: generated tree differs from expected/$name"; ok=0
    fi
    if ! diff -u "$out/log.want" "$out/log.norm"; then
        echo "FAIL $name: log differs from cases/$name/log"; ok=0
    fi
    if [ "$ok" = 1 ]; then echo "ok   $name"; else fail=$((fail + 1)); fi
done
[ "$n" -gt 0 ] || { echo "no cases found in $src/cases"; exit 1; }
echo "$((n - fail))/$n generator cases passed"
[ "$fail" -eq 0 ]

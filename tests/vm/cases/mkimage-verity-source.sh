# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/mkimage-verity-source.sh - host part (Tier A VM): a source
# tree on the data disk whose files the guest gives fs-verity with various
# parameters before running `cfsroot mkimage` on it (the kernel-measurement
# fast path for sources that have fs-verity; the host kernel has none).
# Deterministic content, distinct per file except v-4097-copy.
# shellcheck shell=bash

# FILE SIZE: SIZE bytes of text that depends on the file's name (yes dies of
# SIGPIPE when head is done: not a failure under pipefail)
vm_verity_src_file() {
        { yes "${1##*/} content line" || true; } | head -c "$2" >"$1"
}

prepare() {
        local s=$DISK/src f
        mkdir -p "$s/sub"
        : >"$s/v-empty"
        vm_verity_src_file "$s/v-tiny" 40
        vm_verity_src_file "$s/v-65" 65
        vm_verity_src_file "$s/v-4096" 4096
        vm_verity_src_file "$s/v-4097" 4097
        cp "$s/v-4097" "$s/sub/v-4097-copy"
        vm_verity_src_file "$s/sub/v-big" $((3 * 1024 * 1024 + 123))
        vm_verity_src_file "$s/s-salt" 10000
        vm_verity_src_file "$s/b-1k" 10000
        vm_verity_src_file "$s/s512" 20000
        vm_verity_src_file "$s/p-tiny" 10
        vm_verity_src_file "$s/p-plain" 5000
        vm_verity_src_file "$s/sub/p-big" 200000
        for f in "$s"/* "$s"/sub/*; do
                [ -d "$f" ] || [ "$(stat -c %s "$f")" -gt 0 ] || [ "$(basename "$f")" = v-empty ] ||
                        vm_die "$f: made empty"
        done
}

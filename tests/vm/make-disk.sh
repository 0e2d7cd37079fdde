#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/make-disk.sh - the data disk of one VM test (host side).
#
#   make-disk.sh DIR IMG
#
# Makes IMG, a raw ext4 image with 4 KiB blocks and the verity feature (what
# fs-verity needs on a 4 KiB-page guest), filled with the content of DIR
# (mkfs.ext4 -d, no mount, no root needed). For the composefs cases DIR holds
# composefs/objects/ab/<62 hex> and composefs/images/<digest>, the layout
# `cfsroot setup-root` looks for by default (ObjectStore=/composefs). The host
# kernel has no fs-verity: the guest enables it (guest-lib.sh). Make a fresh
# disk for every test, files with fs-verity are immutable.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vm_require mkfs.ext4:e2fsprogs

[ $# -eq 2 ] || vm_die "usage: make-disk.sh DIR IMG"
dir=$1 img=$2
[ -d "$dir" ] || vm_die "$dir: not a directory"

# content + room for the Merkle trees (<1% for sha256/4K) and metadata
kib=$(du -sk --apparent-size "$dir" | cut -f1)
mib=$((kib * 2 / 1024 + 32))
rm -f "$img"
truncate -s "${mib}M" "$img"
mkfs.ext4 -q -F -b 4096 -O verity -E root_owner=0:0 -L cfsroot-vm -d "$dir" "$img" ||
        vm_die "mkfs.ext4 -d $dir $img failed"

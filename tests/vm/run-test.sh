#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/run-test.sh - run one Tier A VM test case (host side; what meson's
# 'vm' suite calls).
#
#   run-test.sh [--timeout SECONDS] CFSROOT_BIN CASE
#
# A case is two files in tests/vm/cases/:
#   CASE.sh        host part (bash, sourced): defines prepare(), which fills
#                  $DISK (the data disk's tree, empty = no disk), $STAGE (extra
#                  files for the guest's root: test.env, etc/cfsroot/...), and
#                  may set APPEND (extra kernel command line). $CFSROOT is the
#                  cfsroot binary under test, $WORK a scratch directory.
#                  CASE_TPM=1 (set in CASE.sh or prepare()) gives the guest a
#                  fresh swtpm TPM 2.0 (tpm-tis; state in $WORK/tpm, which
#                  prepare() may provision with a swtpm of its own first).
#   CASE.guest.sh  guest part (busybox sh), runs as /test.sh after /init has
#                  loaded the modules and mounted the disk on /sysroot.
# Steps: fetch the kernel (cached), build the base initramfs (cached), prepare,
# make the disk, append the test's cpio, boot (run-qemu.sh decides from the
# serial markers). The work directory is removed on success and kept (path
# printed; disk, stage, serial log) on failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tmo=${CFSROOT_VM_TIMEOUT:-120}
if [ "${1:-}" = --timeout ]; then
        tmo=$2
        shift 2
fi
[ $# -eq 2 ] || vm_die "usage: run-test.sh [--timeout S] CFSROOT_BIN CASE"
CFSROOT=$(readlink -f "$1")
CASE=$2
if [ ! -f "$VM_DIR/cases/$CASE.sh" ] || [ ! -f "$VM_DIR/cases/$CASE.guest.sh" ]; then
        vm_die "no test case $CASE in $VM_DIR/cases"
fi
export CFSROOT

t0=$(date +%s%N)
lap() { echo "$((($(date +%s%N) - t0) / 1000000))ms"; }

kdir=$("$VM_DIR/fetch-kernel.sh")
base=$("$VM_DIR/build-initramfs.sh" base "$CFSROOT" "$kdir")

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/cfsroot-vm-$CASE.XXXXXX")
DISK=$WORK/disk
STAGE=$WORK/stage
APPEND=""
CASE_TPM=0
mkdir -p "$DISK" "$STAGE"
export WORK DISK STAGE
vm_log "$CASE: kernel $(cat "$kdir/kver"), base $(basename "$base"), work $WORK ($(lap))"

# shellcheck source=/dev/null
. "$VM_DIR/cases/$CASE.sh"
prepare
install -m 0755 "$VM_DIR/cases/$CASE.guest.sh" "$STAGE/test.sh"

disk_args=()
tpm_args=()
if [ "$CASE_TPM" = 1 ]; then
        tpm_args=(--tpm "$WORK/tpm")
fi
if [ -n "$(ls -A "$DISK")" ]; then
        "$VM_DIR/make-disk.sh" "$DISK" "$WORK/disk.img"
        disk_args=(--disk "$WORK/disk.img")
fi
"$VM_DIR/build-initramfs.sh" test "$base" "$STAGE" "$WORK/initrd.cpio"
vm_log "$CASE: prepared ($(lap)), booting"

if "$VM_DIR/run-qemu.sh" --timeout "$tmo" --log "$WORK/serial.log" "${disk_args[@]}" "${tpm_args[@]}" \
        --append "$APPEND" "$kdir/vmlinuz" "$WORK/initrd.cpio"; then
        vm_log "$CASE: PASS ($(lap) in all)"
        rm -rf "$WORK"
else
        rm -f "$WORK/initrd.cpio" # the base + $STAGE make it again
        vm_log "$CASE: FAIL ($(lap)); work directory kept: $WORK"
        exit 1
fi

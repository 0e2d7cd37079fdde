#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/run-qemu.sh - boot one Tier A test VM under TCG and decide the
# verdict from the serial console (host side).
#
#   run-qemu.sh [--timeout SECONDS] [--disk IMG] [--append ARGS] [--log FILE]
#               [--tpm DIR] KERNEL INITRD
#
# The guest's /init (guest-init.sh) prints "CFSROOT-VM-RESULT: PASS" or
# "CFSROOT-VM-RESULT: FAIL ..." and powers off. Exit 0 only when the PASS line
# is in the serial log and no FAIL line is; qemu's exit code alone never
# decides. On failure the whole serial log is printed. qemu runs under
# `timeout` (default 120 s, CFSROOT_VM_TIMEOUT overrides): /dev/kvm is not
# usable on these machines (TCG only, see /work/shared/VM-TESTING.md).
# CFSROOT_VM_VERBOSE=1 prints the serial log on success too.
# --tpm DIR: a TPM 2.0 for the guest (tpm-tis): swtpm runs with its state in
# DIR (empty: a new TPM; state a case's host part provisioned there before the
# boot, e.g. NV indices, is loaded) and is stopped after the boot; its log is
# DIR/swtpm.log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vm_require qemu-system-x86_64:qemu-system-x86 timeout:coreutils

tmo=${CFSROOT_VM_TIMEOUT:-120}
disk="" append="" log="" tpm=""
while [ $# -gt 0 ]; do
        case $1 in
        --timeout) tmo=$2; shift 2 ;;
        --disk) disk=$2; shift 2 ;;
        --append) append=$2; shift 2 ;;
        --log) log=$2; shift 2 ;;
        --tpm) tpm=$2; shift 2 ;;
        --) shift; break ;;
        -*) vm_die "unknown option $1" ;;
        *) break ;;
        esac
done
[ $# -eq 2 ] || vm_die "usage: run-qemu.sh [--timeout S] [--disk IMG] [--append ARGS] [--log FILE] [--tpm DIR] KERNEL INITRD"
kernel=$1 initrd=$2
if [ -z "$log" ]; then
        log=$(mktemp "${TMPDIR:-/tmp}/cfsroot-vm-serial.XXXXXX")
fi

# quiet: only errors of the kernel reach the console, so they rarely split the
# marker lines; tests read warnings with dmesg inside the guest.
cmdline="console=ttyS0 panic=-1 quiet module_blacklist=kvm,kvm_amd,kvm_intel nosoftlockup"
cmdline+=" rdinit=/init $append"

# One vCPU: with -smp 2 a trixie guest kernel died with "Oops: int3" in about
# one boot of 25 (multi-threaded TCG and live-patched kernel text, seen in Tier B).
args=(-accel tcg -cpu max -smp "${CFSROOT_VM_SMP:-1}" -m 1G
        -nodefaults -no-user-config -display none -no-reboot
        -serial "file:$log"
        -kernel "$kernel" -initrd "$initrd" -append "$cmdline")
if [ -n "$disk" ]; then
        args+=(-drive "file=$disk,if=virtio,format=raw,cache=unsafe")
fi

if [ -n "$tpm" ]; then
        vm_swtpm_start "$tpm"
        trap vm_swtpm_stop EXIT
        args+=("${VM_SWTPM_ARGS[@]}")
fi

start=$(date +%s%N)
set +e
timeout --kill-after=10 "$tmo" qemu-system-x86_64 "${args[@]}" </dev/null >"$log.qemu" 2>&1
rc=$?
set -e
vm_swtpm_stop
ms=$((($(date +%s%N) - start) / 1000000))
secs=$((ms / 1000)).$(printf %03d $((ms % 1000)))

# the verdict, from the markers only (serial output has \r\n line ends)
result=$(tr -d '\r' <"$log" | grep -a '^CFSROOT-VM-RESULT: ' | head -n1 || true)
why=""
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        why="timed out after ${tmo}s"
elif [ -z "$result" ]; then
        why="no CFSROOT-VM-RESULT line on the serial console (qemu exit $rc)"
elif [ "${result#CFSROOT-VM-RESULT: PASS}" = "$result" ]; then
        why="guest reported: ${result#CFSROOT-VM-RESULT: }"
elif tr -d '\r' <"$log" | grep -aq '^CFSROOT-VM-RESULT: FAIL'; then
        why="guest reported both PASS and FAIL"
fi
if [ -z "$why" ] && [ $rc -ne 0 ]; then
        why="PASS reported, but qemu exited $rc"
fi

if [ -n "$why" ]; then
        echo "===== serial log ($log) =====" >&2
        tr -d '\r' <"$log" >&2 || true
        if [ -s "$log.qemu" ]; then
                echo "===== qemu output =====" >&2
                cat "$log.qemu" >&2
        fi
        if [ -n "$tpm" ] && [ -s "$tpm/swtpm.log" ]; then
                echo "===== swtpm log =====" >&2
                cat "$tpm/swtpm.log" >&2
        fi
        echo "===== VM FAILED: $why (${secs}s wall) =====" >&2
        exit 1
fi
if [ "${CFSROOT_VM_VERBOSE:-0}" = 1 ]; then
        tr -d '\r' <"$log" >&2
fi
vm_log "VM passed in ${secs}s wall (${result#CFSROOT-VM-RESULT: PASS })"

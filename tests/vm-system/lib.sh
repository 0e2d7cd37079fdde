# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm-system/lib.sh - shared helpers of the Tier B VM tests (host side),
# sourced by tests/vm-system/*.sh. Builds on the Tier A harness
# (tests/vm/lib.sh: cache directory, vm_log/vm_die, vm_require, vm_hash,
# vm_locked, vm_flip_byte, vm_debian_mirror), which it sources read-only.
# shellcheck shell=bash

VMSYS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../vm/lib.sh
. "$VMSYS_DIR/../vm/lib.sh"
VMSYS_CACHE=$CFSROOT_CACHE/vm-system
mkdir -p "$VMSYS_CACHE"

# The kernel command line of every Tier B boot (qemu TCG, see
# /work/shared/VM-TESTING.md); the case adds composefs= etc. and, unless it
# says otherwise, rd.shell=0 rd.emergency=poweroff.
VMSYS_CMDLINE="root=/dev/vda rw console=ttyS0 panic=-1 loglevel=4 systemd.firstboot=off module_blacklist=kvm,kvm_amd,kvm_intel nosoftlockup"

# vmsys_boot GUEST_DIR DISK LOG TIMEOUT APPEND [TPM_DIR]: boot the guest's
# kernel and initrd with DISK as /dev/vda under `timeout`, serial console to LOG
# (\r removed afterwards). With TPM_DIR: a TPM 2.0 (tpm-tis) whose swtpm state
# is in TPM_DIR (vm_swtpm_start; NV indices and seeds carry over between boots,
# PCRs start from the firmware's measurements each boot). Sets VMSYS_RC (qemu's
# exit status; 124/137: timed out) and VMSYS_SECS. CFSROOT_VM_VERBOSE=1 shows
# the console while it runs.
# One vCPU (CFSROOT_VMSYS_SMP): with -smp 2 the guest kernel died in one of
# ~25 boots with "Oops: int3" right after live code patching (multi-threaded
# TCG runs a stale translation of the patched code); one vCPU costs ~30%.
vmsys_boot() {
        local guest=$1 disk=$2 log=$3 tmo=$4 append=$5 tpm=${6:-} start ms tailpid=""
        local tpmargs=()
        : >"$log"
        if [ -n "$tpm" ]; then
                vm_swtpm_start "$tpm"
                tpmargs=("${VM_SWTPM_ARGS[@]}")
        fi
        if [ "${CFSROOT_VM_VERBOSE:-0}" = 1 ]; then
                tail -n +1 -F "$log" 2>/dev/null | tr -d '\r' >&2 &
                tailpid=$!
        fi
        start=$(date +%s%N)
        set +e
        timeout --kill-after=10 "$tmo" qemu-system-x86_64 -accel tcg -cpu max -smp "${CFSROOT_VMSYS_SMP:-1}" -m 1G \
                -nodefaults -no-user-config -display none -no-reboot \
                -serial "file:$log" \
                -kernel "$guest/vmlinuz" -initrd "$guest/initrd.img" \
                -drive "file=$disk,if=virtio,format=raw,cache=unsafe" \
                "${tpmargs[@]}" -append "$VMSYS_CMDLINE $append" </dev/null >"$log.qemu" 2>&1
        # shellcheck disable=SC2034 # read by the callers
        VMSYS_RC=$?
        set -e
        vm_swtpm_stop
        ms=$((($(date +%s%N) - start) / 1000000))
        # shellcheck disable=SC2034 # read by the callers
        VMSYS_SECS=$((ms / 1000)).$((ms % 1000 / 100))
        if [ -n "$tailpid" ]; then
                sleep 0.5
                kill "$tailpid" 2>/dev/null || true
                wait "$tailpid" 2>/dev/null || true
        fi
        tr -d '\r' <"$log" >"$log.txt" && mv "$log.txt" "$log"
}

# A copy of the guest's provisioned disk (sparse; files with fs-verity are
# immutable, so every boot that changes something gets its own copy).
vmsys_disk_copy() {
        cp --sparse=always "$1/disk.img" "$2"
}

# Replace FILE (absolute path inside the disk image DISK) by LOCAL, with
# debugfs: no mount, and the host kernel needs no fs-verity.
vmsys_disk_replace() {
        local disk=$1 file=$2 local_file=$3
        debugfs -w -f - "$disk" >/dev/null 2>"$disk.debugfs" <<CMDS || vm_die "debugfs on $disk failed: $(cat "$disk.debugfs")"
cd $(dirname "$file")
rm $(basename "$file")
write $local_file $(basename "$file")
CMDS
        rm -f "$disk.debugfs"
}

# The byte offset in DISK of byte OFFSET (< 4096) of FILE's first block.
vmsys_disk_offset() {
        local blk
        blk=$(debugfs -R "bmap $2 0" "$1" 2>/dev/null)
        if ! [[ $blk =~ ^[0-9]+$ ]] || [ "$blk" -eq 0 ]; then
                vm_die "debugfs: no first block for $2 in $1"
        fi
        echo $((blk * 4096 + $3))
}

# Copy FILE (absolute path inside DISK) out to LOCAL.
vmsys_disk_get() {
        debugfs -R "dump $2 $3" "$1" >/dev/null 2>&1 || vm_die "debugfs: cannot read $2 from $1"
        [ -s "$3" ] || vm_die "debugfs: $2 is empty or missing in $1"
}

#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm-system/run-test.sh - one Tier B VM test (host side; what meson's
# 'vm-system' suite calls): boot the trixie guest (build-guest.sh, cached)
# through its systemd + dracut initrd and judge the serial console.
#
#   run-test.sh [--timeout SECONDS] BUILD_DIR CASE
#
# Cases:
#   good            composefs=<digest>, signed image: the real system boots, / is
#                   the composefs overlay with verity=require, `cfsroot status`
#                   names digest and signer, /usr is read-only
#   plain           no composefs argument, policy without Required=: boots the
#                   plain ext4 root as before
#   tampered-image  the image file on the disk replaced by a modified copy (no
#                   fs-verity): refused (digest) before switch_root, powered off
#   image-blocks-modified  one byte of the image changed in place on the disk,
#                   below its fs-verity Merkle tree (an offline attack on the
#                   disk): the kernel's measurement still names the expected
#                   digest, reading the block fails (EIO); refused with a
#                   REFUSING TO BOOT line naming the image, powered off
#   wrong-digest    intact image, another digest on the command line: refused
#                   (digest), powered off; with dracut's default rd.shell=1 and
#                   no rd.emergency=, so the poweroff comes from the unit's
#                   FailureAction=poweroff-force, not from dracut
#   cmdline-loosen  cfsroot.require-signature=0 against RequireSignature=yes:
#                   the generator refuses (its line on the console), its refusal
#                   unit powers off; cfsroot-setup.service never starts
# TPM cases (the TPM guest, build-guest.sh --tpm; each starts from a copy of its
# provisioned swtpm state: boot policy sealed to PCR 7, anti-rollback floor 0):
#   tpm-rollback    three boots of one disk and one TPM (issue 6):
#                   1. slot A (generation 3) with the health check failing:
#                      boots through the sealed policy; PCR 13 replays from the
#                      event record, which names A; `cfsroot status` shows the
#                      measurement; cfsroot-mark-good.service never ran, floor 0;
#                      `rollback raise --to 4` refused (booted generation 3),
#                      `--to 3` refused (kept slot B has 2), `--auto --dry-run`
#                      would raise to 2; once the health check passes, starting
#                      the unit raises the floor to 2
#                   2. slot O (generation 1, retired): REFUSING TO BOOT (tpm),
#                      "below the TPM's minimum 2", powered off
#                   3. slot B (generation 2, the fallback): boots, measured, the
#                      floor stays 2 (mark-good ran at boot)
#   tpm-pcr7-changed  the sealed blob replaced by one sealed after PCR 7 was
#                   extended (a boot chain other than this one): REFUSING TO
#                   BOOT (tpm) naming PCR 7's sealed and current values, powered off
# On failure the serial log is printed and the work directory kept
# (CFSROOT_VMSYS_KEEP=1: also on success).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vm_require qemu-system-x86_64:qemu-system-x86 timeout:coreutils debugfs:e2fsprogs

tmo=${CFSROOT_VM_TIMEOUT:-300}
if [ "${1:-}" = --timeout ]; then
        tmo=$2
        shift 2
fi
[ $# -eq 2 ] || vm_die "usage: run-test.sh [--timeout S] BUILD_DIR CASE"
build=$1 case=$2

t0=$(date +%s%N)
lap() { echo "$((($(date +%s%N) - t0) / 1000000))ms"; }

flavor=()
case $case in tpm-*) flavor=(--tpm) ;; esac
guest=$("$VMSYS_DIR/build-guest.sh" "${flavor[@]}" "$build")
digest=$(cat "$guest/digest")
work=$(mktemp -d "${TMPDIR:-/var/tmp}/cfsroot-vmsys-$case.XXXXXX")
log=$work/serial.log
disk=$work/disk.img
vmsys_disk_copy "$guest" "$disk"
tpm=""
if [ ${#flavor[@]} -gt 0 ]; then
        tpm=$work/tpm
        cp -a "$guest/tpm" "$tpm"
fi
safe="rd.shell=0 rd.emergency=poweroff"
problems=()
step=""
problem() { problems+=("${step:+$step: }$*"); }

# boot APPEND: one boot of the disk (with the TPM in TPM cases), console in $log
boot() {
        vmsys_boot "$guest" "$disk" "$log" "$tmo" "$1" "$tpm"
        if [ "$VMSYS_RC" = 124 ] || [ "$VMSYS_RC" = 137 ]; then
                problem "timed out after ${tmo}s"
        elif [ "$VMSYS_RC" != 0 ]; then
                problem "qemu exited $VMSYS_RC"
        fi
}

# The verdict: on problems the serial log(s) and the list, exit 1.
vmsys_verdict() {
        local l
        if [ ${#problems[@]} -gt 0 ]; then
                for l in "$work"/serial*.log; do
                        echo "===== serial log ($l) =====" >&2
                        cat "$l" >&2
                        [ -s "$l.qemu" ] && { echo "===== qemu output =====" >&2; cat "$l.qemu" >&2; }
                done
                [ -s "$work/tpm/swtpm.log" ] && { echo "===== swtpm log =====" >&2; cat "$work/tpm/swtpm.log" >&2; }
                for p in "${problems[@]}"; do echo "vm-system: $case: $p" >&2; done
                vm_log "$case: FAIL (last boot ${VMSYS_SECS}s, $(lap) in all); work directory kept: $work"
                exit 1
        fi
        if [ "${CFSROOT_VM_VERBOSE:-0}" != 1 ]; then
                for l in "$work"/serial*.log; do
                        grep -a '^CFSROOT-VMSYS-\|REFUSING TO BOOT\|booted composefs image' "$l" | sed 's/^/    /' >&2
                done
        fi
        vm_log "$case: PASS (${boot_times:-boot ${VMSYS_SECS}s}, $(lap) in all)"
        if [ "${CFSROOT_VMSYS_KEEP:-0}" = 1 ]; then
                vm_log "$case: work directory kept: $work"
        else
                rm -rf "$work"
        fi
}

has() { grep -aqF -- "$1" "$log"; }
expect() { has "$1" || problem "no '$1' on the console"; }
expect_not() { ! has "$1" || problem "'$1' on the console"; }
# the first line starting with MARKER, without it ("" if there is none)
marker() { { grep -a "^$1" "$log" || true; } | head -n1 | sed "s/^$1 *//"; }

expect_booted() {
        expect "CFSROOT-VMSYS-BOOTED"
        expect "CFSROOT-VMSYS-DONE"
        expect "reboot: Power down"
}
# refused before switch_root: the refusal line, no switch, no real system, off
expect_refused() {
        expect "REFUSING TO BOOT ($1"
        expect_not "CFSROOT-VMSYS-BOOTED"
        expect_not "Switching root"
        expect_not "Switch Root"
        expect "reboot: Power down"
}

# The TPM cases boot more than once: one function per case, run here.
if [[ $case == tpm-* ]]; then
        # shellcheck source=tpm-cases.sh
        . "$VMSYS_DIR/tpm-cases.sh"
        t=${case#tpm-}
        "tpm_case_${t//-/_}"
        vmsys_verdict
        exit 0
fi

case $case in
good)
        append="$safe composefs=$digest"
        ;;
plain)
        append="$safe"
        ;;
tampered-image)
        # the attacker's image: one byte of the original changed (digest differs)
        vmsys_disk_get "$disk" "/composefs/images/$digest" "$work/image"
        vm_flip_byte "$work/image" 2000
        vmsys_disk_replace "$disk" "/composefs/images/$digest" "$work/image"
        tampered=$("$build/tools/cfsroot" digest --compact "$work/image")
        append="$safe composefs=$digest"
        ;;
image-blocks-modified)
        off=$(vmsys_disk_offset "$disk" "/composefs/images/$digest" 2000)
        vm_flip_byte "$disk" "$off"
        append="$safe composefs=$digest"
        ;;
wrong-digest)
        other=$(printf 'another image' | sha256sum | cut -d' ' -f1)
        append="rd.shell=1 composefs=$other cfsroot.image=/composefs/images/$digest"
        ;;
cmdline-loosen)
        append="$safe composefs=$digest cfsroot.require-signature=0"
        ;;
*) vm_die "unknown case $case" ;;
esac

vm_log "$case: guest $(basename "$guest") ready ($(lap)), booting: $append"
boot "$append"

case $case in
good)
        expect_booted
        expect "booted composefs image /sysroot/composefs/images/$digest, digest $digest, signed by"
        root=$(marker CFSROOT-VMSYS-ROOT:)
        case "$root" in
        overlay\ *) ;;
        *) problem "/ is not an overlay: '$root'" ;;
        esac
        case ",${root##* }," in
        *,verity=require,*) ;;
        *) problem "/ is mounted without verity=require: '$root'" ;;
        esac
        grep -a '^CFSROOT-VMSYS-MOUNTS:' "$log" | grep -q 'verity=require' ||
                problem "/proc/mounts shows / without verity=require"
        expect "CFSROOT-VMSYS-STATUS-EXIT: 0"
        grep -a '^CFSROOT-VMSYS-STATUS:' "$log" | grep -qF "$digest" || problem "cfsroot status does not name the digest"
        grep -a '^CFSROOT-VMSYS-STATUS:' "$log" | grep -qF "cfsroot demo release key" ||
                problem "cfsroot status does not name the signer"
        expect "CFSROOT-VMSYS-CHECK: /usr read-only"
        expect "CFSROOT-VMSYS-CHECK: /etc writable"
        expect_not "REFUSING TO BOOT"
        ;;
plain)
        expect_booted
        root=$(marker CFSROOT-VMSYS-ROOT:)
        case "$root" in
        "ext4 /dev/vda "*) ;;
        *) problem "/ is not the plain ext4 root: '$root'" ;;
        esac
        expect "CFSROOT-VMSYS-STATUS-EXIT: 1"
        expect_not "REFUSING TO BOOT"
        expect_not "cfsroot: verify and mount the composefs root"
        ;;
tampered-image)
        expect_refused digest
        expect "$digest"
        expect "$tampered"
        ;;
image-blocks-modified)
        expect_refused ""
        expect "/composefs/images/$digest"
        ;;
wrong-digest)
        expect_refused digest
        expect "has digest $digest"
        expect "expects composefs=$other"
        ;;
cmdline-loosen)
        # the generator's line (kernel log, so it reaches the console at once);
        # the refusal unit's `setup-root --dry-run` repeats it through journald,
        # whose console copy can be lost to the immediate poweroff-force
        expect "REFUSING TO BOOT: kernel command line tries to loosen the boot policy: cfsroot.require-signature=0, but the policy has RequireSignature=yes"
        expect_not "CFSROOT-VMSYS-BOOTED"
        expect_not "Switching root"
        expect_not "Switch Root"
        expect "reboot: Power down"
        expect_not "cfsroot: verify and mount the composefs root"
        ;;
esac

vmsys_verdict

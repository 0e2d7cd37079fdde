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
# On failure the serial log is printed and the work directory kept.
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

guest=$("$VMSYS_DIR/build-guest.sh" "$build")
digest=$(cat "$guest/digest")
work=$(mktemp -d "${TMPDIR:-/var/tmp}/cfsroot-vmsys-$case.XXXXXX")
log=$work/serial.log
disk=$work/disk.img
vmsys_disk_copy "$guest" "$disk"
safe="rd.shell=0 rd.emergency=poweroff"
problems=()
problem() { problems+=("$*"); }

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
vmsys_boot "$guest" "$disk" "$log" "$tmo" "$append"
if [ "$VMSYS_RC" = 124 ] || [ "$VMSYS_RC" = 137 ]; then
        problem "timed out after ${tmo}s"
elif [ "$VMSYS_RC" != 0 ]; then
        problem "qemu exited $VMSYS_RC"
fi

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

if [ ${#problems[@]} -gt 0 ]; then
        echo "===== serial log ($log) =====" >&2
        cat "$log" >&2
        [ -s "$log.qemu" ] && { echo "===== qemu output =====" >&2; cat "$log.qemu" >&2; }
        for p in "${problems[@]}"; do echo "vm-system: $case: $p" >&2; done
        vm_log "$case: FAIL (boot ${VMSYS_SECS}s, $(lap) in all); work directory kept: $work"
        exit 1
fi
[ "${CFSROOT_VM_VERBOSE:-0}" = 1 ] || grep -a '^CFSROOT-VMSYS-\|REFUSING TO BOOT\|booted composefs image' "$log" | sed 's/^/    /' >&2
vm_log "$case: PASS (boot ${VMSYS_SECS}s, $(lap) in all)"
rm -rf "$work"

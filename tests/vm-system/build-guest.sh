#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm-system/build-guest.sh - the Tier B VM guest: a Debian trixie system
# whose root is a signed composefs image, booted through a systemd + dracut
# initrd with the cfsroot module (host side, root).
#
#   build-guest.sh BUILD_DIR      prints the guest directory
#
# The guest directory ($CFSROOT_CACHE/vm-system/guest-<key>/) holds
#   vmlinuz, initrd.img   trixie's cloud kernel and the dracut initrd made in the chroot
#   disk.img              ext4 (4 KiB blocks, verity feature): the OS tree itself (so a
#                         boot without composefs= still works, as before cfsroot) plus
#                         /composefs/{objects,images/<digest>,images/<digest>.sig},
#                         fs-verity enabled on every object and the image
#   digest, kver, key/    image digest, kernel release, the development signing key
# Steps: the cached base system (build-base.sh); `meson install --destdir` of
# BUILD_DIR into it (the host-built binaries: trixie has the same sonames and a
# newer glibc); policy + trusted certificate; the report service of the tests;
# dracut in the chroot; `cfsroot mkimage --store` of the OS tree, `cfsroot
# sign`; mkfs.ext4 -d; then a provisioning boot of the Tier A busybox
# initramfs that runs `fsverity enable` on every object and the image (the
# host kernel has no fs-verity). key = hash of the base, the installed files,
# the signing key and these scripts: a rebuilt cfsroot makes a new guest.
# Guests unused for a day are deleted.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vm_require mkfs.ext4:e2fsprogs meson:meson zstd:zstd unshare:util-linux chroot:coreutils
[ "$(id -u)" -eq 0 ] || vm_die "needs root (debootstrap, chroot, mount namespaces)"

[ $# -eq 1 ] || vm_die "usage: build-guest.sh BUILD_DIR"
build=$(readlink -f "$1")
[ -x "$build/tools/cfsroot" ] || vm_die "$build: no tools/cfsroot (not a built cfsroot build directory)"
CFSROOT=$build/tools/cfsroot
export CFSROOT

DRACUT_MODULES="systemd systemd-initrd dracut-systemd base fs-lib rootfs-block kernel-modules udev-rules shutdown cfsroot"
DRACUT_DRIVERS="virtio_blk virtio_pci ext4 erofs overlay loop"

# The signing key of the demo guest, made once (keys/make-dev-key.sh) and kept.
dev_key() {
        local d=$VMSYS_CACHE/key
        if [ ! -f "$d/cfsroot-dev.crt.pem" ]; then
                "$VMSYS_DIR/../../keys/make-dev-key.sh" --cn "cfsroot demo release key" "$d" >/dev/null ||
                        vm_die "keys/make-dev-key.sh failed"
        fi
        echo "$d"
}

# What goes into the OS tree besides the base: cfsroot's install, the policy,
# the test report service. Written into ROOT.
install_cfsroot() {
        local root=$1 dest=$2 key=$3
        tar -C "$dest" -c . | tar -C "$root" -x --keep-directory-symlink --no-same-owner
        mkdir -p "$root/etc/cfsroot/trusted.d"
        cp "$key/cfsroot-dev.crt.pem" "$root/etc/cfsroot/trusted.d/cfsroot-demo.crt.pem"
        cat >"$root/etc/cfsroot/policy.conf" <<'POLICY'
# cfsroot boot policy of the Tier B test / demo guest (cfsroot(1) POLICY FILE).
# Required=no: a boot without composefs= on the command line uses the plain
# root as before. A composefs boot needs an image signed by a trusted key.
[Boot]
ObjectStore=/composefs
[Trust]
RequireSignature=yes
TrustedCertificates=/etc/cfsroot/trusted.d
[Failure]
Action=poweroff
[State]
Etc=overlay
Var=bind
POLICY
        install -D -m 0755 "$VMSYS_DIR/guest-report.sh" "$root/usr/local/libexec/cfsroot-vmsys-report"
        cat >"$root/etc/systemd/system/cfsroot-vmsys-report.service" <<'UNIT'
# Tier B tests (tests/vm-system): print what the booted system sees on the
# serial console, then power off.
[Unit]
Description=cfsroot VM test: report the booted root and power off
After=multi-user.target cfsroot-status.service
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=/usr/local/libexec/cfsroot-vmsys-report
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
TTYReset=no
TTYVHangup=no

[Install]
WantedBy=multi-user.target
UNIT
        # the preset shipped by cfsroot enables cfsroot-status.service
        chroot "$root" systemctl preset cfsroot-status.service >/dev/null 2>&1 ||
                vm_die "systemctl preset cfsroot-status.service failed in the chroot"
        chroot "$root" systemctl enable cfsroot-vmsys-report.service >/dev/null 2>&1 ||
                vm_die "systemctl enable cfsroot-vmsys-report.service failed in the chroot"
        # no login prompt on the console: the report service ends every boot
        chroot "$root" systemctl mask serial-getty@ttyS0.service getty@tty1.service >/dev/null 2>&1 || true
        # composefs root: read-only, nothing to remount; /etc and /var come from setup-root
        printf '# / is mounted in the initrd (cfsroot setup-root); nothing to mount or remount here\n' \
                >"$root/etc/fstab"
        echo cfsroot-demo >"$root/etc/hostname"
        mkdir -p "$root/sysroot"
}

# dracut in the chroot, in a private mount namespace with /proc, /sys, /dev.
make_initrd() {
        local root=$1 kver=$2
        # shellcheck disable=SC2016 # expanded by the inner shell
        unshare -m --propagation private bash -euo pipefail -c '
                root=$1 kver=$2 mods=$3 drivers=$4
                mount -t proc proc "$root/proc"
                mount --rbind /sys "$root/sys"
                mount --rbind /dev "$root/dev"
                chroot "$root" dracut --quiet --force --no-hostonly --no-compress \
                        -m "$mods" --drivers "$drivers" /boot/initrd.img "$kver"
        ' _ "$root" "$kver" "$DRACUT_MODULES" "$DRACUT_DRIVERS" >"$root.dracut.log" 2>&1 || {
                cat "$root.dracut.log" >&2
                vm_die "dracut failed in the chroot"
        }
        rm -f "$root.dracut.log"
        # the module must really be in it
        local list
        list=$(chroot "$root" lsinitrd /boot/initrd.img 2>/dev/null) || vm_die "lsinitrd failed"
        case $list in
        *usr/lib/systemd/system-generators/cfsroot-generator*) ;;
        *) vm_die "the initrd has no cfsroot-generator (dracut module cfsroot not included?)" ;;
        esac
}

build() {
        local base=$1 dest=$2 key=$3 out=$4 work root kver digest img t0=$SECONDS
        work=$(mktemp -d "$VMSYS_CACHE/.guest.XXXXXX")
        # shellcheck disable=SC2064
        trap "rm -rf '$work'" EXIT
        root=$work/root
        mkdir -p "$root"
        zstd -q -dc "$base" | tar -C "$root" -x --numeric-owner --xattrs --xattrs-include='*' --acls
        install_cfsroot "$root" "$dest" "$key"
        kver=$(ls "$root/usr/lib/modules")
        [ -f "$root/boot/vmlinuz-$kver" ] || vm_die "no kernel in the base ($kver)"
        make_initrd "$root" "$kver"
        mv "$root/boot/vmlinuz-$kver" "$work/vmlinuz"
        mv "$root/boot/initrd.img" "$work/initrd.img"
        rm -rf "${root:?}/boot/"* "$root"/vmlinuz* "$root"/initrd.img*
        echo "$kver" >"$work/kver"
        vm_log "guest: OS tree and initrd ready ($((SECONDS - t0)) s)"

        # the OS tree -> object store + signed image; the store then goes into
        # the tree, which becomes the physical root file system
        mkdir -p "$work/composefs/images"
        digest=$("$CFSROOT" mkimage --quiet --print-digest --store "$work/composefs" "$root" \
                "$work/composefs/images/.new") || vm_die "cfsroot mkimage failed"
        digest=${digest#sha256:}
        digest=${digest%% *}
        [[ $digest =~ ^[0-9a-f]{64}$ ]] || vm_die "mkimage printed no digest"
        img=$work/composefs/images/$digest
        mv "$work/composefs/images/.new" "$img"
        "$CFSROOT" sign --key "$key/cfsroot-dev.key.pem" --cert "$key/cfsroot-dev.crt.pem" \
                --name cfsroot-demo --version 1 "$img" "$img.sig" >/dev/null || vm_die "cfsroot sign failed"
        echo "$digest" >"$work/digest"
        mv "$work/composefs" "$root/composefs"
        "$VM_DIR/make-disk.sh" "$root" "$work/disk.img"
        vm_log "guest: image $digest, disk $(du -h --apparent-size "$work/disk.img" | cut -f1) ($((SECONDS - t0)) s)"
        rm -rf "$root"

        # fs-verity on every object and the image, in a Tier A guest
        local kdir initramfs stage
        kdir=$("$VM_DIR/fetch-kernel.sh")
        initramfs=$("$VM_DIR/build-initramfs.sh" base "$CFSROOT" "$kdir")
        stage=$work/provision
        mkdir -p "$stage"
        install -m 0755 "$VMSYS_DIR/provision.guest.sh" "$stage/test.sh"
        ${CC:-cc} -static -O2 -std=gnu11 -Wall -Wextra -o "$stage/vmsys-verity-enable" \
                "$VMSYS_DIR/verity-enable.c" || vm_die "cannot build verity-enable.c (static)"
        echo "IMAGE_DIGEST=$digest" >"$stage/test.env"
        "$VM_DIR/build-initramfs.sh" test "$initramfs" "$stage" "$work/provision.cpio"
        "$VM_DIR/run-qemu.sh" --timeout "${CFSROOT_VMSYS_PROVISION_TIMEOUT:-900}" \
                --log "$work/provision.log" --disk "$work/disk.img" \
                "$kdir/vmlinuz" "$work/provision.cpio" || vm_die "provisioning boot failed"
        # the disk must be clean (no journal to replay): tests change it with debugfs
        e2fsck -f -n "$work/disk.img" >"$work/fsck.log" 2>&1 || {
                cat "$work/fsck.log" >&2
                vm_die "the provisioned disk is not clean"
        }
        rm -f "$work/fsck.log"
        grep -a '^note: fs-verity enabled' "$work/provision.log" | tr -d '\r' | sed 's/^/vm: guest: /' >&2 || true
        rm -rf "$stage" "$work/provision.cpio" "$work/provision.log" "$work/provision.log.qemu"
        cp -r "$key" "$work/key"
        trap - EXIT
        rm -rf "$out"
        mv "$work" "$out"
        vm_log "guest: built $out ($((SECONDS - t0)) s)"
}

build_if_missing() {
        [ -f "$4/disk.img" ] || build "$@"
}

base=$("$VMSYS_DIR/build-base.sh")
key=$(dev_key)
dest=$(mktemp -d "${TMPDIR:-/var/tmp}/cfsroot-vmsys-dest.XXXXXX")
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >/dev/null ||
        vm_die "meson install --destdir failed"
# shellcheck disable=SC2046 # one file per word
gkey=$(vm_hash "$(basename "$base")" "$key/cfsroot-dev.crt.pem" $(find "$dest" -type f | LC_ALL=C sort) \
        "$(cd "$dest" && find . | LC_ALL=C sort)" "$0" "$VMSYS_DIR/guest-report.sh" \
        "$VMSYS_DIR/provision.guest.sh" "$VMSYS_DIR/verity-enable.c")
out=$VMSYS_CACHE/guest-$gkey
vm_locked vmsys-guest build_if_missing "$base" "$dest" "$key" "$out"
touch "$out"
find "$VMSYS_CACHE" -maxdepth 1 -name 'guest-*' -type d -mtime +0 -exec rm -rf {} + 2>/dev/null || true
echo "$out"

#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm-system/build-base.sh - the Debian trixie base system of the Tier B
# VM guest (host side, root).
#
#   build-base.sh        prints the path of the cached tarball
#
# debootstrap --variant=minbase trixie from the host's Debian mirror (or
# $CFSROOT_DEBIAN_MIRROR) with systemd, dracut, udev, kmod, trixie's cloud
# kernel and the runtime libraries of the cfsroot binary (libfsverity,
# libcrypto, libsystemd, tpm2-tss: trixie names them with t64 suffixes), then
# trimmed (documentation, man pages, locales, apt lists, the kernel package's
# own initrd) so the object store the guest hashes at provisioning is small.
# Cached as $CFSROOT_CACHE/vm-system/base-<key>.tar.zst, key = sha256 of the
# package list, the mirror and this script; the first run takes a few minutes
# (download + debootstrap), later ones nothing. Bases unused for 30 days are
# deleted.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# what the guest needs; cfsroot's libraries: ldd build/tools/cfsroot (the TPM
# device TCTI is loaded with dlopen, so it is not in that list)
PACKAGES=(systemd systemd-sysv dracut udev kmod util-linux
        fsverity libfsverity0 libssl3t64 libsystemd0
        libtss2-esys-3.0.2-0t64 libtss2-mu-4.0.1-0t64 libtss2-rc0t64 libtss2-sys1t64
        libtss2-tctildr0t64 libtss2-tcti-device0t64)
KERNEL_PACKAGE=linux-image-cloud-amd64

vm_require debootstrap:debootstrap zstd:zstd tar:tar
[ "$(id -u)" -eq 0 ] || vm_die "needs root (debootstrap, chroot, mount namespaces)"

build() {
        local mirror=$1 out=$2 root t0=$SECONDS
        root=$(mktemp -d "$VMSYS_CACHE/.base.XXXXXX")
        # shellcheck disable=SC2064
        trap "rm -rf '$root'" RETURN EXIT
        vm_log "debootstrap trixie from $mirror into $root (a few minutes)"
        # debootstrap resolves linux-image's "initramfs-tools | linux-initramfs-tool"
        # with the first alternative, which conflicts with dracut (even with
        # --exclude): the kernel is installed afterwards with apt, which sees
        # that dracut already provides linux-initramfs-tool
        if ! debootstrap --variant=minbase --components=main \
                --include="$(IFS=,; echo "${PACKAGES[*]}")" \
                trixie "$root" "$mirror" >"$root.log" 2>&1; then
                tail -n 40 "$root.log" >&2
                [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 40 "$root/debootstrap/debootstrap.log" >&2
                vm_die "debootstrap failed (log: $root.log)"
        fi
        vm_log "installing $KERNEL_PACKAGE in the chroot"
        # shellcheck disable=SC2016 # expanded by the inner shell
        if ! unshare -m --propagation private bash -euo pipefail -c '
                root=$1 pkg=$2
                mount -t proc proc "$root/proc"
                mount --rbind /sys "$root/sys"
                mount --rbind /dev "$root/dev"
                export DEBIAN_FRONTEND=noninteractive
                chroot "$root" apt-get -q update
                chroot "$root" apt-get -q install -y --no-install-recommends "$pkg"
                chroot "$root" apt-get clean
        ' _ "$root" "$KERNEL_PACKAGE" >>"$root.log" 2>&1; then
                tail -n 40 "$root.log" >&2
                vm_die "installing $KERNEL_PACKAGE failed (log: $root.log)"
        fi
        rm -f "$root.log"
        # nothing the boot tests read; fewer objects to hash in the guest
        rm -rf "$root"/usr/share/{doc,man,info,locale}/* "$root"/var/cache/apt/* \
                "$root"/var/lib/apt/lists/* "$root"/boot/initrd.img-* "$root"/var/log/*.log \
                "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
        tar --numeric-owner --xattrs --xattrs-include='*' --acls -C "$root" -c . |
                zstd -q -T0 -3 -o "$out.tmp"
        mv "$out.tmp" "$out"
        vm_log "built $out ($(du -h "$out" | cut -f1), $((SECONDS - t0)) s)"
}

build_if_missing() {
        [ -f "$2" ] || build "$@"
}

mirror=$(vm_debian_mirror)
[ -n "$mirror" ] || vm_die "no Debian mirror in /etc/apt/sources.list*; set CFSROOT_DEBIAN_MIRROR"
key=$(vm_hash "${PACKAGES[*]} $KERNEL_PACKAGE" "$mirror" "$0")
out=$VMSYS_CACHE/base-$key.tar.zst
vm_locked vmsys-base build_if_missing "$mirror" "$out"
touch "$out"
find "$VMSYS_CACHE" -maxdepth 1 -name 'base-*.tar.zst' -mtime +30 -delete 2>/dev/null || true
echo "$out"

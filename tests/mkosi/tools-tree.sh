#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/mkosi/tools-tree.sh - the Debian trixie tools tree mkosi runs from
# (host side, Debian 12, root). mkosi 25 is in trixie, not in bookworm, and
# needs a newer systemd-repart than bookworm's, so the whole tool chain
# (mkosi, systemd-repart, apt, mkfs, qemu) comes from one debootstrapped
# trixie tree, entered by tests/mkosi/mkosi-vm.sh with `unshare -m` and a
# self bind-mount (a plain chroot fails: mkosi's sandbox remounts / with
# MS_SLAVE, which needs / to be a mount point).
#
#   tools-tree.sh        prints the path of the tools tree
#
# Cached as $CFSROOT_CACHE/mkosi/tools-<key>/, key = package list, mirror and
# this script; the first run takes a few minutes, later ones nothing. Trees
# unused for 30 days are deleted.
set -euo pipefail
# shellcheck source=tests/mkosi/lib.sh
. "$(dirname "$0")/lib.sh"

# mkosi pulls in systemd-repart, systemd-container, apt, e2fsprogs, cpio,
# kmod, zstd...; qemu for `mkosi vm` (direct kernel boot, no firmware, no
# TPM). debootstrap does not resolve virtual packages: python3-cffi-backend
# (python3-cffi-backend-api-*) and dbus (dbus-system-bus) are named here.
PACKAGES=(mkosi python3-cffi-backend dbus qemu-system-x86 ca-certificates)

[ "$(id -u)" -eq 0 ] || mk_die "needs root (debootstrap)"
command -v debootstrap >/dev/null || mk_die "debootstrap missing (apt-get install debootstrap)"

build() {
        local mirror=$1 out=$2 root t0=$SECONDS
        root=$(mktemp -d "$MK_CACHE/.tools.XXXXXX")
        # shellcheck disable=SC2064
        trap "rm -rf '$root'" EXIT
        mk_log "debootstrap trixie tools tree (mkosi, qemu) from $mirror (a few minutes)"
        if ! debootstrap --variant=minbase --components=main \
                --include="$(IFS=,; echo "${PACKAGES[*]}")" \
                trixie "$root" "$mirror" >"$root.log" 2>&1; then
                tail -n 40 "$root.log" >&2
                [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 40 "$root/debootstrap/debootstrap.log" >&2
                mk_die "debootstrap failed (log: $root.log)"
        fi
        rm -f "$root.log"
        rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/usr/share/{doc,man,info}/*
        # the mount points mkosi-vm.sh binds the source tree and the cache to
        mkdir -p "$root/work/src" "$root/work/cache"
        trap - EXIT
        mv "$root" "$out"
        mk_log "tools tree $out ($(du -sh "$out" | cut -f1), $((SECONDS - t0)) s)"
}

build_if_missing() {
        [ -x "$2/usr/bin/mkosi" ] || build "$@"
}

mirror=$(vm_debian_mirror)
[ -n "$mirror" ] || mk_die "no Debian mirror in /etc/apt/sources.list*; set CFSROOT_DEBIAN_MIRROR"
key=$(vm_hash "${PACKAGES[*]}" "$mirror" "$0")
out=$MK_CACHE/tools-$key
mk_locked tools build_if_missing "$mirror" "$out"
touch "$out"
find "$MK_CACHE" -maxdepth 1 -name 'tools-*' -type d -mtime +30 -exec rm -rf {} + 2>/dev/null || true
echo "$out"

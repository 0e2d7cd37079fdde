#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/mkosi/in-tools.sh - run a command inside the trixie tools tree of the
# mkosi test VM (host side, root; used by tests/mkosi/mkosi-vm.sh).
#
#   in-tools.sh TOOLS_TREE SOURCE_DIR CACHE_DIR COMMAND [ARGS...]
#
# Own mount namespace; the tree bind-mounted on itself (mkosi's sandbox
# remounts / with MS_SLAVE, which fails on a plain chroot whose / is no
# mount point), /proc, /sys, /dev, a fresh /tmp, SOURCE_DIR at /work/src and
# CACHE_DIR at /work/cache; a clean environment. Everything is exec'd, so the
# command keeps this script's PID (a `timeout` around it signals the command).
set -euo pipefail
[ $# -ge 4 ] || {
        echo "usage: in-tools.sh TOOLS_TREE SOURCE_DIR CACHE_DIR COMMAND [ARGS...]" >&2
        exit 2
}
# shellcheck disable=SC2016 # expanded by the inner shell
exec unshare -m --propagation private bash -euo pipefail -c '
        t=$1 src=$2 cache=$3
        shift 3
        mount --bind "$t" "$t"
        mount -t proc proc "$t/proc"
        mount --rbind /sys "$t/sys"
        mount --rbind /dev "$t/dev"
        mount -t tmpfs tmpfs "$t/tmp"
        mkdir -p "$t/work/src" "$t/work/cache"
        mount --bind "$src" "$t/work/src"
        mount --bind "$cache" "$t/work/cache"
        cp /etc/resolv.conf "$t/etc/resolv.conf" 2>/dev/null || true
        exec chroot "$t" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM="${TERM:-dumb}" \
                LANG=C.UTF-8 "$@"
' _ "$@"

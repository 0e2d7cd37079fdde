# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/mkosi/lib.sh - helpers of the mkosi test VM scripts (host side, Debian
# 12, root), sourced by tests/mkosi/*.sh: cache directory, logging, a lock
# around cache builds. Input hashing (vm_hash) and the host's Debian mirror
# (vm_debian_mirror) come from tests/vm/lib.sh, sourced read-only.
# shellcheck shell=bash

MK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$MK_DIR/../vm/lib.sh"
# shellcheck disable=SC2034 # used by the scripts that source this
MK_SRC=$(cd "$MK_DIR/../.." && pwd)
CFSROOT_CACHE=${CFSROOT_CACHE:-${HOME:-/root}/.cache/cfsroot}
MK_CACHE=$CFSROOT_CACHE/mkosi
mkdir -p "$MK_CACHE"

mk_log() { echo "mkosi-vm: $*" >&2; }
mk_die() {
        echo "mkosi-vm: error: $*" >&2
        exit 1
}

# Run "$@" holding an exclusive lock on $MK_CACHE/NAME.lock.
mk_locked() {
        local name=$1
        shift
        (
                flock -w 3600 9 || mk_die "timed out waiting for $MK_CACHE/$name.lock"
                "$@"
        ) 9>"$MK_CACHE/$name.lock"
}


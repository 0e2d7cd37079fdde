# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/mkosi/lib.sh - helpers of the mkosi test VM scripts (host side, Debian
# 12, root), sourced by tests/mkosi/*.sh: cache directory, logging, input
# hashing, a lock around cache builds, the host's Debian mirror.
# shellcheck shell=bash

MK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
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

# sha256 of the given files' contents and strings, as one hex key.
mk_hash() {
        local a
        for a in "$@"; do
                if [ -f "$a" ]; then
                        sha256sum <"$a"
                else
                        printf '%s\n' "$a"
                fi
        done | sha256sum | cut -c1-24
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

# The host's Debian mirror (first deb822 or one-line entry for bookworm,
# stable or trixie whose URI ends in /debian), or $CFSROOT_DEBIAN_MIRROR.
mk_mirror() {
        if [ -n "${CFSROOT_DEBIAN_MIRROR:-}" ]; then
                echo "$CFSROOT_DEBIAN_MIRROR"
                return
        fi
        local f
        {
                for f in /etc/apt/sources.list.d/*.sources; do
                        [ -f "$f" ] || continue
                        awk 'tolower($1) == "uris:" { uri = $2 }
                             /^[ \t]*$/ { uri = "" }
                             tolower($1) == "suites:" {
                                     for (i = 2; i <= NF; i++)
                                             if ($i ~ /^(bookworm|stable|trixie)$/ && uri ~ /debian\/?$/) print uri
                             }' "$f"
                done
                for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
                        [ -f "$f" ] || continue
                        sed -E 's/\[[^]]*\]//' "$f" |
                                awk '$1 == "deb" && $3 ~ /^(bookworm|stable|trixie)$/ && $2 ~ /debian\/?$/ { print $2 }'
                done
        } | head -n1
}

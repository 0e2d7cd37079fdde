#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/fetch-kernel.sh - get the guest kernel for the VM tests (host side).
#
# Downloads Debian trixie's linux-image-*-cloud-amd64 with a PRIVATE apt
# configuration (own sources.list naming the host's Debian mirror with suite
# trixie, own lists/cache/status under the cache dir: the host's apt never sees
# trixie), unpacks it with dpkg-deb -x, runs depmod -b, and caches the result
# in $CFSROOT_CACHE/vm/kernel/<package version>/. Prints that directory; it
# holds vmlinuz, kver (the kernel release) and root/ (the unpacked package with
# modules.dep).
#
# A second run reuses the cached kernel without touching the network. The
# package index is re-read only when the cached choice is older than
# CFSROOT_KERNEL_MAX_AGE_DAYS (default 30) or CFSROOT_KERNEL_REFRESH=1; if
# that fails (offline), the cached kernel is used.
# Environment: CFSROOT_CACHE, CFSROOT_DEBIAN_MIRROR (default: the host's).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vm_require apt-get:apt dpkg-deb:dpkg depmod:kmod

kdir=$VM_CACHE/kernel
apt_dir=$VM_CACHE/apt-trixie
mkdir -p "$kdir"

# The host's Debian mirror: the URI of the entry for the main bookworm suite,
# from one-line (*.list) or deb822 (*.sources) files.
host_mirror() {
        local f
        # deb822: remember URIs until a Suites line naming a plain release suite
        for f in /etc/apt/sources.list.d/*.sources; do
                [ -f "$f" ] || continue
                awk '
                        /^[ \t]*$/ { uri = "" }
                        tolower($1) == "uris:" { uri = $2 }
                        tolower($1) == "suites:" {
                                for (i = 2; i <= NF; i++)
                                        if ($i ~ /^(bookworm|stable|trixie)$/ && uri ~ /debian\/?$/) { print uri; exit }
                        }' "$f"
        done
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
                [ -f "$f" ] || continue
                sed -E 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && $3 ~ /^(bookworm|stable|trixie)$/ && $2 ~ /debian\/?$/ { print $2 }'
        done
}

# apt options of the private configuration (no host lists, state or cache)
apt_private_opts() {
        apt_opts=(-o Dir::Etc::SourceList="$apt_dir/sources.list"
                -o Dir::Etc::SourceParts="$apt_dir/empty"
                -o Dir::Etc::Preferences="$apt_dir/empty/preferences"
                -o Dir::Etc::PreferencesParts="$apt_dir/empty"
                -o Dir::State="$apt_dir/state"
                -o Dir::State::Lists="$apt_dir/lists"
                -o Dir::State::status="$apt_dir/status"
                -o Dir::Cache="$apt_dir/cache"
                -o APT::Architecture=amd64 -o APT::Architectures=amd64)
}
apt_private() {
        apt_private_opts
        apt-get -q "${apt_opts[@]}" -o APT::Sandbox::User=root "$@"
}
apt_cache_private() {
        apt_private_opts
        apt-cache "${apt_opts[@]}" "$@"
}

# Ask trixie which cloud kernel is current; download and unpack it unless cached.
refresh() {
        local mirror=${CFSROOT_DEBIAN_MIRROR:-$(host_mirror | head -n1)}
        [ -n "$mirror" ] || vm_die "no Debian mirror found in /etc/apt/sources.list*; set CFSROOT_DEBIAN_MIRROR"
        mkdir -p "$apt_dir"/{empty,state,lists/partial,cache/archives/partial}
        : >"$apt_dir/status"
        echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" \
                >"$apt_dir/sources.list"
        vm_log "reading the trixie package index from $mirror (private apt state in $apt_dir)"
        apt_private update >"$apt_dir/update.log" 2>&1 || {
                cat "$apt_dir/update.log" >&2
                return 1
        }
        local pkg ver
        pkg=$(apt_cache_private depends linux-image-cloud-amd64 |
                awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-cloud-amd64$/ { print $2; exit }')
        [ -n "$pkg" ] || vm_die "trixie has no linux-image-cloud-amd64 dependency on a linux-image-*-cloud-amd64"
        ver=$(apt_cache_private show --no-all-versions "$pkg" | awk '$1 == "Version:" { print $2; exit }')
        [ -n "$ver" ] || vm_die "no version for $pkg"
        local key="${pkg}_${ver}"
        if [ ! -f "$kdir/$key/kver" ]; then
                local tmp
                tmp=$(mktemp -d "$kdir/.tmp.XXXXXX")
                vm_log "downloading $pkg $ver"
                (cd "$tmp" && apt_private download "$pkg=$ver" >download.log 2>&1) || {
                        cat "$tmp/download.log" >&2
                        rm -rf "$tmp"
                        return 1
                }
                local deb
                deb=$(ls "$tmp"/*.deb)
                dpkg-deb -x "$deb" "$tmp/root"
                rm -f "$deb"
                local kver
                kver=$(ls "$tmp/root/usr/lib/modules")
                [ -f "$tmp/root/boot/vmlinuz-$kver" ] || vm_die "$pkg: no boot/vmlinuz-$kver"
                # bookworm's depmod looks in lib/modules
                ln -s usr/lib "$tmp/root/lib"
                depmod -b "$tmp/root" "$kver"
                ln -s "root/boot/vmlinuz-$kver" "$tmp/vmlinuz"
                echo "$pkg $ver" >"$tmp/package"
                echo "$kver" >"$tmp/kver"
                rm -rf "${kdir:?}/$key"
                mv "$tmp" "$kdir/$key"
        fi
        echo "$key" >"$kdir/current.tmp"
        mv "$kdir/current.tmp" "$kdir/current"
}

fetch() {
        local max_age=${CFSROOT_KERNEL_MAX_AGE_DAYS:-30}
        local cur=""
        [ -f "$kdir/current" ] && cur=$(cat "$kdir/current")
        if [ -z "$cur" ] || [ ! -f "$kdir/$cur/kver" ] || [ "${CFSROOT_KERNEL_REFRESH:-0}" = 1 ] ||
                [ -n "$(find "$kdir/current" -mtime +"$max_age" 2>/dev/null)" ]; then
                if ! refresh; then
                        if [ -n "$cur" ] && [ -f "$kdir/$cur/kver" ]; then
                                vm_log "could not refresh the kernel; using the cached $cur"
                                touch "$kdir/current"
                        else
                                vm_die "could not download the guest kernel"
                        fi
                fi
        fi
}

vm_locked kernel fetch
echo "$kdir/$(cat "$kdir/current")"

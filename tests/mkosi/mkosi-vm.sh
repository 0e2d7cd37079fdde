#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/mkosi/mkosi-vm.sh - build and boot the cfsroot test VM of mkosi.conf
# with mkosi 25 on a Debian 12 host (host side, root).
#
#   mkosi-vm.sh [-f] [--check] [--build-only] [--timeout S] [-- MKOSI-VM-ARGS]
#
# Installs what it needs on the host with apt-get (debootstrap), makes the
# trixie tools tree mkosi runs from (tests/mkosi/tools-tree.sh, cached),
# builds the image with `mkosi build` when mkosi.* or cfsroot's sources
# changed (or with -f), then boots it with `mkosi vm` under qemu TCG with
# composefs=<digest of the image> on the kernel command line:
#   default       interactive: the VM's console (root is logged in; try
#                 `cfsroot status`, `findmnt /`); `poweroff` ends it. A copy
#                 of the image (mkosi --ephemeral): changes are gone after it
#   --check       the test (meson suite mkosi): a fresh copy of the image
#                 (mkosi --ephemeral, so the first-boot fs-verity step runs
#                 every time), the check unit prints markers and powers off,
#                 the console goes to a log; exit 0 only if the root was the
#                 verified composefs overlay. `mkosi vm` exits 0 whatever
#                 the guest did, so only the markers count.
#   --build-only  build (if needed) and print the output directory
# Cache: ${CFSROOT_CACHE:-~/.cache/cfsroot}/mkosi (tools tree, mkosi's
# package cache and incremental images, build directory, output).
# Environment: CFSROOT_VM_VERBOSE=1 streams the console in --check mode.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$0" "$@"; fi
# shellcheck source=tests/mkosi/lib.sh
. "$(dirname "$0")/lib.sh"

force=0 mode=interactive timeout=600
while [ $# -gt 0 ]; do
        case $1 in
        -f | --force) force=1 ;;
        --check) mode=check ;;
        --build-only) mode=build ;;
        --timeout)
                timeout=$2
                shift
                ;;
        --)
                shift
                break
                ;;
        *) mk_die "usage: mkosi-vm.sh [-f] [--check] [--build-only] [--timeout S] [-- MKOSI-VM-ARGS]" ;;
        esac
        shift
done

# host packages: only debootstrap (everything else comes from the tools tree)
missing=()
for p in debootstrap util-linux; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        mk_log "installing ${missing[*]} (apt-get)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || {
                DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
        }
fi

# one run at a time: a build replaces the output a running VM boots from
exec 8>"$MK_CACHE/run.lock"
flock -w 3600 8 || mk_die "timed out waiting for $MK_CACHE/run.lock"

tools=$("$MK_DIR/tools-tree.sh")
mirror=$(vm_debian_mirror)
out=$MK_CACHE/output
# meson's build directory is reused between builds (ninja compares mtimes),
# one per source tree: a checkout whose files are older than the objects
# built from another one would not be recompiled
builddir=build/$(echo "$MK_SRC" | sha256sum | cut -c1-12)
mkdir -p "$out" "$MK_CACHE/cache" "$MK_CACHE/$builddir" "$MK_CACHE/workspace"

# "$@" inside the tools tree, the source at /work/src, the cache at /work/cache
in_tools() {
        "$MK_DIR/in-tools.sh" "$tools" "$MK_SRC" "$MK_CACHE" "$@"
}

# apt sources for the image: the host's mirror (trixie, trixie-updates) and
# its -security sibling, binary packages only. mkosi's own list also names
# deb.debian.org/debian-debug and deb-src entries; only the Debian archive is
# reachable from CI and the debug archive is not part of it.
mkdir -p "$MK_CACHE/sandbox/etc/apt/sources.list.d"
cat >"$MK_CACHE/sandbox/etc/apt/sources.list.d/mkosi.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: trixie trixie-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/}-security
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES

mkosi_opts=(-C /work/src --sandbox-tree=/work/cache/sandbox
        --output-directory=/work/cache/output --cache-directory=/work/cache/cache
        "--build-directory=/work/cache/$builddir" --workspace-directory=/work/cache/workspace --incremental=yes)

# What the image is made of: mkosi's files, cfsroot's sources and the reused
# verity helper. A different key means a rebuild.
build_key() {
        (
                cd "$MK_SRC"
                find mkosi.* lib tools generator units initrd keys meson.build meson_options.txt \
                        tests/vm-system/verity-enable.c -type f ! -name '*~' ! -name '.*.swp' -print0 |
                        LC_ALL=C sort -z | xargs -0 sha256sum
                cat "$MK_CACHE/sandbox/etc/apt/sources.list.d/mkosi.sources"
                echo "$tools"
        ) | sha256sum | cut -c1-24
}

build() {
        local t0=$SECONDS
        mk_log "mkosi build (Debian trixie, cfsroot from $MK_SRC; first time: several minutes)"
        rm -f "$out/.key"
        if ! in_tools mkosi "${mkosi_opts[@]}" --force build >"$MK_CACHE/build.log" 2>&1; then
                tail -n 80 "$MK_CACHE/build.log" >&2
                mk_die "mkosi build failed (log: $MK_CACHE/build.log)"
        fi
        local f
        for f in raw digest vmlinuz initrd; do
                [ -f "$out/cfsroot-vm.$f" ] || mk_die "mkosi build left no cfsroot-vm.$f in $out"
        done
        echo "$1" >"$out/.key"
        mk_log "built $out/cfsroot-vm.raw, image digest $(cat "$out/cfsroot-vm.digest") ($((SECONDS - t0)) s)"
}

build_if_needed() {
        local key
        key=$(build_key)
        if [ "$force" = 1 ] || [ "$(cat "$out/.key" 2>/dev/null)" != "$key" ]; then
                build "$key"
        fi
}

build_if_needed
digest=$(cat "$out/cfsroot-vm.digest")
[[ $digest =~ ^[0-9a-f]{64}$ ]] || mk_die "no image digest in $out/cfsroot-vm.digest"

case $mode in
build)
        echo "$out"
        exit 0
        ;;
interactive)
        mk_log "booting (qemu TCG, 1-2 minutes): composefs=$digest"
        # --ephemeral: a copy of the image, so every boot is a first boot and the
        # built image stays as mkosi made it (the check needs that)
        in_tools mkosi "${mkosi_opts[@]}" --ephemeral=yes --kernel-command-line-extra="composefs=$digest" vm "$@"
        exit $?
        ;;
esac

# --check
log=$MK_CACHE/check.log
mk_log "booting a fresh copy (qemu TCG, timeout $timeout s): composefs=$digest"
t0=$SECONDS
tailpid=
: >"$log"
if [ "${CFSROOT_VM_VERBOSE:-0}" = 1 ]; then
        tail -n +1 -F "$log" 2>/dev/null | tr -d '\r' >&2 &
        tailpid=$!
fi
# -no-reboot: a guest that reboots (panic=-1, a reboot policy) ends qemu
set +e
timeout --kill-after=20 "$timeout" "$MK_DIR/in-tools.sh" "$tools" "$MK_SRC" "$MK_CACHE" \
        mkosi "${mkosi_opts[@]}" --ephemeral=yes \
        --kernel-command-line-extra="composefs=$digest" --kernel-command-line-extra=panic=-1 \
        --kernel-command-line-extra=systemd.wants=cfsroot-vm-check.service \
        vm -no-reboot </dev/null >"$log" 2>&1
rc=$?
set -e
secs=$((SECONDS - t0))
if [ -n "$tailpid" ]; then
        sleep 0.5
        kill "$tailpid" 2>/dev/null || true
        wait "$tailpid" 2>/dev/null || true
fi
tr -d '\r' <"$log" >"$log.txt" && mv "$log.txt" "$log"

fail() {
        echo "---- console (mkosi vm, exit $rc, ${secs}s) ----" >&2
        cat "$log" >&2
        echo "----" >&2
        mk_die "$*"
}
# markers may follow a shell prompt on the same console line: not anchored
marker() { grep -ao "$1.*" "$log" | head -n1 | sed "s/^$1 *//"; }
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        fail "the VM did not finish within $timeout s"
fi
grep -aq 'CFSROOT-MKOSI-DONE' "$log" || fail "no CFSROOT-MKOSI-DONE marker: the VM did not boot into the real system"
root=$(marker CFSROOT-MKOSI-ROOT:)
case $root in
overlay\ *verity=require*) ;;
*) fail "/ is not the composefs overlay with verity=require: '$root'" ;;
esac
[ "$(marker CFSROOT-MKOSI-STATUS-EXIT:)" = 0 ] || fail "cfsroot status did not exit 0"
grep -aq "CFSROOT-MKOSI-STATUS: *digest *$digest\$" "$log" || fail "cfsroot status does not name digest $digest"
grep -aq "CFSROOT-MKOSI-CHECK: /usr read-only" "$log" || fail "/usr is writable"
if grep -aq "CFSROOT-MKOSI-CHECK: failed unit: cfsroot" "$log"; then
        fail "a cfsroot unit failed in the booted system"
fi
grep -aq "note: fs-verity enabled on [1-9][0-9]* files below /sysroot/composefs/objects" "$log" ||
        fail "the first-boot step (cfsroot-vm-verity.service) did not enable fs-verity on the object store"
grep -aq "cfsroot: booted composefs image /sysroot/composefs/images/$digest, digest $digest, command-line digest, fs-verity (measured by the kernel)" "$log" ||
        fail "no 'booted composefs image' line from setup-root in the initrd"
mk_log "PASS in ${secs}s: / is $root"
grep -ao 'CFSROOT-MKOSI-STATUS:.*' "$log" | sed 's/^CFSROOT-MKOSI-STATUS: /mkosi-vm:   /' >&2
grep -a 'note: fs-verity enabled on' "$log" | sed 's/^.*note: /mkosi-vm:   first boot: /' >&2
grep -ao 'CFSROOT-MKOSI-\(VERITY\|CHECK\|BLAME\):.*' "$log" | sed 's/^CFSROOT-MKOSI-/mkosi-vm:   /' >&2

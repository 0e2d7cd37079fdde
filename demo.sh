#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# demo.sh - the README's main command (host side, Debian 12, root).
#
#   ./demo.sh [-v]
#
# Installs what it needs (apt-get, only missing packages), builds cfsroot,
# builds the demo guest (a Debian trixie system whose root is a signed
# composefs image, with a systemd + dracut initrd carrying cfsroot; cached in
# ${CFSROOT_CACHE:-~/.cache/cfsroot}, see tests/vm-system/build-guest.sh),
# boots it under qemu verified and shows what was verified (digest, signer,
# mount options, read from the guest's serial console), then tampers with the
# image on the disk and shows the refused boot. Quiet by default: one line per
# stage with the elapsed time; -v shows the build output and the VM console.
# Environment: CFSROOT_BUILD_DIR (default build), CFSROOT_CACHE.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$0" "$@"; fi
cd "$(dirname "$0")"

verbose=0
case ${1:-} in
-v | --verbose) verbose=1 ;;
"") ;;
*)
        echo "usage: $0 [-v]" >&2
        exit 2
        ;;
esac

start=$(date +%s)
stage() { echo "==> [$(($(date +%s) - start))s] $*"; }
show() { sed 's/^/    /'; }
# run a command quietly; on failure (or with -v) its output is shown
quietly() {
        local out
        out=$(mktemp)
        if [ $verbose = 1 ]; then
                "$@" 2>&1 | tee "$out" | show
                local rc=${PIPESTATUS[0]}
                rm -f "$out"
                return "$rc"
        fi
        if ! "$@" >"$out" 2>&1; then
                tail -n 60 "$out" | show
                rm -f "$out"
                echo "demo: '$*' failed" >&2
                return 1
        fi
        rm -f "$out"
}

stage "installing dependencies (apt-get, only what is missing)"
quietly tests/install-deps.sh
build=${CFSROOT_BUILD_DIR:-build}
stage "building cfsroot (meson + ninja, in $build)"
[ -d "$build" ] || quietly meson setup "$build"
quietly meson compile -C "$build"
build=$(cd "$build" && pwd)
cfsroot=$build/tools/cfsroot

# shellcheck source=tests/vm-system/lib.sh
. tests/vm-system/lib.sh
stage "building the demo guest: Debian trixie + dracut initrd with cfsroot, OS tree -> signed composefs image (first run: a few minutes, then cached)"
guest_out=$(mktemp)
if ! tests/vm-system/build-guest.sh "$build" >"$guest_out" 2>"$guest_out.err"; then
        tail -n 60 "$guest_out.err" | show
        echo "demo: building the guest failed" >&2
        exit 1
fi
[ $verbose = 1 ] && show <"$guest_out.err"
guest=$(cat "$guest_out")
rm -f "$guest_out" "$guest_out.err"
digest=$(cat "$guest/digest")
echo "    guest: $guest"
echo "    image digest: $digest (the kernel command line says composefs=$digest)"

work=$(mktemp -d /var/tmp/cfsroot-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
export CFSROOT_VM_VERBOSE=$verbose

stage "booting it under qemu (TCG, ~1 minute): composefs=$digest"
vmsys_disk_copy "$guest" "$work/disk.img"
vmsys_boot "$guest" "$work/disk.img" "$work/good.log" 300 "rd.shell=0 rd.emergency=poweroff composefs=$digest"
if ! grep -aq '^CFSROOT-VMSYS-BOOTED' "$work/good.log"; then
        tail -n 60 "$work/good.log" | show
        echo "demo: the verified boot did not reach the real system (qemu exit $VMSYS_RC)" >&2
        exit 1
fi
echo "    booted in ${VMSYS_SECS}s. In the initrd, cfsroot setup-root said:"
grep -a 'booted composefs image' "$work/good.log" | head -n1 | sed 's/^.*cfsroot: booted/booted/' | show | show
echo "    in the booted system, / is:"
grep -a '^CFSROOT-VMSYS-ROOT:' "$work/good.log" | sed 's/^CFSROOT-VMSYS-ROOT: //' | show | show
echo "    and \`cfsroot status\` reports:"
grep -a '^CFSROOT-VMSYS-STATUS:' "$work/good.log" | sed 's/^CFSROOT-VMSYS-STATUS: //' | show | show
grep -a '^CFSROOT-VMSYS-CHECK: /usr' "$work/good.log" | sed 's/^CFSROOT-VMSYS-CHECK: //; s/$/ (the image is immutable; \/etc and \/var are writable state)/' | show

stage "tampering with the image: an attacker makes /etc/shadow world-readable in the image on the disk"
vmsys_disk_copy "$guest" "$work/tampered.img"
vmsys_disk_get "$work/tampered.img" "/composefs/images/$digest" "$work/image"
"$cfsroot" dump "$work/image" >"$work/image.dump"
awk '$1 == "/etc/shadow" { print "    /etc/shadow mode " $3 " -> 100644" >"/dev/stderr"; $3 = "100644"; n++ } { print } END { exit n == 1 ? 0 : 1 }' \
        "$work/image.dump" >"$work/evil.dump" || {
        echo "demo: no /etc/shadow in the image" >&2
        exit 1
}
"$cfsroot" mkimage --quiet --from-dump "$work/evil.dump" "$work/evil.cfs"
vmsys_disk_replace "$work/tampered.img" "/composefs/images/$digest" "$work/evil.cfs"
echo "    the file /composefs/images/$digest now has digest $("$cfsroot" digest --compact "$work/evil.cfs")"

stage "booting the tampered disk with the same command line"
vmsys_boot "$guest" "$work/tampered.img" "$work/bad.log" 300 "rd.shell=0 rd.emergency=poweroff composefs=$digest"
if grep -aq '^CFSROOT-VMSYS-BOOTED' "$work/bad.log" || ! grep -aq 'REFUSING TO BOOT' "$work/bad.log"; then
        tail -n 60 "$work/bad.log" | show
        echo "demo: the tampered image was NOT refused" >&2
        exit 1
fi
echo "    refused before switch_root; the console says:"
grep -a 'REFUSING TO BOOT' "$work/bad.log" | head -n1 | sed 's/^.*\(REFUSING TO BOOT\)/\1/' | show | show
if grep -aq 'reboot: Power down' "$work/bad.log"; then
        echo "    and the machine powered off (policy: [Failure] Action=poweroff), after ${VMSYS_SECS}s"
fi
stage "done (all tests: ./tests/run.sh; these boots as tests: meson test -C $build --suite vm-system)"

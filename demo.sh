#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's main command. Today (before the boot demo exists) it installs
# what it needs, builds cfsroot, turns a sample tree into a composefs image +
# object store, validates the image, and mounts it read-only (EROFS +
# overlayfs over the store) in a private mount namespace to show it.
# Host only; needs root for the mount (re-runs itself with sudo).
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$0" "$@"; fi
cd "$(dirname "$0")"
top=$PWD
start=$(date +%s)
stage() { echo "==> [$(( $(date +%s) - start ))s] $*"; }

stage "installing build dependencies (apt-get, only what is missing)"
tests/install-deps.sh >/dev/null
stage "building cfsroot (meson + ninja)"
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
cfsroot=$top/build/tools/cfsroot

work=$(mktemp -d /var/tmp/cfsroot-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
stage "making a sample tree in $work/tree"
python3 tests/integration/make-sample-tree.py "$work/tree"

stage "cfsroot mkimage --store $work/store $work/tree $work/image.cfs"
"$cfsroot" mkimage --store "$work/store" --print-digest "$work/tree" "$work/image.cfs" | tee "$work/digest"
echo "    image fs-verity digest: $(cat "$work/digest")  (the value for composefs=<digest>)"
stage "cfsroot check $work/image.cfs"
"$cfsroot" check "$work/image.cfs"

stage "mounting it read-only in a private mount namespace"
unshare -m --propagation private bash -euo pipefail -c '
  work=$1
  mkdir -p "$work/meta" "$work/root"
  mount -t erofs -o ro "$work/image.cfs" "$work/meta"
  # The boot path adds verity=require; this host kernel has no fs-verity.
  mount -t overlay overlay \
    -o "ro,lowerdir=$work/meta::$work/store/objects,metacopy=on,redirect_dir=on" "$work/root"
  findmnt -n -o TARGET,FSTYPE,OPTIONS "$work/root" | sed "s/^/    /"
  echo "    ls -l /usr/bin of the mounted image:"
  ls -l "$work/root/usr/bin" | sed "s/^/      /"
  echo "    /etc/hostname reads: $(cat "$work/root/etc/hostname")"
  echo "    where its bytes come from: $(getfattr --absolute-names -n trusted.overlay.redirect \
    --only-values "$work/meta/usr/bin/tool" 2>/dev/null || true) (object store path of usr/bin/tool)"
  if touch "$work/root/etc/new" 2>/dev/null; then echo "    ERROR: the root is writable"; exit 1; fi
  echo "    writing to the mounted image fails: read-only, as intended"
' _ "$work"
stage "done"

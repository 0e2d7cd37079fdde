#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# mount-tree.sh CFSROOT: host integration test of the image writer + store.
# Builds an image and object store from a sample tree (every file type, hard
# links, xattrs, odd names), checks it with fsck.erofs and `cfsroot check`,
# mounts it in a private mount namespace - EROFS file-backed and through a
# read-only loop device - with overlayfs over the store (no verity=require: the
# host kernel has no fs-verity) and compares the mounted tree with the source.
# Also checks reproducibility (thread count, rebuild, a copy of the tree with
# another readdir order) and dump -> image -> dump.
# Needs root. Host only.
set -euo pipefail
cfsroot=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (mounts in a private mount namespace)"; exit 77
fi
tmp=$(mktemp -d /var/tmp/cfsroot-it.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

python3 "$here/make-sample-tree.py" "$tmp/src"

"$cfsroot" mkimage --store "$tmp/store" --print-digest "$tmp/src" "$tmp/img" >"$tmp/digest" \
  || fail "mkimage --store failed"
digest=$(cat "$tmp/digest")
[[ $digest =~ ^[0-9a-f]{64}$ ]] || fail "--print-digest printed '$digest'"
[ "$("$cfsroot" digest --compact "$tmp/img")" = "$digest" ] || fail "digest of the image differs from --print-digest"
[ "$(fsverity digest --compact "$tmp/img")" = "$digest" ] \
  || fail "fsverity digest of the image differs from --print-digest"
fsck.erofs "$tmp/img" >/dev/null || fail "fsck.erofs rejects the image"
"$cfsroot" check -q "$tmp/img" || fail "cfsroot check rejects the image"

# Every object is named by the fs-verity digest of its content, nothing else is in the store.
nobj=0
while IFS= read -r -d '' obj; do
  rel=${obj#"$tmp/store/objects/"}
  [ "$("$cfsroot" digest --compact "$obj")" = "${rel/\//}" ] || fail "object $rel has another digest"
  nobj=$((nobj + 1))
done < <(find "$tmp/store/objects" -type f -print0)
[ "$nobj" -gt 0 ] || fail "no objects in the store"
[ -z "$(find "$tmp/store" -name '.cfsroot-tmp*' -o -name '*.tmp' -o -name '.staging-*')" ] || fail "temp files or staging directories left in the store"
echo "store: $nobj objects, all named by their digest"

# Same input -> same bytes, whatever the thread count; the store is deduplicated.
"$cfsroot" mkimage -q --threads 1 --store "$tmp/store" "$tmp/src" "$tmp/img1"
cmp "$tmp/img" "$tmp/img1" || fail "image differs between runs/thread counts"
[ "$(find "$tmp/store/objects" -type f | wc -l)" -eq "$nobj" ] || fail "store not deduplicated"

# A copy on tmpfs (other readdir order, other inode numbers) gives the same bytes.
unshare -m --propagation private bash -euo pipefail -c '
  mkdir -p "$1/copy" && mount -t tmpfs tmpfs "$1/copy"
  cp -a "$1/src" "$1/copy/src"
  [ "$(ls -f "$1/src/many" | head -3)" != "$(ls -f "$1/copy/src/many" | head -3)" ] \
    || echo "note: readdir order of the copy happens to be the same"
  "$2" mkimage -q --threads 3 "$1/copy/src" "$1/img-copy"
' _ "$tmp" "$cfsroot" || fail "mkimage of a copy of the tree failed"
cmp "$tmp/img" "$tmp/img-copy" || fail "image depends on readdir order or inode numbers"

# dump -> image -> dump is lossless
"$cfsroot" dump "$tmp/img" >"$tmp/dump1" || fail "dump failed"
"$cfsroot" mkimage -q --from-dump "$tmp/dump1" "$tmp/img2" || fail "mkimage --from-dump of the dump failed"
cmp "$tmp/img" "$tmp/img2" || fail "image -> dump -> image is not byte-identical"
"$cfsroot" dump "$tmp/img2" >"$tmp/dump2"
cmp "$tmp/dump1" "$tmp/dump2" || fail "dump -> image -> dump is not lossless"

mount_and_compare() { # $1 = how: file | loop
  unshare -m --propagation private bash -euo pipefail -c '
    tmp=$1; how=$2; here=$3
    mkdir -p "$tmp/meta" "$tmp/root"
    if [ "$how" = loop ]; then
      dev=$(losetup --find --show --read-only "$tmp/img")
      trap "losetup -d $dev" EXIT
      mount -t erofs -o ro "$dev" "$tmp/meta"
    else
      mount -t erofs -o ro "$tmp/img" "$tmp/meta"
    fi
    mount -t overlay overlay \
      -o "ro,lowerdir=$tmp/meta::$tmp/store/objects,metacopy=on,redirect_dir=on" "$tmp/root"
    python3 "$here/compare-trees.py" "$tmp/src" "$tmp/root"
    umount "$tmp/root" "$tmp/meta"
  ' _ "$tmp" "$1" "$here"
}
echo "== file-backed EROFS + overlayfs"
mount_and_compare file || fail "file-backed mount differs from the source tree"
echo "== loop-device EROFS + overlayfs"
mount_and_compare loop || fail "loop mount differs from the source tree"
echo "PASS"

#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bad-input.sh CFSROOT: `cfsroot mkimage` on bad input fails with exit status 1,
# one clear message naming the input, and leaves no partial image or temp file:
# full disk for the image and for the store (tiny tmpfs in a private mount
# namespace), an unreadable file (run as an unprivileged user), a missing source,
# a missing output directory. Needs root. Host only.
set -uo pipefail
cfsroot=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (tmpfs mounts, running as another user)"; exit 77
fi
tmp=$(mktemp -d /var/tmp/cfsroot-bad.XXXXXX)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect NAME RC_FILE ERR_FILE WANT...: exit status 1 and stderr containing every WANT
expect() {
  local name=$1 rc=$2 err=$3; shift 3
  if [ "$rc" -ne 1 ]; then fail "$name: exit status $rc, expected 1; stderr: $(cat "$err")"; return; fi
  for want in "$@"; do
    grep -qF -- "$want" "$err" || { fail "$name: message lacks '$want': $(cat "$err")"; return; }
  done
  echo "ok   $name: $(head -c 300 "$err")"
}

python3 "$here/make-sample-tree.py" "$tmp/src"

# 1. image on a full file system
out=$(unshare -m --propagation private bash -c '
  mkdir -p "$1/small" && mount -t tmpfs -o size=32k tmpfs "$1/small" || exit 99
  "$2" mkimage -q "$1/src" "$1/small/image.cfs" 2>"$1/err"; echo "rc=$?"
  echo "left=$(ls -A "$1/small" | tr "\n" " ")"
' _ "$tmp" "$cfsroot")
rc=$(sed -n 's/^rc=//p' <<<"$out"); left=$(sed -n 's/^left=//p' <<<"$out")
expect "image on a full disk" "${rc:-99}" "$tmp/err" "$tmp/small/image.cfs" "No space left on device"
[ -z "${left// /}" ] || fail "full disk: left behind: $left"

# 2. object store on a full file system: no partial objects or temp files
out=$(unshare -m --propagation private bash -c '
  mkdir -p "$1/small" && mount -t tmpfs -o size=1m tmpfs "$1/small" || exit 99
  "$2" mkimage -q --store "$1/small/store" "$1/src" "$1/image2.cfs" 2>"$1/err"; echo "rc=$?"
  echo "temps=$(find "$1/small" \( -name ".cfsroot-tmp*" -o -name ".staging-*" -o -name ".tmp-*" \) | wc -l)"
  # every object that exists is complete: its content has the digest it is named by
  bad=0
  while IFS= read -r -d "" o; do
    rel=${o#"$1/small/store/objects/"}
    [ "$("$2" digest --compact "$o")" = "${rel/\//}" ] || bad=$((bad + 1))
  done < <(find "$1/small/store/objects" -type f -print0 2>/dev/null)
  echo "bad=$bad"
' _ "$tmp" "$cfsroot")
rc=$(sed -n 's/^rc=//p' <<<"$out")
expect "store on a full disk" "${rc:-99}" "$tmp/err" "No space left on device"
[ "$(sed -n 's/^temps=//p' <<<"$out")" = 0 ] || fail "store on a full disk: temp files left behind"
[ "$(sed -n 's/^bad=//p' <<<"$out")" = 0 ] || fail "store on a full disk: an object does not match its name"
[ ! -e "$tmp/image2.cfs" ] || fail "store on a full disk: an image was written anyway"

# 3. unreadable file (as an unprivileged user; root reads everything)
mkdir -p "$tmp/unread/sub" "$tmp/out"
echo "secret content, long enough to be stored as an external object" >"$tmp/unread/sub/secret"
chmod 000 "$tmp/unread/sub/secret"
chmod 777 "$tmp/out"
setpriv --reuid=nobody --regid=nogroup --clear-groups \
  "$cfsroot" mkimage -q "$tmp/unread" "$tmp/out/image.cfs" 2>"$tmp/err"
expect "unreadable file" $? "$tmp/err" "sub/secret" "Permission denied"
[ -z "$(ls -A "$tmp/out")" ] || fail "unreadable file: left behind: $(ls -A "$tmp/out")"

# 4. missing source, missing output directory, dump that does not exist
"$cfsroot" mkimage -q "$tmp/does-not-exist" "$tmp/out/x.cfs" 2>"$tmp/err"
expect "missing source" $? "$tmp/err" "$tmp/does-not-exist"
"$cfsroot" mkimage -q "$tmp/src" "$tmp/no-such-dir/x.cfs" 2>"$tmp/err"
expect "missing output directory" $? "$tmp/err" "$tmp/no-such-dir/x.cfs"
"$cfsroot" mkimage -q --from-dump "$tmp/nope.dump" "$tmp/out/x.cfs" 2>"$tmp/err"
expect "missing dump" $? "$tmp/err" "$tmp/nope.dump"

# 5. usage errors are exit status 2
"$cfsroot" mkimage --from-dump 2>/dev/null; [ $? -eq 2 ] || fail "missing arguments: exit status is not 2"
"$cfsroot" mkimage --max-version 2 a b 2>/dev/null; [ $? -eq 2 ] || fail "version 2: exit status is not 2"
"$cfsroot" frobnicate 2>/dev/null; [ $? -eq 2 ] || fail "unknown command: exit status is not 2"

[ "$failures" -eq 0 ] && echo PASS
[ "$failures" -eq 0 ]

#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# run-images.sh CFSROOT SRCDIR: the image validator on tests/shouldfail/image
# (made by gen-images.py). Every malformed NAME.img must make `cfsroot check`
# and `cfsroot dump` exit 1 (never crash), with one error line that names the
# image and contains the text of NAME.img.err. Every valid-*.img must pass
# `cfsroot check`, dump, and fsck.erofs (when installed). Host only.
set -uo pipefail
cfsroot=$1 src=$2
dir=$src/tests/shouldfail/image
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 n=0
for img in "$dir"/*.img; do
  [ -e "$img" ] || continue
  n=$((n + 1))
  name=$(basename "$img")
  bad=""
  if [[ $name == valid-* ]]; then
    "$cfsroot" check -q "$img" >"$tmp/out" 2>&1 || bad="check refused a valid image: $(cat "$tmp/out")"
    [ -z "$bad" ] && { "$cfsroot" dump "$img" >"$tmp/dump" 2>"$tmp/out" || bad="dump failed: $(cat "$tmp/out")"; }
    if [ -z "$bad" ] && command -v fsck.erofs >/dev/null; then
      fsck.erofs "$img" >"$tmp/out" 2>&1 || bad="fsck.erofs refused it: $(cat "$tmp/out")"
    fi
    msg="valid"
  else
    "$cfsroot" check "$img" >"$tmp/stdout" 2>"$tmp/stderr"
    rc=$?
    msg=$(cat "$tmp/stderr")
    [ "$rc" -eq 1 ] || bad="check exit status $rc (expected 1)"
    [ -z "$bad" ] && [ "$(wc -l <"$tmp/stderr")" -eq 1 ] || bad="${bad:-expected one error line}"
    [ -z "$bad" ] && ! grep -qF -- "$img" "$tmp/stderr" && bad="message does not name the image"
    want=$(cat "$img.err" 2>/dev/null)
    [ -z "$bad" ] && [ -z "$want" ] && bad="no $name.err"
    [ -z "$bad" ] && ! grep -qF -- "$want" "$tmp/stderr" && bad="message lacks '$want'"
    "$cfsroot" dump "$img" >/dev/null 2>"$tmp/dstderr"
    rc=$?
    [ -z "$bad" ] && [ "$rc" -ne 1 ] && bad="dump exit status $rc (expected 1)"
    [ -z "$bad" ] && ! grep -qF -- "$want" "$tmp/dstderr" && bad="dump message lacks '$want': $(cat "$tmp/dstderr")"
  fi
  if [ -n "$bad" ]; then
    echo "FAIL $name: $bad; stderr: $msg"
    failures=$((failures + 1))
  else
    echo "ok   $name: $msg"
  fi
done
[ "$n" -gt 0 ] || { echo "FAIL: no images found in $dir"; exit 1; }
echo "$n images, $failures failures"
[ "$failures" -eq 0 ]

#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# run-dumps.sh CFSROOT SRCDIR: every malformed dump must be refused by
# `cfsroot mkimage --from-dump` with exit status 1 (not a crash), one error
# line that names the dump file and contains the expected text (NAME.dump.err),
# and nothing left behind in the output directory. Host only.
set -uo pipefail
cfsroot=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 n=0
for dump in "$src"/tests/shouldfail/dump/*.dump "$src"/tests/golden/upstream/should-fail-*.dump; do
  [ -e "$dump" ] || continue
  n=$((n + 1))
  name=$(basename "$dump")
  mkdir -p "$tmp/out"
  "$cfsroot" mkimage -q --from-dump "$dump" "$tmp/out/image" >"$tmp/stdout" 2>"$tmp/stderr"
  rc=$?
  msg=$(cat "$tmp/stderr")
  bad=""
  [ "$rc" -eq 1 ] || bad="exit status $rc (expected 1)"
  [ -z "$bad" ] && ! grep -qF -- "$dump" "$tmp/stderr" && bad="message does not name the dump file"
  if [ -z "$bad" ] && [ -f "$dump.err" ]; then
    want=$(cat "$dump.err")
    grep -qF -- "$want" "$tmp/stderr" || bad="message lacks '$want'"
  fi
  [ -z "$bad" ] && [ -n "$(ls -A "$tmp/out")" ] && bad="left files behind: $(ls -A "$tmp/out")"
  if [ -n "$bad" ]; then
    echo "FAIL $name: $bad; stderr: $msg"
    failures=$((failures + 1))
  else
    echo "ok   $name: $msg"
  fi
  rm -rf "$tmp/out"
done
[ "$n" -gt 0 ] || { echo "FAIL: no should-fail dumps found"; exit 1; }
echo "$n malformed dumps, $failures failures"
[ "$failures" -eq 0 ]

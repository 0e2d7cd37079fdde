#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/smoke.guest.sh - guest part of the smoke test (Tier A VM,
# busybox): the guest booted, the modules loaded, cfsroot and fsverity run,
# and fs-verity on the data disk works and agrees with the host's digest.
. /vm-lib.sh

grep -qw erofs /proc/filesystems || fail "erofs not registered"
grep -qw overlay /proc/filesystems || fail "overlay not registered"
[ -e /dev/loop-control ] || fail "no /dev/loop-control"
grep -q ' /sysroot ext4 ' /proc/mounts || fail "data disk not mounted on /sysroot"
cfsroot --version || fail "cfsroot does not run"
ok "modules loaded, data disk mounted, cfsroot runs"

f=/sysroot/smoke/data
if fsverity measure "$f" 2>/dev/null; then fail "$f has fs-verity before we enabled it"; fi
verity_enable "$f"
got=$(verity_measure "$f")
echo "measured $got, host computed $EXPECT_DIGEST"
[ "$got" = "$EXPECT_DIGEST" ] || fail "fs-verity digest $got differs from the host's $EXPECT_DIGEST"
ok "fs-verity digest measured in the guest equals the host's cfsroot digest"

cat "$f" >/dev/null || fail "cannot read $f"
head -c 100 "$f" | grep -q 'smoke test line' || fail "$f: unexpected content"
if echo x >>"$f" 2>/dev/null; then fail "could append to a file with fs-verity"; fi
ok "a file with fs-verity reads, and cannot be written"

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/object-swapped-no-verity.guest.sh - guest part (Tier A VM):
# setup-root mounts the verified root; then an object in the store is replaced
# by an identical copy WITHOUT fs-verity. Reading it through the root must fail
# with EIO ("has no fs-verity digest", verity=require); the rest still reads.
. /vm-lib.sh

verity_enable_store
expect_exit 0 cfsroot setup-root
obj=/sysroot/sysroot/composefs/objects/$OBJECT
[ -f "$obj" ] || fail "$obj: not reachable below the new root"
cp "$obj" "$obj.copy"
mv -f "$obj.copy" "$obj"
if fsverity measure "$obj" >/dev/null 2>&1; then fail "the copy has fs-verity"; fi
expect_eio /sysroot/usr/share/cfsroot-test/data
expect_kmsg "has no fs-verity digest"
grep -q 'echo hello from the composefs root' /sysroot/usr/bin/hello || fail "an intact object is unreadable"
ok "the other files still read"

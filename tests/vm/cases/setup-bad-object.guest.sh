#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/setup-bad-object.guest.sh - guest part (Tier A VM): the image
# is intact, so setup-root mounts it; the modified object must not be readable
# (overlayfs verity=require: EIO, "has the wrong fs-verity digest") while the
# rest of the tree still is.
. /vm-lib.sh

verity_enable_store
expect_exit 0 cfsroot setup-root
expect_eio /sysroot/usr/share/cfsroot-test/data
expect_kmsg "has the wrong fs-verity digest"
grep -q 'echo hello from the composefs root' /sysroot/usr/bin/hello || fail "an intact object is unreadable"
grep -q '^ID=cfsroot-vm$' /sysroot/etc/os-release || fail "etc/os-release unreadable"
ok "the other files still read"

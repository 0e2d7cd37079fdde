#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/image-no-verity.guest.sh - guest part (Tier A VM): an image
# without fs-verity is digested and mounted from a private sealed copy
# (DESIGN: it can't change between check and use); the boot succeeds with
# verity=require for the objects.
. /vm-lib.sh

verity_enable_store
if fsverity measure "$VERITY_SKIP" >/dev/null 2>&1; then fail "the image has fs-verity"; fi
expect_exit 0 cfsroot setup-root
expect_output "private sealed copy"
awk '$2 == "/sysroot" && $3 == "overlay"' /proc/mounts | grep -q 'verity=require' ||
        fail "no overlay with verity=require on /sysroot"
grep -q 'echo hello from the composefs root' /sysroot/usr/bin/hello || fail "usr/bin/hello unreadable"
ok "image without fs-verity booted from its sealed copy"

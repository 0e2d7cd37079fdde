#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/setup-tampered-image.guest.sh - guest part (Tier A VM): the
# image's fs-verity digest differs from composefs= on the command line:
# setup-root refuses with exit code 12 (CFS_REFUSE_DIGEST), names both
# digests, and leaves nothing mounted.
. /vm-lib.sh

verity_enable_store
expect_exit 12 cfsroot setup-root
expect_output "but the kernel command line expects composefs=$IMAGE_DIGEST"
expect_output "has digest $IMAGE_NOW"
if grep -q ' overlay \| erofs ' /proc/mounts; then
        cat /proc/mounts
        fail "something is mounted after a refusal"
fi
[ -d /sysroot/composefs ] || fail "the physical root is no longer on /sysroot"
ok "nothing mounted, physical root untouched"

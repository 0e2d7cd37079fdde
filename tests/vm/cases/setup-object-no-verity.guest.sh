#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/setup-object-no-verity.guest.sh - guest part (Tier A VM): one
# object of the store has no fs-verity. setup-root checks every object before
# mounting and refuses the boot with exit code 15 (class store), naming the
# object; nothing is left mounted.
. /vm-lib.sh

[ -n "$VERITY_SKIP" ] && [ -f "$VERITY_SKIP" ] || fail "VERITY_SKIP ($VERITY_SKIP) is not a file"
verity_enable_store
if fsverity measure "$VERITY_SKIP" >/dev/null 2>&1; then fail "$VERITY_SKIP has fs-verity"; fi
expect_exit 15 cfsroot setup-root
expect_output "$OBJECT has no fs-verity"
if grep -q ' overlay \| erofs ' /proc/mounts; then
        cat /proc/mounts
        fail "something is mounted after a refusal"
fi
ok "nothing mounted after the refusal"

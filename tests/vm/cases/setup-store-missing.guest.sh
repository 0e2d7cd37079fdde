#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/setup-store-missing.guest.sh - guest part (Tier A VM): the
# image verifies, the object store is missing: setup-root refuses with exit
# code 15 (class store) naming the store, and mounts nothing.
. /vm-lib.sh

verity_enable_store
expect_exit 15 cfsroot setup-root
expect_output "composefs/objects"
if grep -q ' overlay \| erofs ' /proc/mounts; then
        cat /proc/mounts
        fail "something is mounted after a refusal"
fi
ok "nothing mounted after the refusal"

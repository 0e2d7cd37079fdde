#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/signed-good.guest.sh - guest part (Tier A VM): a signed image
# and a policy that requires a signature: setup-root boots it, names the
# signer, and the root is mounted with verity=require.
. /vm-lib.sh

verity_enable_store
expect_exit 0 cfsroot setup-root
expect_output "signed by /CN=cfsroot VM trusted key"
awk '$2 == "/sysroot" && $3 == "overlay"' /proc/mounts | grep -q 'verity=require' ||
        fail "no overlay with verity=require on /sysroot"
grep -q '^ID=cfsroot-vm$' /sysroot/etc/os-release || fail "etc/os-release unreadable"
ok "signed image mounted with verity=require"

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/setup-state-persistent.guest.sh - guest part (Tier A VM):
# with Etc=overlay and Var=bind, writes to /etc land in the deployment's state
# directory on the physical root (STATE/<digest>/etc/upper) and /var is the
# shared STATE/var, both reachable below /sysroot/sysroot.
. /vm-lib.sh

verity_enable_store
expect_exit 0 cfsroot setup-root
state=/sysroot/sysroot/composefs/state
echo persistent >/sysroot/etc/hostname || fail "/etc not writable"
[ "$(cat "$state/$IMAGE_DIGEST/etc/upper/hostname")" = persistent ] ||
        fail "the /etc write is not in $state/$IMAGE_DIGEST/etc/upper"
ok "/etc writes go to the deployment's state directory"
echo data >/sysroot/var/vm-test || fail "/var not writable"
[ "$(cat "$state/var/vm-test")" = data ] || fail "the /var write is not in $state/var"
ok "/var is the shared state directory"
grep -q '^ID=cfsroot-vm$' /sysroot/etc/os-release || fail "image's /etc/os-release not visible"
ok "the image's /etc shows through the overlay"

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/cmdline-loosen.guest.sh - guest part (Tier A VM): the
# command line may only tighten the policy: refused with exit code 10 (class
# policy), naming the argument.
. /vm-lib.sh

grep -q 'cfsroot.require-signature=0' /proc/cmdline || fail "argument missing from /proc/cmdline"
verity_enable_store
expect_exit 10 cfsroot setup-root
expect_output "tries to loosen the boot policy"
expect_output "cfsroot.require-signature"
expect_nothing_mounted

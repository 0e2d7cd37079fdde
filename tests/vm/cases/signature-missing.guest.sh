#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/signature-missing.guest.sh - guest part (Tier A VM): no
# signature where the policy requires one: refused with exit code 13.
. /vm-lib.sh

verity_enable_store
expect_exit 13 cfsroot setup-root
expect_output "requires a signature"
expect_nothing_mounted

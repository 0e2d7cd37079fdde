#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/signed-old-generation.guest.sh - guest part (Tier A VM): an
# older security generation than the policy's minimum is refused with exit
# code 13 (no rollback to a vulnerable image).
. /vm-lib.sh

verity_enable_store
expect_exit 13 cfsroot setup-root
expect_output "security generation 1 is below the minimum 2"
expect_nothing_mounted

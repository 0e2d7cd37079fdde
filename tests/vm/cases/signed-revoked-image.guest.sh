#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/signed-revoked-image.guest.sh - guest part (Tier A VM):
# revocation wins over a valid signature: exit code 13, "is revoked".
. /vm-lib.sh

verity_enable_store
expect_exit 13 cfsroot setup-root
expect_output "digest $IMAGE_DIGEST is revoked"
expect_nothing_mounted

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/signature-corrupt.guest.sh - guest part (Tier A VM): a
# damaged signature is refused with exit code 13, nothing mounted.
. /vm-lib.sh

verity_enable_store
expect_exit 13 cfsroot setup-root
expect_output "REFUSING TO BOOT (signature)"
expect_output "$IMAGE_DIGEST.sig"
expect_nothing_mounted

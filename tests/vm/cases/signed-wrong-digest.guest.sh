#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/signed-wrong-digest.guest.sh - guest part (Tier A VM): the
# signature is valid but for another digest: refused with exit code 13.
. /vm-lib.sh

verity_enable_store
expect_exit 13 cfsroot setup-root
expect_output "REFUSING TO BOOT (signature)"
expect_output "signature does not verify"
expect_output "$IMAGE_DIGEST"
expect_nothing_mounted

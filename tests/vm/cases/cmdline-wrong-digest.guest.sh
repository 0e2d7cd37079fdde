#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/cmdline-wrong-digest.guest.sh - guest part (Tier A VM): the
# image is intact but not the one the command line asks for: refused with exit
# code 12 (class digest), both digests in the message.
. /vm-lib.sh

verity_enable_store
expect_exit 12 cfsroot setup-root
expect_output "has digest $IMAGE_DIGEST"
expect_output "expects composefs=$OTHER_DIGEST"
expect_nothing_mounted

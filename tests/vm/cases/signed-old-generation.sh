# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/signed-old-generation.sh - host part: a validly signed image
# of security generation 1, the policy's minimum is 2 (rollback protection).
# shellcheck shell=bash
prepare() {
        vm_prepare_signed
        vm_sign --name cfsroot-vm --version 1.0 --generation 1
        vm_policy_trust "MinimumGeneration=2"
}

# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/signature-missing.sh - host part: the policy requires a
# signature, the image has none.
# shellcheck shell=bash
prepare() {
        vm_prepare_signed
}

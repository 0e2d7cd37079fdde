# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/cmdline-loosen.sh - host part: the policy requires a
# signature, the kernel command line says cfsroot.require-signature=0.
# shellcheck shell=bash
prepare() {
        vm_prepare_composefs readonly readonly signature
        APPEND+=" cfsroot.require-signature=0"
}

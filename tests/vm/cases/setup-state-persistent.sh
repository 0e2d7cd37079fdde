# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/setup-state-persistent.sh - host part: the default state
# policy (Etc=overlay, Var=bind) with the state directory on the physical root.
# shellcheck shell=bash
prepare() {
        vm_prepare_composefs overlay bind
}

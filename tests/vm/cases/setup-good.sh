# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/setup-good.sh - host part: an intact object store + image,
# composefs=<its digest> on the command line: setup-root must mount it.
# shellcheck shell=bash
prepare() {
        vm_prepare_composefs
}

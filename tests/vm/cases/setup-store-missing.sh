# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/setup-store-missing.sh - host part: the image is on the disk,
# the object store's objects/ directory is not.
# shellcheck shell=bash
prepare() {
        vm_prepare_composefs
        rm -rf "$DISK/composefs/objects"
}

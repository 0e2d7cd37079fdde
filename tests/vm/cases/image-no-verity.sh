# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/image-no-verity.sh - host part: intact store and image; the
# guest leaves the image file without fs-verity (objects have it).
# shellcheck shell=bash
prepare() {
        vm_prepare_composefs readonly readonly
        echo "VERITY_SKIP=/sysroot/composefs/images/$IMAGE_DIGEST" >>"$STAGE/test.env"
}

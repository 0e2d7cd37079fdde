# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/setup-tampered-image.sh - host part: the image file named by
# composefs=<digest> is modified on disk after its digest was taken.
# shellcheck shell=bash
prepare() {
        vm_prepare_composefs
        local img=$DISK/composefs/images/$IMAGE_DIGEST
        vm_flip_byte "$img" $(($(stat -c %s "$img") - 1))
        echo "IMAGE_NOW=$("$CFSROOT" digest "$img" | cut -d' ' -f1 | sed 's/^sha256://')" >>"$STAGE/test.env"
}

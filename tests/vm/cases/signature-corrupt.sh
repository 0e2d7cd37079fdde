# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/signature-corrupt.sh - host part: the image's signature by
# the trusted key is damaged (one byte flipped in the middle).
# shellcheck shell=bash
prepare() {
        vm_prepare_signed
        vm_sign
        vm_flip_byte "$IMG.sig" $(($(stat -c %s "$IMG.sig") / 2))
}

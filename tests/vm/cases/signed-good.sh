# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/signed-good.sh - host part: the policy requires a signature;
# the image is signed (cfsroot sign, PKCS#7 as fsverity sign makes) by a key
# whose certificate is in the initrd's trust store.
# shellcheck shell=bash
prepare() {
        vm_prepare_signed
        vm_sign
}

# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/signed-good.sh - host part: the policy requires a signature;
# the image is signed (cfsroot sign, PKCS#7 as fsverity sign makes) by a key
# whose certificate is in the initrd's trust store.
# shellcheck shell=bash
prepare() {
        vm_prepare_composefs readonly readonly signature
        vm_dev_key "$WORK/key" "cfsroot VM trusted key"
        vm_trust_cert "$WORK/key/cfsroot-dev.crt.pem"
        local img=$DISK/composefs/images/$IMAGE_DIGEST
        "$CFSROOT" sign --key "$WORK/key/cfsroot-dev.key.pem" --cert "$WORK/key/cfsroot-dev.crt.pem" \
                "$img" "$img.sig" || vm_die "cfsroot sign failed"
}

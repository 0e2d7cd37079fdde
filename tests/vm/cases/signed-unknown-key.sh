# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/signed-unknown-key.sh - host part: the image is signed by a
# key the initrd does not trust (another key's certificate is trusted).
# shellcheck shell=bash
prepare() {
        vm_prepare_composefs readonly readonly signature
        vm_dev_key "$WORK/trusted" "cfsroot VM trusted key"
        vm_dev_key "$WORK/other" "cfsroot VM unknown key"
        vm_trust_cert "$WORK/trusted/cfsroot-dev.crt.pem"
        local img=$DISK/composefs/images/$IMAGE_DIGEST
        "$CFSROOT" sign --key "$WORK/other/cfsroot-dev.key.pem" --cert "$WORK/other/cfsroot-dev.crt.pem" \
                "$img" "$img.sig" || vm_die "cfsroot sign failed"
}

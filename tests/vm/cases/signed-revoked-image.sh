# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/signed-revoked-image.sh - host part: a validly signed image
# whose digest is on the initrd's revocation list.
# shellcheck shell=bash
prepare() {
        vm_prepare_signed
        vm_sign
        printf '# revoked for the VM test\nimage %s\n' "$IMAGE_DIGEST" >"$STAGE/etc/cfsroot/revoked.list"
        vm_policy_trust "RevokedList=/etc/cfsroot/revoked.list"
}

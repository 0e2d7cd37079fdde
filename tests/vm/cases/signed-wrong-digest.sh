# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/signed-wrong-digest.sh - host part: the image's .sig is a
# valid signature by the trusted key, but over another digest (as if the
# signature of another release had been copied next to this image).
# shellcheck shell=bash
prepare() {
        vm_prepare_signed
        local other
        other=$(printf 'another image' | sha256sum | cut -d' ' -f1)
        "$CFSROOT" sign --key "$WORK/key/cfsroot-dev.key.pem" --cert "$WORK/key/cfsroot-dev.crt.pem" \
                --digest "$other" "$IMG.sig" || vm_die "cfsroot sign --digest failed"
}

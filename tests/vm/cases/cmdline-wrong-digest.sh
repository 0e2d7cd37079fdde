# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/cmdline-wrong-digest.sh - host part: an intact image named by
# cfsroot.image=, but composefs= on the command line gives another digest.
# shellcheck shell=bash
prepare() {
        vm_prepare_composefs readonly readonly
        local other
        other=$(printf 'another image' | sha256sum | cut -d' ' -f1)
        # shellcheck disable=SC2034 # read by run-test.sh
        APPEND="composefs=$other cfsroot.image=/composefs/images/$IMAGE_DIGEST"
        echo "OTHER_DIGEST=$other" >>"$STAGE/test.env"
}

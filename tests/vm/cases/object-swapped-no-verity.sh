# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/object-swapped-no-verity.sh - host part: an intact store and
# image; the guest replaces one object by a copy without fs-verity after the
# root is mounted (what setup-root's check before mounting cannot see).
# shellcheck shell=bash
prepare() {
        # /etc, /var as in the image: this case is about objects only
        vm_prepare_composefs readonly readonly
        local obj
        obj=$(vm_object_of "$WORK/src/usr/share/cfsroot-test/data" "$DISK")
        [ -f "$obj" ] || vm_die "no object $obj"
        echo "OBJECT=${obj#"$DISK"/composefs/objects/}" >>"$STAGE/test.env"
}

# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/setup-object-no-verity.sh - host part: intact store and image,
# but the guest leaves one object (the content of usr/share/cfsroot-test/data)
# without fs-verity.
# shellcheck shell=bash
prepare() {
        vm_prepare_composefs
        local obj
        obj=$(vm_object_of "$WORK/src/usr/share/cfsroot-test/data" "$DISK")
        [ -f "$obj" ] || vm_die "no object $obj"
        echo "VERITY_SKIP=/sysroot/${obj#"$DISK"/}" >>"$STAGE/test.env"
        echo "OBJECT=${obj#"$DISK"/composefs/objects/}" >>"$STAGE/test.env"
}

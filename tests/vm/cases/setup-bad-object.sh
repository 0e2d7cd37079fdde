# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/setup-bad-object.sh - host part: one object (the content of
# usr/share/cfsroot-test/data) is modified after the image was made; its
# fs-verity digest no longer matches the image's metacopy xattr.
# shellcheck shell=bash
prepare() {
        # /etc, /var as in the image: this case is about objects only
        vm_prepare_composefs readonly readonly
        local obj
        obj=$(vm_object_of "$WORK/src/usr/share/cfsroot-test/data" "$DISK")
        [ -f "$obj" ] || vm_die "no object $obj"
        vm_flip_byte "$obj" 100000
}

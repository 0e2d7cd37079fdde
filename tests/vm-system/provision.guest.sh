#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm-system/provision.guest.sh - runs once per Tier B guest build, as
# /test.sh of a Tier A busybox initramfs (guest, busybox sh): the host kernel
# has no fs-verity, so the guest kernel enables it on every object of the
# store and on the image (/dev/vda is mounted on /sysroot) with
# /vmsys-verity-enable (verity-enable.c, static), then checks that the
# kernel's measurement of the image is the digest the host computed.
# shellcheck source=../vm/guest-lib.sh
. /vm-lib.sh

/vmsys-verity-enable -j 2 /sysroot/composefs || fail "enabling fs-verity on the store failed"
got=$(verity_measure "/sysroot/composefs/images/$IMAGE_DIGEST")
[ "$got" = "sha256:$IMAGE_DIGEST" ] || fail "image measures $got, expected sha256:$IMAGE_DIGEST"
ok "image has fs-verity, digest $IMAGE_DIGEST"
# unmount cleanly: /init only syncs before powering off, and an ext4 journal
# left to replay would undo what the host later changes with debugfs
umount /sysroot || fail "cannot unmount /sysroot"
ok "disk unmounted cleanly"

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm-system/provision.guest.sh - runs once per Tier B guest build, as
# /test.sh of a Tier A busybox initramfs (guest, busybox sh): the host kernel
# has no fs-verity, so the guest kernel enables it on every object of the
# store and on the image (/dev/vda is mounted on /sysroot) with
# /vmsys-verity-enable (verity-enable.c, static), then checks that the
# kernel's measurement of the image is the digest the host computed; in the
# TPM guest also the TPM state (below).
# shellcheck source=../vm/guest-lib.sh
. /vm-lib.sh

/vmsys-verity-enable -j 2 /sysroot/composefs || fail "enabling fs-verity on the store failed"
got=$(verity_measure "/sysroot/composefs/images/$IMAGE_DIGEST")
[ "$got" = "sha256:$IMAGE_DIGEST" ] || fail "image measures $got, expected sha256:$IMAGE_DIGEST"
ok "image has fs-verity, digest $IMAGE_DIGEST"

# The TPM guest (build-guest.sh --tpm): the TPM's state is provisioned in the
# same boot, with the swtpm state every TPM test boot starts from:
# - the sealed boot policy /composefs/tpm-policy.blob: images signed by the
#   demo key with security generation >= 1, sealed to PCR 7 as this firmware
#   leaves it (SeaBIOS; the Tier B boots see the same value: the pcr7-changed
#   case checks that the refusal names it),
# - the anti-rollback index (`cfsroot rollback init`: floor 0),
# - /composefs/tpm-policy-pcr7-extended.blob: the same policy sealed after PCR 7
#   was extended once more, i.e. sealed in a boot chain other than the one the
#   guest boots (the pcr7-changed case puts it in place of the good blob).
if [ "${TPM_PROVISION:-0}" = 1 ]; then
        tcti=device:/dev/tpmrm0
        cert=/sysroot/etc/cfsroot/trusted.d/cfsroot-demo.crt.pem
        [ -c /dev/tpmrm0 ] || fail "no /dev/tpmrm0"
        echo "note: PCR 7 at sealing: $(cat /sys/class/tpm/tpm0/pcr-sha256/7)"
        cfsroot seal --cert $cert --min-generation 1 --pcrs 7 --tcti $tcti \
                /sysroot/composefs/tpm-policy.blob || fail "cfsroot seal failed"
        ok "sealed the boot policy (demo key, generation >= 1) to PCR 7"
        cfsroot rollback init --tcti $tcti || fail "cfsroot rollback init failed"
        tpm_extend_pcr 7
        cfsroot seal --cert $cert --min-generation 1 --pcrs 7 --tcti $tcti \
                /sysroot/composefs/tpm-policy-pcr7-extended.blob || fail "cfsroot seal (PCR 7 extended) failed"
        ok "sealed the same policy to the extended PCR 7 $(cat /sys/class/tpm/tpm0/pcr-sha256/7)"
fi

# unmount cleanly: /init only syncs before powering off, and an ext4 journal
# left to replay would undo what the host later changes with debugfs
umount /sysroot || fail "cannot unmount /sysroot"
ok "disk unmounted cleanly"

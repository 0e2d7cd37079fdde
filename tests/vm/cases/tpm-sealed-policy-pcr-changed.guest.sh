#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/tpm-sealed-policy-pcr-changed.guest.sh - guest part (Tier A
# VM, swtpm TPM): `cfsroot seal --pcrs 7` seals a digest-list policy allowing
# the image; setup-root --dry-run accepts it (unsealed in the sealed state);
# then PCR 7 is extended (tpm_extend_pcr: a raw TPM2_PCR_Extend written to
# /dev/tpmrm0, the initramfs has no tpm2-tools) and setup-root refuses the
# boot with exit 17, "PCR 7 changed", nothing mounted.
. /vm-lib.sh

tcti=device:/dev/tpmrm0
blob=/sysroot/composefs/tpm-policy.blob
pcr7=/sys/class/tpm/tpm0/pcr-sha256/7

[ -c /dev/tpmrm0 ] || fail "no /dev/tpmrm0"
verity_enable_store
cfsroot seal --digest "$IMAGE_DIGEST" --pcrs 7 --tcti $tcti $blob || fail "cfsroot seal failed"
ok "sealed a policy allowing $IMAGE_DIGEST to PCR 7"

expect_exit 0 cfsroot setup-root --dry-run
expect_output "$IMAGE_DIGEST"

before=$(cat $pcr7)
tpm_extend_pcr 7
after=$(cat $pcr7)
echo "PCR 7 (sha256): $before -> $after"
[ "$before" != "$after" ] || fail "PCR 7 did not change"

expect_exit 17 cfsroot setup-root
expect_output "PCR 7 changed"
# the values named are the TPM's (sysfs, read independently of tpm2-tss)
expect_output "sealed to $(echo "$before" | tr 'A-F' 'a-f'), now $(echo "$after" | tr 'A-F' 'a-f')"
expect_nothing_mounted

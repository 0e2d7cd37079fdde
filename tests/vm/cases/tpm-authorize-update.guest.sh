#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/tpm-authorize-update.guest.sh - guest part (Tier A VM, swtpm
# TPM): a version 2 (PolicyAuthorize) sealed policy through setup-root, the
# approvals signed on the host for predicted PCR 7 values (/vm-auth/, see the
# host part). In one boot, with one blob that is never resealed:
#   - PCR 7 is the host's prediction (else the rest would test nothing);
#   - `cfsroot seal --public-key` seals a digest-list policy (with creation
#     record; the policy has RequireCreationTicket=yes);
#   - the other key's approval of the current PCR 7: exit 17, "trusts only
#     key"; the same relabelled with the owner's key name: exit 17, the TPM
#     rejects its signature;
#   - the owner's approval of the current PCR 7: --dry-run would boot;
#   - PCR 7 extended (raw TPM2_PCR_Extend: the initramfs has no tpm2-tools) to
#     the predicted new value: exit 17, "not approved by any signed policy",
#     nothing mounted;
#   - the owner's approval of the new value alone: exit 17, the blob was
#     created in a state no approval in the file covers (creation record);
#   - the owner's approvals of both values: setup-root mounts the composefs
#     root, the blob unchanged.
. /vm-lib.sh

tcti=device:/dev/tpmrm0
blob=/sysroot/composefs/tpm-policy.blob
approvals=/sysroot/composefs/tpm-policy.approvals
pcr7=/sys/class/tpm/tpm0/pcr-sha256/7

pcr7_now() { tr 'A-F' 'a-f' <$pcr7; }

# Put the approvals file /vm-auth/NAME where setup-root reads it.
use_approvals() {
        cp "/vm-auth/$1" $approvals || fail "cannot install approvals $1"
        echo "note: approvals file = $1"
}

[ -c /dev/tpmrm0 ] || fail "no /dev/tpmrm0"
for v in PCR7_NOW PCR7_NEW OWNER_KEY OTHER_KEY; do
        eval "[ -n \"\$$v\" ]" || fail "test.env has no $v"
done
[ "$(pcr7_now)" = "$PCR7_NOW" ] ||
        fail "PCR 7 is $(pcr7_now), the host predicted $PCR7_NOW (the firmware measures something else into PCR 7 now)"
ok "PCR 7 is the predicted $PCR7_NOW"

verity_enable_store
expect_exit 0 cfsroot seal --digest "$IMAGE_DIGEST" --pcrs 7 --public-key /vm-auth/owner.pub.pem --tcti $tcti $blob
expect_output "$OWNER_KEY"
blob_sum=$(sha256sum $blob | cut -d' ' -f1)
ok "sealed a version 2 policy allowing $IMAGE_DIGEST to the owner's key (blob sha256 $blob_sum)"

use_approvals other
expect_exit 17 cfsroot setup-root --dry-run
expect_output "is signed by key $OTHER_KEY, but the sealed blob trusts only key $OWNER_KEY"
use_approvals relabelled
expect_exit 17 cfsroot setup-root --dry-run
expect_output "the TPM rejects its signature (altered, or not made by key $OWNER_KEY"
ok "another key's approval of the current PCR 7 is refused, also relabelled as the owner's"

use_approvals now
expect_exit 0 cfsroot setup-root --dry-run
expect_output "would boot"
expect_output "TPM policy"
ok "the owner's approval of the current PCR 7 is accepted"

tpm_extend_pcr 7 # guest-lib.sh: digest 0x11 * 32, sha256 bank
[ "$(pcr7_now)" = "$PCR7_NEW" ] || fail "PCR 7 is $(pcr7_now) after the extend, the host predicted $PCR7_NEW"
ok "PCR 7 changed to the predicted $PCR7_NEW"

expect_exit 17 cfsroot setup-root
expect_output "REFUSING TO BOOT (tpm)"
expect_output "PCR 7 value not approved by any signed policy"
expect_output "PCR 7 is now $PCR7_NEW"
expect_nothing_mounted
ok "PCR 7 changed, no approval for it: refused"

use_approvals new-only
expect_exit 17 cfsroot setup-root --dry-run
expect_output "the sealed object was created while PCR 7 had values that no signed approval"
ok "the new value alone is not enough: the state the blob was sealed in must stay approved"

use_approvals both
[ "$(sha256sum $blob | cut -d' ' -f1)" = "$blob_sum" ] || fail "the blob changed"
expect_exit 0 cfsroot setup-root
expect_output "booted composefs image"
expect_output "$IMAGE_DIGEST"
expect_output "TPM policy"
line=$(awk '$2 == "/sysroot" && $3 == "overlay"' /proc/mounts | tail -n1)
case $line in
*,verity=require,* | *,verity=require" "*) ok "/sysroot is an overlay with verity=require" ;;
*)
        cat /proc/mounts
        fail "no composefs overlay with verity=require on /sysroot: '$line'"
        ;;
esac
grep -q '^ID=cfsroot-vm$' /sysroot/etc/os-release || fail "etc/os-release unreadable"
[ "$(sha256sum /sysroot/usr/share/cfsroot-test/data | cut -d' ' -f1)" = "$DATA_SHA256" ] ||
        fail "usr/share/cfsroot-test/data reads wrong"
ok "the new PCR 7 approved (no reseal): the same blob boots the composefs root"

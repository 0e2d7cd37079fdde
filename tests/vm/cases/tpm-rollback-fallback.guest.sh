#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/tpm-rollback-fallback.guest.sh - guest part (Tier A VM, swtpm
# TPM provisioned by the host with the anti-rollback floor at 4): A/B slots,
# A signed with generation 5, B (the fallback) with generation 4, policy
# AntiRollback=required. At floor 4 both slots pass setup-root --dry-run (the
# fallback slot of the floor's generation still boots). Then the floor is
# raised to 5 (a raw TPM2_NV_SetBits of bit 4 with owner authorization written
# to /dev/tpmrm0: the initramfs has no tpm2-tools), and slot B is refused with
# exit 17, "image generation 4 is below the TPM's minimum 5", nothing mounted,
# while slot A still boots for real. The slot is chosen per run with
# SYSTEMD_PROC_CMDLINE (the real command line names slot A).
. /vm-lib.sh

tcti=device:/dev/tpmrm0

# TPM2_NV_SetBits(authHandle TPM_RH_OWNER, index 0x01800CF5, password session
# with the empty owner password, bits 0x10): what `tpm2_nvsetbits -C o -i 0x10`
# sends; the response (tag TPM_ST_SESSIONS, 19 bytes) must have TPM_RC_SUCCESS.
raise_floor_to_5() {
        cmd='\x80\x02\x00\x00\x00\x27\x00\x00\x01\x35\x40\x00\x00\x01\x01\x80\x0c\xf5'
        cmd="$cmd"'\x00\x00\x00\x09\x40\x00\x00\x09\x00\x00\x00\x00\x00'
        cmd="$cmd"'\x00\x00\x00\x00\x00\x00\x00\x10'
        exec 3<>/dev/tpmrm0
        # shellcheck disable=SC2059 # the format is the command as \xHH escapes
        printf "$cmd" >&3
        resp=$(dd bs=4096 count=1 <&3 2>/dev/null | od -An -tx1 | tr -d ' \n')
        exec 3>&-
        echo "TPM2_NV_SetBits response: $resp"
        case $resp in
        80020000001300000000*) ok "TPM2_NV_SetBits(0x01800CF5, bit 4) succeeded" ;;
        *) fail "TPM2_NV_SetBits failed: response $resp" ;;
        esac
}

# setup-root --dry-run for the slot with digest $2, which must exit $1.
dry_run_slot() {
        expect_exit "$1" env SYSTEMD_PROC_CMDLINE="composefs=$2" cfsroot setup-root --dry-run
}

[ -c /dev/tpmrm0 ] || fail "no /dev/tpmrm0"
if [ -z "$SLOT_A" ] || [ -z "$SLOT_B" ] || [ "$SLOT_A" = "$SLOT_B" ]; then
        fail "test.env names no two slots"
fi
verity_enable_store

expect_exit 0 cfsroot rollback status --tcti $tcti
expect_output "minimum generation 4"

dry_run_slot 0 "$SLOT_A"
expect_output "would boot"
expect_output "$SLOT_A"
dry_run_slot 0 "$SLOT_B"
expect_output "would boot"
expect_output "$SLOT_B"
ok "floor 4: slot A (generation 5) and fallback slot B (generation 4) both pass"

raise_floor_to_5
expect_exit 0 cfsroot rollback status --tcti $tcti
expect_output "minimum generation 5"

dry_run_slot 17 "$SLOT_B"
expect_output "image generation 4 is below the TPM's minimum 5"
expect_output "$SLOT_B"
expect_nothing_mounted
ok "floor 5: slot B (generation 4) refused"

expect_exit 0 cfsroot setup-root
expect_output "booted"
expect_output "$SLOT_A"
grep -q '^ID=cfsroot-vm$' /sysroot/etc/os-release || fail "etc/os-release unreadable"
[ "$(cat /sysroot/usr/share/cfsroot-test/small)" = "small inline file" ] ||
        fail "the booted root is not slot A's tree"
ok "floor 5: slot A (generation 5) boots"

# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/tpm-sealed-policy-pcr-changed.sh - host part: a guest with a
# TPM (swtpm, CASE_TPM=1) and a policy that requires the TPM-sealed boot
# policy (RequireTPMPolicy=yes, blob at the default /composefs/tpm-policy.blob).
# The guest seals it itself (the blob only loads under its own TPM).
# shellcheck shell=bash
# shellcheck disable=SC2034 # read by run-test.sh
CASE_TPM=1
prepare() {
        vm_prepare_composefs readonly readonly
        vm_policy_trust "RequireTPMPolicy=yes"
        printf '[TPM]\nDevice=device:/dev/tpmrm0\n' >>"$STAGE/etc/cfsroot/policy.conf"
}

# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/tpm-measure.sh - host part: a good signed boot on a guest with
# a TPM (swtpm, CASE_TPM=1); the policy's [TPM] section names the kernel's
# resource manager device and measures into PCR 13.
# shellcheck shell=bash
# shellcheck disable=SC2034 # read by run-test.sh
CASE_TPM=1
prepare() {
        vm_prepare_signed
        vm_sign
        printf '[TPM]\nDevice=device:/dev/tpmrm0\nMeasurePCR=13\n' >>"$STAGE/etc/cfsroot/policy.conf"
}

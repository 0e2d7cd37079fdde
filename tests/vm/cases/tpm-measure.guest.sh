#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/tpm-measure.guest.sh - guest part (Tier A VM, swtpm TPM): a
# signed boot with [TPM] MeasurePCR=13 through /dev/tpmrm0 (tpm2-tss device
# TCTI, dlopen()ed): setup-root boots, PCR 13 (read from sysfs, independent of
# tpm2-tss) moves from zero to sha256(zero || sha256(measurement)), and
# /run/cfsroot/tpm-measure.log records that measurement, naming the image.
. /vm-lib.sh

pcr=/sys/class/tpm/tpm0/pcr-sha256/13
zero=0000000000000000000000000000000000000000000000000000000000000000
[ -c /dev/tpmrm0 ] || fail "no /dev/tpmrm0 (TPM nodes: $(echo /dev/tpm*))"
[ -r $pcr ] || fail "no $pcr"
before=$(tr 'A-F' 'a-f' <$pcr)
[ "$before" = $zero ] || fail "PCR 13 is $before before setup-root, expected zero"
ok "TPM present, PCR 13 zero before setup-root"

verity_enable_store
expect_exit 0 cfsroot setup-root
expect_output "signed by /CN=cfsroot VM trusted key"
if grep -q 'cannot measure\|no TPM' /tmp/out; then
        fail "setup-root did not measure silently"
fi
after=$(tr 'A-F' 'a-f' <$pcr)
echo "PCR 13 (sha256): $after"
if [ -z "$after" ] || [ "$after" = $zero ]; then
        fail "PCR 13 still zero after setup-root"
fi
ok "PCR 13 extended"

log=/run/cfsroot/tpm-measure.log
[ -s $log ] || fail "no event log $log"
cat $log
[ "$(grep -c 'content_type' $log)" = 1 ] || fail "expected exactly one record in $log"
grep -qF "\"pcr\":13," $log || fail "record is not for PCR 13"
m=$(sed -n 's/.*"content":{"string":"\([^"]*\)"}}.*/\1/p' $log)
case $m in
"cfsroot:v1:image=$IMAGE_DIGEST:mode=signed:signer="*) ok "record names image $IMAGE_DIGEST, mode signed" ;;
*) fail "record's measurement '$m' does not name image $IMAGE_DIGEST, mode signed" ;;
esac
d=$(sed -n 's/.*{"hashAlg":"sha256","digest":"\([0-9a-f]\{64\}\)"}.*/\1/p' $log)
[ -n "$d" ] || fail "no sha256 digest in the record"
[ "$(printf %s "$m" | sha256sum | cut -d' ' -f1)" = "$d" ] ||
        fail "record's sha256 digest $d is not sha256 of its measurement"
# replay: PCR 13 = sha256(32 zero bytes || digest); the format is the digest as \xHH escapes
# shellcheck disable=SC2059
replay=$({ head -c 32 /dev/zero; printf "$(echo "$d" | sed 's/../\\x&/g')"; } | sha256sum | cut -d' ' -f1)
[ "$replay" = "$after" ] || fail "event log replays to $replay, PCR 13 is $after"
ok "event log replays to PCR 13"
grep -q '^ID=cfsroot-vm$' /sysroot/etc/os-release || fail "etc/os-release unreadable"
ok "signed image booted and measured"

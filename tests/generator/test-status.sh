#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-status.sh - host: `cfsroot status` against boot records and mount tables
# written here (no mounts, no root): a verified overlay root, a root without
# verity=require, a non-overlay root, no record, malformed records, --json,
# and that control characters in record values never reach the output raw.
# Usage: test-status.sh CFSROOT
set -euo pipefail
cfsroot=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
D=3c5a0e4bd6f2b7d1a98e6f04c2b1d7e9f0a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0

cat > "$work/record" <<EOR
# what cfsroot setup-root verified and mounted as /
digest=$D
image=/composefs/images/$D
mode=signed
signer=CN=cfsroot release key\x0a2026
key_id=sha256:$D
name=demo
version=1.2
generation=7
source=fs-verity
verity=require
etc=overlay
var=bind
a_future_key=ignored
EOR
ext4='20 1 8:1 / / rw,relatime - ext4 /dev/vda rw'
good="$ext4
30 20 0:40 / / ro,relatime - overlay composefs ro,lowerdir+=/run/cfsroot/meta,datadir+=/sysroot/composefs/objects,redirect_dir=on,metacopy=on,verity=require
31 30 0:41 / /etc rw - overlay overlay rw"
printf '%s\n' "$good" > "$work/mi-good"
printf '%s\n' "$good" | sed 's/,verity=require//' > "$work/mi-noverity"
printf '%s\n' "$ext4" > "$work/mi-ext4"

# expect NAME RC GREP-PATTERN CFSROOT-ARGS...
expect() {
    local name=$1 rc=$2 pat=$3 got=0
    shift 3
    "$cfsroot" status "$@" > "$work/out" 2>&1 || got=$?
    if [ "$got" -ne "$rc" ]; then
        echo "FAIL $name: exit $got, expected $rc"; cat "$work/out"; fail=1; return
    fi
    if ! grep -qE -- "$pat" "$work/out"; then
        echo "FAIL $name: output does not match '$pat'"; cat "$work/out"; fail=1; return
    fi
    echo "ok   $name"
}

expect verified 0 "digest +$D" --record "$work/record" --mountinfo "$work/mi-good"
expect signer-escaped 0 'signed by CN=cfsroot release key\\x0a2026 \(key sha256:' \
    --record "$work/record" --mountinfo "$work/mi-good"
expect metadata 0 'demo 1.2, security generation 7' --record "$work/record" --mountinfo "$work/mi-good"
expect json 0 '^\{"verified":true,"digest":"'"$D"'".*"signer":"CN=cfsroot release key\\u000a2026".*"generation":7' \
    --json --record "$work/record" --mountinfo "$work/mi-good"
expect no-verity 1 'without verity=require' --record "$work/record" --mountinfo "$work/mi-noverity"
expect not-overlay 1 'not an overlay mount' --record "$work/record" --mountinfo "$work/mi-ext4"
expect no-record 1 'not booted from a cfsroot-verified' --record "$work/none" --mountinfo "$work/mi-good"
expect no-record-json 1 '"verified":false' --json --record "$work/none" --mountinfo "$work/mi-good"
sed 's/^verity=require/verity=off/' "$work/record" > "$work/record-off"
expect insecure-policy 0 'root +overlay' --record "$work/record-off" --mountinfo "$work/mi-noverity"
sed 's/^signer=.*/signer=bad\\x/' "$work/record" > "$work/bad-escape"
expect bad-escape 1 'signer: value malformed' --record "$work/bad-escape" --mountinfo "$work/mi-good"
grep -v '^digest=' "$work/record" > "$work/no-digest"
expect no-digest 1 'no valid digest' --record "$work/no-digest" --mountinfo "$work/mi-good"
sed 's/^generation=.*/generation=7x/' "$work/record" > "$work/bad-number"
expect bad-number 1 'generation: expected a number' --record "$work/bad-number" --mountinfo "$work/mi-good"
# a TPM boot: sealed policy allowed it, setup-root measured it
M="cfsroot:v1:image=$D:mode=signed:signer=$D"
printf 'tpm_policy=allowed\nmeasured_pcr=13\nmeasurement=%s\n' "$M" | cat "$work/record" - > "$work/record-tpm"
expect tpm-measured 0 "^  measured    PCR 13: $M\$" --record "$work/record-tpm" --mountinfo "$work/mi-good"
expect tpm-policy 0 '^  TPM policy  the sealed boot policy allows this image$' \
    --record "$work/record-tpm" --mountinfo "$work/mi-good"
expect tpm-json 0 '"tpm_policy":true,"measured_pcr":13,"measurement":"'"$M"'"' \
    --json --record "$work/record-tpm" --mountinfo "$work/mi-good"
expect not-measured-json 0 '"tpm_policy":false,"root_fstype"' \
    --json --record "$work/record" --mountinfo "$work/mi-good"
if "$cfsroot" status --record "$work/record" --mountinfo "$work/mi-good" | grep -q 'measured\|TPM policy'; then
    echo "FAIL not-measured: status shows a measurement the record does not have"; fail=1
else
    echo "ok   not-measured"
fi
sed 's/^measured_pcr=.*/measured_pcr=1x/' "$work/record-tpm" > "$work/record-badpcr"
expect tpm-json-badpcr 0 '"measured_pcr":"1x"' --json --record "$work/record-badpcr" --mountinfo "$work/mi-good"
head -c 20000 /dev/zero | tr '\0' a > "$work/huge"
expect huge 1 'huge' --record "$work/huge" --mountinfo "$work/mi-good"
expect usage 2 'Usage' --bogus
exit "$fail"

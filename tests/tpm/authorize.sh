#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/tpm/authorize.sh CFSROOT TPM-HELPER - host tests of the PolicyAuthorize
# sealed policy (blob version 2): `cfsroot seal --public-key`, `cfsroot
# seal-approve`, `cfsroot unseal` and cfs_tpm_check_boot() against real swtpm
# instances started here. The point of the feature: after a PCR changes, a new
# signed approval lets the same blob unseal again without resealing. Also: other
# keys, tampered approvals and blobs, malformed approvals files, an approval
# made with plain `openssl dgst` and the key name cross-checked with tpm2-tools.
# Host only; a missing tool is a failure, not a skip.
set -euo pipefail

CFSROOT=$(realpath "$1")
HELPER=$(realpath "$2")
BLOBTOOL=$(dirname "$(realpath "$0")")/blobtool.py
# shellcheck source=tests/tpm/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
tpm_test_init cfsroot-tpm-auth swtpm tpm2_pcrread tpm2_pcrextend tpm2_loadexternal python3 openssl sha256sum

pcr_value() { # PCR -> hex value of the sha256 bank of $TPM2TSS_TCTI
        TPM2TOOLS_TCTI=$TPM2TSS_TCTI tpm2_pcrread "sha256:$1" | sed -n 's/.*: 0x//p' | tr 'A-F' 'a-f'
}
extend() { # PCR HEX: extend like firmware would; prints nothing
        TPM2TOOLS_TCTI=$TPM2TSS_TCTI tpm2_pcrextend "$1:sha256=$2"
}
predict() { # OLD-HEX EXTEND-HEX -> the value after extending
        python3 -c 'import hashlib,sys; print(hashlib.sha256(bytes.fromhex(sys.argv[1]) + bytes.fromhex(sys.argv[2])).hexdigest())' "$1" "$2"
}
json_field() { # JSON FIELD
        python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}
# patch SRC DST PYTHON-EXPR: DST = bytearray b of SRC after exec(EXPR)
patch() {
        python3 - "$1" "$2" "$3" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
exec(sys.argv[3])
open(sys.argv[2], "wb").write(b)
EOF
}

start_tpm a
start_tpm b
TPM2TSS_TCTI=$(tcti a)
export TPM2TSS_TCTI
D1=$(printf '1%.0s' $(seq 64))
E1=$(printf 'e%.0s' $(seq 63))1
E2=$(printf 'e%.0s' $(seq 63))2
cd "$tmp"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
openssl pkey -in rsa.pem -pubout -out rsa.pub
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
openssl pkey -in ec.pem -pubout -out ec.pub
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.pem 2>/dev/null
openssl pkey -in other.pem -pubout -out other.pub
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out rsa3072.pem 2>/dev/null
openssl pkey -in rsa3072.pem -pubout -out rsa3072.pub
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.pem 2>/dev/null
openssl pkey -in p384.pem -pubout -out p384.pub

# --- the update story: seal once, approve, PCR changes, approve again ----------
expect_rc "seal --public-key (RSA 2048)" 0 "$CFSROOT" seal --public-key rsa.pub --digest "$D1" p.blob
sum_sealed=$(sha256sum <p.blob)
expect_fail "unseal before any approval: approvals file missing" "p.approvals: No such file" \
        "$CFSROOT" unseal p.blob
expect_rc "seal-approve the current PCR 7 (read from the TPM)" 0 \
        "$CFSROOT" seal-approve --private-key rsa.pem p.approvals
expect_out "unseal with the approval" "approval 1 of p.approvals" "$CFSROOT" unseal p.blob
json=$("$CFSROOT" unseal --json p.blob)
if [ "$(json_field "$json" version)" = 2 ] && [ "$(json_field "$json" approval)" = 1 ] &&
        [ "$(json_field "$json" pcrs)" = "[7]" ]; then
        ok "unseal --json: version 2, approval 1, PCR 7"
else
        bad "unseal --json: $json"
fi
key_rsa=$(json_field "$json" authorize_key)

# the key name, computed independently: sha256 of the TPMT_PUBLIC of the template
# in lib/tpm-authorize.h (RSA: exponent 0 = 65537); ECC is cross-checked with
# tpm2_loadexternal below (tpm2-tools writes RSA exponents out, so its RSA names differ)
modulus=$(openssl rsa -pubin -in rsa.pub -noout -modulus | cut -d= -f2)
name=$(python3 -c 'import hashlib,struct,sys
t = struct.pack(">HHIHHHHIH", 1, 0xB, 0x60040, 0, 0x10, 0x10, 2048, 0, 256) + bytes.fromhex(sys.argv[1])
print(hashlib.sha256(t).hexdigest())' "$modulus")
if [ "$name" = "$key_rsa" ]; then ok "RSA key name = sha256(TPMT_PUBLIC) computed in python"; else bad "RSA key name $key_rsa, python: $name"; fi

old7=$(pcr_value 7)
extend 7 "$E1"
expect_fail "PCR 7 extended: refused, value not approved" \
        "PCR 7 value not approved by any signed policy in p.approvals (PCR 7 is now $(pcr_value 7)" \
        "$CFSROOT" unseal p.blob
expect_rc "seal-approve --append the new PCR 7 value" 0 \
        "$CFSROOT" seal-approve --append --private-key rsa.pem p.approvals
expect_out "unseal again without resealing (approval 2)" "approval 2 of p.approvals" \
        "$CFSROOT" unseal p.blob
if [ "$(sha256sum <p.blob)" = "$sum_sealed" ]; then ok "the blob is unchanged"; else bad "the blob changed"; fi

# a predicted value: approve before the change (no TPM needed), then change
next7=$(predict "$(pcr_value 7)" "$E2")
expect_rc "seal-approve --pcr-value 7=<predicted> without a TPM" 0 env TPM2TSS_TCTI=swtpm:path=/nonexistent \
        "$CFSROOT" seal-approve --append --private-key rsa.pem --pcr-value "7=$next7" p.approvals
extend 7 "$E2"
expect_out "PCR 7 reached the predicted value: unseals with approval 3" "approval 3 of p.approvals" \
        "$CFSROOT" unseal p.blob
expect_rc "seal-approve --append of an existing approval replaces it" 0 \
        "$CFSROOT" seal-approve --append --private-key rsa.pem --pcr-value "7=$old7" p.approvals
if grep -q "(3 approvals)" err; then ok "still 3 approvals"; else bad "replace: $(cat err)"; fi

# --- what setup-root calls ------------------------------------------------------------
# the replaced approval moved to the end: the predicted value's is now number 2
expect_out "check_boot: version 2 blob, approvals file" "blob version 2, approval 2" \
        env TPM_HELPER_APPROVALS=p.approvals "$HELPER" check p.blob "$D1"
expect_fail "check_boot: digest not in the unsealed policy" "is not one of the 1 image digests" \
        env TPM_HELPER_APPROVALS=p.approvals "$HELPER" check p.blob "$E1"
expect_fail "check_boot: approvals file missing" "signed PCR approvals nothere: No such file" \
        env TPM_HELPER_APPROVALS=nothere "$HELPER" check p.blob "$D1"
expect_fail "check_boot: no approvals file configured" "no approvals file is configured" \
        "$HELPER" check p.blob "$D1"
ln -s p.approvals link.approvals
expect_fail "check_boot: symlinked approvals refused" "link.approvals" \
        env TPM_HELPER_APPROVALS=link.approvals "$HELPER" check p.blob "$D1"

# --- other keys -------------------------------------------------------------------------
expect_rc "seal-approve with another key" 0 "$CFSROOT" seal-approve --private-key other.pem foreign.approvals
expect_fail "approval signed by another key: refused" "but the sealed blob trusts only key $key_rsa" \
        "$CFSROOT" unseal --approvals foreign.approvals p.blob
# the key name field claims the blob's key, the signature is the other key's
key_rsa_bytes="bytes.fromhex('$key_rsa')"
patch foreign.approvals forged-name.approvals "b[16:48] = $key_rsa_bytes"
expect_fail "other key's approval relabelled with the blob's key name: TPM rejects it" \
        "the TPM rejects its signature" "$CFSROOT" unseal --approvals forged-name.approvals p.blob
expect_rc "seal --public-key other key" 0 "$CFSROOT" seal --public-key other.pub --digest "$D1" other.blob
expect_fail "blob with another public key: its owner's approvals refused" "trusts only key" \
        "$CFSROOT" unseal --approvals p.approvals other.blob
# blob surgery: this blob's signing key replaced by the other key (the approvals' signer)
python3 "$BLOBTOOL" replace-field p.blob swapped.blob 3 other.blob
expect_fail "blob whose signing key was swapped: refused" "is not the key the sealed object was made for" \
        "$CFSROOT" unseal --approvals foreign.approvals swapped.blob

# --- tampered approvals -----------------------------------------------------------------
"$CFSROOT" seal-approve --private-key rsa.pem cur.approvals 2>/dev/null
patch cur.approvals badsig.approvals "b[-5] ^= 0x01"
expect_fail "signature byte flipped: refused" "the TPM rejects its signature" \
        "$CFSROOT" unseal --approvals badsig.approvals p.blob
# an approval of the old value relabelled with the current value
"$CFSROOT" seal-approve --private-key rsa.pem --pcr-value "7=$old7" old.approvals 2>/dev/null
cur7_bytes="bytes.fromhex('$(pcr_value 7)')"
patch old.approvals relabelled.approvals "b[52:84] = $cur7_bytes"
expect_fail "old approval relabelled with the current PCR value: refused" "the TPM rejects its signature" \
        "$CFSROOT" unseal --approvals relabelled.approvals p.blob
patch cur.approvals scheme.approvals "b[10:12] = bytes([0x18, 0])"
expect_fail "RSA approval relabelled as ECDSA: malformed" "approval 1: signature of 256 bytes" \
        "$CFSROOT" unseal --approvals scheme.approvals p.blob
patch cur.approvals reserved.approvals "b[50] = 1"
expect_fail "reserved bytes set: malformed" "approval 1: reserved bytes are not zero" \
        "$CFSROOT" unseal --approvals reserved.approvals p.blob
cat cur.approvals cur.approvals >two.approvals
head -c 100 cur.approvals >>two.approvals
expect_fail "truncated third record" "approval 3: truncated" "$CFSROOT" unseal --approvals two.approvals p.blob
: >empty.approvals
expect_fail "empty approvals file" "empty (no approval)" "$CFSROOT" unseal --approvals empty.approvals p.blob
head -c 300 /dev/urandom >random.approvals
expect_fail "random approvals file" "approval 1: bad magic" "$CFSROOT" unseal --approvals random.approvals p.blob
for _ in $(seq 33); do cat cur.approvals; done >many.approvals
expect_fail "33 approvals: too many" "more than 32 records" "$CFSROOT" unseal --approvals many.approvals p.blob

# --- an approval made with plain openssl (the documented format, external signer) ------
"$CFSROOT" seal-approve --private-key rsa.pem --pcr-value "7=$old7" ref.approvals 2>/dev/null
python3 - "$(pcr_value 7)" ref.approvals msg.bin rec.bin <<'EOF'
import hashlib, struct, sys
value, ref, msg, rec = sys.argv[1:]
sel = struct.pack(">IHB3B", 1, 0x000B, 3, 0x80, 0, 0)  # TPML_PCR_SELECTION: sha256, PCR 7
approved = hashlib.sha256(bytes(32) + struct.pack(">I", 0x17F) + sel + hashlib.sha256(bytes.fromhex(value)).digest()).digest()
open(msg, "wb").write(approved + b"cfsroot")
key_name = open(ref, "rb").read()[16:48]
hdr = b"CFSAPR" + struct.pack("<HHHI", 1, 0x000B, 0x0014, 1 << 7) + key_name + struct.pack("<HH", 256, 0)
open(rec, "wb").write(hdr + bytes.fromhex(value))
EOF
openssl dgst -sha256 -sign rsa.pem -out sig.bin msg.bin
# (plus the approval of the state p.blob was created in: the creation record needs it)
cat rec.bin sig.bin ref.approvals >openssl.approvals
expect_out "approval written by python + openssl dgst -sha256 -sign: unseals" "approval 1 of openssl.approvals" \
        "$CFSROOT" unseal --approvals openssl.approvals p.blob

# --- ECC P-256, two PCRs, approval of another PCR selection -------------------------
expect_rc "seal --public-key (ECC P-256) --pcrs 11,7" 0 "$CFSROOT" seal --public-key ec.pub --pcrs 11,7 --digest "$D1" e.blob
"$CFSROOT" seal-approve --private-key ec.pem --pcrs 7 e7.approvals 2>/dev/null
expect_fail "approval for PCR 7 only, blob for 7,11: not approved" "0 of 1 approvals are for sha256 PCRs 7,11" \
        "$CFSROOT" unseal --approvals e7.approvals e.blob
"$CFSROOT" seal-approve --private-key ec.pem --pcrs 7,11 --pcr-value 11=$(pcr_value 11) e.approvals 2>/dev/null
expect_out "ECC P-256 approval of PCRs 7,11: unseals" "approval 1 of e.approvals, signed by key" \
        "$CFSROOT" unseal e.blob
key_ec=$(json_field "$("$CFSROOT" unseal --json e.blob)" authorize_key)
TPM2TOOLS_TCTI=$TPM2TSS_TCTI tpm2_loadexternal -C o -G ecc -a 'decrypt|sign|userwithauth' \
        -u ec.pub -c ec.ctx -n ec.name >/dev/null
if [ "$(od -An -tx1 -j2 ec.name | tr -d ' \n')" = "$key_ec" ]; then
        ok "ECC key name = tpm2_loadexternal's name"
else
        bad "ECC key name $key_ec, tpm2-tools: $(od -An -tx1 ec.name | tr -d ' \n')"
fi
extend 11 "$E1"
expect_fail "PCR 11 extended: only PCR 11 named" "PCR 11 value not approved by any signed policy in e.approvals" \
        "$CFSROOT" unseal e.blob

# --- creation record: the blob must have been made in an approved state ------------------
now7=$(pcr_value 7)
expect_rc "seal --public-key in the current state" 0 "$CFSROOT" seal --public-key rsa.pub --digest "$D1" c.blob
next7=$(predict "$now7" "$E1")
"$CFSROOT" seal-approve --private-key rsa.pem --pcr-value "7=$next7" later.approvals 2>/dev/null
extend 7 "$E1"
expect_fail "created in a state no approval covers: refused" \
        "the sealed object was created while PCR 7 had values that no signed approval in later.approvals approves" \
        "$CFSROOT" unseal --approvals later.approvals c.blob
python3 "$BLOBTOOL" strip-creation c.blob c-old.blob
expect_out "... the same blob without its creation record unseals" "creation record  none" \
        "$CFSROOT" unseal --approvals later.approvals c-old.blob
expect_fail "... unless the creation record is required" "without a creation record" \
        "$CFSROOT" unseal --require-creation-ticket --approvals later.approvals c-old.blob
# an approval of the creation state by another key does not count
"$CFSROOT" seal-approve --private-key other.pem --pcr-value "7=$now7" other-now.approvals 2>/dev/null
cat later.approvals other-now.approvals >mixed.approvals
expect_fail "creation state approved by another key only: refused" "no signed approval in mixed.approvals approves" \
        "$CFSROOT" unseal --approvals mixed.approvals c.blob
# nor does an approval of it whose signature was altered
"$CFSROOT" seal-approve --private-key rsa.pem --pcr-value "7=$now7" now.approvals 2>/dev/null
patch now.approvals now-bad.approvals "b[-7] ^= 0x10"
cat later.approvals now-bad.approvals >mixed2.approvals
expect_fail "creation state approval with a bad signature: refused" "no signed approval in mixed2.approvals approves" \
        "$CFSROOT" unseal --approvals mixed2.approvals c.blob
"$CFSROOT" seal-approve --append --private-key rsa.pem --pcr-value "7=$now7" later.approvals 2>/dev/null
expect_out "creation state approved too: unseals (approval 1 for the current values)" \
        "approval 1 of later.approvals" "$CFSROOT" unseal --require-creation-ticket --approvals later.approvals c.blob

# --- another TPM, command line ------------------------------------------------------------
expect_fail "version 2 blob on another TPM" "sealed by another TPM" \
        "$CFSROOT" unseal --tcti "$(tcti b)" --approvals p.approvals p.blob
expect_rc "seal --public-key RSA 3072: usage error" 2 "$CFSROOT" seal --public-key rsa3072.pub --digest "$D1" x.blob
if grep -q "RSA 2048 or ECC P-256" err; then ok "... says which keys"; else bad "RSA 3072: $(cat err)"; fi
expect_rc "seal --public-key P-384: usage error" 2 "$CFSROOT" seal --public-key p384.pub --digest "$D1" x.blob
expect_rc "seal --public-key with a private key file: usage error" 2 "$CFSROOT" seal --public-key rsa.pem --digest "$D1" x.blob
expect_fail "seal-approve with a P-384 key" "RSA 2048 or ECC P-256" "$CFSROOT" seal-approve --private-key p384.pem x.approvals
expect_rc "seal-approve without --private-key: usage error" 2 "$CFSROOT" seal-approve x.approvals
expect_rc "seal-approve --pcr-value outside --pcrs: usage error" 2 \
        "$CFSROOT" seal-approve --private-key rsa.pem --pcr-value "4=$old7" x.approvals
expect_rc "seal-approve --pcr-value with a short value: usage error" 2 \
        "$CFSROOT" seal-approve --private-key rsa.pem --pcr-value 7=abcd x.approvals
cp cur.approvals keep.approvals
expect_fail "seal-approve keeps an existing file without --append/--force" "use --append or --force" \
        "$CFSROOT" seal-approve --private-key rsa.pem keep.approvals
if cmp -s cur.approvals keep.approvals; then ok "existing approvals unchanged"; else bad "existing approvals changed"; fi
expect_fail "seal-approve --append to a malformed file" "not appending" \
        "$CFSROOT" seal-approve --append --private-key rsa.pem random.approvals
expect_fail "unseal of a version 2 blob without a TPM" "no TPM" \
        "$CFSROOT" unseal --tcti swtpm:path=/nonexistent --approvals p.approvals p.blob

cd - >/dev/null
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/tpm/run.sh CFSROOT TPM-HELPER - host tests of `cfsroot seal`/`unseal` and
# PCR measurement against real swtpm instances (unix socket TCTI), started here
# with their state in a temporary directory. Host only; needs swtpm (swtpm,
# libtss2-tcti-swtpm0) and tpm2-tools for cross-checks (tests/install-deps.sh).
# A missing swtpm is a failure, not a skip.
set -euo pipefail

CFSROOT=$(realpath "$1")
HELPER=$(realpath "$2")
BLOBTOOL=$(dirname "$(realpath "$0")")/blobtool.py
# shellcheck source=tests/tpm/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
tpm_test_init cfsroot-tpm swtpm tpm2_pcrread python3 openssl

pcr_value() { # TCTI BANK PCR -> hex value
        TPM2TOOLS_TCTI=$1 tpm2_pcrread "$2:$3" | sed -n 's/.*: 0x//p' | tr 'A-F' 'a-f'
}

start_tpm a
start_tpm b
TPM2TSS_TCTI=$(tcti a)
export TPM2TSS_TCTI
D1=$(printf '1%.0s' $(seq 64))
D2=$(printf 'f%.0s' $(seq 64))

# --- round trips -------------------------------------------------------------
"$CFSROOT" seal --digest "$D2" --digest "$D1" "$tmp/digests.blob" 2>"$tmp/err"
out=$("$CFSROOT" unseal "$tmp/digests.blob")
if grep -q "^    $D1\$" <<<"$out" && grep -q "^    $D2\$" <<<"$out" && grep -q 'PCRs 7)' <<<"$out"; then
        ok "seal/unseal digest list (default PCR 7)"
else
        bad "seal/unseal digest list: $out"
fi
json=$("$CFSROOT" unseal --json "$tmp/digests.blob")
if python3 -c 'import json,sys; j=json.loads(sys.argv[1]); assert j["kind"]=="digests" and j["digests"]==[sys.argv[2],sys.argv[3]] and j["pcrs"]==[7], j' \
        "$json" "$D1" "$D2"; then
        ok "unseal --json (digests sorted)"
else
        bad "unseal --json: $json"
fi

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=cfsroot tpm test" \
        -days 2 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
keyid=$(openssl x509 -in "$tmp/cert.pem" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
"$CFSROOT" seal --cert "$tmp/cert.pem" --min-generation 5 --pcrs 11,7 "$tmp/key.blob" 2>"$tmp/err"
json=$("$CFSROOT" unseal --json "$tmp/key.blob")
if python3 -c 'import json,sys; j=json.loads(sys.argv[1]); assert j["kind"]=="key" and j["key_id"]=="sha256:"+sys.argv[2] and j["min_generation"]==5 and j["pcrs"]==[7,11], j' \
        "$json" "$keyid"; then
        ok "seal --cert --min-generation --pcrs 11,7: key id is sha256 of the SPKI"
else
        bad "key policy: $json (key id $keyid)"
fi
"$CFSROOT" seal --key-id "sha256:$keyid" --min-generation 5 --pcrs 7,11 "$tmp/keyid.blob" 2>"$tmp/err"
if [ "$("$CFSROOT" unseal --json "$tmp/keyid.blob")" = "${json//key.blob/keyid.blob}" ]; then
        ok "seal --key-id gives the same policy as --cert"
else
        bad "seal --key-id differs"
fi

# --- command line and output file ---------------------------------------------
expect_rc "seal: --digest and --cert together is a usage error" 2 \
        "$CFSROOT" seal --digest "$D1" --cert "$tmp/cert.pem" "$tmp/x.blob"
expect_rc "seal: --min-generation without a key is a usage error" 2 \
        "$CFSROOT" seal --digest "$D1" --min-generation 3 "$tmp/x.blob"
expect_rc "seal: --pcrs 24 is a usage error" 2 "$CFSROOT" seal --digest "$D1" --pcrs 24 "$tmp/x.blob"
expect_rc "seal: a short digest is a usage error" 2 "$CFSROOT" seal --digest abcd "$tmp/x.blob"
cp "$tmp/digests.blob" "$tmp/keep.blob"
expect_fail "seal: existing output is kept without --force" "--force" \
        "$CFSROOT" seal --digest "$D1" "$tmp/keep.blob"
if cmp -s "$tmp/digests.blob" "$tmp/keep.blob"; then ok "existing output unchanged"; else bad "existing output changed"; fi
expect_rc "seal --force replaces it" 0 "$CFSROOT" seal --force --digest "$D1" "$tmp/keep.blob"
expect_fail "seal without a TPM" "no TPM" "$CFSROOT" seal --tcti "swtpm:path=$tmp/none" --digest "$D1" "$tmp/none.blob"
if [ ! -e "$tmp/none.blob" ]; then ok "failed seal leaves no output"; else bad "failed seal left $tmp/none.blob"; fi
expect_fail "unseal without a TPM" "no TPM" "$CFSROOT" unseal --tcti "swtpm:path=$tmp/none" "$tmp/digests.blob"

# --- another TPM, altered and malformed blobs ---------------------------------
expect_fail "blob sealed by another TPM" "sealed by another TPM" \
        "$CFSROOT" unseal --tcti "$(tcti b)" "$tmp/digests.blob"
"$CFSROOT" seal --digest "$D1" "$tmp/one.blob" 2>/dev/null
size=$(stat -c %s "$tmp/one.blob")
flip() { # SRC OFFSET DST: copy with one byte inverted
        python3 - "$1" "$2" "$3" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[int(sys.argv[2])] ^= 0xff
open(sys.argv[3], "wb").write(b)
EOF
}
# layout: 16 header, 32 PCR 7, 4+48 policy (digest at 16+32+4+16), public, private, 4 reserved,
# creation data, creation ticket
flip "$tmp/one.blob" $((16 + 32 + 4 + 16)) "$tmp/alt-policy.blob"
expect_fail "policy altered in the blob" "not the one the TPM sealed" "$CFSROOT" unseal "$tmp/alt-policy.blob"
flip "$tmp/one.blob" 16 "$tmp/alt-pcr.blob"
expect_fail "recorded PCR value altered" "not the PCR policy the blob records" "$CFSROOT" unseal "$tmp/alt-pcr.blob"
read -r off len < <(python3 "$BLOBTOOL" field "$tmp/one.blob" 2)
flip "$tmp/one.blob" $((off + len - 2)) "$tmp/alt-private.blob"
expect_fail "private area altered" "the TPM refuses the sealed object" "$CFSROOT" unseal "$tmp/alt-private.blob"
flip "$tmp/one.blob" $((16 + 32 + 4 + 48 + 4 + 2 + 5)) "$tmp/alt-public.blob" # objectAttributes
expect_fail "public area altered" "not a cfsroot sealed object" "$CFSROOT" unseal "$tmp/alt-public.blob"
head -c 100 "$tmp/one.blob" >"$tmp/trunc.blob"
expect_fail "truncated blob" "sealed blob: " "$CFSROOT" unseal "$tmp/trunc.blob"
head -c 300 /dev/urandom >"$tmp/random.blob"
expect_fail "random bytes" "bad magic" "$CFSROOT" unseal "$tmp/random.blob"
: >"$tmp/empty.blob"
expect_fail "empty file" "shorter than its header" "$CFSROOT" unseal "$tmp/empty.blob"
head -c 20000 /dev/zero >"$tmp/big.blob"
expect_fail "oversized file" "too large" "$CFSROOT" unseal "$tmp/big.blob"
expect_fail "missing file" "No such file" "$CFSROOT" unseal "$tmp/missing.blob"

# --- creation record (TPM2_CertifyCreation) --------------------------------------
json=$("$CFSROOT" unseal --json "$tmp/one.blob")
if python3 -c 'import json,sys; assert json.loads(sys.argv[1])["creation_verified"] is True' "$json"; then
        ok "a new blob has a creation record, verified at unseal"
else
        bad "creation record: $json"
fi
expect_rc "unseal --require-creation-ticket of a new blob" 0 "$CFSROOT" unseal --require-creation-ticket "$tmp/one.blob"
python3 "$BLOBTOOL" strip-creation "$tmp/one.blob" "$tmp/old.blob"
if "$CFSROOT" unseal "$tmp/old.blob" 2>"$tmp/err" | grep -q "creation record  none"; then
        ok "a blob without a creation record (older cfsroot) still unseals"
else
        bad "blob without creation record: $(cat "$tmp/err")"
fi
expect_fail "... but not with --require-creation-ticket" "without a creation record" \
        "$CFSROOT" unseal --require-creation-ticket "$tmp/old.blob"
read -r off len < <(python3 "$BLOBTOOL" field "$tmp/one.blob" 4)
flip "$tmp/one.blob" $((off + 14)) "$tmp/alt-cdata.blob" # first byte of the creation pcrDigest
expect_fail "creation data altered: the TPM rejects the ticket" "rejects the sealed object's creation ticket" \
        "$CFSROOT" unseal "$tmp/alt-cdata.blob"
read -r off len < <(python3 "$BLOBTOOL" field "$tmp/one.blob" 5)
flip "$tmp/one.blob" $((off + len - 1)) "$tmp/alt-ticket.blob"
expect_fail "creation ticket altered" "rejects the sealed object's creation ticket" "$CFSROOT" unseal "$tmp/alt-ticket.blob"
"$CFSROOT" seal --digest "$D2" "$tmp/two.blob" 2>/dev/null
python3 "$BLOBTOOL" replace-field "$tmp/one.blob" "$tmp/mix.blob" 4 "$tmp/two.blob"
python3 "$BLOBTOOL" replace-field "$tmp/mix.blob" "$tmp/mix.blob" 5 "$tmp/two.blob"
expect_fail "creation record of another object" "rejects the sealed object's creation ticket" \
        "$CFSROOT" unseal "$tmp/mix.blob"

# --- TPM cleared, owner hierarchy locked ---------------------------------------
"$CFSROOT" seal --tcti "$(tcti b)" --digest "$D1" "$tmp/b.blob" 2>/dev/null
expect_rc "sealed on TPM b: unseals there" 0 "$CFSROOT" unseal --tcti "$(tcti b)" "$tmp/b.blob"
TPM2TOOLS_TCTI=$(tcti b) tpm2_clear -c p
expect_fail "TPM cleared (new storage seed): blob refused" "the TPM was cleared" \
        "$CFSROOT" unseal --tcti "$(tcti b)" "$tmp/b.blob"
TPM2TOOLS_TCTI=$(tcti b) tpm2_changeauth -c o ownerpass
expect_fail "owner hierarchy with a password: seal says so" "owner hierarchy with a password" \
        "$CFSROOT" seal --tcti "$(tcti b)" --digest "$D1" "$tmp/b2.blob"

# --- PCR changes ----------------------------------------------------------------
"$HELPER" extend 11 "something else booted" "$tmp/ignored.log"
expect_fail "PCR 11 extended: blob sealed to 7,11 refused" "PCR 11 changed since sealing" \
        "$CFSROOT" unseal "$tmp/key.blob"
expect_rc "PCR 11 extended: blob sealed to 7 only still unseals" 0 "$CFSROOT" unseal "$tmp/digests.blob"
"$HELPER" extend 7 "secure boot state changed" "$tmp/ignored.log"
expect_fail "PCR 7 extended: blob refused, PCR named" "PCR 7 changed since sealing (PCR 7 sealed to 0000" \
        "$CFSROOT" unseal "$tmp/digests.blob"
"$CFSROOT" seal --digest "$D1" "$tmp/resealed.blob" 2>/dev/null
expect_rc "resealed to the new PCR 7 value: unseals" 0 "$CFSROOT" unseal "$tmp/resealed.blob"

# --- what setup-root calls: cfs_tpm_check_boot(), cfs_tpm_measure_boot() -------------
cd "$tmp"
expect_rc "check_boot: digest in the sealed list" 0 "$HELPER" check resealed.blob "$D1"
expect_fail "check_boot: digest not in the list" "is not one of the 1 image digests" \
        "$HELPER" check resealed.blob "$D2"
expect_fail "check_boot: blob missing" "No such file" "$HELPER" check nothere.blob "$D1"
ln -s resealed.blob link.blob
expect_fail "check_boot: symlinked blob refused" "link.blob" "$HELPER" check link.blob "$D1"
"$CFSROOT" seal --key-id "sha256:$keyid" --min-generation 5 "$tmp/key7.blob" 2>/dev/null
expect_rc "check_boot: key policy, right key, generation 5" 0 "$HELPER" check key7.blob "$D1" "$keyid" 5
expect_fail "check_boot: key policy, generation 4" "below the minimum 5" "$HELPER" check key7.blob "$D1" "$keyid" 4
expect_fail "check_boot: key policy, other key" "trusts only key" "$HELPER" check key7.blob "$D1" "$D2" 9
"$HELPER" extend 7 "changed again" "$tmp/ignored.log"
expect_fail "check_boot: PCR 7 changed" "PCR 7 changed since sealing" "$HELPER" check resealed.blob "$D1"
# a blob made in another state for PCR 7 values to come (what an attacker on a live
# system can do: sealing needs no authorization) unseals in that state only without
# the creation record check; the record says where it was made
next7=$(python3 -c 'import hashlib,sys; print(hashlib.sha256(bytes.fromhex(sys.argv[1]) + hashlib.sha256(b"legit").digest()).hexdigest())' \
        "$(pcr_value "$TPM2TSS_TCTI" sha256 7)")
"$HELPER" seal-to "$next7" "$D2" forged.blob
"$CFSROOT" seal --digest "$D1" here.blob 2>/dev/null
"$HELPER" extend 7 "legit" "$tmp/ignored.log"
[ "$(pcr_value "$TPM2TSS_TCTI" sha256 7)" = "$next7" ] || bad "PCR 7 is not the predicted value"
expect_fail "blob sealed to PCR values it was not created in: refused" \
        "created while PCR 7 had other values than it is sealed to" "$CFSROOT" unseal forged.blob
python3 "$BLOBTOOL" strip-creation forged.blob forged-old.blob
expect_rc "... the same without its creation record unseals (the hole it closes)" 0 \
        "$CFSROOT" unseal forged-old.blob
expect_fail "... unless the creation record is required" "without a creation record" \
        env TPM_HELPER_REQUIRE_CREATION=1 "$HELPER" check forged-old.blob "$D2"
expect_fail "check_boot: blob sealed before the change: PCR named" "PCR 7 changed since sealing" \
        env TPM_HELPER_REQUIRE_CREATION=1 "$HELPER" check here.blob "$D1"
"$CFSROOT" seal --digest "$D1" now.blob 2>/dev/null
expect_rc "check_boot with the creation record required: a new blob" 0 \
        env TPM_HELPER_REQUIRE_CREATION=1 "$HELPER" check now.blob "$D1"
cd - >/dev/null

# --- measurement: extend + event record, replayed --------------------------------
start_tpm c
M1="cfsroot:v1:image=$D1:mode=signed:signer=$keyid"
M2="cfsroot:v1:image=$D2:mode=command-line:signer=none"
log=$tmp/run/cfsroot/tpm-measure.log
TPM2TSS_TCTI=$(tcti c) "$HELPER" extend 13 "$M1" "$log"
TPM2TSS_TCTI=$(tcti c) "$HELPER" measure 13 "$D2" command-line - "$log"
if python3 - "$log" "$M1" "$M2" "$(pcr_value "$(tcti c)" sha256 13)" "$(pcr_value "$(tcti c)" sha1 13)" \
        "$(pcr_value "$(tcti c)" sha384 13)" <<'EOF'; then
import hashlib, json, sys
log, m1, m2, sha256_pcr, sha1_pcr, sha384_pcr = sys.argv[1:]
data = open(log, "rb").read()
assert data.startswith(b"\x1e") and data.endswith(b"\n"), data
recs = [json.loads(r) for r in data.decode().split("\x1e") if r]
assert [r["content"]["string"] for r in recs] == [m1, m2], recs
for r, m in zip(recs, (m1, m2)):
    assert r["pcr"] == 13 and r["content_type"] == "cfsroot", r
    d = {x["hashAlg"]: x["digest"] for x in r["digests"]}
    for alg in ("sha1", "sha256", "sha384", "sha512"):
        assert d[alg] == hashlib.new(alg, m.encode()).hexdigest(), (alg, d)
# replay the log like a verifier: every active bank must match the TPM
for alg, pcr in (("sha256", sha256_pcr), ("sha1", sha1_pcr), ("sha384", sha384_pcr)):
    v = bytes(hashlib.new(alg).digest_size)
    for r in recs:
        v = hashlib.new(alg, v + bytes.fromhex({x["hashAlg"]: x["digest"] for x in r["digests"]}[alg])).digest()
    assert v.hex() == pcr, (alg, v.hex(), pcr)
EOF
        ok "extend PCR 13 in all banks; event log (JSON-SEQ) replays to the TPM's values"
else
        bad "extend/event log replay"
fi
expect_fail "extend PCR 24 refused" "only PCRs 0-23" env TPM2TSS_TCTI="$(tcti c)" "$HELPER" extend 24 x "$log"

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

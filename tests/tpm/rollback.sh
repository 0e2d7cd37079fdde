#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/tpm/rollback.sh CFSROOT TPM-HELPER [MARK-GOOD-UNIT] - host tests of the
# TPM anti-rollback floor (`cfsroot rollback init|status|raise`, and
# cfs_tpm_rollback_check() through tpm-helper) against real swtpm instances
# started here, with signed test images in a temporary object store. Needs
# swtpm, tpm2-tools (to squat, clear and set an owner password), openssl.
# A missing tool is a failure, not a skip.
set -euo pipefail

CFSROOT=$(realpath "$1")
HELPER=$(realpath "$2")
UNIT=${3:+$(realpath "$3")}
# shellcheck source=tests/tpm/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
tpm_test_init cfsroot-rollback swtpm tpm2_nvdefine tpm2_nvsetbits tpm2_clear tpm2_changeauth python3 openssl

# minimum TCTI -> the floor cfsroot reads ("none" if not defined)
minimum() {
        "$CFSROOT" rollback status --json --tcti "$1" |
                python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["minimum_generation"] if j["defined"] else "none")'
}
expect_minimum() { # NAME TCTI WANT
        local got
        got=$(minimum "$2")
        if [ "$got" = "$3" ]; then ok "$1 (minimum $got)"; else bad "$1: minimum $got, expected $3"; fi
}

start_tpm a
start_tpm b
TPM2TSS_TCTI=$(tcti a)
export TPM2TSS_TCTI
INDEX=0x01800cf5

# --- signed images in a store: STORE/images/<digest> + .sig ------------------------
cd "$tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=rollback test" \
        -days 2 -keyout key.pem -out cert.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=someone else" \
        -days 2 -keyout other.pem -out other-cert.pem 2>/dev/null
mkdir -p store/images
# image TAG GENERATION [KEY CERT]: an image file named by its digest, signed with metadata
image() {
        printf 'image %s\n' "$1" >"img.$1"
        local d
        d=$("$CFSROOT" digest --compact "img.$1" | cut -c1-64)
        mv "img.$1" "store/images/$d"
        "$CFSROOT" sign --key "${3:-key.pem}" --cert "${4:-cert.pem}" --name os --version "v$2" \
                --generation "$2" --digest "$d" "store/images/$d.sig"
        echo "$d"
}
booted() { printf '# test\ndigest=%s\ngeneration=%s\n' "$1" "$2" >record; }
R=(--store store --certs cert.pem --record record --policy /nonexistent)

A=$(image a 4)
B=$(image b 5)
booted "$B" 5

# --- init, status, check before/after --------------------------------------------
expect_out "status before init: not defined" "not defined" "$CFSROOT" rollback status
expect_fail "check before init: no index (ENOENT)" "errno ENOENT" "$HELPER" rollback-check 0
expect_note "raise --auto before init: nothing to do, exit 0" "nothing to raise" "$CFSROOT" rollback raise --auto "${R[@]}"
# cfsroot-mark-good.service runs on machines that use no floor at all: no index
# (or no TPM) means exit 0 before certificates and deployments are read
expect_note "raise --auto before init, no certificates, no store: exit 0" "nothing to raise" \
        "$CFSROOT" rollback raise --auto --store /nonexistent --certs /nonexistent --record /nonexistent \
        --policy /nonexistent
expect_fail "raise --to before init: refused" "no anti-rollback index" "$CFSROOT" rollback raise --to 4 "${R[@]}"
expect_out "init defines the index" "defined: minimum generation 0" "$CFSROOT" rollback init
expect_out "init again: kept" "already defined: minimum generation 0" "$CFSROOT" rollback init
nvpub=$(TPM2TOOLS_TCTI=$(tcti a) tpm2_nvreadpublic "$INDEX")
if grep -q 'value: 0x22040022' <<<"$nvpub" && grep -q 'size: 8' <<<"$nvpub"; then
        ok "index attributes: bits|ownerwrite|authread|no_da|written, 8 bytes (tpm2_nvreadpublic)"
else
        bad "index attributes: $nvpub"
fi
expect_minimum "status after init" "$(tcti a)" 0
expect_out "check after init: generation 0 allowed" "allowed (minimum 0)" "$HELPER" rollback-check 0

# --- the raise rules -------------------------------------------------------------------
expect_fail "raise above the lowest kept deployment refused" "kept deployment $A has generation 4" \
        "$CFSROOT" rollback raise --to 5 "${R[@]}"
expect_minimum "... floor unchanged" "$(tcti a)" 0
booted "$B" 3
expect_fail "raise above the booted image's generation refused" "the booted image has generation 3" \
        "$CFSROOT" rollback raise --to 4 "${R[@]}"
expect_out "--auto with booted generation 3: raise to 3 only (dry run)" "would raise the minimum generation from 0 to 3" \
        "$CFSROOT" rollback raise --auto --dry-run "${R[@]}"
booted "$B" 5
expect_out "--auto --dry-run lists the kept deployments" "kept $A: generation 4 (signed by" \
        "$CFSROOT" rollback raise --auto --dry-run "${R[@]}"
expect_minimum "--dry-run writes nothing" "$(tcti a)" 0
expect_out "--auto raises to min(booted 5, lowest kept 4)" "from 0 to 4" "$CFSROOT" rollback raise --auto "${R[@]}"
expect_minimum "status after raise" "$(tcti a)" 4
expect_out "raise --to 2: never lowers" "minimum generation stays 4" "$CFSROOT" rollback raise --to 2 "${R[@]}"
expect_minimum "... floor still 4" "$(tcti a)" 4
TPM2TOOLS_TCTI=$(tcti a) tpm2_nvsetbits -C o -i 0x1 "$INDEX"
expect_minimum "setting a low bit directly cannot lower it" "$(tcti a)" 4

# unsigned and unverifiable images count as generation 0
U=$(image u 9)
rm "store/images/$U.sig"
expect_fail "an unsigned image blocks raising" "has generation 0 (unsigned" \
        "$CFSROOT" rollback raise --to 4 "${R[@]}"
expect_out "--auto with an unsigned image: stays" "minimum generation stays 4" "$CFSROOT" rollback raise --auto "${R[@]}"
rm "store/images/$U"
O=$(image o 9 other.pem other-cert.pem)
expect_fail "an image signed by an untrusted key blocks raising" "signature not verified" \
        "$CFSROOT" rollback raise --to 4 "${R[@]}"
rm "store/images/$O" "store/images/$O.sig"
cp "store/images/$B.sig" "store/images/$A.sig" # B's signature on A's image
expect_fail "a signature of another image blocks raising" "kept deployment $A has generation 0 (signature not verified" \
        "$CFSROOT" rollback raise --to 4 "${R[@]}"
rm "store/images/$A" "store/images/$A.sig" # retire the fallback slot
expect_out "retiring generation 4 lets --auto raise to 5" "from 4 to 5" "$CFSROOT" rollback raise --auto "${R[@]}"
expect_fail "raise to 6 refused: booted 5" "the booted image has generation 5" "$CFSROOT" rollback raise --to 6 "${R[@]}"
mkdir empty-store empty-store/images
expect_fail "no kept images: refused" "holds no images" "$CFSROOT" rollback raise --auto \
        --store empty-store --certs cert.pem --record record --policy /nonexistent
expect_fail "no boot record: refused" "no boot record" "$CFSROOT" rollback raise --auto \
        --store store --certs cert.pem --record nothere --policy /nonexistent
printf 'digest=%s\ngeneration=five\n' "$B" >bad-record
expect_fail "malformed boot record: refused" "expected a number" "$CFSROOT" rollback raise --auto \
        --store store --certs cert.pem --record bad-record --policy /nonexistent

# --- the check setup-root makes ----------------------------------------------------
expect_fail "check: generation 4 below minimum 5 (ESTALE)" "image generation 4 is below the TPM's minimum 5" \
        "$HELPER" rollback-check 4
if grep -qF "errno ESTALE" "$tmp/err"; then ok "... errno ESTALE"; else bad "... errno: $(cat "$tmp/err")"; fi
expect_out "check: generation 5 allowed" "allowed (minimum 5)" "$HELPER" rollback-check 5
expect_out "check: generation 9 allowed" "allowed (minimum 5)" "$HELPER" rollback-check 9

# --- command line -------------------------------------------------------------------
expect_fail "--to 65: above what the index holds" "holds generations up to 64" \
        "$CFSROOT" rollback raise --to 65 "${R[@]}"
for bad_to in abc -1 +3 "" 4x 18446744073709551616 " 4"; do
        expect_rc "--to '$bad_to' is a usage error" 2 "$CFSROOT" rollback raise --to "$bad_to" "${R[@]}"
done
expect_rc "--to and --auto together: usage error" 2 "$CFSROOT" rollback raise --to 3 --auto "${R[@]}"
expect_rc "raise without --to/--auto: usage error" 2 "$CFSROOT" rollback raise "${R[@]}"
expect_rc "unknown action: usage error" 2 "$CFSROOT" rollback lower
expect_rc "--index outside the owner range: usage error" 2 "$CFSROOT" rollback status --index 0x81000001
expect_rc "--index not hex: usage error" 2 "$CFSROOT" rollback status --index 0x018zz
expect_rc "--index too long: usage error" 2 "$CFSROOT" rollback status --index 0x0180000000
expect_rc "--json on raise: usage error" 2 "$CFSROOT" rollback raise --auto --json "${R[@]}"
expect_rc "--store on status: usage error" 2 "$CFSROOT" rollback status --store store
expect_out "--index: another index is independent" "not defined" "$CFSROOT" rollback status --index 0x01800cf6

# --- owner password ---------------------------------------------------------------------
TPM2TOOLS_TCTI=$(tcti a) tpm2_changeauth -c o ownerpass
C=$(image c 7)
booted "$C" 7
rm "store/images/$B" "store/images/$B.sig"
expect_fail "owner password set: raise without it refused" "owner password" \
        "$CFSROOT" rollback raise --auto "${R[@]}"
expect_minimum "... floor unchanged" "$(tcti a)" 5
printf 'wrong\n' >wrong-pass
expect_fail "wrong owner password refused" "owner password" \
        "$CFSROOT" rollback raise --auto --owner-auth-file wrong-pass "${R[@]}"
printf 'ownerpass\n' >pass
expect_out "--owner-auth-file: raised" "from 5 to 7" "$CFSROOT" rollback raise --auto --owner-auth-file pass "${R[@]}"
D=$(image d 8)
rm "store/images/$C" "store/images/$C.sig"
booted "$D" 8
mkdir creds
cp pass creds/cfsroot.tpm-owner-auth
expect_out "owner password from \$CREDENTIALS_DIRECTORY (LoadCredential=)" "from 7 to 8" \
        env CREDENTIALS_DIRECTORY="$tmp/creds" "$CFSROOT" rollback raise --auto "${R[@]}"
head -c 65 /dev/zero | tr '\0' x >long-pass
expect_fail "owner password of 65 bytes refused" "more than 64 bytes" \
        "$CFSROOT" rollback init --owner-auth-file long-pass --index 0x01800cf7

# --- squatted indices (TPM b) ----------------------------------------------------------
TPM2TOOLS_TCTI=$(tcti b)
export TPM2TOOLS_TCTI
squat() { # NAME NEEDLE tpm2_nvdefine-args...
        local name=$1 needle=$2
        shift 2
        tpm2_nvdefine "$INDEX" -C o "$@" >/dev/null
        expect_fail "squatted ($name): status refuses" "$needle" "$CFSROOT" rollback status --tcti "$(tcti b)"
        expect_fail "squatted ($name): init refuses" "$needle" "$CFSROOT" rollback init --tcti "$(tcti b)"
        expect_fail "squatted ($name): check refuses (EKEYREJECTED)" "errno EKEYREJECTED" \
                env TPM2TSS_TCTI="$(tcti b)" "$HELPER" rollback-check 9
        expect_fail "squatted ($name): raise refuses" "$needle" \
                "$CFSROOT" rollback raise --auto --tcti "$(tcti b)" "${R[@]}"
        tpm2_nvundefine "$INDEX" -C o
}
squat "bits, also auth write" "attributes 0x02040026" -s 8 -a "nt=bits|ownerwrite|authwrite|authread|no_da"
squat "ordinary 8 bytes" "attributes 0x02040002" -s 8 -a "ownerwrite|authread|no_da"
squat "no DA flag missing" "attributes 0x00040022" -s 8 -a "nt=bits|ownerwrite|authread"
head -c 32 /dev/urandom >policy.bin
squat "with a policy" "it has an authorization policy (32 bytes)" -s 8 -a "nt=bits|ownerwrite|authread|no_da" -L policy.bin
squat "sha1 name" "name algorithm 0x0004" -g sha1 -s 8 -a "nt=bits|ownerwrite|authread|no_da"
tpm2_nvdefine "$INDEX" -C o -s 8 -a "nt=bits|ownerwrite|authread|no_da" -p secret >/dev/null
tpm2_nvsetbits -C o -i 0 "$INDEX"
expect_fail "squatted (same attributes, a password): check refuses" "squatted with a password" \
        env TPM2TSS_TCTI="$(tcti b)" "$HELPER" rollback-check 9
tpm2_nvundefine "$INDEX" -C o
expect_out "after the squatter is removed: init works" "defined: minimum generation 0" \
        "$CFSROOT" rollback init --tcti "$(tcti b)"

# --- TPM cleared, no TPM ----------------------------------------------------------------
tpm2_clear -c p
expect_out "TPM cleared: index gone" "not defined" "$CFSROOT" rollback status --tcti "$(tcti b)"
expect_fail "TPM cleared: check says so (ENOENT)" "the TPM was cleared" \
        env TPM2TSS_TCTI="$(tcti b)" "$HELPER" rollback-check 9
unset TPM2TOOLS_TCTI
expect_fail "no TPM: check (ENODEV)" "errno ENODEV" env TPM2TSS_TCTI="swtpm:path=$tmp/none" "$HELPER" rollback-check 1
expect_fail "no TPM: status fails" "no TPM" "$CFSROOT" rollback status --tcti "swtpm:path=$tmp/none"
expect_note "no TPM: raise --auto does nothing, exit 0" "nothing to raise" "$CFSROOT" rollback raise --auto \
        --tcti "swtpm:path=$tmp/none" "${R[@]}"
expect_fail "no TPM: raise --to fails" "no TPM" "$CFSROOT" rollback raise --to 1 \
        --tcti "swtpm:path=$tmp/none" "${R[@]}"

# --- the unit ----------------------------------------------------------------------------
if [ -n "$UNIT" ]; then
        if grep -q '^Requires=boot-complete.target' "$UNIT" && grep -q '^After=.*boot-complete.target' "$UNIT" &&
                grep -q 'rollback raise --auto' "$UNIT"; then
                ok "cfsroot-mark-good.service: Requires+After boot-complete.target, raise --auto"
        else
                bad "cfsroot-mark-good.service content"
        fi
        if command -v systemd-analyze >/dev/null; then
                # with the unit it requires, from the same build directory
                for u in "$UNIT" "$(dirname "$UNIT")/cfsroot-status.service"; do
                        sed "s|^ExecStart=[^ ]*|ExecStart=$CFSROOT|" "$u" >"$tmp/$(basename "$u")"
                done
                if out=$(SYSTEMD_LOG_LEVEL=err systemd-analyze verify --man=no "$tmp/cfsroot-mark-good.service" 2>&1) &&
                        ! grep -q 'cfsroot-mark-good' <<<"$out"; then
                        ok "systemd-analyze verify cfsroot-mark-good.service"
                else
                        bad "systemd-analyze verify: $out"
                fi
        else
                bad "systemd-analyze not installed"
        fi
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

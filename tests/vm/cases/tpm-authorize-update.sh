# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/tpm-authorize-update.sh - host part: the PolicyAuthorize
# (blob version 2) sealed policy through setup-root in the initrd, on a guest
# with a TPM (swtpm, CASE_TPM=1). Here, on the host, the owner's ECC P-256 key
# pair and another key pair are made with openssl, and `cfsroot seal-approve
# --pcr-value` signs approvals of *predicted* PCR 7 values, without a TPM:
#   PCR7_NOW  the guest's PCR 7 at boot: SeaBIOS's only PCR 7 event is its
#             EV_SEPARATOR 0xffffffff, so sha256(0^32 || sha256(ffffffff))
#             (the guest checks the prediction against sysfs first);
#   PCR7_NEW  PCR7_NOW extended with 0x11 * 32, what the guest's raw
#             TPM2_PCR_Extend makes of it (the "firmware update").
# Approvals files (in the guest's /vm-auth/): the owner's for PCR7_NOW, for
# PCR7_NEW alone, for both (seal-approve --append); the other key's for
# PCR7_NOW, and that one relabelled with the owner's key name. The guest seals
# the blob itself with --public-key (it only loads under its own TPM). The
# policy requires the TPM policy and the creation record, and the TPM policy
# is the only source of trust (no command-line digest, no signature).
# shellcheck shell=bash
# shellcheck disable=SC2034 # read by run-test.sh
CASE_TPM=1

# The bytes HEX stands for, on stdout.
hex_to_bin() {
        # shellcheck disable=SC2001,SC2059 # the format is the bytes as \xHH escapes
        printf "$(echo "$1" | sed 's/../\\x&/g')"
}

# sha256(OLD || NEW) of two 64-hex-digit values: a sha256 PCR extend.
pcr_extend_hex() {
        { hex_to_bin "$1"; hex_to_bin "$2"; } | sha256sum | cut -d' ' -f1
}

# seal-approve with KEY (PEM) for PCR 7 = VALUE into FILE (more arguments:
# --append); prints the signing key's name (from its message).
approve() {
        local key=$1 value=$2 file=$3 msg name
        shift 3
        msg=$("$CFSROOT" seal-approve --private-key "$key" --pcrs 7 --pcr-value "7=$value" "$@" "$file" 2>&1) ||
                vm_die "cfsroot seal-approve failed: $msg"
        name=$(echo "$msg" | sed -n 's/.*signed by key \([0-9a-f]\{64\}\).*/\1/p')
        [ -n "$name" ] || vm_die "seal-approve named no key: $msg"
        echo "$name"
}

prepare() {
        local k=$WORK/keys a=$STAGE/vm-auth owner other now new
        vm_require openssl:openssl
        vm_prepare_composefs readonly readonly
        sed -i 's/^CommandLineDigest=yes$/CommandLineDigest=no/' "$STAGE/etc/cfsroot/policy.conf"
        vm_policy_trust "RequireTPMPolicy=yes"
        printf '[TPM]\nDevice=device:/dev/tpmrm0\nRequireCreationTicket=yes\n' >>"$STAGE/etc/cfsroot/policy.conf"

        mkdir -p "$k" "$a"
        for n in owner other; do
                if ! openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k/$n.pem" 2>/dev/null ||
                        ! openssl pkey -in "$k/$n.pem" -pubout -out "$k/$n.pub.pem"; then
                        vm_die "openssl: cannot make the $n key pair"
                fi
        done
        cp "$k/owner.pub.pem" "$a/owner.pub.pem"

        now=$(pcr_extend_hex "$(printf '%064d' 0)" "$(printf '\xff\xff\xff\xff' | sha256sum | cut -d' ' -f1)")
        new=$(pcr_extend_hex "$now" "$(printf '11%.0s' $(seq 32))")
        owner=$(approve "$k/owner.pem" "$now" "$a/now")
        approve "$k/owner.pem" "$new" "$a/new-only" >/dev/null
        cp "$a/now" "$a/both"
        approve "$k/owner.pem" "$new" "$a/both" --append >/dev/null
        other=$(approve "$k/other.pem" "$now" "$a/other")
        [ "$owner" != "$other" ] || vm_die "the two keys have the same name"
        # the other key's approval claiming to be the owner's: record bytes
        # 16..47 are the signing key's name (lib/tpm-policy.h)
        cp "$a/other" "$a/relabelled"
        hex_to_bin "$owner" | dd of="$a/relabelled" bs=1 seek=16 conv=notrunc status=none
        cmp -s "$a/other" "$a/relabelled" && vm_die "relabelling changed nothing"
        {
                echo "PCR7_NOW=$now"
                echo "PCR7_NEW=$new"
                echo "OWNER_KEY=$owner"
                echo "OTHER_KEY=$other"
        } >>"$STAGE/test.env"
}

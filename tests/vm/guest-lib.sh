# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/guest-lib.sh - helpers for the test scripts that run inside the Tier
# A guest (busybox sh), installed as /vm-lib.sh; a test starts with
# `. /vm-lib.sh`. Every check prints one line: "ok: ..." or "FAIL: ..." (the
# latter ends the test with exit 1, and /init reports CFSROOT-VM-RESULT: FAIL).
#
# fs-verity: the host kernel has none, so files get fs-verity here, in the
# guest, with Debian's `fsverity` tool (fsverity-utils, copied into the
# initramfs with its libraries by build-initramfs.sh).
# shellcheck shell=sh

fail() {
        echo "FAIL: $*"
        echo "--- last kernel messages ---"
        dmesg | tail -n 25
        exit 1
}
ok() { echo "ok: $*"; }

# fs-verity digest of FILE as the kernel measures it ("sha256:<hex>").
verity_measure() {
        fsverity measure "$1" | cut -d' ' -f1
}

# Enable fs-verity on FILE (4 KiB blocks, sha256: what composefs expects).
verity_enable() {
        fsverity enable --hash-alg=sha256 --block-size=4096 "$1" || fail "fsverity enable $1"
}

# Enable fs-verity on every regular file below DIR, except the paths listed
# (space separated, absolute) in $VERITY_SKIP. Prints how many were enabled.
verity_enable_tree() {
        n=0
        find "$1" -type f >/tmp/verity-files
        while read -r f; do
                case " $VERITY_SKIP " in
                *" $f "*)
                        echo "note: leaving $f without fs-verity"
                        continue
                        ;;
                esac
                verity_enable "$f"
                n=$((n + 1))
        done </tmp/verity-files
        echo "note: fs-verity enabled on $n files below $1"
}

# The object store + image of the composefs layout made by the host
# (STORE/objects/ab/<62 hex>, STORE/images/<digest>), all with fs-verity.
verity_enable_store() {
        verity_enable_tree "${1:-/sysroot/composefs}"
}

# Reading FILE must fail with EIO (busybox prints "Input/output error").
expect_eio() {
        if cat "$1" >/tmp/expect_eio.out 2>/tmp/expect_eio.err; then
                fail "reading $1 succeeded, expected EIO"
        fi
        grep -q "Input/output error" /tmp/expect_eio.err ||
                fail "reading $1 failed, but not with EIO: $(cat /tmp/expect_eio.err)"
        ok "reading $1 fails with EIO"
}

# Run CMD..., which must exit with CODE; its output goes to /tmp/out (and the console).
expect_exit() {
        want=$1
        shift
        set +e
        "$@" >/tmp/out 2>&1
        got=$?
        set -e
        cat /tmp/out
        [ "$got" = "$want" ] || fail "'$*' exited $got, expected $want"
        ok "'$*' exited $want"
}

# The last command's output (/tmp/out) must contain TEXT.
expect_output() {
        grep -qF -- "$1" /tmp/out || fail "output does not contain '$1'"
        ok "output contains '$1'"
}

# The kernel log must contain TEXT.
expect_kmsg() {
        dmesg | grep -qF -- "$1" || fail "kernel log does not contain '$1'"
        ok "kernel log contains '$1'"
}

# After a refusal: no EROFS or overlay mount anywhere, the physical root still on /sysroot.
expect_nothing_mounted() {
        if grep -q ' overlay \| erofs ' /proc/mounts; then
                cat /proc/mounts
                fail "something is mounted after a refusal"
        fi
        grep -q ' /sysroot ext4 ' /proc/mounts || fail "the physical root is no longer on /sysroot"
        ok "nothing mounted, physical root untouched"
}

# tpm_extend_pcr N: extend sha256 PCR N (0-23) with 32 bytes 0x11 by writing a
# raw TPM2_PCR_Extend (password session, sha256 bank only) to /dev/tpmrm0 (the
# initramfs has no tpm2-tools); the response (tag TPM_ST_SESSIONS, 19 bytes)
# must have TPM_RC_SUCCESS.
tpm_extend_pcr() {
        cmd='\x80\x02\x00\x00\x00\x41\x00\x00\x01\x82\x00\x00\x00'$(printf '\\x%02x' "$1")
        cmd="$cmd"'\x00\x00\x00\x09\x40\x00\x00\x09\x00\x00\x00\x00\x00'
        cmd="$cmd"'\x00\x00\x00\x01\x00\x0b'
        i=0
        while [ $i -lt 32 ]; do
                cmd="$cmd"'\x11'
                i=$((i + 1))
        done
        exec 3<>/dev/tpmrm0
        # shellcheck disable=SC2059 # the format is the command as \xHH escapes
        printf "$cmd" >&3
        resp=$(dd bs=4096 count=1 <&3 2>/dev/null | od -An -tx1 | tr -d ' \n')
        exec 3>&-
        echo "TPM2_PCR_Extend response: $resp"
        case $resp in
        80020000001300000000*) ok "TPM2_PCR_Extend(PCR $1) succeeded" ;;
        *) fail "TPM2_PCR_Extend(PCR $1) failed: response $resp" ;;
        esac
}

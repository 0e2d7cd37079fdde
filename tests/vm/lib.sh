# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/lib.sh - shared helpers of the VM test harness (host side), sourced
# by the other tests/vm/*.sh scripts: cache directory, logging, tool checks,
# input hashing, and a lock so parallel tests don't build the same cache entry
# twice.
# shellcheck shell=bash

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CFSROOT_CACHE=${CFSROOT_CACHE:-${HOME:-/root}/.cache/cfsroot}
VM_CACHE=$CFSROOT_CACHE/vm
mkdir -p "$VM_CACHE"

vm_log() { echo "vm: $*" >&2; }
vm_die() {
        echo "vm: error: $*" >&2
        exit 1
}

# Exit with a clear message naming the package when a tool is missing
# (tests/install-deps.sh installs them all).
vm_require() {
        local tool pkg missing=()
        for tool in "$@"; do
                pkg=${tool#*:}
                tool=${tool%%:*}
                command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || [ -x "/sbin/$tool" ] ||
                        missing+=("$tool (Debian package $pkg)")
        done
        if [ ${#missing[@]} -gt 0 ]; then
                vm_die "missing: ${missing[*]}; run tests/install-deps.sh"
        fi
}

# sha256 of the given files' contents and of the given strings, as one hex key.
vm_hash() {
        local a
        for a in "$@"; do
                if [ -f "$a" ]; then
                        sha256sum <"$a"
                else
                        printf '%s\n' "$a"
                fi
        done | sha256sum | cut -c1-32
}

# Run "$@" holding an exclusive lock on $VM_CACHE/NAME.lock (one builder at a time;
# meson runs tests in parallel and they share the cache).
vm_locked() {
        local name=$1
        shift
        (
                flock -w 1800 9 || vm_die "timed out waiting for $VM_CACHE/$name.lock"
                "$@"
        ) 9>"$VM_CACHE/$name.lock"
}

# The host's Debian mirror (URI of the deb822 or one-line entry for bookworm,
# stable or trixie), or $CFSROOT_DEBIAN_MIRROR.
vm_debian_mirror() {
        if [ -n "${CFSROOT_DEBIAN_MIRROR:-}" ]; then
                echo "$CFSROOT_DEBIAN_MIRROR"
                return
        fi
        local f
        {
                for f in /etc/apt/sources.list.d/*.sources; do
                        [ -f "$f" ] || continue
                        awk 'tolower($1) == "uris:" { uri = $2 }
                             /^[ \t]*$/ { uri = "" }
                             tolower($1) == "suites:" {
                                     for (i = 2; i <= NF; i++)
                                             if ($i ~ /^(bookworm|stable|trixie)$/ && uri ~ /debian\/?$/) print uri
                             }' "$f"
                done
                for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
                        [ -f "$f" ] || continue
                        sed -E 's/\[[^]]*\]//' "$f" |
                                awk '$1 == "deb" && $3 ~ /^(bookworm|stable|trixie)$/ && $2 ~ /debian\/?$/ { print $2 }'
                done
        } | head -n1
}

# ---- helpers for the host part of test cases (cases/*.sh) ----

# A small OS-like tree in DIR: the directories setup-root needs (sysroot, etc,
# var), files big enough to be objects (> 64 bytes), an inline file, a symlink.
# Deterministic content, so digests are stable.
vm_make_source_tree() {
        local d=$1
        mkdir -p "$d"/{sysroot,etc,var,usr/bin,usr/share/cfsroot-test,tmp,proc,sys,dev,run}
        printf 'NAME="cfsroot VM test"\nID=cfsroot-vm\n%0200d\n' 0 >"$d/etc/os-release"
        echo cfsroot-vm >"$d/etc/hostname"
        { echo '#!/bin/sh'; echo 'echo hello from the composefs root'; head -c 8000 /dev/zero | tr '\0' '#'; echo; } \
                >"$d/usr/bin/hello"
        chmod 0755 "$d/usr/bin/hello"
        # 192 KiB of deterministic bytes: several Merkle tree blocks
        local i
        for i in $(seq 1 3072); do printf '%063d\n' "$i"; done >"$d/usr/share/cfsroot-test/data"
        echo "small inline file" >"$d/usr/share/cfsroot-test/small"
        ln -s ../share/cfsroot-test/data "$d/usr/bin/data-link"
}

# Build the composefs image + object store from SRC into DISKTREE/composefs
# (objects/ab/<62 hex>, images/<digest>); sets IMAGE_DIGEST (hex).
vm_make_composefs() {
        local src=$1 disktree=$2 tmpimg
        mkdir -p "$disktree/composefs/images"
        tmpimg=$disktree/composefs/images/.new
        IMAGE_DIGEST=$("$CFSROOT" mkimage --quiet --print-digest --store "$disktree/composefs" "$src" "$tmpimg") ||
                vm_die "cfsroot mkimage --store failed"
        IMAGE_DIGEST=${IMAGE_DIGEST#sha256:}
        IMAGE_DIGEST=${IMAGE_DIGEST%% *}
        [[ $IMAGE_DIGEST =~ ^[0-9a-f]{64}$ ]] || vm_die "mkimage printed no digest: '$IMAGE_DIGEST'"
        mv "$tmpimg" "$disktree/composefs/images/$IMAGE_DIGEST"
}

# The object (below DISKTREE) holding the content of FILE: composefs/objects/ab/<62 hex>.
vm_object_of() {
        local file=$1 disktree=$2 d
        d=$("$CFSROOT" digest "$file" | cut -d' ' -f1)
        d=${d#sha256:}
        echo "$disktree/composefs/objects/${d:0:2}/${d:2}"
}

# The boot policy of the Tier A composefs cases: /etc and /var modes (default
# transient), and what establishes trust: "cmdline" (default: composefs= on the
# command line is enough) or "signature" (signed by a certificate in
# /etc/cfsroot/trusted.d; vm_trust_cert puts one there).
vm_write_policy() {
        local etc=${1:-transient} var=${2:-transient} trust=${3:-cmdline} cmdline_digest=yes sig=no
        if [ "$trust" = signature ]; then
                cmdline_digest=no
                sig=yes
        fi
        mkdir -p "$STAGE/etc/cfsroot/trusted.d"
        cat >"$STAGE/etc/cfsroot/policy.conf" <<POLICY
[Boot]
ObjectStore=/composefs
[Trust]
CommandLineDigest=$cmdline_digest
RequireSignature=$sig
TrustedCertificates=/etc/cfsroot/trusted.d
[State]
Etc=$etc
Var=$var
POLICY
}

# Add KEY=VALUE lines to the [Trust] section of the policy vm_write_policy wrote.
vm_policy_trust() {
        local line
        for line in "$@"; do
                sed -i "/^\[Trust\]\$/a $line" "$STAGE/etc/cfsroot/policy.conf"
        done
}

# The common start of the signature cases: policy requiring a signature, a
# trusted development key in $WORK/key, IMG = the image's path on the disk.
vm_prepare_signed() {
        vm_prepare_composefs readonly readonly signature
        vm_dev_key "$WORK/key" "cfsroot VM trusted key"
        vm_trust_cert "$WORK/key/cfsroot-dev.crt.pem"
        IMG=$DISK/composefs/images/$IMAGE_DIGEST
}

# Sign IMG with the trusted key; extra arguments go to cfsroot sign.
vm_sign() {
        "$CFSROOT" sign --key "$WORK/key/cfsroot-dev.key.pem" --cert "$WORK/key/cfsroot-dev.crt.pem" \
                "$@" "$IMG" "$IMG.sig" || vm_die "cfsroot sign failed"
}

# A fresh development key pair in DIR (keys/make-dev-key.sh): DIR/cfsroot-dev.{key,crt}.pem.
vm_dev_key() {
        "$VM_DIR/../../keys/make-dev-key.sh" --cn "${2:-cfsroot VM test key}" "$1" >/dev/null ||
                vm_die "keys/make-dev-key.sh failed"
}

# Trust the certificate CERT in the guest.
vm_trust_cert() {
        mkdir -p "$STAGE/etc/cfsroot/trusted.d"
        cp "$1" "$STAGE/etc/cfsroot/trusted.d/$(basename "$1")"
}

# The common start of the setup-root cases: source tree in $WORK/src, store and
# image on the disk, the policy (arguments: Etc= and Var= modes), composefs=<digest>
# on the kernel command line, and in test.env: IMAGE_DIGEST, DATA_SHA256 (of
# usr/share/cfsroot-test/data).
vm_prepare_composefs() {
        vm_make_source_tree "$WORK/src"
        vm_make_composefs "$WORK/src" "$DISK"
        vm_write_policy "$@"
        # shellcheck disable=SC2034 # read by run-test.sh
        APPEND="composefs=$IMAGE_DIGEST"
        {
                echo "IMAGE_DIGEST=$IMAGE_DIGEST"
                echo "DATA_SHA256=$(sha256sum <"$WORK/src/usr/share/cfsroot-test/data" | cut -d' ' -f1)"
        } >>"$STAGE/test.env"
}

# Flip one byte at OFFSET of FILE (same size, different content).
vm_flip_byte() {
        local file=$1 off=$2 b
        b=$(od -An -tu1 -j "$off" -N1 "$file" | tr -d ' ')
        [ -n "$b" ] || vm_die "$file has no byte at $off"
        printf "$(printf '\\%03o' $(((b ^ 0x55) & 0xff)))" |
                dd of="$file" bs=1 seek="$off" count=1 conv=notrunc status=none
}

# vm_swtpm_start DIR: a TPM 2.0 for a qemu guest (Tier A and B): swtpm with its
# state in DIR (empty: a new TPM; state provisioned there before, e.g. NV
# indices or the storage seed, is loaded), control socket DIR/sock for qemu,
# log DIR/swtpm.log. Sets VM_SWTPM_PID and VM_SWTPM_ARGS (the qemu options);
# vm_swtpm_stop ends it (swtpm also ends with qemu's connection). qemu
# initialises the TPM through the control channel at reset, hence no
# --flags startup-clear.
vm_swtpm_start() {
        local d=$1 i=0
        vm_require swtpm:swtpm
        mkdir -p "$d"
        rm -f "$d/sock"
        swtpm socket --tpm2 --tpmstate dir="$d" --ctrl type=unixio,path="$d/sock" \
                --terminate --log file="$d/swtpm.log" </dev/null >>"$d/swtpm.log" 2>&1 &
        VM_SWTPM_PID=$!
        while [ ! -S "$d/sock" ]; do
                kill -0 "$VM_SWTPM_PID" 2>/dev/null || vm_die "swtpm exited: $(cat "$d/swtpm.log")"
                [ $i -lt 100 ] || vm_die "swtpm made no socket $d/sock in 10 s"
                sleep 0.1
                i=$((i + 1))
        done
        # shellcheck disable=SC2034,SC2054 # read by the callers; the commas are qemu's
        VM_SWTPM_ARGS=(-chardev "socket,id=chrtpm,path=$d/sock" -tpmdev emulator,id=tpm0,chardev=chrtpm
                -device tpm-tis,tpmdev=tpm0)
}
vm_swtpm_stop() {
        if [ -n "${VM_SWTPM_PID:-}" ]; then
                kill "$VM_SWTPM_PID" 2>/dev/null || true
                wait "$VM_SWTPM_PID" 2>/dev/null || true
                VM_SWTPM_PID=""
        fi
}

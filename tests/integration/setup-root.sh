#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# setup-root.sh CFSROOT SRCDIR: host integration test of `cfsroot setup-root`
# (issue 4), in a private mount namespace, on a fake physical root: an ext4 file
# system on a loop device holding an object store and composefs images, mounted
# at $tmp/sysroot the way the initrd mounts the real root at /sysroot.
#
# 1. the whole of setup-root with the test-only insecure policy
#    (AllowObjectsWithoutVerity=yes: the host kernel has no fs-verity): /sysroot
#    becomes the composefs overlay, /etc and /var per policy, the physical root
#    below it at /sysroot/sysroot;
# 2. the same with the secure default policy is refused: objects without fs-verity;
# 3. the refusal matrix: each case asserts the exit code (class), the message,
#    and that nothing is left mounted and /sysroot is still the physical root.
# Needs root. Host only.
set -euo pipefail
cfsroot=$(realpath "$1")
srcdir=$(realpath "$2")
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (loop devices, mounts in a private mount namespace)"; exit 77
fi
if [ -z "${CFSROOT_IN_NS:-}" ]; then
  export CFSROOT_IN_NS=1
  exec unshare -m --propagation private "$0" "$@"
fi
# A systemd initrd mounts everything shared: do the same in this namespace.
mount --make-rshared /
export CFSROOT_NO_KMSG=1
tmp=$(mktemp -d /var/tmp/cfsroot-setup.XXXXXX)
cleanup() {
  umount -R "$tmp/sysroot" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
W=$tmp

# --- the OS tree, the physical root, keys -------------------------------------
mkdir -p "$W/os"/{etc,var,sysroot,usr/bin,usr/lib,usr/share/doc}
echo "cfsroot-test" >"$W/os/etc/hostname"
printf 'ID=cfsroot-test\nVERSION_ID=1\n' >"$W/os/usr/lib/os-release"
ln -s ../usr/lib/os-release "$W/os/etc/os-release"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(i * 7 % 251 for i in range(100000)))' \
  >"$W/os/usr/bin/payload"
seq 1 5000 >"$W/os/usr/share/doc/numbers"
echo "small" >"$W/os/usr/share/doc/small"
setfattr -n user.test -v hello "$W/os/usr/share/doc/small"

truncate -s 128M "$W/phys.img"
mkfs.ext4 -q -b 4096 -O verity "$W/phys.img"
mkdir -p "$W/sysroot"
mount -o loop "$W/phys.img" "$W/sysroot"
phys_dev=$(findmnt -no SOURCE "$W/sysroot")
mkdir -p "$W/sysroot/composefs/images"
digest=$("$cfsroot" mkimage -q --print-digest --store "$W/sysroot/composefs" "$W/os" "$W/image")
[[ $digest =~ ^[0-9a-f]{64}$ ]] || fail "mkimage printed '$digest'"
img_rel=composefs/images/$digest
cp "$W/image" "$W/sysroot/$img_rel"
cp -a "$W/image" "$W/image.orig"

"$srcdir/keys/make-dev-key.sh" "$W/keys" >/dev/null
"$srcdir/keys/make-dev-key.sh" --type ecdsa --cn "not trusted" "$W/otherkeys" >/dev/null
mkdir -p "$W/trusted.d"
cp "$W/keys/cfsroot-dev.crt.pem" "$W/trusted.d/"
sign() { # IMAGE SIGFILE [sign options]
  local image=$1 sig=$2; shift 2
  "$cfsroot" sign --key "$W/keys/cfsroot-dev.key.pem" --cert "$W/keys/cfsroot-dev.crt.pem" \
    "$@" "$image" "$sig" >/dev/null
}
sign "$W/image" "$W/sysroot/$img_rel.sig" --name test-os --version 1 --generation 3
cp "$W/sysroot/$img_rel.sig" "$W/good.sig"
key_id=$(openssl x509 -in "$W/keys/cfsroot-dev.crt.pem" -pubkey -noout |
  openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)

policy() { # NAME [extra [Trust] lines, then other sections] -> $W/NAME.conf
  local name=$1; shift
  {
    printf '[Boot]\nObjectStore=/composefs\n[Trust]\nTrustedCertificates=%s\n' "$W/trusted.d"
    printf '%s\n' "$@"
  } >"$W/$name.conf"
}
policy secure
policy insecure "AllowObjectsWithoutVerity=yes"
policy cmdline-only "CommandLineDigest=yes" "RequireSignature=no" "AllowObjectsWithoutVerity=yes"
policy revoked-key "RevokedList=$W/revoked-key"
policy revoked-image "RevokedList=$W/revoked-image"
policy generation "MinimumGeneration=4"
policy tpm "RequireTPMPolicy=yes"
policy malformed "Frobnicate=yes"
policy badvalue "RequireSignature=maybe"
echo "key sha256:$key_id" >"$W/revoked-key"
echo "image $digest" >"$W/revoked-image"

mounts_before=$(wc -l </proc/self/mountinfo)

# --- helpers -------------------------------------------------------------------
# run_setup CMDLINE POLICY [args...]: output in $W/out, exit code in $rc
run_setup() {
  local cmdline=$1 pol=$2; shift 2
  rc=0
  SYSTEMD_PROC_CMDLINE="$cmdline" CFSROOT_BOOT_RECORD="$W/booted" "$cfsroot" setup-root --sysroot "$W/sysroot" \
    --policy "$W/$pol.conf" --newroot "$W/newroot" "$@" >"$W/out" 2>&1 || rc=$?
}

# The physical root is still what is mounted on the sysroot, nothing else stayed.
assert_untouched() { # CASE
  [ "$(findmnt -no FSTYPE "$W/sysroot")" = ext4 ] || fail "$1: the sysroot is no longer the physical root"
  [ "$(wc -l </proc/self/mountinfo)" -eq "$mounts_before" ] \
    || { findmnt -R "$W/sysroot"; fail "$1: mounts left behind"; }
  ! mountpoint -q "$W/newroot" 2>/dev/null || fail "$1: new root left mounted"
}

npass=0
expect_refusal() { # CASE CODE CLASS MESSAGE-FRAGMENT CMDLINE POLICY [args]
  local name=$1 code=$2 class=$3 msg=$4; shift 4
  run_setup "$@"
  if [ "$rc" -ne "$code" ]; then
    cat "$W/out" >&2
    fail "$name: exit code $rc, expected $code ($class)"
  fi
  grep -q "REFUSING TO BOOT ($class)" "$W/out" || { cat "$W/out" >&2; fail "$name: no refusal line for class $class"; }
  grep -qF -- "$msg" "$W/out" || { cat "$W/out" >&2; fail "$name: message lacks '$msg'"; }
  [ "$(grep -c . "$W/out")" -le 2 ] || { cat "$W/out" >&2; fail "$name: more than one line of refusal"; }
  assert_untouched "$name"
  [ ! -e "$W/booted" ] || fail "$name: a refused boot wrote a boot record"
  npass=$((npass + 1))
  echo "ok: $name -> $code $(grep 'REFUSING' "$W/out" | cut -c1-160)"
}

# put_image FILE: install FILE as the image the boot names
put_image() { cp "$1" "$W/sysroot/$img_rel"; }
restore() { put_image "$W/image.orig"; cp "$W/good.sig" "$W/sysroot/$img_rel.sig"; }

# flip IN OUT OFFSET: OUT = IN with the byte at OFFSET inverted
flip() { cp "$1" "$2"; python3 - "$2" "$3" <<'EOF'
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, 'r+b') as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0xff]))
EOF
}

# Offsets of the image regions (COMPOSEFS-FORMAT.md §2-§7).
read -r off_inode off_xattr off_dir < <(python3 - "$W/image" <<'EOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
root_nid = struct.unpack_from('<H', d, 1024 + 14)[0]
ino = root_nid * 32
fmt, icount = struct.unpack_from('<HH', d, ino)
extended = fmt & 1
isize = 64 if extended else 32
blkaddr = struct.unpack_from('<I', d, ino + (16 if not extended else 16))[0]
layout = (fmt >> 1) & 7
# directory data: in its block (flat plain) or inline right after inode + xattrs
xsize = 12 + (icount - 1) * 4 if icount else 0
dir_off = blkaddr * 4096 if layout == 0 else ino + isize + xsize
# xattr region: the entry user.test=hello of usr/share/doc/small (name_len 4,
# prefix index 1 = "user.", value 5 bytes); its prefix index byte is flipped
x_off = d.find(b"\x04\x01\x05\x00testhello")
assert x_off > 0
print(ino, x_off + 1, dir_off + 8)
EOF
)

# --- 1. the whole of setup-root, insecure test policy ---------------------------
rm -f "$W/booted"
run_setup "composefs=$digest" insecure
[ "$rc" -eq 0 ] || { cat "$W/out"; fail "setup-root with the insecure test policy: exit $rc"; }
grep -q "booted composefs image .*$digest.*signed by .*WITHOUT verity=require" "$W/out" \
  || { cat "$W/out"; fail "no booted line"; }
[ "$(findmnt -no FSTYPE "$W/sysroot")" = overlay ] || fail "the sysroot is not the overlay"
opts=$(findmnt -no OPTIONS "$W/sysroot")
for o in ro metacopy=on redirect_dir=on; do
  [[ ,$opts, == *,$o,* ]] || fail "overlay lacks $o: $opts"
done
cmp "$W/sysroot/usr/bin/payload" "$W/os/usr/bin/payload" || fail "payload differs through the overlay"
[ "$(cat "$W/sysroot/etc/hostname")" = cfsroot-test ] || fail "/etc/hostname"
[ "$(getfattr --only-values -n user.test "$W/sysroot/usr/share/doc/small")" = hello ] || fail "xattr lost"
! touch "$W/sysroot/usr/new" 2>/dev/null || fail "/usr is writable"
echo changed >"$W/sysroot/etc/hostname" || fail "/etc is not writable (Etc=overlay)"
touch "$W/sysroot/var/persistent" || fail "/var is not writable (Var=bind)"
[ "$(findmnt -no SOURCE "$W/sysroot/sysroot")" = "$phys_dev" ] \
  || fail "the physical root is not reachable at /sysroot/sysroot"
[ -f "$W/sysroot/sysroot/composefs/state/var/persistent" ] || fail "/var is not bound to the state directory"
[ "$(cat "$W/sysroot/sysroot/composefs/state/$digest/etc/upper/hostname")" = changed ] \
  || { find "$W/sysroot/sysroot/composefs/state"; fail "/etc changes are not kept in the state directory"; }
# The boot record `cfsroot status` reads in the booted system.
for kv in "digest=$digest" "mode=signed" "signer=/CN=cfsroot development key (DO NOT SHIP)" \
  "key_id=sha256:$key_id" "name=test-os" "version=1" "generation=3" "verity=off"; do
  grep -qxF "$kv" "$W/booted" || { cat "$W/booted"; fail "boot record lacks $kv"; }
done
# no [TPM] section, no RequireTPMPolicy: the TPM is not touched at all (no
# measurement attempt, no anti-rollback probe), as the dracut module, which
# then installs no TPM pieces, assumes
! grep -qiE "tpm|measure|anti-rollback" "$W/out" || { cat "$W/out"; fail "a policy without [TPM] used the TPM"; }
! grep -q "^measured_pcr=." "$W/booted" || { cat "$W/booted"; fail "boot record names a measurement"; }
echo "ok: insecure policy: booted, /etc overlay + /var bind + physical root below, boot record"
# undo: the physical root back onto the sysroot
umount -R "$W/sysroot"
mount -o loop "$W/phys.img" "$W/sysroot"
[ "$(wc -l </proc/self/mountinfo)" -eq "$mounts_before" ] || { cat /proc/self/mountinfo; fail "cleanup"; }
# a second boot of the same deployment keeps the /etc change
run_setup "composefs=$digest" insecure
[ "$rc" -eq 0 ] || { cat "$W/out"; fail "second boot: exit $rc"; }
[ "$(cat "$W/sysroot/etc/hostname")" = changed ] || fail "/etc change lost across boots"
umount -R "$W/sysroot"
mount -o loop "$W/phys.img" "$W/sysroot"
echo "ok: /etc changes survive a reboot of the same deployment"

# Etc=transient, Var=transient: writable, nothing reaches the physical root
policy transient "AllowObjectsWithoutVerity=yes" "[State]" "Etc=transient" "Var=transient"
run_setup "composefs=$digest" transient
[ "$rc" -eq 0 ] || { cat "$W/out"; fail "transient /etc and /var: exit $rc"; }
echo transient >"$W/sysroot/etc/transient-file" || fail "transient /etc not writable"
touch "$W/sysroot/var/transient-file" || fail "transient /var not writable"
[ "$(findmnt -no FSTYPE "$W/sysroot/var")" = tmpfs ] || fail "/var is not a tmpfs"
[ -z "$(find "$W/sysroot/sysroot/composefs/state" -name transient-file)" ] || fail "transient state reached the disk"
umount -R "$W/sysroot"
mount -o loop "$W/phys.img" "$W/sysroot"
rm -f "$W/booted"
echo "ok: Etc=transient, Var=transient"

# --- 2. dry run and the secure policy -------------------------------------------
rm -f "$W/booted"
run_setup "composefs=$digest" insecure --dry-run
[ "$rc" -eq 0 ] || { cat "$W/out"; fail "dry run: exit $rc"; }
grep -q "would boot composefs image .*$digest.*signed by /CN=cfsroot development key" "$W/out" \
  || { cat "$W/out"; fail "dry run report"; }
assert_untouched dry-run
echo "ok: dry run reports the signed image and mounts nothing"

# No fs-verity on the host: the secure policy refuses, in a dry run too (an admin
# checking the next deployment learns that its store lacks fs-verity).
expect_refusal no-verity 15 store "has no fs-verity" "composefs=$digest" secure
expect_refusal no-verity-dry-run 15 store "has no fs-verity" "composefs=$digest" secure --dry-run

# --- 3. the refusal matrix --------------------------------------------------------
other=0000000000000000000000000000000000000000000000000000000000000000
expect_refusal wrong-digest 12 digest "but the kernel command line expects composefs=$other" \
  "composefs=$other cfsroot.image=/$img_rel" secure
for region in header:0 superblock:1024 inode:$off_inode xattr:$off_xattr directory:$off_dir; do
  name=${region%%:*} off=${region#*:}
  flip "$W/image.orig" "$W/flipped" "$off"
  put_image "$W/flipped"
  expect_refusal "bitflip-$name" 12 digest "expects composefs=$digest" "composefs=$digest cfsroot.image=/$img_rel" secure
  # Signed, but malformed (a broken build): the validator refuses before the kernel sees it.
  sign "$W/flipped" "$W/sysroot/$img_rel.sig"
  expect_refusal "signed-bitflip-$name" 14 image-invalid "is invalid" "cfsroot.image=/$img_rel" secure
  restore
done
head -c 6000 "$W/image.orig" >"$W/truncated"
put_image "$W/truncated"
expect_refusal truncated 12 digest "expects composefs=$digest" "composefs=$digest cfsroot.image=/$img_rel" secure
sign "$W/truncated" "$W/sysroot/$img_rel.sig"
expect_refusal signed-truncated 14 image-invalid "is invalid" "cfsroot.image=/$img_rel" secure
restore

rm "$W/sysroot/$img_rel"
expect_refusal missing-image 11 image-missing "$img_rel" "composefs=$digest" secure
restore
expect_refusal no-image-named 11 image-missing "no image to boot" "quiet" secure

cp "$W/good.sig" "$W/badsig"
flip "$W/good.sig" "$W/sysroot/$img_rel.sig" 200
expect_refusal bad-signature 13 signature "signature" "composefs=$digest" secure
"$cfsroot" sign --key "$W/otherkeys/cfsroot-dev.key.pem" --cert "$W/otherkeys/cfsroot-dev.crt.pem" \
  "$W/image.orig" "$W/sysroot/$img_rel.sig" >/dev/null
expect_refusal untrusted-key 13 signature "signature" "composefs=$digest" secure
restore
expect_refusal revoked-key 13 signature "signing key (/CN=cfsroot development key (DO NOT SHIP)) is revoked" \
  "composefs=$digest" revoked-key
expect_refusal revoked-image 13 signature "digest $digest is revoked" "composefs=$digest" revoked-image
expect_refusal old-generation 13 signature "security generation 3 is below the minimum 4" \
  "composefs=$digest" generation
rm "$W/sysroot/$img_rel.sig"
expect_refusal unsigned 13 signature "the policy requires a signature, but" "composefs=$digest" secure
expect_refusal unsigned-no-digest 13 signature "nothing vouches for it" "cfsroot.image=/$img_rel" cmdline-only
restore

expect_refusal downgrade-signature 10 policy "cfsroot.require-signature=0" \
  "composefs=$digest cfsroot.require-signature=0" secure
expect_refusal downgrade-verity 10 policy "cfsroot.allow-unverified-objects=1" \
  "composefs=$digest cfsroot.allow-unverified-objects=1" secure
expect_refusal downgrade-emergency 10 policy "cfsroot.failure=emergency" \
  "composefs=$digest cfsroot.failure=emergency" secure
expect_refusal downgrade-tpm 10 policy "cfsroot.require-tpm=0" \
  "composefs=$digest cfsroot.require-tpm=0" tpm
expect_refusal malformed-cmdline 10 policy "composefs=" "composefs=xyz" secure
expect_refusal malformed-policy 10 policy "Frobnicate" "composefs=$digest" malformed
expect_refusal bad-policy-value 10 policy "maybe" "composefs=$digest" badvalue

mv "$W/sysroot/composefs/objects" "$W/sysroot/composefs/objects.away"
expect_refusal missing-store 15 store "composefs/objects" "composefs=$digest" insecure
mv "$W/sysroot/composefs/objects.away" "$W/sysroot/composefs/objects"

# The command-line-only policy boots an unsigned image when the digest matches (dry run).
rm "$W/sysroot/$img_rel.sig"
run_setup "composefs=$digest" cmdline-only --dry-run
[ "$rc" -eq 0 ] && grep -q "would boot .*command-line digest" "$W/out" \
  || { cat "$W/out"; fail "command-line digest policy"; }
restore
# --- 4. TPM-sealed boot policy (swtpm) ----------------------------------------------
mkdir -p "$W/tpm"
swtpm socket --tpm2 --tpmstate dir="$W/tpm" --server type=unixio,path="$W/tpm/sock" \
  --ctrl type=unixio,path="$W/tpm/sock.ctrl" --flags not-need-init,startup-clear >"$W/tpm/log" 2>&1 &
swtpm_pid=$!
trap 'kill $swtpm_pid 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 100); do [ -S "$W/tpm/sock" ] && break; sleep 0.05; done
tcti="swtpm:path=$W/tpm/sock"
export TPM2TOOLS_TCTI=$tcti
"$cfsroot" seal --tcti "$tcti" --pcrs 7 --digest "$digest" "$W/sysroot/composefs/tpm-policy.blob" \
  >/dev/null 2>&1 || fail "cfsroot seal"
"$cfsroot" seal --tcti "$tcti" --pcrs 7 --digest "$other" "$W/other.blob" >/dev/null 2>&1
tpm_lines=("RequireSignature=no" "RequireTPMPolicy=yes" "AllowObjectsWithoutVerity=yes" "[TPM]" "Device=$tcti")
policy tpm-only "${tpm_lines[@]}" "MeasurePCR=13"
policy tpm-signed "RequireTPMPolicy=yes" "AllowObjectsWithoutVerity=yes" "[TPM]" "Device=$tcti" "MeasurePCR=no"

# allowed by the sealed digest list (no signature): boots, measured into PCR 13
rm "$W/sysroot/$img_rel.sig"
pcr13_before=$(tpm2_pcrread sha256:13 | awk '/13 *:/ {print $2}')
rm -f "$W/booted"
CFSROOT_TPM_EVENT_LOG=$W/tpm-measure.log run_setup "cfsroot.image=/$img_rel" tpm-only
[ "$rc" -eq 0 ] || { cat "$W/out"; fail "TPM policy boot: exit $rc"; }
grep -q "booted composefs image .*$digest, TPM policy" "$W/out" || { cat "$W/out"; fail "TPM boot line"; }
grep -qx "mode=tpm-policy" "$W/booted" || fail "boot record mode"
pcr13_after=$(tpm2_pcrread sha256:13 | awk '/13 *:/ {print $2}')
[[ $pcr13_after =~ ^0x[0-9A-Fa-f]{64}$ ]] || fail "cannot read PCR 13 ('$pcr13_after')"
[ "$pcr13_before" != "$pcr13_after" ] || fail "PCR 13 was not extended"
grep -q "cfsroot:v1:image=$digest:mode=tpm-policy" "$W/tpm-measure.log" || { cat "$W/tpm-measure.log"; fail "event record"; }
# the boot record (for `cfsroot status`) names the sealed policy and the measurement
grep -qx "tpm_policy=allowed" "$W/booted" && grep -qx "measured_pcr=13" "$W/booted" &&
  grep -qx "measurement=cfsroot:v1:image=$digest:mode=tpm-policy:signer=none" "$W/booted" ||
  { cat "$W/booted"; fail "boot record: TPM policy and measurement"; }
umount -R "$W/sysroot"
mount -o loop "$W/phys.img" "$W/sysroot"
rm -f "$W/booted"
echo "ok: TPM policy: boots the sealed digest, measured into PCR 13 with an event record"

# signed and allowed by the TPM policy: dry run names both
restore
run_setup "cfsroot.image=/$img_rel" tpm-signed --dry-run
[ "$rc" -eq 0 ] && grep -q "signed by .*, allowed by the TPM policy" "$W/out" || { cat "$W/out"; fail "signed + TPM"; }

# the creation record required: a blob from this cfsroot boots, one without the record not
policy tpm-creation "${tpm_lines[@]}" "MeasurePCR=no" "RequireCreationTicket=yes"
run_setup "cfsroot.image=/$img_rel" tpm-creation --dry-run
[ "$rc" -eq 0 ] || { cat "$W/out"; fail "RequireCreationTicket=yes with a new blob"; }
cp "$W/sysroot/composefs/tpm-policy.blob" "$W/good.blob"
python3 "$srcdir/tests/tpm/blobtool.py" strip-creation "$W/good.blob" "$W/sysroot/composefs/tpm-policy.blob"
expect_refusal tpm-no-creation-record 17 tpm "without a creation record" "cfsroot.image=/$img_rel" tpm-creation
run_setup "cfsroot.image=/$img_rel" tpm-signed --dry-run
[ "$rc" -eq 0 ] || { cat "$W/out"; fail "a blob without a creation record, not required"; }
cp "$W/other.blob" "$W/sysroot/composefs/tpm-policy.blob"
rm "$W/sysroot/$img_rel.sig"
expect_refusal tpm-digest-not-allowed 17 tpm "$digest" "cfsroot.image=/$img_rel" tpm-only
head -c 40 "$W/good.blob" >"$W/sysroot/composefs/tpm-policy.blob"
expect_refusal tpm-blob-malformed 17 tpm "tpm-policy.blob" "cfsroot.image=/$img_rel" tpm-only
rm "$W/sysroot/composefs/tpm-policy.blob"
expect_refusal tpm-blob-missing 17 tpm "tpm-policy.blob" "cfsroot.image=/$img_rel" tpm-only
cp "$W/good.blob" "$W/sysroot/composefs/tpm-policy.blob"
# PolicyAuthorize (blob version 2): sealed once to the owner's key, PCR 7 values approved by signature
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/owner.pem" 2>/dev/null
openssl pkey -in "$W/owner.pem" -pubout -out "$W/owner.pub"
"$cfsroot" seal --tcti "$tcti" --public-key "$W/owner.pub" --digest "$digest" \
  "$W/sysroot/composefs/tpm-auth.blob" >/dev/null 2>&1 || fail "cfsroot seal --public-key"
"$cfsroot" seal-approve --tcti "$tcti" --private-key "$W/owner.pem" \
  "$W/sysroot/composefs/tpm-auth.approvals" >/dev/null 2>&1 || fail "cfsroot seal-approve"
policy tpm-auth "${tpm_lines[@]}" "MeasurePCR=no" "PolicyBlob=/composefs/tpm-auth.blob" \
  "PolicyApprovals=/composefs/tpm-auth.approvals"
run_setup "cfsroot.image=/$img_rel" tpm-auth --dry-run
[ "$rc" -eq 0 ] && grep -q "would boot .*$digest, TPM policy" "$W/out" || { cat "$W/out"; fail "PolicyAuthorize boot"; }
echo "ok: PolicyAuthorize: boots with an approval of the current PCR 7"
tpm2_pcrextend 7:sha256=0000000000000000000000000000000000000000000000000000000000000001
expect_refusal tpm-pcr-changed 17 tpm "PCR 7 changed" "cfsroot.image=/$img_rel" tpm-only
expect_refusal tpm-auth-not-approved 17 tpm \
  "PCR 7 value not approved by any signed policy in composefs/tpm-auth.approvals" "cfsroot.image=/$img_rel" tpm-auth
"$cfsroot" seal-approve --tcti "$tcti" --append --private-key "$W/owner.pem" \
  "$W/sysroot/composefs/tpm-auth.approvals" >/dev/null 2>&1 || fail "cfsroot seal-approve --append"
run_setup "cfsroot.image=/$img_rel" tpm-auth --dry-run
[ "$rc" -eq 0 ] && grep -q "would boot .*$digest, TPM policy" "$W/out" || { cat "$W/out"; fail "PolicyAuthorize re-approved"; }
echo "ok: PolicyAuthorize: PCR 7 changed, a new approval boots the same blob again"
mv "$W/sysroot/composefs/tpm-auth.approvals" "$W/tpm-auth.approvals"
expect_refusal tpm-auth-approvals-missing 17 tpm "signed PCR approvals composefs/tpm-auth.approvals" \
  "cfsroot.image=/$img_rel" tpm-auth
# anti-rollback floor: required but not defined, defined at 0, raised above the image's generation 3
restore
policy rollback "AllowObjectsWithoutVerity=yes" "[TPM]" "Device=$tcti" "MeasurePCR=no" "AntiRollback=required"
expect_refusal rollback-index-missing 17 tpm "anti-rollback" "composefs=$digest" rollback --dry-run
"$cfsroot" rollback init --tcti "$tcti" >/dev/null 2>&1 || fail "cfsroot rollback init"
run_setup "composefs=$digest" rollback --dry-run
[ "$rc" -eq 0 ] || { cat "$W/out"; fail "rollback floor 0: exit $rc"; }
tpm2_nvsetbits -C o -i 0x8 0x01800cf5 # generation 3 may boot: floor 4
expect_refusal rollback-old-generation 17 tpm "image generation 3 is below the TPM's minimum 4" \
  "composefs=$digest" rollback --dry-run
kill $swtpm_pid; wait $swtpm_pid 2>/dev/null || true
expect_refusal tpm-missing 17 tpm "no TPM" "cfsroot.image=/$img_rel" tpm-only

echo "PASS: setup-root: boot + $npass refusals"

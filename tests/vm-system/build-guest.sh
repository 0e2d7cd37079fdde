#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm-system/build-guest.sh - the Tier B VM guest: a Debian trixie system
# whose root is a signed composefs image, booted through a systemd + dracut
# initrd with the cfsroot module (host side, root).
#
#   build-guest.sh [--tpm] BUILD_DIR      prints the guest directory
#
# The guest directory ($CFSROOT_CACHE/vm-system/guest-<key>/) holds
#   vmlinuz, initrd.img   trixie's cloud kernel and the dracut initrd made in the chroot
#   disk.img              ext4 (4 KiB blocks, verity feature): the OS tree itself (so a
#                         boot without composefs= still works, as before cfsroot) plus
#                         /composefs/{objects,images/<digest>,images/<digest>.sig},
#                         fs-verity enabled on every object and the image
#   digest, kver, key/    image digest, kernel release, the development signing key
# Steps: the cached base system (build-base.sh); `meson install --destdir` of
# BUILD_DIR into it (the host-built binaries: trixie has the same sonames and a
# newer glibc); policy + trusted certificate; the report service of the tests;
# dracut in the chroot; `cfsroot mkimage --store` of the OS tree, `cfsroot
# sign`; mkfs.ext4 -d; then a provisioning boot of the Tier A busybox
# initramfs that runs `fsverity enable` on every object and the image (the
# host kernel has no fs-verity). key = hash of the base, the installed files,
# the signing key and these scripts: a rebuilt cfsroot makes a new guest.
# Guests unused for a day are deleted.
#
# --tpm: the TPM guest (guest-tpm-<key>/, issue 6). Its policy requires the
# TPM-sealed boot policy, measures into PCR 13 and requires the anti-rollback
# floor ([TPM] section), so the dracut module installs the TPM pieces (checked
# with lsinitrd; the plain guest's initrd must have none). Three signed images
# of trees that differ in /usr/lib/cfsroot-vmsys-slot: A (generation 3, the
# default digest), B (generation 2, the fallback slot, images/), O (generation
# 1, retired: /composefs/retired/, not a kept deployment); digest-b, digest-o
# name them. cfsroot-mark-good.service is enabled by cfsroot's preset, a test
# health check (cfsroot-vmsys-health.service, RequiredBy=boot-complete.target)
# fails while the command line has cfsroot_vmsys.health=fail and
# /run/cfsroot-vmsys-healthy does not exist, and the report service runs
# guest-report-tpm.sh. The provisioning boot has a TPM (swtpm state in tpm/):
# it seals the boot policy and runs `rollback init` (provision.guest.sh);
# every TPM test boot starts from a copy of tpm/.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vm_require mkfs.ext4:e2fsprogs meson:meson zstd:zstd unshare:util-linux chroot:coreutils
[ "$(id -u)" -eq 0 ] || vm_die "needs root (debootstrap, chroot, mount namespaces)"

FLAVOR=plain
if [ "${1:-}" = --tpm ]; then
        FLAVOR=tpm
        shift
fi
[ $# -eq 1 ] || vm_die "usage: build-guest.sh [--tpm] BUILD_DIR"
build=$(readlink -f "$1")
[ -x "$build/tools/cfsroot" ] || vm_die "$build: no tools/cfsroot (not a built cfsroot build directory)"
CFSROOT=$build/tools/cfsroot
export CFSROOT

DRACUT_MODULES="systemd systemd-initrd dracut-systemd base fs-lib rootfs-block kernel-modules udev-rules shutdown cfsroot"
DRACUT_DRIVERS="virtio_blk virtio_pci ext4 erofs overlay loop"

# The signing key of the demo guest, made once (keys/make-dev-key.sh) and kept.
dev_key() {
        local d=$VMSYS_CACHE/key
        if [ ! -f "$d/cfsroot-dev.crt.pem" ]; then
                "$VMSYS_DIR/../../keys/make-dev-key.sh" --cn "cfsroot demo release key" "$d" >/dev/null ||
                        vm_die "keys/make-dev-key.sh failed"
        fi
        echo "$d"
}

# What goes into the OS tree besides the base: cfsroot's install, the policy,
# the test report service. Written into ROOT.
install_cfsroot() {
        local root=$1 dest=$2 key=$3
        tar -C "$dest" -c . | tar -C "$root" -x --keep-directory-symlink --no-same-owner
        mkdir -p "$root/etc/cfsroot/trusted.d"
        cp "$key/cfsroot-dev.crt.pem" "$root/etc/cfsroot/trusted.d/cfsroot-demo.crt.pem"
        if [ "$FLAVOR" = tpm ]; then
                install_tpm_policy "$root"
        else
                cat >"$root/etc/cfsroot/policy.conf" <<'POLICY'
# cfsroot boot policy of the Tier B test / demo guest (cfsroot(1) POLICY FILE).
# Required=no: a boot without composefs= on the command line uses the plain
# root as before. A composefs boot needs an image signed by a trusted key.
[Boot]
ObjectStore=/composefs
[Trust]
RequireSignature=yes
TrustedCertificates=/etc/cfsroot/trusted.d
[Failure]
Action=poweroff
[State]
Etc=overlay
Var=bind
POLICY
        fi
        install -D -m 0755 "$VMSYS_DIR/guest-report.sh" "$root/usr/local/libexec/cfsroot-vmsys-report"
        cat >"$root/etc/systemd/system/cfsroot-vmsys-report.service" <<'UNIT'
# Tier B tests (tests/vm-system): print what the booted system sees on the
# serial console, then power off.
[Unit]
Description=cfsroot VM test: report the booted root and power off
After=multi-user.target cfsroot-status.service cfsroot-mark-good.service
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=/usr/local/libexec/cfsroot-vmsys-report
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
TTYReset=no
TTYVHangup=no

[Install]
WantedBy=multi-user.target
UNIT
        # the preset shipped by cfsroot enables cfsroot-status.service
        chroot "$root" systemctl preset cfsroot-status.service >/dev/null 2>&1 ||
                vm_die "systemctl preset cfsroot-status.service failed in the chroot"
        chroot "$root" systemctl enable cfsroot-vmsys-report.service >/dev/null 2>&1 ||
                vm_die "systemctl enable cfsroot-vmsys-report.service failed in the chroot"
        [ "$FLAVOR" = tpm ] && install_tpm_test_units "$root"
        # no login prompt on the console: the report service ends every boot
        chroot "$root" systemctl mask serial-getty@ttyS0.service getty@tty1.service >/dev/null 2>&1 || true
        # composefs root: read-only, nothing to remount; /etc and /var come from setup-root
        printf '# / is mounted in the initrd (cfsroot setup-root); nothing to mount or remount here\n' \
                >"$root/etc/fstab"
        echo cfsroot-demo >"$root/etc/hostname"
        mkdir -p "$root/sysroot"
}

# The TPM guest's policy: signature and TPM-sealed policy required, PCR 13
# measured, anti-rollback floor required.
install_tpm_policy() {
        cat >"$1/etc/cfsroot/policy.conf" <<'POLICY'
# cfsroot boot policy of the Tier B TPM test guest (cfsroot(1) POLICY FILE).
# A composefs boot needs an image signed by a trusted key AND allowed by the
# boot policy sealed in the TPM (/composefs/tpm-policy.blob, sealed to PCR 7),
# whose security generation is not below the TPM's anti-rollback floor; the
# booted image is measured into PCR 13.
[Boot]
ObjectStore=/composefs
[Trust]
RequireSignature=yes
RequireTPMPolicy=yes
TrustedCertificates=/etc/cfsroot/trusted.d
[Failure]
Action=poweroff
[State]
Etc=overlay
Var=bind
[TPM]
Device=device:/dev/tpmrm0
PolicyBlob=/composefs/tpm-policy.blob
MeasurePCR=13
AntiRollback=required
POLICY
}

# The TPM guest's test pieces: cfsroot-mark-good.service through cfsroot's
# preset, the health check it depends on, the TPM part of the report.
install_tpm_test_units() {
        local root=$1
        install -D -m 0755 "$VMSYS_DIR/guest-report-tpm.sh" "$root/usr/local/libexec/cfsroot-vmsys-tpm-report"
        cat >"$root/usr/local/libexec/cfsroot-vmsys-health" <<'HEALTH'
#!/bin/sh
# Tier B TPM tests: a vendor's health check, as cfsroot-mark-good.service(8)
# expects one. Fails while the kernel command line has cfsroot_vmsys.health=fail
# and /run/cfsroot-vmsys-healthy does not exist.
if grep -qw 'cfsroot_vmsys.health=fail' /proc/cmdline && [ ! -e /run/cfsroot-vmsys-healthy ]; then
        echo "CFSROOT-VMSYS-HEALTH: fail"
        exit 1
fi
echo "CFSROOT-VMSYS-HEALTH: ok"
HEALTH
        chmod 0755 "$root/usr/local/libexec/cfsroot-vmsys-health"
        cat >"$root/etc/systemd/system/cfsroot-vmsys-health.service" <<'UNIT'
# Tier B TPM tests: a health check in the style of systemd's Automatic Boot
# Assessment; cfsroot-mark-good.service runs only when it succeeded.
[Unit]
Description=cfsroot VM test: health check
Before=boot-complete.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/libexec/cfsroot-vmsys-health
StandardOutput=tty
TTYPath=/dev/console
TTYReset=no
TTYVHangup=no

[Install]
RequiredBy=boot-complete.target
UNIT
        chroot "$root" systemctl preset cfsroot-mark-good.service >/dev/null 2>&1 ||
                vm_die "systemctl preset cfsroot-mark-good.service failed in the chroot"
        [ -L "$root/etc/systemd/system/multi-user.target.wants/cfsroot-mark-good.service" ] ||
                vm_die "cfsroot's preset did not enable cfsroot-mark-good.service"
        chroot "$root" systemctl enable cfsroot-vmsys-health.service >/dev/null 2>&1 ||
                vm_die "systemctl enable cfsroot-vmsys-health.service failed in the chroot"
        echo A >"$root/usr/lib/cfsroot-vmsys-slot"
}

# dracut in the chroot, in a private mount namespace with /proc, /sys, /dev.
make_initrd() {
        local root=$1 kver=$2
        # shellcheck disable=SC2016 # expanded by the inner shell
        unshare -m --propagation private bash -euo pipefail -c '
                root=$1 kver=$2 mods=$3 drivers=$4
                mount -t proc proc "$root/proc"
                mount --rbind /sys "$root/sys"
                mount --rbind /dev "$root/dev"
                chroot "$root" dracut --quiet --force --no-hostonly --no-compress \
                        -m "$mods" --drivers "$drivers" /boot/initrd.img "$kver"
        ' _ "$root" "$kver" "$DRACUT_MODULES" "$DRACUT_DRIVERS" >"$root.dracut.log" 2>&1 || {
                cat "$root.dracut.log" >&2
                vm_die "dracut failed in the chroot"
        }
        rm -f "$root.dracut.log"
        # the module must really be in it
        local list
        list=$(chroot "$root" lsinitrd /boot/initrd.img 2>/dev/null) || vm_die "lsinitrd failed"
        case $list in
        *usr/lib/systemd/system-generators/cfsroot-generator*) ;;
        *) vm_die "the initrd has no cfsroot-generator (dracut module cfsroot not included?)" ;;
        esac
        # the TPM pieces only when the policy uses the TPM (initrd/90cfsroot):
        # the TCTI library tpm2-tss dlopen()s (ldd does not list it)
        case $FLAVOR:$list in
        tpm:*libtss2-tcti-device.so*) ;;
        tpm:*) vm_die "the TPM guest's initrd has no libtss2-tcti-device (dracut module cfsroot)" ;;
        plain:*libtss2-tcti-device.so*) vm_die "the plain guest's initrd has libtss2-tcti-device, its policy uses no TPM" ;;
        esac
}

# mkimage --store of ROOT into STORE, signed: prints the digest. Image at DIR/<digest>.
make_image() {
        local root=$1 store=$2 dir=$3 key=$4 version=$5 generation=$6 digest img
        mkdir -p "$dir"
        digest=$("$CFSROOT" mkimage --quiet --print-digest --store "$store" "$root" "$dir/.new") ||
                vm_die "cfsroot mkimage failed"
        digest=${digest#sha256:}
        digest=${digest%% *}
        [[ $digest =~ ^[0-9a-f]{64}$ ]] || vm_die "mkimage printed no digest"
        img=$dir/$digest
        mv "$dir/.new" "$img"
        "$CFSROOT" sign --key "$key/cfsroot-dev.key.pem" --cert "$key/cfsroot-dev.crt.pem" \
                --name cfsroot-demo --version "$version" ${generation:+--generation "$generation"} \
                "$img" "$img.sig" >/dev/null || vm_die "cfsroot sign failed"
        echo "$digest"
}

build() {
        local base=$1 dest=$2 key=$3 out=$4 work root kver digest t0=$SECONDS
        work=$(mktemp -d "$VMSYS_CACHE/.guest.XXXXXX")
        # shellcheck disable=SC2064
        trap "rm -rf '$work'" EXIT
        root=$work/root
        mkdir -p "$root"
        zstd -q -dc "$base" | tar -C "$root" -x --numeric-owner --xattrs --xattrs-include='*' --acls
        install_cfsroot "$root" "$dest" "$key"
        kver=$(ls "$root/usr/lib/modules")
        [ -f "$root/boot/vmlinuz-$kver" ] || vm_die "no kernel in the base ($kver)"
        make_initrd "$root" "$kver"
        mv "$root/boot/vmlinuz-$kver" "$work/vmlinuz"
        mv "$root/boot/initrd.img" "$work/initrd.img"
        rm -rf "${root:?}/boot/"* "$root"/vmlinuz* "$root"/initrd.img*
        echo "$kver" >"$work/kver"
        vm_log "guest: OS tree and initrd ready ($((SECONDS - t0)) s)"

        # the OS tree -> object store + signed image; the store then goes into
        # the tree, which becomes the physical root file system
        if [ "$FLAVOR" = tpm ]; then
                # slots B and O first (their trees differ in one file), A last:
                # the OS tree on the disk is A's
                echo B >"$root/usr/lib/cfsroot-vmsys-slot"
                make_image "$root" "$work/composefs" "$work/composefs/images" "$key" 2.0 2 >"$work/digest-b"
                echo O >"$root/usr/lib/cfsroot-vmsys-slot"
                make_image "$root" "$work/composefs" "$work/composefs/retired" "$key" 1.0 1 >"$work/digest-o"
                echo A >"$root/usr/lib/cfsroot-vmsys-slot"
                digest=$(make_image "$root" "$work/composefs" "$work/composefs/images" "$key" 3.0 3)
        else
                digest=$(make_image "$root" "$work/composefs" "$work/composefs/images" "$key" 1 "")
        fi
        echo "$digest" >"$work/digest"
        mv "$work/composefs" "$root/composefs"
        "$VM_DIR/make-disk.sh" "$root" "$work/disk.img"
        vm_log "guest: image $digest, disk $(du -h --apparent-size "$work/disk.img" | cut -f1) ($((SECONDS - t0)) s)"
        rm -rf "$root"

        # fs-verity on every object and the image, in a Tier A guest
        local kdir initramfs stage
        kdir=$("$VM_DIR/fetch-kernel.sh")
        initramfs=$("$VM_DIR/build-initramfs.sh" base "$CFSROOT" "$kdir")
        stage=$work/provision
        mkdir -p "$stage"
        install -m 0755 "$VMSYS_DIR/provision.guest.sh" "$stage/test.sh"
        ${CC:-cc} -static -O2 -std=gnu11 -Wall -Wextra -o "$stage/vmsys-verity-enable" \
                "$VMSYS_DIR/verity-enable.c" || vm_die "cannot build verity-enable.c (static)"
        echo "IMAGE_DIGEST=$digest" >"$stage/test.env"
        local tpmopt=()
        if [ "$FLAVOR" = tpm ]; then
                echo "TPM_PROVISION=1" >>"$stage/test.env"
                tpmopt=(--tpm "$work/tpm")
        fi
        "$VM_DIR/build-initramfs.sh" test "$initramfs" "$stage" "$work/provision.cpio"
        "$VM_DIR/run-qemu.sh" --timeout "${CFSROOT_VMSYS_PROVISION_TIMEOUT:-900}" \
                --log "$work/provision.log" --disk "$work/disk.img" "${tpmopt[@]}" \
                "$kdir/vmlinuz" "$work/provision.cpio" || vm_die "provisioning boot failed"
        if [ "$FLAVOR" = tpm ]; then
                [ -s "$work/tpm/tpm2-00.permall" ] || vm_die "the provisioning swtpm left no state"
                rm -f "$work/tpm/sock" "$work/tpm/swtpm.log"
                # the PCR 7 value the policy was sealed to
                tr -d '\r' <"$work/provision.log" | sed -n 's/^note: PCR 7 at sealing: //p' |
                        tr 'A-F' 'a-f' >"$work/pcr7"
                [[ $(cat "$work/pcr7") =~ ^[0-9a-f]{64}$ ]] || vm_die "the provisioning boot printed no PCR 7 value"
        fi
        # the disk must be clean (no journal to replay): tests change it with debugfs
        e2fsck -f -n "$work/disk.img" >"$work/fsck.log" 2>&1 || {
                cat "$work/fsck.log" >&2
                vm_die "the provisioned disk is not clean"
        }
        rm -f "$work/fsck.log"
        grep -a '^note: fs-verity enabled\|^ok: sealed' "$work/provision.log" | tr -d '\r' | sed 's/^/vm: guest: /' >&2 || true
        rm -rf "$stage" "$work/provision.cpio" "$work/provision.log" "$work/provision.log.qemu"
        cp -r "$key" "$work/key"
        trap - EXIT
        rm -rf "$out"
        mv "$work" "$out"
        vm_log "guest: built $out ($((SECONDS - t0)) s)"
}

build_if_missing() {
        [ -f "$4/disk.img" ] || build "$@"
}

base=$("$VMSYS_DIR/build-base.sh")
key=$(dev_key)
dest=$(mktemp -d "${TMPDIR:-/var/tmp}/cfsroot-vmsys-dest.XXXXXX")
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >/dev/null ||
        vm_die "meson install --destdir failed"
# shellcheck disable=SC2046 # one file per word
gkey=$(vm_hash "$(basename "$base")" "$key/cfsroot-dev.crt.pem" $(find "$dest" -type f | LC_ALL=C sort) \
        "$(cd "$dest" && find . | LC_ALL=C sort)" "$0" "$VMSYS_DIR/guest-report.sh" \
        "$VMSYS_DIR/provision.guest.sh" "$VMSYS_DIR/verity-enable.c" \
        $([ "$FLAVOR" = tpm ] && echo "$VMSYS_DIR/guest-report-tpm.sh" "$VM_DIR/guest-lib.sh"))
if [ "$FLAVOR" = tpm ]; then
        out=$VMSYS_CACHE/guest-tpm-$gkey
else
        out=$VMSYS_CACHE/guest-$gkey
fi
vm_locked vmsys-guest build_if_missing "$base" "$dest" "$key" "$out"
touch "$out"
find "$VMSYS_CACHE" -maxdepth 1 -name 'guest-*' -type d -mtime +0 -exec rm -rf {} + 2>/dev/null || true
echo "$out"

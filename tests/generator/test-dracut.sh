#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-dracut.sh - host (root not needed): build a real initrd with dracut and
# the configured 90cfsroot module (pointed at the build tree and a test
# /etc/cfsroot) and check what lands in it: cfsroot at the installed bindir
# with its libraries, the generator in the systemd generator directory, the
# unit, policy.conf, trusted.d/, the revocation list the policy names. A
# malformed policy must fail the initrd build. `--no-kernel`: the host has no
# kernel modules, so installkernel (erofs overlay loop) is left to the VM tests.
# Exit 77 (meson: SKIP, never a pass) when dracut is not installed.
#
# Usage: test-dracut.sh MODULE_SETUP_SH CFSROOT GENERATOR UNITS_BUILD_DIR BINDIR
set -euo pipefail
module=$1 cfsroot=$2 gen=$3 unitsdir=$4 bindir=$5
command -v dracut >/dev/null || { echo "dracut not installed: SKIP"; exit 77; }
base=/usr/lib/dracut
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cfsroot=$(readlink -f "$cfsroot") gen=$(readlink -f "$gen") unitsdir=$(readlink -f "$unitsdir")

# dracut with our module added: a symlink copy of dracut's base directory
cp -as "$base" "$work/dracut"
mkdir -p "$work/dracut/modules.d/90cfsroot"
sed -e "s|^cfsroot_bin=.*|cfsroot_bin=$cfsroot|" \
    -e "s|^cfsroot_generator=.*|cfsroot_generator=$gen|" \
    -e "s|^cfsroot_unitdir=.*|cfsroot_unitdir=$unitsdir|" \
    -e "s|^cfsroot_confdir=.*|cfsroot_confdir=$work/etc-cfsroot|" \
    "$module" > "$work/dracut/modules.d/90cfsroot/module-setup.sh"
chmod +x "$work/dracut/modules.d/90cfsroot/module-setup.sh"

mkdir -p "$work/etc-cfsroot/trusted.d" "$work/conf.d" "$work/gen"
cat > "$work/etc-cfsroot/policy.conf" <<EOP
[Boot]
Required=yes
[Trust]
RequireSignature=yes
RevokedList=/etc/cfsroot/revoked.list
[Failure]
Action=reboot
EOP
echo "# test certificate" > "$work/etc-cfsroot/trusted.d/release.pem"
echo "# nothing revoked" > "$work/etc-cfsroot/revoked.list"

build() {
    dracutbasedir=$work/dracut dracut --no-kernel --no-compress --no-early-microcode \
        --no-hostonly --no-hostonly-cmdline --quiet --force --tmpdir "$work" \
        --conf /dev/null --confdir "$work/conf.d" \
        -m "base systemd systemd-initrd cfsroot" "$work/initrd.img" > "$work/dracut.log" 2>&1
}
fail=0
if ! build; then
    echo "FAIL: dracut with the cfsroot module failed:"; cat "$work/dracut.log"; exit 1
fi
(cd "$work" && mkdir x && cd x && cpio -id --quiet < ../initrd.img)
root=$work/x
want() {
    local p
    for p in "$@"; do
        if [ -e "$root/$p" ] || [ -L "$root/$p" ]; then echo "ok   $p"; return 0; fi
    done
    echo "FAIL: none of $* in the initrd"; fail=1
}
want "${bindir#/}/cfsroot"
want usr/lib/systemd/system-generators/cfsroot-generator lib/systemd/system-generators/cfsroot-generator
want usr/lib/systemd/system/cfsroot-setup.service lib/systemd/system/cfsroot-setup.service
want etc/cfsroot/policy.conf
want etc/cfsroot/trusted.d/release.pem
want etc/cfsroot/revoked.list
want etc/initrd-release
[ -x "$root/${bindir#/}/cfsroot" ] || { echo "FAIL: cfsroot not executable in the initrd"; fail=1; }
for lib in $(ldd "$cfsroot" | awk '/=> \//{print $1}'); do
    if [ -z "$(find "$root" -name "$lib" -print -quit)" ]; then
        echo "FAIL: library $lib of cfsroot missing"; fail=1
    fi
done
# the generator in the initrd must run there and see the initrd's policy
out=$(SYSTEMD_IN_INITRD=1 SYSTEMD_PROC_CMDLINE='root=/dev/vda' SYSTEMD_LOG_TARGET=console \
      CFSROOT_POLICY="$root/etc/cfsroot/policy.conf" "$gen" "$work/gen" 2>&1) || true
case $out in
*"REFUSING TO BOOT: the boot policy requires a composefs root"*) echo "ok   generator with the initrd's policy" ;;
*) echo "FAIL: generator with the initrd's policy said: $out"; fail=1 ;;
esac

# no TPM in the policy: no TPM pieces in the initrd
if [ -n "$(find "$root" -name 'libtss2-tcti-device.so*' -print -quit)" ]; then
    echo "FAIL: TCTI device library installed although the policy does not use the TPM"; fail=1
else
    echo "ok   no TPM pieces without a TPM policy"
fi
# a policy with a [TPM] section: the TCTI library tpm2-tss loads at run time is there
cp "$work/etc-cfsroot/policy.conf" "$work/policy.notpm"
printf '[TPM]\nMeasurePCR=13\n' >> "$work/etc-cfsroot/policy.conf"
rm -rf "$work/initrd.img" "$work/x"
if ! build; then
    echo "FAIL: dracut with a TPM policy failed:"; cat "$work/dracut.log"; exit 1
fi
(cd "$work" && mkdir x && cd x && cpio -id --quiet < ../initrd.img)
if [ -n "$(find "$root" -name 'libtss2-tcti-device.so*' -print -quit)" ]; then
    echo "ok   TPM policy: TCTI device library installed"
else
    echo "FAIL: TPM policy: libtss2-tcti-device missing from the initrd"; fail=1
fi
cp "$work/policy.notpm" "$work/etc-cfsroot/policy.conf"

sed -i 's/^RequireSignature=yes/RequireSignature=perhaps/' "$work/etc-cfsroot/policy.conf"
rm -f "$work/initrd.img"
if build || [ -e "$work/initrd.img" ]; then
    echo "FAIL: dracut accepted a malformed policy"; fail=1
elif grep -q "RequireSignature=perhaps: expected yes or no" "$work/dracut.log"; then
    echo "ok   malformed policy fails the initrd build"
else
    echo "FAIL: malformed policy: dracut failed without the policy message:"; cat "$work/dracut.log"; fail=1
fi
# a revocation list the policy names but that does not exist
sed -i -e 's/^RequireSignature=perhaps/RequireSignature=yes/' -e 's|^RevokedList=.*|RevokedList=/etc/cfsroot/missing.list|' "$work/etc-cfsroot/policy.conf"
if build || [ -e "$work/initrd.img" ]; then
    echo "FAIL: dracut accepted a policy naming a missing revocation list"; fail=1
elif grep -q "RevokedList=/etc/cfsroot/missing.list, which does not exist" "$work/dracut.log"; then
    echo "ok   missing revocation list fails the initrd build"
else
    echo "FAIL: missing revocation list: dracut failed without the message:"; cat "$work/dracut.log"; fail=1
fi
exit "$fail"

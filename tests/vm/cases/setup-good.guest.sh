#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/setup-good.guest.sh - guest part (Tier A VM): with fs-verity on
# every object and the image, `cfsroot setup-root` verifies the image named by
# composefs= and mounts it on /sysroot: overlay with verity=require, files
# read back with the host's content, read-only, physical root kept below it.
. /vm-lib.sh

verity_enable_store
grep composefs= /proc/cmdline >/dev/null || fail "no composefs= on the kernel command line"
expect_exit 0 cfsroot setup-root
expect_output "$IMAGE_DIGEST"

cat /proc/mounts
line=$(awk '$2 == "/sysroot" && $3 == "overlay"' /proc/mounts | tail -n1)
[ -n "$line" ] || fail "no overlay mounted on /sysroot"
case ",$(echo "$line" | cut -d' ' -f4)," in
*,verity=require,*) ok "/sysroot is an overlay with verity=require" ;;
*) fail "overlay on /sysroot without verity=require: $line" ;;
esac

got=$(sha256sum </sysroot/usr/share/cfsroot-test/data | cut -d' ' -f1)
[ "$got" = "$DATA_SHA256" ] || fail "usr/share/cfsroot-test/data: sha256 $got, expected $DATA_SHA256"
ok "a file read through the verified overlay has the host's content"
[ "$(sh /sysroot/usr/bin/hello)" = "hello from the composefs root" ] || fail "usr/bin/hello does not run"
grep -q 'echo hello from the composefs root' /sysroot/usr/bin/hello || fail "usr/bin/hello content"
[ "$(cat /sysroot/usr/share/cfsroot-test/small)" = "small inline file" ] || fail "inline file content"
[ "$(readlink /sysroot/usr/bin/data-link)" = "../share/cfsroot-test/data" ] || fail "symlink target"
grep -q '^ID=cfsroot-vm$' /sysroot/etc/os-release || fail "etc/os-release content"
ok "object, inline file, symlink and /etc read as built"

if touch /sysroot/usr/new-file 2>/dev/null; then fail "could create a file in the composefs /usr"; fi
ok "the composefs tree is read-only"
echo changed >/sysroot/etc/hostname || fail "/etc is not writable (policy Etc=transient)"
[ "$(cat /sysroot/etc/hostname)" = changed ] || fail "a write to /etc did not stick"
grep -q ' /sysroot/etc overlay ' /proc/mounts || fail "no /etc overlay"
grep -q ' /sysroot/var tmpfs ' /proc/mounts || fail "no transient /var (policy Var=transient)"
ok "/etc is a writable overlay, /var a tmpfs"
[ -d /sysroot/sysroot/composefs/objects ] || fail "physical root not reachable at /sysroot/sysroot"
ok "physical root kept at /sysroot/sysroot"

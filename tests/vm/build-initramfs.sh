#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/build-initramfs.sh - the Tier A initramfs of the VM tests (host side).
#
#   build-initramfs.sh base CFSROOT_BIN KERNEL_DIR
#       Build (or reuse) the base cpio and print its path. It holds busybox
#       (static), the modules libcrc32c erofs overlay loop virtio_blk of the
#       guest kernel (decompressed .ko, loaded by /init in that order), the
#       cfsroot binary and Debian's fsverity tool with the libraries ldd lists
#       and the dynamic loader, the tpm2-tss TCTI modules that are dlopen()ed
#       and so not in ldd's list ($DLOPEN_LIBS, when cfsroot links
#       libtss2-tctildr), /init (guest-init.sh) and /vm-lib.sh
#       (guest-lib.sh). The TPM drivers (tpm_tis, tpm_crb) are built into the
#       trixie cloud kernel, so no module is needed for them. Cached in $CFSROOT_CACHE/vm/initramfs/base-<key>.cpio,
#       key = hash of every input (binaries, kernel release, scripts).
#   build-initramfs.sh test BASE_CPIO STAGE_DIR OUT
#       OUT = the base cpio followed by a small cpio of STAGE_DIR (the test's
#       /test.sh, /test.env and any other files); the kernel unpacks both.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MODULES="libcrc32c erofs overlay loop virtio_blk"
# dlopen()ed by libtss2-tctildr for Device=device:/dev/tpmrm0 (the TPM cases)
DLOPEN_LIBS="libtss2-tcti-device.so.0"

vm_require cpio:cpio busybox:busybox-static xz:xz-utils fsverity:fsverity ldd:libc-bin

# Copy BINARY to DEST/usr/bin/NAME, with every library ldd lists and the loader.
copy_with_libs() {
        local bin=$1 dest=$2 name=$3 lib
        install -D -m 0755 "$bin" "$dest/usr/bin/$name"
        for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
                [ -e "$dest$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$dest$lib"
        done
}

# The dlopen()ed libraries cfsroot needs, as paths on the host: each in the
# directory of cfsroot's libtss2-tctildr (the loader searches it), nothing when
# cfsroot does not link tpm2-tss.
dlopen_libs() {
        local dir lib
        dir=$(ldd "$1" | awk '$1 ~ /^libtss2-tctildr\.so/ && $3 ~ /^\// { print $3 }')
        [ -n "$dir" ] || return 0
        dir=$(dirname "$dir")
        for lib in $DLOPEN_LIBS; do
                [ -e "$dir/$lib" ] || vm_die "$dir/$lib missing (cfsroot dlopen()s it): install libtss2-tcti-device0"
                echo "$dir/$lib"
        done
}

# Copy the shared library LIB (path as the loader finds it) and what ldd lists for it.
copy_lib_with_libs() {
        local lib=$1 dest=$2 dep
        [ -e "$dest$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$dest$lib"
        for dep in $(ldd "$lib" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
                [ -e "$dest$dep" ] || install -D -m 0755 "$(readlink -f "$dep")" "$dest$dep"
        done
}

build_base() {
        local cfsroot=$1 kdir=$2 out=$3
        local kver root stage m path
        kver=$(cat "$kdir/kver")
        root=$kdir/root
        stage=$(mktemp -d "$VM_CACHE/initramfs/.stage.XXXXXX")
        # shellcheck disable=SC2064
        trap "rm -rf '$stage'" RETURN

        mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,sysroot,lib/modules,etc}
        if ldd "$(command -v busybox)" >/dev/null 2>&1; then
                vm_die "$(command -v busybox) is dynamically linked: install busybox-static"
        fi
        install -m 0755 "$(command -v busybox)" "$stage/bin/busybox"
        for m in $(busybox --list-full); do
                [ -e "$stage/$m" ] || ln -s /bin/busybox "$stage/$m"
        done

        # modules: decompressed, and every dependency must be in the list
        : >"$stage/lib/modules/load-order"
        for m in $MODULES; do
                path=$(awk -v m="$m" -F: '{ n = $1; sub(/.*\//, "", n); sub(/\.ko(\.xz|\.zst|\.gz)?$/, "", n); if (n == m) { print $1; exit } }' \
                        "$root/usr/lib/modules/$kver/modules.dep")
                [ -n "$path" ] || vm_die "module $m not in the kernel $kver"
                case $path in
                *.xz) xz -dc "$root/usr/lib/modules/$kver/$path" >"$stage/lib/modules/$m.ko" ;;
                *.ko) cp "$root/usr/lib/modules/$kver/$path" "$stage/lib/modules/$m.ko" ;;
                *) vm_die "module $m: unsupported compression ($path)" ;;
                esac
                echo "$m" >>"$stage/lib/modules/load-order"
        done
        local dep
        for m in $MODULES; do
                for dep in $(awk -v m="$m" -F: '{ n = $1; sub(/.*\//, "", n); sub(/\.ko.*$/, "", n); if (n == m) print $2 }' \
                        "$root/usr/lib/modules/$kver/modules.dep"); do
                        dep=${dep##*/}
                        dep=${dep%%.ko*}
                        case " $MODULES " in
                        *" $dep "*) ;;
                        *) vm_die "module $m needs $dep, which is not in the list ($MODULES)" ;;
                        esac
                done
        done

        copy_with_libs "$cfsroot" "$stage" cfsroot
        copy_with_libs "$(command -v fsverity)" "$stage" fsverity
        for m in $(dlopen_libs "$cfsroot"); do
                copy_lib_with_libs "$m" "$stage"
        done
        install -m 0755 "$VM_DIR/guest-init.sh" "$stage/init"
        install -m 0644 "$VM_DIR/guest-lib.sh" "$stage/vm-lib.sh"
        echo "$kver" >"$stage/etc/vm-kernel-release"

        (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) \
                >"$out.tmp"
        mv "$out.tmp" "$out"
}

build_if_missing() {
        [ -f "$3" ] && return 0
        local t0=$SECONDS
        build_base "$@"
        vm_log "built $3 ($(du -h "$3" | cut -f1), $((SECONDS - t0)) s)"
}

base() {
        [ $# -eq 2 ] || vm_die "usage: build-initramfs.sh base CFSROOT_BIN KERNEL_DIR"
        local cfsroot kdir key out
        cfsroot=$(readlink -f "$1")
        kdir=$2
        [ -x "$cfsroot" ] || vm_die "$cfsroot: not an executable"
        [ -f "$kdir/kver" ] || vm_die "$kdir: not a kernel from fetch-kernel.sh"
        mkdir -p "$VM_CACHE/initramfs"
        # the libraries too (the dlopen()ed ones and theirs): a rebuilt libc or
        # libcrypto makes a new base
        local dl
        dl=$(dlopen_libs "$cfsroot")
        # shellcheck disable=SC2046,SC2086 # one library path per word
        key=$(vm_hash "$cfsroot" "$(command -v fsverity)" "$(command -v busybox)" \
                $(ldd "$cfsroot" "$(command -v fsverity)" $dl | awk '$3 ~ /^\// { print $3 }' | sort -u) \
                $dl "$DLOPEN_LIBS" \
                "$(cat "$kdir/kver")" "$MODULES" \
                "$VM_DIR/guest-init.sh" "$VM_DIR/guest-lib.sh" "$VM_DIR/build-initramfs.sh")
        out=$VM_CACHE/initramfs/base-$key.cpio
        vm_locked initramfs build_if_missing "$cfsroot" "$kdir" "$out"
        touch "$out"
        # drop bases of other inputs unused for a day: keeps the cache small
        find "$VM_CACHE/initramfs" -maxdepth 1 -name 'base-*.cpio' -mtime +0 -delete 2>/dev/null || true
        echo "$out"
}

test_initrd() {
        [ $# -eq 3 ] || vm_die "usage: build-initramfs.sh test BASE_CPIO STAGE_DIR OUT"
        local base=$1 stage=$2 out=$3
        [ -f "$stage/test.sh" ] || vm_die "$stage/test.sh missing"
        {
                cat "$base"
                (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0)
        } >"$out"
}

cmd=${1:-}
shift || true
case $cmd in
base) base "$@" ;;
test) test_initrd "$@" ;;
*) vm_die "usage: build-initramfs.sh base CFSROOT_BIN KERNEL_DIR | test BASE_CPIO STAGE_DIR OUT" ;;
esac

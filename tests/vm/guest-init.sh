#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/guest-init.sh - /init of the Tier A test initramfs (runs in the VM
# guest as PID 1, busybox sh). Mounts the API file systems, loads the modules
# cfsroot needs, mounts the test's data disk (/dev/vda, ext4) on /sysroot,
# runs the test's /test.sh and prints the verdict as an explicit marker line on
# the serial console, then powers the machine off. The host (run-qemu.sh)
# decides pass/fail from these markers only:
#   CFSROOT-VM-START            /init is running
#   CFSROOT-VM-RESULT: PASS     /test.sh exited 0
#   CFSROOT-VM-RESULT: FAIL ... anything else
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp

echo "CFSROOT-VM-START uptime=$(cut -d' ' -f1 /proc/uptime)"

verdict() {
        echo "CFSROOT-VM-RESULT: $* uptime=$(cut -d' ' -f1 /proc/uptime)"
        sync
        poweroff -f
        sleep 10 # poweroff -f does not return; if it does, the kernel panics on exit
        exit 1
}

for m in $(cat /lib/modules/load-order); do
        insmod "/lib/modules/$m.ko" || verdict "FAIL insmod $m"
done

# the data disk, when the test has one (virtio_blk binds it while loading)
if [ -e /sys/block/vda ]; then
        i=0
        while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do
                sleep 0.1
                i=$((i + 1))
        done
        mkdir -p /sysroot
        mount -t ext4 /dev/vda /sysroot || verdict "FAIL cannot mount /dev/vda on /sysroot"
fi

[ -f /test.sh ] || verdict "FAIL no /test.sh in the initramfs"
if [ -f /test.env ]; then set -a; . /test.env; set +a; fi
export CFSROOT_VM=1
if sh -e /test.sh; then
        verdict PASS
else
        verdict "FAIL /test.sh exited $?"
fi

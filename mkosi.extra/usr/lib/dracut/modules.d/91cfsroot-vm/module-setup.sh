#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# 91cfsroot-vm/module-setup.sh - dracut module of the cfsroot test VM only
# (mkosi.extra; run by dracut in mkosi.finalize.chroot when the VM's initrd is
# built): adds cfsroot-vm-verity.service, which enables fs-verity on the
# object store and the images on the first boot, before cfsroot-setup.service
# verifies and mounts the root. Not part of cfsroot's own module (90cfsroot):
# a real deployment enables fs-verity when it writes the store.

# shellcheck disable=SC2154 # moddir, initdir, systemdsystemunitdir: set by dracut
check() {
        return 255 # only when asked for (-m cfsroot-vm)
}

depends() {
        echo cfsroot systemd
}

install() {
        inst_binary /usr/lib/cfsroot-vm/verity-enable
        inst_simple "$moddir/cfsroot-vm-verity.service" "$systemdsystemunitdir/cfsroot-vm-verity.service"
        $SYSTEMCTL -q --root "$initdir" add-wants initrd-root-fs.target cfsroot-vm-verity.service ||
                dfatal "cannot enable cfsroot-vm-verity.service"
        inst_multiple touch
}

# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/tpm-rollback-fallback.sh - host part: two signed A/B slots in
# the store, slot A of security generation 5 (composefs= on the command line)
# and slot B of generation 4 (a different tree: one file differs, so another
# digest), and a TPM (swtpm, CASE_TPM=1) whose anti-rollback floor is
# provisioned here, before the boot: a temporary swtpm on $WORK/tpm, then
# `cfsroot rollback init` and tpm2_nvsetbits bit 3 (floor 4), then stopped;
# run-qemu.sh's swtpm loads that state. The policy requires the floor
# ([TPM] AntiRollback=required, no measurement).
# shellcheck shell=bash
# shellcheck disable=SC2034 # read by run-test.sh
CASE_TPM=1

# The anti-rollback index of `cfsroot rollback init` (the default) at floor 4.
provision_tpm_floor4() {
        local d=$WORK/tpm pid i=0 rc=0
        vm_require swtpm:swtpm tpm2_nvsetbits:tpm2-tools
        mkdir -p "$d"
        swtpm socket --tpm2 --tpmstate dir="$d" --server type=unixio,path="$d/prov.sock" \
                --ctrl type=unixio,path="$d/prov.sock.ctrl" --flags not-need-init,startup-clear \
                --log file="$d/provision.log" </dev/null >>"$d/provision.log" 2>&1 &
        pid=$!
        while [ ! -S "$d/prov.sock" ]; do
                kill -0 "$pid" 2>/dev/null || vm_die "provisioning swtpm exited: $(cat "$d/provision.log")"
                [ $i -lt 100 ] || vm_die "provisioning swtpm made no socket in 10 s"
                sleep 0.1
                i=$((i + 1))
        done
        "$CFSROOT" rollback init --tcti "swtpm:path=$d/prov.sock" >&2 &&
                TPM2TOOLS_TCTI="swtpm:path=$d/prov.sock" tpm2_nvsetbits -C o -i 0x8 0x01800cf5 >&2 &&
                "$CFSROOT" rollback status --tcti "swtpm:path=$d/prov.sock" >&2 || rc=1
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        rm -f "$d/prov.sock" "$d/prov.sock.ctrl"
        [ $rc = 0 ] || vm_die "provisioning the anti-rollback floor failed: $(cat "$d/provision.log")"
        [ -s "$d/tpm2-00.permall" ] || vm_die "swtpm left no state in $d"
}

prepare() {
        vm_prepare_signed
        vm_sign --name cfsroot-vm --version 5.0 --generation 5
        local a=$IMAGE_DIGEST
        cp -a "$WORK/src" "$WORK/src-b"
        echo "slot B, the older release" >"$WORK/src-b/usr/share/cfsroot-test/small"
        vm_make_composefs "$WORK/src-b" "$DISK"
        [ "$IMAGE_DIGEST" != "$a" ] || vm_die "slot B has the same digest as slot A"
        IMG=$DISK/composefs/images/$IMAGE_DIGEST
        vm_sign --name cfsroot-vm --version 4.0 --generation 4
        {
                echo "SLOT_A=$a"
                echo "SLOT_B=$IMAGE_DIGEST"
        } >>"$STAGE/test.env"
        printf '[TPM]\nDevice=device:/dev/tpmrm0\nAntiRollback=required\nMeasurePCR=no\n' \
                >>"$STAGE/etc/cfsroot/policy.conf"
        provision_tpm_floor4
}

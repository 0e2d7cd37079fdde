#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm-system/guest-report-tpm.sh - installed in the Tier B TPM guest's OS
# tree (build-guest.sh --tpm) as /usr/local/libexec/cfsroot-vmsys-tpm-report;
# guest-report.sh runs it in the booted system, after switch_root, before its
# DONE marker. Prints what the host asserts (tests/vm-system/run-test.sh,
# cases tpm-*) as marker lines; judges nothing itself:
#   CFSROOT-VMSYS-TPM-SLOT: A|B|O        which tree is the root
#   CFSROOT-VMSYS-TPM-PCR7: / -PCR13:    sha256 PCRs from sysfs (not tpm2-tss)
#   CFSROOT-VMSYS-TPM-EVENT: {...}       each record of /run/cfsroot/tpm-measure.log
#   CFSROOT-VMSYS-TPM-RECORD: k=v        the TPM lines of the boot record
#   CFSROOT-VMSYS-TPM-UNIT: NAME k=v...  state of the health check, boot-complete.target,
#                                        cfsroot-mark-good.service
#   CFSROOT-VMSYS-TPM-MARK-GOOD: ...     cfsroot-mark-good.service's journal
#   CFSROOT-VMSYS-TPM-RUN: NAME exit N: OUTPUT   a command, one line
#   CFSROOT-VMSYS-TPM-TIME: NAME uptime T0 -> T1 s   ... and when it ran
# With cfsroot_vmsys.tpm=rules on the kernel command line it also exercises
# the raise rules: `rollback raise --to 4`, `--to 3`, `--auto --dry-run`, then
# makes the health check pass (/run/cfsroot-vmsys-healthy) and starts
# cfsroot-mark-good.service again, then `rollback status`.

# run NAME CMD...: one marker line with the exit status and the output
run() {
        local name=$1 out rc t0
        shift
        t0=$(cut -d' ' -f1 /proc/uptime)
        out=$("$@" 2>&1)
        rc=$?
        echo "CFSROOT-VMSYS-TPM-RUN: $name exit $rc: $(printf '%s' "$out" | tr '\n' ' ')"
        echo "CFSROOT-VMSYS-TPM-TIME: $name uptime $t0 -> $(cut -d' ' -f1 /proc/uptime) s"
}

units() {
        local u
        for u in cfsroot-vmsys-health.service boot-complete.target cfsroot-mark-good.service; do
                echo "CFSROOT-VMSYS-TPM-UNIT: $u $(systemctl show -p ActiveState -p Result \
                        -p ExecMainStartTimestampMonotonic -p ExecMainExitTimestampMonotonic \
                        -p ExecMainStatus "$u" | tr '\n' ' ')"
        done
}

# cfsroot-mark-good.service's journal of this boot; when the unit ran, waits
# up to 10 s for a line matching $1 (journald reads its output asynchronously)
mark_good_journal() {
        local i=0
        if [ "$(systemctl show -P ExecMainStartTimestampMonotonic cfsroot-mark-good.service)" = 0 ]; then
                i=19 # never ran: nothing to wait for
        fi
        while [ $i -lt 20 ]; do
                journalctl --sync 2>/dev/null
                journalctl -b -q -o cat -u cfsroot-mark-good.service >/run/cfsroot-vmsys-mg 2>&1
                grep -q -- "$1" /run/cfsroot-vmsys-mg && break
                sleep 0.5
                i=$((i + 1))
        done
        sed 's/^/CFSROOT-VMSYS-TPM-MARK-GOOD: /' /run/cfsroot-vmsys-mg
}

echo "CFSROOT-VMSYS-TPM-SLOT: $(cat /usr/lib/cfsroot-vmsys-slot 2>&1)"
for p in 7 13; do
        echo "CFSROOT-VMSYS-TPM-PCR$p: $(tr 'A-F' 'a-f' </sys/class/tpm/tpm0/pcr-sha256/$p 2>&1)"
done
if [ -f /run/cfsroot/tpm-measure.log ]; then
        tr -d '\036' </run/cfsroot/tpm-measure.log | sed 's/^/CFSROOT-VMSYS-TPM-EVENT: /'
fi
grep '^tpm_policy=\|^measured_pcr=\|^measurement=\|^generation=' /run/cfsroot/booted |
        sed 's/^/CFSROOT-VMSYS-TPM-RECORD: /'
run status-json cfsroot status --json
run floor cfsroot rollback status
units
mark_good_journal 'minimum generation\|nothing to raise\|cannot'

if grep -qw 'cfsroot_vmsys.tpm=rules' /proc/cmdline; then
        run raise-to-4 cfsroot rollback raise --to 4
        run raise-to-3 cfsroot rollback raise --to 3
        run raise-auto-dry cfsroot rollback raise --auto --dry-run
        run floor-before cfsroot rollback status
        touch /run/cfsroot-vmsys-healthy
        run mark-good-start systemctl start cfsroot-mark-good.service
        echo "CFSROOT-VMSYS-TPM-AFTER-START"
        units
        mark_good_journal 'raised the minimum generation'
        run floor-after cfsroot rollback status
fi

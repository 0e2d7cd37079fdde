#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm-system/guest-report.sh - installed in the Tier B guest's OS tree as
# /usr/local/libexec/cfsroot-vmsys-report and run by
# cfsroot-vmsys-report.service at the end of the boot (booted system, after
# switch_root). Prints what the host asserts, as marker lines on the serial
# console; the unit then powers the machine off (SuccessAction/FailureAction).
#   CFSROOT-VMSYS-BOOTED        the real system is up
#   CFSROOT-VMSYS-ROOT: ...     findmnt of / (fstype, source, options)
#   CFSROOT-VMSYS-MOUNTS: ...   the / line(s) of /proc/mounts
#   CFSROOT-VMSYS-STATUS: ...   `cfsroot status` output, one marker per line
#   CFSROOT-VMSYS-STATUS-EXIT: N
#   CFSROOT-VMSYS-CHECK: ...    small checks of the running system
#   CFSROOT-VMSYS-TPM-...       TPM guest only: guest-report-tpm.sh
#   CFSROOT-VMSYS-DONE
echo "CFSROOT-VMSYS-BOOTED uptime=$(cut -d' ' -f1 /proc/uptime)"
echo "CFSROOT-VMSYS-ROOT: $(findmnt -n -o FSTYPE,SOURCE,OPTIONS /)"
awk '$2 == "/" { print "CFSROOT-VMSYS-MOUNTS: " $0 }' /proc/mounts
cfsroot status >/run/cfsroot-vmsys-status 2>&1
rc=$?
sed 's/^/CFSROOT-VMSYS-STATUS: /' /run/cfsroot-vmsys-status
echo "CFSROOT-VMSYS-STATUS-EXIT: $rc"
if touch /usr/cfsroot-write-test 2>/dev/null; then
        rm -f /usr/cfsroot-write-test
        echo "CFSROOT-VMSYS-CHECK: /usr writable"
else
        echo "CFSROOT-VMSYS-CHECK: /usr read-only"
fi
if echo test >/etc/cfsroot-write-test 2>/dev/null; then
        rm -f /etc/cfsroot-write-test
        echo "CFSROOT-VMSYS-CHECK: /etc writable"
fi
echo "CFSROOT-VMSYS-CHECK: system $(systemctl is-system-running 2>/dev/null)"
systemctl --failed --no-legend --plain 2>/dev/null | sed 's/^/CFSROOT-VMSYS-CHECK: failed unit: /'
# the TPM guest (build-guest.sh --tpm): PCRs, event record, anti-rollback floor
if [ -x /usr/local/libexec/cfsroot-vmsys-tpm-report ]; then
        /usr/local/libexec/cfsroot-vmsys-tpm-report
fi
echo "CFSROOT-VMSYS-DONE"

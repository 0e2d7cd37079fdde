#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/harness-selftest.sh - the VM harness must not pass what fails (host).
#
#   harness-selftest.sh CFSROOT_BIN
#
# Boots selftest-fail (guest exits 3) and selftest-hang (guest never ends,
# 20 s timeout) and asserts that run-test.sh fails both for the right reason
# and prints the serial log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -eq 1 ] || vm_die "usage: harness-selftest.sh CFSROOT_BIN"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

expect_failure() {
        local name=$1 why=$2
        shift 2
        if "$VM_DIR/run-test.sh" "$@" >"$out" 2>&1; then
                cat "$out"
                vm_die "$name: run-test.sh passed a failing guest"
        fi
        grep -qF -- "$why" "$out" || {
                cat "$out"
                vm_die "$name: failure reported, but not as '$why'"
        }
        grep -qF -- "===== serial log" "$out" || {
                cat "$out"
                vm_die "$name: the serial log was not printed"
        }
        # the work directory is kept on failure: clean up after ourselves
        local work
        work=$(sed -n 's/.*work directory kept: //p' "$out" | tail -n1)
        [ -n "$work" ] && [ -d "$work" ] && rm -rf "$work"
        echo "ok: $name fails: $why"
}

expect_failure selftest-fail "VM FAILED: guest reported: FAIL /test.sh exited 3" --timeout 60 "$1" selftest-fail
grep -qF "selftest: failing on purpose" "$out" || vm_die "selftest-fail: guest output missing from the log"
expect_failure selftest-hang "VM FAILED: timed out after 20s" --timeout 20 "$1" selftest-hang
grep -qF "selftest: hanging on purpose" "$out" || vm_die "selftest-hang: guest output missing from the log"

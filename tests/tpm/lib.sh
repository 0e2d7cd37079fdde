# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/tpm/lib.sh - sourced by the swtpm host tests (run.sh, rollback.sh):
# tool checks, a temporary directory cleaned up with every swtpm started,
# ok/bad counters, start_tpm and tcti; expect_fail/expect_rc for run.sh and
# authorize.sh (rollback.sh has its own, looser ones). Host only.

# tpm_test_init NAME TOOL...: every TOOL installed (a missing one is a failure,
# not a skip), $tmp = a fresh /tmp/NAME.XXXXXX removed at exit.
tpm_test_init() {
        local name=$1 tool
        shift
        for tool in "$@"; do
                command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed (tests/install-deps.sh)"; exit 1; }
        done
        tmp=$(mktemp -d "/tmp/$name.XXXXXX")
        pids=()
        trap tpm_test_cleanup EXIT
        passed=0
        failed=0
}

tpm_test_cleanup() {
        local p
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$tmp"
}

ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

# start_tpm NAME: a fresh swtpm (TPM 2.0, startup-clear) at $tmp/NAME/sock
start_tpm() {
        local d=$tmp/$1
        mkdir -p "$d"
        swtpm socket --tpm2 --tpmstate dir="$d" \
                --server type=unixio,path="$d/sock" --ctrl type=unixio,path="$d/sock.ctrl" \
                --flags not-need-init,startup-clear >"$d/log" 2>&1 &
        pids+=($!)
        for _ in $(seq 100); do
                [ -S "$d/sock" ] && return 0
                sleep 0.05
        done
        echo "FAIL: swtpm $1 did not start: $(cat "$d/log")"
        exit 1
}
tcti() { echo "swtpm:path=$tmp/$1/sock"; }

# expect_fail NAME NEEDLE CMD...: CMD fails, says NEEDLE on stderr, prints nothing on stdout
expect_fail() {
        local name=$1 needle=$2 rc=0
        shift 2
        "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
        if [ "$rc" -eq 0 ]; then
                bad "$name: succeeded, expected a failure"
        elif ! grep -qF -- "$needle" "$tmp/err"; then
                bad "$name: message lacks '$needle': $(cat "$tmp/err")"
        elif [ -s "$tmp/out" ]; then
                bad "$name: printed on stdout: $(cat "$tmp/out")"
        else
                ok "$name ($(head -c 160 "$tmp/err"))"
        fi
}

# expect_says STREAM NAME NEEDLE CMD...: CMD succeeds and says NEEDLE on
# stdout (STREAM out) or stderr (STREAM err, a notice, shown in the ok line)
expect_says() {
        local stream=$1 name=$2 needle=$3 rc=0 what=output shown=""
        shift 3
        "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
        if [ "$stream" = err ]; then
                what=notice
                shown=" ($(head -c 200 "$tmp/err"))"
        fi
        if [ "$rc" -ne 0 ]; then
                bad "$name: exit $rc: $(cat "$tmp/err")"
        elif ! grep -qF -- "$needle" "$tmp/$stream"; then
                bad "$name: $what lacks '$needle': $(cat "$tmp/$stream")"
        else
                ok "$name$shown"
        fi
}
expect_out() { expect_says out "$@"; }
expect_note() { expect_says err "$@"; }

# expect_rc NAME RC CMD...
expect_rc() {
        local name=$1 want=$2 rc=0
        shift 2
        "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
        if [ "$rc" -eq "$want" ]; then ok "$name"; else bad "$name: exit $rc, expected $want: $(cat "$tmp/err")"; fi
}

# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm-system/tpm-cases.sh - the Tier B TPM cases (host side), sourced by
# run-test.sh for CASE tpm-*: tpm_case_rollback (three boots) and
# tpm_case_pcr7_changed (one boot). They use run-test.sh's $guest (the TPM
# guest), $disk, $tpm (a copy of the provisioned swtpm state), boot, expect,
# problem, and judge the markers of guest-report.sh and guest-report-tpm.sh.
# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # guest, work, digest, safe, case, log, step: run-test.sh's

# markers NAME: every line starting with CFSROOT-VMSYS-TPM-NAME:, without it
markers() { { grep -a "^CFSROOT-VMSYS-TPM-$1: " "$log" || true; } | sed "s/^CFSROOT-VMSYS-TPM-$1: //"; }
# run_marker NAME: the line of `run NAME ...` in guest-report-tpm.sh ("exit N: ...")
run_marker() { markers RUN | { grep "^$1 exit " || true; } | head -n1 | sed "s/^$1 //"; }
expect_run() { # NAME EXIT TEXT: the guest's command exited EXIT and said TEXT
        local got
        got=$(run_marker "$1")
        case $got in
        "exit $2: "*"$3"*) ;;
        *) problem "$1: expected exit $2 and '$3', got '${got:-nothing}'" ;;
        esac
}
# unit_marker NAME [N]: the Nth (default first) state line of unit NAME
unit_marker() { markers UNIT | { grep "^$1 " || true; } | sed -n "${2:-1}p"; }
expect_unit() { # NAME N TEXT...: the Nth state line of NAME has every TEXT
        local line t
        line=$(unit_marker "$1" "$2")
        shift 2
        for t in "$@"; do
                case " $line " in
                *" $t "*) ;;
                *) problem "unit state: expected '$t' in '${line:-nothing}'" ;;
                esac
        done
}

# sha256(sha256 zeros || d1 || ...) for the digests d1... (hex): a PCR replay
replay() {
        python3 -c 'import hashlib, sys
p = bytes(32)
for d in sys.argv[1:]:
    p = hashlib.sha256(p + bytes.fromhex(d)).digest()
print(p.hex())' "$@"
}

# The booted system shows the measurement of image DIGEST: boot record, the
# event record (exactly one, PCR 13, its sha256 digest is that of the
# measurement string), PCR 13 = the log's replay, `cfsroot status` (text and
# JSON), PCR 7 = the value the policy was sealed to.
expect_measured() {
        local d=$1 m events parsed pcr13 want
        m=$(markers RECORD | sed -n 's/^measurement=//p')
        case $m in
        "cfsroot:v1:image=$d:mode=signed:signer="*) ;;
        *) problem "boot record: measurement '$m' does not name image $d, mode signed" ;;
        esac
        markers RECORD | grep -qx 'measured_pcr=13' || problem "boot record: no measured_pcr=13"
        markers RECORD | grep -qx 'tpm_policy=allowed' || problem "boot record: no tpm_policy=allowed"
        events=$(markers EVENT)
        # one line per record: PCR, sha256 digest, string, sha256 of the string
        parsed=$(printf '%s\n' "$events" | python3 -c 'import hashlib, json, sys
for line in sys.stdin:
    if not line.strip():
        continue
    r = json.loads(line)
    d = [x["digest"] for x in r["digests"] if x["hashAlg"] == "sha256"]
    s = r["content"]["string"]
    print(r["pcr"], d[0] if d else "-", s, hashlib.sha256(s.encode()).hexdigest())') ||
                problem "event records do not parse: $events"
        if [ "$(printf '%s\n' "$parsed" | grep -c .)" != 1 ]; then
                problem "expected one event record, got: $events"
                return
        fi
        read -r rpcr rdig rstr rsha <<<"$parsed"
        [ "$rpcr" = 13 ] || problem "event record for PCR $rpcr, not 13"
        [ "$rstr" = "$m" ] || problem "event record's measurement '$rstr' is not the boot record's '$m'"
        [ "$rdig" = "$rsha" ] || problem "event record's sha256 digest $rdig is not sha256 of its measurement ($rsha)"
        pcr13=$(markers PCR13)
        want=$(replay "$rdig")
        if [ "$pcr13" != "$want" ]; then
                problem "PCR 13 is '$pcr13', the event log replays to $want"
        fi
        grep -aqxF "CFSROOT-VMSYS-STATUS:   measured    PCR 13: $m" "$log" ||
                problem "cfsroot status does not show 'measured    PCR 13: $m'"
        grep -aqxF "CFSROOT-VMSYS-STATUS:   TPM policy  the sealed boot policy allows this image" "$log" ||
                problem "cfsroot status does not show the sealed policy"
        expect_run status-json 0 "\"tpm_policy\":true,\"measured_pcr\":13,\"measurement\":\"$m\""
        [ "$(markers PCR7)" = "$(cat "$guest/pcr7")" ] ||
                problem "PCR 7 is '$(markers PCR7)', the policy was sealed to $(cat "$guest/pcr7")"
}

# boot_step NAME APPEND: next boot, console in serial-N-NAME.log
boot_step() {
        step=$1
        boot_n=$((${boot_n:-0} + 1))
        log=$work/serial-$boot_n-$1.log
        vm_log "$case: boot $boot_n ($1): $2"
        boot "$2"
        boot_times="${boot_times:+$boot_times, }$1 ${VMSYS_SECS}s"
}

tpm_case_rollback() {
        local a=$digest b o
        b=$(cat "$guest/digest-b")
        o=$(cat "$guest/digest-o")

        # 1. slot A, generation 3; the health check fails, later passes
        boot_step slot-a-unhealthy "$safe composefs=$a cfsroot_vmsys.tpm=rules cfsroot_vmsys.health=fail"
        expect_booted
        expect "booted composefs image /sysroot/composefs/images/$a, digest $a, signed by"
        expect "allowed by the TPM policy"
        [ "$(markers SLOT)" = A ] || problem "the root is slot '$(markers SLOT)', not A"
        expect "CFSROOT-VMSYS-STATUS-EXIT: 0"
        expect_measured "$a"
        # not marked good: the health check failed, the unit never ran, floor 0
        expect "CFSROOT-VMSYS-HEALTH: fail"
        expect_unit cfsroot-vmsys-health.service 1 ActiveState=failed
        expect_unit boot-complete.target 1 ActiveState=inactive
        expect_unit cfsroot-mark-good.service 1 ExecMainStartTimestampMonotonic=0
        expect_run floor 0 "minimum generation 0 "
        # the rules of `rollback raise`
        expect_run raise-to-4 1 "the booted image has generation 3"
        expect_run raise-to-3 1 "kept deployment $b has generation 2"
        expect_run raise-auto-dry 0 "would raise the minimum generation from 0 to 2"
        expect_run floor-before 0 "minimum generation 0 "
        # marked good: the health check passes, the unit raises to min(3, lowest kept 2)
        expect "CFSROOT-VMSYS-HEALTH: ok"
        expect_run mark-good-start 0 ""
        expect_unit cfsroot-vmsys-health.service 2 ActiveState=active
        expect_unit boot-complete.target 2 ActiveState=active
        expect_unit cfsroot-mark-good.service 2 ExecMainStatus=0 Result=success
        unit_marker cfsroot-mark-good.service 2 | grep -q 'ExecMainStartTimestampMonotonic=0 ' &&
                problem "cfsroot-mark-good.service did not run after the health check passed"
        markers MARK-GOOD | grep -qF "raised the minimum generation from 0 to 2" ||
                problem "cfsroot-mark-good.service's journal lacks 'raised the minimum generation from 0 to 2'"
        expect_run floor-after 0 "minimum generation 2 "

        # 2. slot O, generation 1, retired: below the floor
        boot_step slot-o-old "$safe composefs=$o cfsroot.image=/composefs/retired/$o"
        expect_refused tpm
        expect "image generation 1 is below the TPM's minimum 2"
        expect "$o"

        # 3. slot B, generation 2 = the floor: the fallback still boots
        boot_step slot-b-fallback "$safe composefs=$b"
        expect_booted
        expect "booted composefs image /sysroot/composefs/images/$b, digest $b, signed by"
        [ "$(markers SLOT)" = B ] || problem "the root is slot '$(markers SLOT)', not B"
        expect "CFSROOT-VMSYS-STATUS-EXIT: 0"
        expect_measured "$b"
        expect "CFSROOT-VMSYS-HEALTH: ok"
        expect_unit cfsroot-mark-good.service 1 ExecMainStatus=0 Result=success
        markers MARK-GOOD | grep -qF "minimum generation stays 2" ||
                problem "cfsroot-mark-good.service's journal lacks 'minimum generation stays 2'"
        expect_run floor 0 "minimum generation 2 "
        step=""
}

tpm_case_pcr7_changed() {
        local sealed now
        vmsys_disk_get "$disk" /composefs/tpm-policy-pcr7-extended.blob "$work/other.blob"
        vmsys_disk_replace "$disk" /composefs/tpm-policy.blob "$work/other.blob"
        now=$(cat "$guest/pcr7")
        # what provision.guest.sh's tpm_extend_pcr 7 made of it (32 bytes 0x11)
        sealed=$(python3 -c 'import hashlib, sys
pcr = bytes.fromhex(sys.argv[1])
print(hashlib.sha256(pcr + bytes([0x11]) * 32).hexdigest())' "$now")
        boot_step pcr7-changed "$safe composefs=$digest"
        expect_refused tpm
        expect "PCR 7 changed since sealing (PCR 7 sealed to $sealed, now $now)"
        step=""
}

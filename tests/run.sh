#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run every cfsroot test on a Debian 12 host (what CI runs, see .ci/run):
#   1. gcc build with -Werror, all meson test suites (unit, golden, shouldfail,
#      fuzz corpora, integration),
#   2. the same suites under AddressSanitizer + UndefinedBehaviorSanitizer (all
#      but the VM boots, whose guest runs the gcc build),
#   3. clang (-Werror) libFuzzer targets, each fuzzing briefly from its seed corpus.
# Needs root (package installs, mounts in private mount namespaces).
# Environment: CFSROOT_FUZZ_SECONDS (default 30 per target).
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$0" "$@"; fi
cd "$(dirname "$0")/.."
top=$PWD
start=$(date +%s)
stage() { echo "==> [$(( $(date +%s) - start ))s] $*"; }

stage "dependencies"
tests/install-deps.sh

stage "build (gcc, -Werror)"
[ -d build-ci ] || meson setup build-ci -Dwerror=true -Dtests=enabled >/dev/null
meson compile -C build-ci
stage "tests (gcc)"
meson test -C build-ci --print-errorlogs --num-processes 2

stage "build (gcc, ASan+UBSan)"
[ -d build-ci-asan ] || meson setup build-ci-asan -Dwerror=true -Dtests=enabled \
  -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
meson compile -C build-ci-asan
stage "tests (ASan+UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-ci-asan --print-errorlogs --num-processes 2 --no-suite vm

stage "build (clang libFuzzer, ASan+UBSan)"
[ -d build-ci-fuzz ] || CC=clang meson setup build-ci-fuzz -Dfuzzing=true -Dtests=disabled \
  -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
meson compile -C build-ci-fuzz
secs=${CFSROOT_FUZZ_SECONDS:-30}
for f in build-ci-fuzz/tests/fuzz/fuzz-*; do
  [ -f "$f" ] && [ -x "$f" ] || continue
  name=$(basename "$f"); name=${name#fuzz-}
  stage "fuzz $name for ${secs}s"
  work=$(mktemp -d)
  cp -r "$top/tests/fuzz/corpus-$name/." "$work/"
  "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "$work" 2>&1 | tail -n 12
  rm -rf "$work"
done
stage "all tests passed"

# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/smoke.sh - host part of the smoke test: a file whose fs-verity
# digest the host computes offline with `cfsroot digest`; the guest must
# measure the same digest after enabling fs-verity on it.
# shellcheck shell=bash

prepare() {
        mkdir -p "$DISK/smoke"
        local i
        for i in $(seq 1 2000); do printf 'smoke test line %047d\n' "$i"; done >"$DISK/smoke/data"
        echo "EXPECT_DIGEST=$("$CFSROOT" digest "$DISK/smoke/data" | cut -d' ' -f1)" >"$STAGE/test.env"
}

#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-module.sh - host: the configured dracut module (module-setup.sh) must
# parse (bash -n), pass shellcheck when it is installed, define the four
# dracut entry points, and have every @placeholder@ filled in by meson.
# Usage: check-module.sh MODULE_SETUP_SH
set -euo pipefail
m=$1
bash -n "$m"
if grep -n '@[a-z]*@' "$m"; then
    echo "FAIL: unsubstituted placeholder in $m"; exit 1
fi
for fn in check depends install installkernel; do
    grep -q "^$fn() {" "$m" || { echo "FAIL: $m does not define $fn()"; exit 1; }
done
if command -v shellcheck >/dev/null; then
    # dracut provides the inst_* helpers and variables the module uses
    shellcheck -s bash -e SC2154,SC2034 "$m"
    echo "ok   shellcheck"
else
    echo "FAIL: shellcheck not installed"; exit 1
fi
echo "ok   $m"

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/selftest-fail.guest.sh - guest part of a harness self-test:
# exits 3, which the harness must report as a failure with the serial log.
echo "selftest: failing on purpose"
exit 3

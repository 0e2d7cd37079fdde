#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/selftest-hang.guest.sh - guest part of a harness self-test:
# never finishes; the harness must kill the VM at its timeout and fail.
echo "selftest: hanging on purpose"
while :; do sleep 1; done

# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/cases/selftest-hang.sh - host part of a harness self-test: no disk,
# nothing to prepare; the guest hangs on purpose (harness-selftest.sh).
# shellcheck shell=bash
prepare() { :; }

#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install what building and testing cfsroot needs on Debian 12 (host). Only
# installs packages that are missing, so re-runs are fast and offline-safe.
set -euo pipefail

pkgs=(
  gcc clang libclang-rt-14-dev meson ninja-build pkg-config
  libfsverity-dev fsverity libcmocka-dev libssl-dev libxxhash-dev libsystemd-dev
  erofs-utils e2fsprogs util-linux attr gzip python3 xxd
  qemu-system-x86 qemu-utils busybox-static cpio kmod xz-utils  # VM tests (tests/vm)
  debootstrap zstd  # Tier B VM tests and the demo guest (tests/vm-system)
  libtss2-dev libtss2-tcti-swtpm0 swtpm swtpm-tools tpm2-tools  # TPM (lib/tpm.c, tests/tpm)
  shellcheck dracut-core systemd  # generator, units and dracut module tests (tests/generator)
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: need root to install packages (run with sudo)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

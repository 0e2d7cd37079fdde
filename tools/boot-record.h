/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * boot-record.h - what `cfsroot setup-root` verified and mounted, recorded in
 * /run/cfsroot/booted (written in the initrd after the new root is in place;
 * /run survives switch_root) and read by `cfsroot status` on the booted system.
 *
 * Format: one "key=value" per line, '#' starts a comment line, keys in lower
 * case, values on one line (control characters and '\' written as \xNN).
 * Readers ignore keys they do not know, so fields can be added. Keys:
 *   digest      fs-verity sha256 digest of the image (64 hex)
 *   image       image path below the physical root
 *   mode        signed | tpm-policy | command-line-digest
 *   signer      subject of the signing certificate (mode=signed)
 *   key_id      sha256:<64 hex> of the signer's public key (mode=signed)
 *   name, version, generation   signed image metadata (generation 0 without)
 *   source      how the digest was established (setup-root's image source)
 *   verity      require | off (overlay verity=require in force or not)
 *   etc, var    the /etc and /var modes of the policy
 *   tpm_policy  "allowed" when the TPM-sealed boot policy was unsealed and allows
 *               the image (RequireTPMPolicy=yes), else empty
 *   measured_pcr, measurement   the PCR setup-root extended and the measurement
 *               string it extended (lib/tpm.h, cfs_tpm_measurement_string();
 *               also in the event record /run/cfsroot/tpm-measure.log), both
 *               empty when nothing was measured
 */
#pragma once

#include <stdint.h>

#include "error.h"

#define CFS_BOOT_RECORD_PATH "/run/cfsroot/booted"
#define CFS_BOOT_RECORD_MAX 8192u

struct cfs_boot_record {
        char digest[65];
        char image[1200];
        char mode[32];
        char signer[256];
        char key_id[80];
        char name[130];
        char version[130];
        uint64_t generation;
        char source[128];
        char verity[16];
        char etc[16];
        char var[16];
        char tpm_policy[16];
        char measured_pcr[8];
        char measurement[200]; /* CFS_TPM_MEASUREMENT_MAX */
};

/* Write @r to @path atomically (directory created as needed). 0 or -errno. */
int cfs_boot_record_write(const char *path, const struct cfs_boot_record *r);

/* Read @path. -ENOENT if absent; -EINVAL (with a message) if malformed. */
int cfs_boot_record_read(const char *path, struct cfs_boot_record *r, struct cfs_error *err);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-tpm-blob.c - libFuzzer target for the sealed TPM blob framing and the
 * boot policy inside it (lib/tpm-policy.c): what an attacker with write access
 * to the blob file controls before the TPM is asked anything. Whatever parses
 * must serialise back to the same bytes (one encoding per blob, no slack an
 * attacker could use). Host.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpm-policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct cfs_tpm_blob b;
        struct cfs_tpm_policy p;
        struct cfs_error err = {};
        uint8_t pol[CFS_TPM_POLICY_MAX_SIZE];
        size_t pol_len = 0;

        /* the policy parser on its own, on the raw input */
        if (cfs_tpm_policy_parse(data, size, &p, &err) == 0) {
                if (cfs_tpm_policy_serialize(&p, pol, sizeof(pol), &pol_len, &err) < 0 ||
                    pol_len != size || memcmp(pol, data, size))
                        __builtin_trap();
        } else if (!err.message[0]) {
                __builtin_trap();
        }

        err = (struct cfs_error){};
        if (cfs_tpm_blob_parse(data, size, &b, &err) < 0) {
                if (!err.message[0])
                        __builtin_trap();
                return 0;
        }
        if (b.policy < data || b.policy + b.policy_len > data + size ||
            b.public_area + b.public_len > data + size ||
            b.private_area + b.private_len > data + size)
                __builtin_trap();
        uint8_t *again = NULL;
        size_t again_len = 0;
        if (cfs_tpm_blob_serialize(&b, &again, &again_len, &err) < 0 || again_len != size ||
            memcmp(again, data, size))
                __builtin_trap();
        free(again);
        err = (struct cfs_error){};
        if (cfs_tpm_policy_parse(b.policy, b.policy_len, &p, &err) < 0 && !err.message[0])
                __builtin_trap();
        return 0;
}

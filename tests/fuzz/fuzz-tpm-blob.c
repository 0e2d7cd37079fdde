/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-tpm-blob.c - libFuzzer target for the sealed TPM blob framing (versions 1
 * and 2), the boot policy inside it and the approvals file of PolicyAuthorize
 * (lib/tpm-policy.c): what an attacker with write access to the blob or the
 * approvals controls before the TPM is asked anything. Whatever parses must
 * serialise back to the same bytes (one encoding, no slack an attacker could
 * use). Host.
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

        /* the approvals parser on the raw input: records back to back, exactly */
        struct cfs_tpm_approval *a = NULL;
        size_t n = 0;
        err = (struct cfs_error){};
        if (cfs_tpm_approvals_parse(data, size, &a, &n, &err) == 0) {
                size_t off = 0, len = 0;
                uint8_t rec[CFS_TPM_APPROVAL_HEADER_SIZE + CFS_TPM_PCR_COUNT * CFS_TPM_PCR_SIZE +
                            CFS_TPM_APPROVAL_SIG_MAX];
                if (n < 1 || n > CFS_TPM_APPROVALS_MAX)
                        __builtin_trap();
                for (size_t i = 0; i < n; i++) {
                        if (cfs_tpm_approval_serialize(&a[i], rec, sizeof(rec), &len, &err) < 0 ||
                            len > size - off || memcmp(rec, data + off, len))
                                __builtin_trap();
                        off += len;
                }
                if (off != size)
                        __builtin_trap();
                free(a);
        } else if (!err.message[0] || a || n) {
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
            b.private_area + b.private_len > data + size ||
            (b.version == 2) != (b.auth_key != NULL) ||
            !!(b.flags & CFS_TPM_BLOB_CREATION) != (b.creation_data != NULL) ||
            (b.creation_data && (b.creation_data < data ||
                                 b.creation_ticket + b.creation_ticket_len != data + size)) ||
            (b.auth_key &&
             (b.auth_key < data || b.auth_key + b.auth_key_len !=
                                       (b.creation_data ? b.creation_data - 4 : data + size))))
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-revocation.c - libFuzzer target for the revocation list parser. Host. */
#include <stdint.h>

#include "revocation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct cfs_revocation *r = NULL;
        struct cfs_error err = {};
        if (cfs_revocation_parse((const char *)data, size, "fuzz", &r, &err) == 0) {
                uint8_t zero[32] = {0};
                (void)cfs_revocation_has_key(r, zero);
                cfs_revocation_free(r);
        } else if (!err.message[0] && size <= CFS_REVOCATION_FILE_MAX) {
                __builtin_trap();
        }
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-policy.c - libFuzzer target for the boot policy parser and cmdline merge. Host. */
#include <stdint.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct cfs_policy p;
        struct cfs_error err = {};
        /* input = policy text, optionally followed by "\n%%\n" and a command line */
        const uint8_t *sep = memmem(data, size, "\n%%\n", 4);
        size_t plen = sep ? (size_t)(sep - data) : size;
        if (cfs_policy_parse((const char *)data, plen, "fuzz", &p, &err) < 0) {
                if (!err.message[0])
                        __builtin_trap();
                return 0;
        }
        if (!p.cmdline_digest && !p.require_signature && !p.require_tpm)
                __builtin_trap(); /* a policy without a source of trust got through */
        if (sep) {
                struct cfs_cmdline c;
                struct cfs_policy before = p;
                const char *cl = (const char *)sep + 4;
                if (cfs_cmdline_parse(cl, size - plen - 4, &c, &err) == 0 &&
                    cfs_policy_apply_cmdline(&p, &c, &err) == 0) {
                        /* tighten only */
                        if ((before.require_signature && !p.require_signature) ||
                            (before.require_tpm && !p.require_tpm) ||
                            (!before.allow_unverified && p.allow_unverified) ||
                            (!before.allow_emergency && p.failure == CFS_FAILURE_EMERGENCY))
                                __builtin_trap();
                }
        }
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-cmdline.c - libFuzzer target for the kernel command line parser. Host. */
#include <stdint.h>
#include <string.h>

#include "cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct cfs_cmdline c;
        struct cfs_error err = {};
        if (cfs_cmdline_parse((const char *)data, size, &c, &err) == 0) {
                /* accepted values must be the canonical ones */
                if (c.image[0] && c.image[0] != '/')
                        __builtin_trap();
                (void)cfs_cmdline_wants_composefs(&c);
        } else if (err.message[0] == 0) {
                __builtin_trap(); /* every refusal says why */
        }
        return 0;
}

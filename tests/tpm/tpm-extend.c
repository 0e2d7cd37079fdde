/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpm-extend.c - test helper for tests/tpm/run.sh: extend a PCR through
 * cfs_tpm_pcr_extend() (lib/tpm.c) with a measurement string and append the
 * event record, as setup-root will. Usage: tpm-extend PCR STRING LOG.
 * The TPM is $TPM2TSS_TCTI. Host only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpm.h"

int main(int argc, char **argv)
{
        struct cfs_error err = {};
        struct cfs_tpm *t = NULL;
        if (argc != 4) {
                fprintf(stderr, "usage: tpm-extend PCR STRING LOG\n");
                return 2;
        }
        int r = cfs_tpm_open(NULL, &t, &err);
        if (r >= 0)
                r = cfs_tpm_pcr_extend(t, (unsigned)strtoul(argv[1], NULL, 10), argv[2],
                                       strlen(argv[2]), argv[3], &err);
        cfs_tpm_close(t);
        if (r < 0) {
                fprintf(stderr, "tpm-extend: %s\n", cfs_error_text(&err, r));
                return 1;
        }
        return 0;
}

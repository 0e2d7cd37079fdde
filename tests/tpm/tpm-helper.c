/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpm-helper.c - test helper for tests/tpm/run.sh: calls lib/tpm.c the way
 * setup-root will, against the TPM in $TPM2TSS_TCTI. Host only.
 *   tpm-helper extend PCR STRING LOG       cfs_tpm_pcr_extend() + event record
 *   tpm-helper check BLOB DIGEST [KEYID GENERATION]
 *                                          cfs_tpm_check_boot() (BLOB relative to cwd;
 *                                          approvals of a version 2 blob: the file
 *                                          $TPM_HELPER_APPROVALS, relative to cwd)
 *   tpm-helper measure PCR DIGEST MODE KEYID|- LOG
 *                                          cfs_tpm_measure_boot()
 *   tpm-helper rollback-check GENERATION   cfs_tpm_rollback_check(); prints the
 *                                          minimum; exit 1 with the errno name too
 * Prints the error message and exits 1 on failure.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpm-rollback.h"
#include "tpm.h"
#include "verity.h"

static int hex32(const char *s, uint8_t out[32])
{
        if (cfs_digest_from_hex(s, strlen(s), out) < 0) {
                fprintf(stderr, "tpm-helper: bad hex '%s'\n", s);
                exit(2);
        }
        return 0;
}

int main(int argc, char **argv)
{
        struct cfs_error err = {};
        uint8_t digest[32], key[32];
        int r;
        if (argc == 5 && !strcmp(argv[1], "extend")) {
                struct cfs_tpm *t = NULL;
                r = cfs_tpm_open(NULL, &t, &err);
                if (r >= 0)
                        r = cfs_tpm_pcr_extend(t, (unsigned)strtoul(argv[2], NULL, 10), argv[3],
                                               strlen(argv[3]), argv[4], &err);
                cfs_tpm_close(t);
        } else if ((argc == 4 || argc == 6) && !strcmp(argv[1], "check")) {
                hex32(argv[3], digest);
                if (argc == 6)
                        hex32(argv[4], key);
                struct cfs_tpm_unsealed u;
                r = cfs_tpm_check_boot(NULL, AT_FDCWD, argv[2], getenv("TPM_HELPER_APPROVALS"),
                                       digest, argc == 6 ? key : NULL,
                                       argc == 6 ? strtoull(argv[5], NULL, 10) : 0, &u, &err);
                if (r >= 0)
                        printf("allowed (policy kind %d, blob version %u, approval %u)\n",
                               (int)u.policy.kind, u.version, u.approval);
        } else if (argc == 7 && !strcmp(argv[1], "measure")) {
                hex32(argv[3], digest);
                bool has_key = strcmp(argv[5], "-") != 0;
                if (has_key)
                        hex32(argv[5], key);
                r = cfs_tpm_measure_boot(NULL, (unsigned)strtoul(argv[2], NULL, 10), digest,
                                         argv[4], has_key ? key : NULL, argv[6], &err);
        } else if (argc == 3 && !strcmp(argv[1], "rollback-check")) {
                uint64_t minimum = UINT64_MAX;
                r = cfs_tpm_rollback_check(NULL, strtoull(argv[2], NULL, 10), &minimum, &err);
                if (r >= 0)
                        printf("allowed (minimum %llu)\n", (unsigned long long)minimum);
                else
                        fprintf(stderr, "tpm-helper: errno %s\n", strerrorname_np(-r));
        } else {
                fprintf(stderr, "usage: see tests/tpm/tpm-helper.c\n");
                return 2;
        }
        if (r < 0) {
                fprintf(stderr, "tpm-helper: %s\n", cfs_error_text(&err, r));
                return 1;
        }
        return 0;
}

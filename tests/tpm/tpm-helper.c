/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpm-helper.c - test helper for tests/tpm/run.sh: calls lib/tpm.c the way
 * setup-root will, against the TPM in $TPM2TSS_TCTI. Host only.
 *   tpm-helper extend PCR STRING LOG       cfs_tpm_pcr_extend() + event record
 *   tpm-helper check BLOB DIGEST [KEYID GENERATION]
 *                                          cfs_tpm_check_boot() (BLOB relative to cwd;
 *                                          approvals of a version 2 blob: the file
 *                                          $TPM_HELPER_APPROVALS, relative to cwd;
 *                                          $TPM_HELPER_REQUIRE_CREATION=1: require
 *                                          the creation record)
 *   tpm-helper seal-to PCR7HEX DIGEST BLOB cfs_tpm_seal_to(): a digest-list blob
 *                                          sealed to PCR 7 = PCR7HEX, whatever
 *                                          PCR 7 is now (what an attacker can do)
 *   tpm-helper measure PCR DIGEST MODE KEYID|- LOG
 *                                          cfs_tpm_measure_boot()
 *   tpm-helper rollback-check GENERATION   cfs_tpm_rollback_check(); prints the
 *                                          minimum; exit 1 with the errno name too
 * Prints the error message and exits 1 on failure.
 */
#include <errno.h>
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
                const char *req = getenv("TPM_HELPER_REQUIRE_CREATION");
                r = cfs_tpm_check_boot(
                    NULL, AT_FDCWD, argv[2], getenv("TPM_HELPER_APPROVALS"),
                    req && !strcmp(req, "1") ? CFS_TPM_UNSEAL_REQUIRE_CREATION : 0, digest,
                    argc == 6 ? key : NULL, argc == 6 ? strtoull(argv[5], NULL, 10) : 0, &u, &err);
                if (r >= 0)
                        printf("allowed (policy kind %d, blob version %u, approval %u)\n",
                               (int)u.policy.kind, u.version, u.approval);
        } else if (argc == 5 && !strcmp(argv[1], "seal-to")) {
                struct cfs_tpm_policy p = {.kind = CFS_TPM_POLICY_DIGESTS};
                uint8_t values[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE] = {},
                        pol[CFS_TPM_POLICY_MAX_SIZE];
                uint8_t *blob = NULL;
                size_t pol_len = 0, blob_len = 0;
                struct cfs_tpm *t = NULL;
                hex32(argv[2], values[7]);
                hex32(argv[3], digest);
                r = cfs_tpm_policy_add_digest(&p, digest, &err);
                if (r >= 0)
                        r = cfs_tpm_policy_serialize(&p, pol, sizeof(pol), &pol_len, &err);
                if (r >= 0)
                        r = cfs_tpm_open(NULL, &t, &err);
                if (r >= 0)
                        r = cfs_tpm_seal_to(t, pol, pol_len, 1u << 7,
                                            (const uint8_t(*)[CFS_TPM_PCR_SIZE])values, NULL, 0,
                                            &blob, &blob_len, &err);
                cfs_tpm_close(t);
                if (r >= 0) {
                        FILE *f = fopen(argv[4], "we");
                        if (!f || fwrite(blob, 1, blob_len, f) != blob_len || fclose(f) != 0) {
                                fprintf(stderr, "tpm-helper: cannot write %s\n", argv[4]);
                                r = -EIO;
                        }
                }
                free(blob);
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-unseal.c - `cfsroot unseal`: unseal a blob made by `cfsroot seal` with the
 * TPM's current PCR values and print the policy it carries. Host and initrd
 * (the same path setup-root takes, runnable by hand to check an enrolment).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fileio.h"
#include "json.h"
#include "tool-util.h"
#include "tpm.h"
#include "verity.h"

static void unseal_usage(FILE *f)
{
        fprintf(f,
                "Usage: cfsroot unseal [--tcti CONF] [--json] BLOB\n\n"
                "Unseal BLOB (made by `cfsroot seal`) with the TPM's current PCR values and\n"
                "print the boot policy. Fails if a PCR it is sealed to changed, if it was\n"
                "sealed by another TPM, or if it was altered.\n"
                "  --tcti CONF  TPM to use (default $TPM2TSS_TCTI, else " CFS_TPM_TCTI_DEFAULT ")\n"
                "  --json       print one JSON object\n");
}

static void print_policy(const char *blob, const struct cfs_tpm_unsealed *u, bool json)
{
        char hex[CFS_DIGEST_HEX_SIZE], pcrs[64];
        const struct cfs_tpm_policy *p = &u->policy;
        cfs_tpm_pcr_mask_format(u->pcr_mask, pcrs, sizeof(pcrs));
        if (json) {
                printf("{\"blob\":");
                json_print_string(stdout, blob);
                printf(",\"pcrs\":[%s],\"pcr_bank\":\"sha256\",", pcrs);
                if (p->kind == CFS_TPM_POLICY_DIGESTS) {
                        printf("\"kind\":\"digests\",\"digests\":[");
                        for (unsigned i = 0; i < p->n_digests; i++) {
                                cfs_digest_to_hex(p->digests[i], hex);
                                printf("%s\"%s\"", i ? "," : "", hex);
                        }
                        printf("]}\n");
                } else {
                        cfs_digest_to_hex(p->key_id, hex);
                        printf(
                            "\"kind\":\"key\",\"key_id\":\"sha256:%s\",\"min_generation\":%" PRIu64
                            "}\n",
                            hex, p->min_generation);
                }
                return;
        }
        printf("%s: unsealed (sha256 PCRs %s)\n", blob, pcrs);
        if (p->kind == CFS_TPM_POLICY_DIGESTS) {
                printf("  allowed image digests (%u):\n", p->n_digests);
                for (unsigned i = 0; i < p->n_digests; i++) {
                        cfs_digest_to_hex(p->digests[i], hex);
                        printf("    %s\n", hex);
                }
        } else {
                cfs_digest_to_hex(p->key_id, hex);
                printf("  signing key      sha256:%s\n  min. generation  %" PRIu64 "\n", hex,
                       p->min_generation);
        }
}

int cmd_unseal(int argc, char **argv)
{
        static const struct option options[] = {
            {"tcti", required_argument, NULL, 't'},
            {"json", no_argument, NULL, 'j'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        const char *tcti = NULL;
        bool json = false;
        int c, r;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 't':
                        tcti = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'h':
                        unseal_usage(stdout);
                        return CFS_EXIT_OK;
                default:
                        return CFS_EXIT_USAGE;
                }
        }
        if (optind + 1 != argc) {
                unseal_usage(stderr);
                return CFS_EXIT_USAGE;
        }
        const char *path = argv[optind];
        struct cfs_error err = {};
        _cleanup_free_ char *blob = NULL;
        size_t len = 0;
        r = cfs_read_file(path, CFS_TPM_BLOB_MAX, &blob, &len);
        if (r < 0)
                return log_error_errno(r, "cannot read %s%s", path,
                                       r == -EFBIG ? " (too large for a sealed blob)" : "");
        _cleanup_(cfs_tpm_closep) struct cfs_tpm *tpm = NULL;
        r = cfs_tpm_open(tcti, &tpm, &err);
        if (r < 0)
                return log_cfs_error(r, &err, "cannot open the TPM");
        struct cfs_tpm_unsealed u;
        r = cfs_tpm_unseal(tpm, (const uint8_t *)blob, len, &u, &err);
        if (r < 0)
                return log_cfs_error(r, &err, "%s", path);
        print_policy(path, &u, json);
        return CFS_EXIT_OK;
}

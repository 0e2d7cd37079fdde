/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-unseal.c - `cfsroot unseal`: unseal a blob made by `cfsroot seal` with the
 * TPM's current PCR values (version 2: and a signed approval of them from the
 * approvals file) and print the policy it carries. Host and initrd (the same
 * path setup-root takes, runnable by hand to check an enrolment).
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
                "Usage: cfsroot unseal [--tcti CONF] [--approvals FILE] [--json] BLOB\n\n"
                "Unseal BLOB (made by `cfsroot seal`) with the TPM's current PCR values and\n"
                "print the boot policy. Fails if a PCR it is sealed to changed (or, for a\n"
                "blob sealed with --public-key, if no signed approval in the approvals file\n"
                "allows the current values), if it was sealed by another TPM, or if it was\n"
                "altered.\n"
                "  --tcti CONF       TPM to use (default $TPM2TSS_TCTI, else " CFS_TPM_TCTI_DEFAULT
                ")\n"
                "  --approvals FILE  signed PCR approvals (default: BLOB with .blob replaced\n"
                "                    by .approvals, else BLOB.approvals)\n"
                "  --require-creation-ticket\n"
                "                    refuse a blob without a creation record (as setup-root\n"
                "                    with RequireCreationTicket=yes)\n"
                "  --json            print one JSON object\n");
}

static void print_policy(const char *blob, const char *approvals, const struct cfs_tpm_unsealed *u,
                         bool json)
{
        char hex[CFS_DIGEST_HEX_SIZE], pcrs[64], key[CFS_DIGEST_HEX_SIZE];
        const struct cfs_tpm_policy *p = &u->policy;
        bool v2 = u->version == CFS_TPM_BLOB_V2;
        cfs_tpm_pcr_mask_format(u->pcr_mask, pcrs, sizeof(pcrs));
        cfs_digest_to_hex(u->key_name, key);
        if (json) {
                printf("{\"blob\":");
                json_print_string(stdout, blob);
                printf(",\"version\":%u,\"pcrs\":[%s],\"pcr_bank\":\"sha256\","
                       "\"creation_verified\":%s,",
                       u->version, pcrs, u->creation_verified ? "true" : "false");
                if (v2) {
                        printf("\"approvals\":");
                        json_print_string(stdout, approvals);
                        printf(",\"approval\":%u,\"authorize_key\":\"%s\",", u->approval, key);
                }
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
        if (v2)
                printf("%s: unsealed (sha256 PCRs %s, approval %u of %s, signed by key %s)\n", blob,
                       pcrs, u->approval, approvals, key);
        else
                printf("%s: unsealed (sha256 PCRs %s)\n", blob, pcrs);
        printf("  creation record  %s\n", u->creation_verified
                                              ? "verified (created in a sealed/approved PCR state)"
                                              : "none (not checked)");
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

/* BLOB with a trailing ".blob" replaced by ".approvals", else BLOB + ".approvals". */
static char *default_approvals(const char *blob)
{
        size_t n = strlen(blob);
        char *p = NULL;
        if (n > 5 && !strcmp(blob + n - 5, ".blob")) {
                if (asprintf(&p, "%.*s.approvals", (int)(n - 5), blob) < 0)
                        return NULL;
        } else if (asprintf(&p, "%s.approvals", blob) < 0) {
                return NULL;
        }
        return p;
}

int cmd_unseal(int argc, char **argv)
{
        static const struct option options[] = {
            {"tcti", required_argument, NULL, 't'},
            {"approvals", required_argument, NULL, 'a'},
            {"require-creation-ticket", no_argument, NULL, 'c'},
            {"json", no_argument, NULL, 'j'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        const char *tcti = NULL, *approvals_arg = NULL;
        bool json = false;
        unsigned flags = 0;
        int c, r;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 't':
                        tcti = optarg;
                        break;
                case 'a':
                        approvals_arg = optarg;
                        break;
                case 'c':
                        flags |= CFS_TPM_UNSEAL_REQUIRE_CREATION;
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
        /* a version 2 blob needs the approvals: read them only then */
        struct cfs_tpm_blob b;
        _cleanup_free_ char *approvals_path = NULL, *approvals = NULL;
        size_t approvals_len = 0;
        if (cfs_tpm_blob_parse((const uint8_t *)blob, len, &b, NULL) == 0 &&
            b.version == CFS_TPM_BLOB_V2) {
                approvals_path = approvals_arg ? strdup(approvals_arg) : default_approvals(path);
                if (!approvals_path)
                        return log_error_errno(-ENOMEM, "approvals path");
                r = cfs_read_file(approvals_path, CFS_TPM_APPROVALS_FILE_MAX, &approvals,
                                  &approvals_len);
                if (r < 0)
                        return log_error_errno(r, "cannot read the signed PCR approvals %s%s",
                                               approvals_path, r == -EFBIG ? " (too large)" : "");
        }
        _cleanup_(cfs_tpm_closep) struct cfs_tpm *tpm = NULL;
        r = cfs_tpm_open(tcti, &tpm, &err);
        if (r < 0)
                return log_cfs_error(r, &err, "cannot open the TPM");
        struct cfs_tpm_unsealed u;
        r = cfs_tpm_unseal(tpm, (const uint8_t *)blob, len, (const uint8_t *)approvals,
                           approvals_len, approvals_path, flags, &u, &err);
        if (r < 0)
                return log_cfs_error(r, &err, "%s", path);
        print_policy(path, approvals_path, &u, json);
        return CFS_EXIT_OK;
}

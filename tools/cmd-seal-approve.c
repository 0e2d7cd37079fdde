/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-seal-approve.c - `cfsroot seal-approve`: the owner signs PCR values that
 * a blob sealed with `cfsroot seal --public-key` may be unsealed in (a signed
 * PolicyPCR digest for TPM2_PolicyAuthorize), and writes or extends the
 * approvals file next to the blob. Runs wherever the private key is: on the
 * machine (values read from its TPM now) or on a signing host (values given
 * with --pcr-value, e.g. predicted for the next firmware; no TPM needed).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "commands.h"
#include "fileio.h"
#include "tool-util.h"
#include "tpm-authorize.h"
#include "tpm.h"
#include "verity.h"

static void approve_usage(FILE *f)
{
        fprintf(
            f, "Usage: cfsroot seal-approve --private-key PEM [--pcrs LIST]\n"
               "                            [--pcr-value N=HEX]... [OPTIONS] OUTPUT\n\n"
               "Sign an approval of sha256 PCR values for blobs sealed with\n"
               "`cfsroot seal --public-key`, and write it to the approvals file OUTPUT.\n"
               "  --private-key PEM  the owner's signing key (RSA 2048 or ECC P-256)\n"
               "  --pcrs LIST        the PCRs the blob was sealed with (default 7)\n"
               "  --pcr-value N=HEX  approve this value of PCR N (64 hex digits); PCRs\n"
               "                     without one are read from the TPM now\n"
               "  --tcti CONF        TPM to read (default $TPM2TSS_TCTI, else " CFS_TPM_TCTI_DEFAULT
               ")\n"
               "  --append           add to the approvals already in OUTPUT (one for the\n"
               "                     same key and values is replaced)\n"
               "  --force            replace an existing OUTPUT\n");
}

struct approve_args {
        const char *key, *tcti, *output;
        uint32_t pcrs, given;
        uint8_t values[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE];
        bool append, force;
};

static int parse_pcr_value(const char *s, struct approve_args *a)
{
        char *end;
        errno = 0;
        unsigned long pcr = strtoul(s, &end, 10);
        if (errno || end == s || *end != '=' || pcr >= CFS_TPM_PCR_COUNT || s[0] == '-' ||
            cfs_digest_from_hex(end + 1, strlen(end + 1), a->values[pcr]) < 0) {
                log_error("--pcr-value %s: expected N=<64 hex digits>, N 0-23", s);
                return -EINVAL;
        }
        if (a->given & (1u << pcr)) {
                log_error("--pcr-value: PCR %lu given twice", pcr);
                return -EINVAL;
        }
        a->given |= 1u << pcr;
        return 0;
}

static int approve_parse_args(int argc, char **argv, struct approve_args *a)
{
        static const struct option options[] = {
            {"private-key", required_argument, NULL, 'k'},
            {"pcrs", required_argument, NULL, 'p'},
            {"pcr-value", required_argument, NULL, 'v'},
            {"tcti", required_argument, NULL, 't'},
            {"append", no_argument, NULL, 'a'},
            {"force", no_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        struct cfs_error err = {};
        int c;
        a->pcrs = CFS_TPM_PCRS_DEFAULT;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'k':
                        a->key = optarg;
                        break;
                case 'p':
                        if (cfs_tpm_pcr_mask_parse(optarg, &a->pcrs, &err) < 0)
                                return log_cfs_error(-EINVAL, &err, "--pcrs"), -EINVAL;
                        break;
                case 'v':
                        if (parse_pcr_value(optarg, a) < 0)
                                return -EINVAL;
                        break;
                case 't':
                        a->tcti = optarg;
                        break;
                case 'a':
                        a->append = true;
                        break;
                case 'f':
                        a->force = true;
                        break;
                case 'h':
                        approve_usage(stdout);
                        exit(CFS_EXIT_OK);
                default:
                        return -EINVAL;
                }
        }
        if (optind + 1 != argc) {
                approve_usage(stderr);
                return -EINVAL;
        }
        a->output = argv[optind];
        if (!a->key) {
                log_error("--private-key is required");
                return -EINVAL;
        }
        if (a->given & ~a->pcrs) {
                char list[64];
                cfs_tpm_pcr_mask_format(a->given & ~a->pcrs, list, sizeof(list));
                log_error("--pcr-value for PCR %s, which is not in --pcrs", list);
                return -EINVAL;
        }
        if (a->append && a->force) {
                log_error("give --append or --force, not both");
                return -EINVAL;
        }
        return 0;
}

static EVP_PKEY *load_private_key(const char *path)
{
        _cleanup_free_ char *data = NULL;
        size_t n = 0;
        int r = cfs_read_file(path, 1u << 20, &data, &n);
        if (r < 0) {
                log_error_errno(r, "%s", path);
                return NULL;
        }
        BIO *b = BIO_new_mem_buf(data, (int)n);
        EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        explicit_bzero(data, n);
        if (!key)
                log_error("%s: not a PEM private key", path);
        return key;
}

static bool same_approval(const struct cfs_tpm_approval *x, const struct cfs_tpm_approval *y)
{
        if (x->pcr_mask != y->pcr_mask || memcmp(x->key_name, y->key_name, 32))
                return false;
        for (unsigned pcr = 0; pcr < CFS_TPM_PCR_COUNT; pcr++)
                if ((x->pcr_mask & (1u << pcr)) &&
                    memcmp(x->pcr_values[pcr], y->pcr_values[pcr], CFS_TPM_PCR_SIZE))
                        return false;
        return true;
}

/* Write @old (minus any record equal to @a) then @a to @path, atomically. */
static int write_approvals(const char *path, const struct cfs_tpm_approval *old, size_t n_old,
                           const struct cfs_tpm_approval *a, bool replace, size_t *ret_n)
{
        struct cfs_error err = {};
        uint8_t rec[CFS_TPM_APPROVAL_HEADER_SIZE + CFS_TPM_PCR_COUNT * CFS_TPM_PCR_SIZE +
                    CFS_TPM_APPROVAL_SIG_MAX];
        size_t len = 0, n = 0;
        struct cfs_tmpfile tmp = CFS_TMPFILE_INIT;
        int r = cfs_tmpfile_open(path, &tmp);
        for (size_t i = 0; r >= 0 && i <= n_old; i++) {
                const struct cfs_tpm_approval *x = i < n_old ? &old[i] : a;
                if (i < n_old && same_approval(x, a))
                        continue;
                r = cfs_tpm_approval_serialize(x, rec, sizeof(rec), &len, &err);
                if (r >= 0)
                        r = cfs_write_all(tmp.fd, rec, len);
                n++;
        }
        if (r >= 0 && n > CFS_TPM_APPROVALS_MAX)
                r = -E2BIG;
        if (r >= 0)
                r = cfs_tmpfile_commit(&tmp, path, replace);
        cfs_tmpfile_discard(&tmp);
        if (r == -E2BIG)
                log_error("%s: at most %u approvals; write a new file without --append", path,
                          CFS_TPM_APPROVALS_MAX);
        else if (r < 0)
                log_error_errno(r, "cannot write %s%s", path,
                                r == -EEXIST ? " (use --append or --force)" : "");
        *ret_n = n;
        return r;
}

int cmd_seal_approve(int argc, char **argv)
{
        struct approve_args a = {};
        struct cfs_error err = {};
        if (approve_parse_args(argc, argv, &a) < 0)
                return CFS_EXIT_USAGE;
        EVP_PKEY *key = load_private_key(a.key);
        if (!key)
                return CFS_EXIT_FAILURE;

        /* PCRs without a given value: the TPM's values now */
        uint32_t read = a.pcrs & ~a.given;
        if (read) {
                uint8_t now[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE];
                _cleanup_(cfs_tpm_closep) struct cfs_tpm *tpm = NULL;
                int r = cfs_tpm_open(a.tcti, &tpm, &err);
                if (r >= 0)
                        r = cfs_tpm_pcr_read(tpm, read, now, &err);
                if (r < 0) {
                        EVP_PKEY_free(key);
                        return log_cfs_error(r, &err, "cannot read the PCRs to approve");
                }
                for (unsigned pcr = 0; pcr < CFS_TPM_PCR_COUNT; pcr++)
                        if (read & (1u << pcr))
                                memcpy(a.values[pcr], now[pcr], CFS_TPM_PCR_SIZE);
        }

        struct cfs_tpm_approval approval;
        int r = cfs_tpm_approval_sign(key, a.pcrs, a.values, &approval, &err);
        EVP_PKEY_free(key);
        if (r < 0)
                return log_cfs_error(r, &err, "%s", a.key);

        _cleanup_free_ struct cfs_tpm_approval *old = NULL;
        size_t n_old = 0, n = 0;
        if (a.append) {
                _cleanup_free_ char *data = NULL;
                size_t len = 0;
                r = cfs_read_file(a.output, CFS_TPM_APPROVALS_FILE_MAX, &data, &len);
                if (r < 0 && r != -ENOENT)
                        return log_error_errno(r, "cannot read %s", a.output);
                if (r >= 0) {
                        r = cfs_tpm_approvals_parse((const uint8_t *)data, len, &old, &n_old, &err);
                        if (r < 0)
                                return log_cfs_error(r, &err, "%s (not appending to it)", a.output);
                }
        }
        if (write_approvals(a.output, old, n_old, &approval, a.append || a.force, &n) < 0)
                return CFS_EXIT_FAILURE;

        char hex[CFS_DIGEST_HEX_SIZE], key_hex[CFS_DIGEST_HEX_SIZE], pcrs[64];
        cfs_digest_to_hex(approval.key_name, key_hex);
        cfs_tpm_pcr_mask_format(a.pcrs, pcrs, sizeof(pcrs));
        log_info("approved sha256 PCR %s, signed by key %s: %s (%zu approval%s)", pcrs, key_hex,
                 a.output, n, n == 1 ? "" : "s");
        for (unsigned pcr = 0; pcr < CFS_TPM_PCR_COUNT; pcr++)
                if (a.pcrs & (1u << pcr)) {
                        cfs_digest_to_hex(a.values[pcr], hex);
                        log_info("  PCR %u = %s%s", pcr, hex,
                                 (read & (1u << pcr)) ? " (read from the TPM)" : "");
                }
        return CFS_EXIT_OK;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-seal.c - `cfsroot seal`: build a boot policy (allowed image digests, or a
 * trusted signing key + minimum security generation), seal it to the TPM's
 * current sha256 PCR values (blob version 1) or, with --public-key, to
 * PolicyAuthorize by the owner's key (version 2: PCR values approved later by
 * `cfsroot seal-approve`), and write the sealed blob atomically. Runs on the
 * enrolled machine (real root, as root), in the boot state the policy is to
 * be bound to (version 1) or in any state (version 2).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "commands.h"
#include "fileio.h"
#include "signature.h"
#include "tool-util.h"
#include "tpm-authorize.h"
#include "tpm.h"
#include "verity.h"

static void seal_usage(FILE *f)
{
        fprintf(
            f,
            "Usage: cfsroot seal --digest HEX [--digest HEX]... [OPTIONS] OUTPUT\n"
            "       cfsroot seal (--cert CERT | --key-id sha256:HEX) [--min-generation N]\n"
            "                    [OPTIONS] OUTPUT\n\n"
            "Seal a boot policy to the TPM's current PCR values (or, with --public-key, to\n"
            "PCR values its owner signs) and write the blob to OUTPUT.\n"
            "  --digest HEX          an image digest that may boot (up to %u)\n"
            "  --cert CERT           images signed by this certificate's key may boot\n"
            "  --key-id sha256:HEX   the same, by key id (as `cfsroot verify` prints it)\n"
            "  --min-generation N    ... if their signed security generation is at least N\n"
            "  --pcrs LIST           sha256 PCRs to seal to (default 7)\n"
            "  --public-key PEM      seal to PolicyAuthorize by this RSA 2048/ECC P-256 key\n"
            "                        instead of the current PCR values: unsealing needs PCR\n"
            "                        values (of --pcrs) approved by `cfsroot seal-approve`\n"
            "  --tcti CONF           TPM to use (default $TPM2TSS_TCTI, else " CFS_TPM_TCTI_DEFAULT
            ")\n"
            "  --force               replace an existing OUTPUT\n",
            CFS_TPM_POLICY_MAX_DIGESTS);
}

/* sha256 of the DER SubjectPublicKeyInfo of the only certificate in @path. */
static int cert_key_id(const char *path, uint8_t id[CFS_TPM_KEY_ID_SIZE])
{
        struct cfs_error err = {};
        _cleanup_(cfs_trust_freep) struct cfs_trust *trust = NULL;
        int r = cfs_trust_load_file(path, &trust, &err);
        if (r < 0)
                return log_cfs_error(r, &err, "%s", path), r;
        if (cfs_trust_count(trust) != 1) {
                log_error("%s: holds %zu certificates, give exactly one", path,
                          cfs_trust_count(trust));
                return -EINVAL;
        }
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        r = cfs_read_file(path, 1u << 20, &data, &len);
        if (r < 0)
                return log_error_errno(r, "%s", path), r;
        X509 *c = NULL;
        if (strstr(data, "-----BEGIN")) {
                BIO *b = BIO_new_mem_buf(data, (int)len);
                c = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
                BIO_free(b);
        } else {
                const unsigned char *p = (const unsigned char *)data;
                c = d2i_X509(NULL, &p, (long)len);
        }
        unsigned char *der = NULL;
        int n = c ? i2d_PUBKEY(X509_get0_pubkey(c), &der) : -1;
        unsigned md_len = 0;
        bool ok = n > 0 && EVP_Digest(der, (size_t)n, id, &md_len, EVP_sha256(), NULL) &&
                  md_len == CFS_TPM_KEY_ID_SIZE;
        OPENSSL_free(der);
        X509_free(c);
        if (!ok) {
                log_error("%s: cannot compute the key id of its public key", path);
                return -EINVAL;
        }
        return 0;
}

static int parse_key_id(const char *s, uint8_t id[CFS_TPM_KEY_ID_SIZE])
{
        if (!strncmp(s, "sha256:", 7))
                s += 7;
        if (cfs_digest_from_hex(s, strlen(s), id) < 0) {
                log_error("--key-id %s: expected sha256:<64 hex digits>", s);
                return -EINVAL;
        }
        return 0;
}

struct seal_args {
        struct cfs_tpm_policy policy;
        bool have_key, have_generation, force;
        uint32_t pcrs;
        const char *tcti, *output, *public_key;
};

/* The --public-key PEM file as a marshalled TPM2B_PUBLIC; its name digest. */
static int load_public_key(const char *path, uint8_t *buf, size_t size, size_t *len,
                           uint8_t name[32])
{
        struct cfs_error err = {};
        _cleanup_free_ char *data = NULL;
        size_t n = 0;
        int r = cfs_read_file(path, 1u << 20, &data, &n);
        if (r < 0)
                return log_error_errno(r, "%s", path), r;
        BIO *b = BIO_new_mem_buf(data, (int)n);
        EVP_PKEY *key = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        if (!key) {
                log_error("%s: not a PEM public key (BEGIN PUBLIC KEY)", path);
                return -EINVAL;
        }
        r = cfs_tpm_authkey_from_pkey(key, buf, size, len, &err);
        EVP_PKEY_free(key);
        if (r >= 0)
                r = cfs_tpm_authkey_name(buf, *len, name, &err);
        if (r < 0)
                return log_cfs_error(r, &err, "%s", path), r;
        return 0;
}

static int seal_parse_args(int argc, char **argv, struct seal_args *a)
{
        static const struct option options[] = {
            {"digest", required_argument, NULL, 'd'},
            {"cert", required_argument, NULL, 'c'},
            {"key-id", required_argument, NULL, 'k'},
            {"min-generation", required_argument, NULL, 'g'},
            {"pcrs", required_argument, NULL, 'p'},
            {"public-key", required_argument, NULL, 'P'},
            {"tcti", required_argument, NULL, 't'},
            {"force", no_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        struct cfs_error err = {};
        uint8_t digest[CFS_DIGEST_SIZE];
        char *end;
        int c;
        a->pcrs = CFS_TPM_PCRS_DEFAULT;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'd':
                        if (cfs_digest_from_hex(optarg, strlen(optarg), digest) < 0) {
                                log_error("--digest %s: expected 64 hex digits", optarg);
                                return -EINVAL;
                        }
                        a->policy.kind = CFS_TPM_POLICY_DIGESTS;
                        if (cfs_tpm_policy_add_digest(&a->policy, digest, &err) < 0)
                                return log_cfs_error(-E2BIG, &err, "--digest"), -EINVAL;
                        break;
                case 'c':
                case 'k':
                        if (a->have_key) {
                                log_error("give one --cert or --key-id");
                                return -EINVAL;
                        }
                        if ((c == 'c' ? cert_key_id(optarg, a->policy.key_id)
                                      : parse_key_id(optarg, a->policy.key_id)) < 0)
                                return -EINVAL;
                        a->have_key = true;
                        break;
                case 'g':
                        errno = 0;
                        a->policy.min_generation = strtoull(optarg, &end, 10);
                        if (errno || end == optarg || *end || optarg[0] == '-') {
                                log_error("--min-generation %s: expected a number", optarg);
                                return -EINVAL;
                        }
                        a->have_generation = true;
                        break;
                case 'p':
                        if (cfs_tpm_pcr_mask_parse(optarg, &a->pcrs, &err) < 0)
                                return log_cfs_error(-EINVAL, &err, "--pcrs"), -EINVAL;
                        break;
                case 'P':
                        a->public_key = optarg;
                        break;
                case 't':
                        a->tcti = optarg;
                        break;
                case 'f':
                        a->force = true;
                        break;
                case 'h':
                        seal_usage(stdout);
                        exit(CFS_EXIT_OK);
                default:
                        return -EINVAL;
                }
        }
        if (optind + 1 != argc) {
                seal_usage(stderr);
                return -EINVAL;
        }
        a->output = argv[optind];
        if (a->have_key == (a->policy.n_digests > 0)) {
                log_error("give either --digest (one or more) or --cert/--key-id");
                return -EINVAL;
        }
        if (a->have_generation && !a->have_key) {
                log_error("--min-generation needs --cert or --key-id");
                return -EINVAL;
        }
        if (a->have_key)
                a->policy.kind = CFS_TPM_POLICY_KEY;
        return 0;
}

int cmd_seal(int argc, char **argv)
{
        struct seal_args a = {};
        struct cfs_error err = {};
        uint8_t policy[CFS_TPM_POLICY_MAX_SIZE];
        size_t policy_len = 0;
        char pcrs[64];
        if (seal_parse_args(argc, argv, &a) < 0)
                return CFS_EXIT_USAGE;
        int r = cfs_tpm_policy_serialize(&a.policy, policy, sizeof(policy), &policy_len, &err);
        if (r < 0)
                return log_cfs_error(r, &err, "invalid policy");

        uint8_t key[CFS_TPM_AUTHKEY_MAX], key_name[32];
        size_t key_len = 0;
        if (a.public_key && load_public_key(a.public_key, key, sizeof(key), &key_len, key_name) < 0)
                return CFS_EXIT_USAGE;

        _cleanup_(cfs_tpm_closep) struct cfs_tpm *tpm = NULL;
        r = cfs_tpm_open(a.tcti, &tpm, &err);
        if (r < 0)
                return log_cfs_error(r, &err, "cannot open the TPM");
        _cleanup_free_ uint8_t *blob = NULL;
        size_t blob_len = 0;
        r = cfs_tpm_seal(tpm, policy, policy_len, a.pcrs, a.public_key ? key : NULL, key_len, &blob,
                         &blob_len, &err);
        if (r < 0)
                return log_cfs_error(r, &err, "cannot seal");

        struct cfs_tmpfile tmp = CFS_TMPFILE_INIT;
        r = cfs_tmpfile_open(a.output, &tmp);
        if (r >= 0)
                r = cfs_write_all(tmp.fd, blob, blob_len);
        if (r >= 0)
                r = cfs_tmpfile_commit(&tmp, a.output, a.force);
        cfs_tmpfile_discard(&tmp);
        if (r < 0)
                return log_error_errno(r, "cannot write %s%s", a.output,
                                       r == -EEXIST ? " (use --force to replace it)" : "");
        cfs_tpm_pcr_mask_format(a.pcrs, pcrs, sizeof(pcrs));
        const char *kind = a.policy.kind == CFS_TPM_POLICY_DIGESTS ? "digest-list" : "signing-key";
        if (a.public_key) {
                char hex[CFS_DIGEST_HEX_SIZE];
                cfs_digest_to_hex(key_name, hex);
                log_info("sealed a %s policy to approvals of sha256 PCR %s signed by key %s: %s "
                         "(%zu bytes); approve PCR values with `cfsroot seal-approve`",
                         kind, pcrs, hex, a.output, blob_len);
        } else {
                log_info("sealed a %s policy to sha256 PCR %s: %s (%zu bytes)", kind, pcrs,
                         a.output, blob_len);
        }
        return CFS_EXIT_OK;
}

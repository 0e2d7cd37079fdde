/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-verify.c - `cfsroot verify`: check a signature over the fs-verity digest
 * of a composefs image against trusted certificates (a directory of *.pem,
 * *.crt, *.der files, or one file). Host, initrd and real root.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "digest-arg.h"
#include "fileio.h"
#include "json.h"
#include "revocation.h"
#include "signature.h"
#include "tool-util.h"

static void verify_usage(FILE *f)
{
        fprintf(f, "Usage: cfsroot verify --certs DIR|FILE --signature SIGFILE [--revoked FILE]\n"
                   "                      [--json] IMAGE|--digest HEX\n\n"
                   "Check that SIGFILE is a valid signature of the fs-verity digest of IMAGE (or\n"
                   "the given digest) by one of the trusted certificates, and that neither the\n"
                   "signing key nor the digest is in the revocation list FILE. Exit 0 if so.\n");
}

static int load_trust(const char *path, struct cfs_trust **ret)
{
        struct cfs_error err = {};
        struct stat st;
        int r;
        if (stat(path, &st) < 0) {
                r = -errno;
                log_error_errno(r, "cannot access trusted certificates %s", path);
                return r;
        }
        r = S_ISDIR(st.st_mode) ? cfs_trust_load_dir(path, ret, &err)
                                : cfs_trust_load_file(path, ret, &err);
        if (r < 0)
                log_cfs_error(r, &err, "cannot load trusted certificates");
        return r;
}

static void print_result(const char *what, const uint8_t digest[CFS_DIGEST_SIZE],
                         const struct cfs_sig_info *info, bool json)
{
        char hex[CFS_DIGEST_HEX_SIZE], key[2 * CFS_KEY_ID_SIZE + 1];
        cfs_digest_to_hex(digest, hex);
        for (unsigned i = 0; i < CFS_KEY_ID_SIZE; i++)
                sprintf(key + 2 * i, "%02x", info->key_id[i]);
        if (json) {
                printf("{\"image\":");
                json_print_string(stdout, what);
                printf(",\"digest\":\"%s\",\"valid\":true,\"signer\":", hex);
                json_print_string(stdout, info->signer);
                printf(",\"key_id\":\"sha256:%s\"", key);
                if (info->has_meta) {
                        printf(",\"name\":");
                        json_print_string(stdout, info->meta.name);
                        printf(",\"version\":");
                        json_print_string(stdout, info->meta.version);
                }
                printf(",\"generation\":%" PRIu64 "}\n", info->meta.generation);
                return;
        }
        printf("%s: signature OK\n  digest     %s\n  signer     %s\n  key        sha256:%s\n", what,
               hex, info->signer, key);
        if (info->has_meta)
                printf("  image      %s %s\n", info->meta.name, info->meta.version);
        printf("  generation %" PRIu64 "%s\n", info->meta.generation,
               info->has_meta ? "" : " (signature without metadata)");
}

/* Revocation wins over a valid signature. */
static int check_revoked(const char *path, const char *what, const uint8_t digest[CFS_DIGEST_SIZE],
                         const struct cfs_sig_info *info)
{
        _cleanup_(cfs_revocation_freep) struct cfs_revocation *rev = NULL;
        struct cfs_error err = {};
        char hex[CFS_DIGEST_HEX_SIZE];
        int r = cfs_revocation_load(path, &rev, &err);
        if (r < 0)
                return log_cfs_error(r, &err, "cannot load the revocation list"), r;
        if (cfs_revocation_has_image(rev, digest)) {
                cfs_digest_to_hex(digest, hex);
                log_error("%s: image digest %s is revoked by %s", what, hex, path);
                return -EKEYREVOKED;
        }
        if (cfs_revocation_has_key(rev, info->key_id)) {
                cfs_digest_to_hex(info->key_id, hex);
                log_error("%s: signing key sha256:%s (%s) is revoked by %s", what, hex,
                          info->signer, path);
                return -EKEYREVOKED;
        }
        return 0;
}

int cmd_verify(int argc, char **argv)
{
        static const struct option options[] = {
            {"certs", required_argument, NULL, 'c'},  {"signature", required_argument, NULL, 's'},
            {"digest", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'},
            {"help", no_argument, NULL, 'h'},         {},
        };
        const char *certs = NULL, *sigfile = NULL, *hex = NULL, *revoked = NULL;
        bool json = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        certs = optarg;
                        break;
                case 's':
                        sigfile = optarg;
                        break;
                case 'd':
                        hex = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'r':
                        revoked = optarg;
                        break;
                case 'h':
                        verify_usage(stdout);
                        return CFS_EXIT_OK;
                default:
                        return CFS_EXIT_USAGE;
                }
        }
        if (!certs || !sigfile || argc - optind != (hex ? 0 : 1)) {
                verify_usage(stderr);
                return CFS_EXIT_USAGE;
        }
        const char *image = hex ? NULL : argv[optind];
        uint8_t digest[CFS_DIGEST_SIZE];
        if (digest_from_arg(hex, image, digest) < 0)
                return CFS_EXIT_FAILURE;
        _cleanup_(cfs_trust_freep) struct cfs_trust *trust = NULL;
        if (load_trust(certs, &trust) < 0)
                return CFS_EXIT_FAILURE;
        _cleanup_free_ char *sig = NULL;
        size_t sig_len = 0;
        r = cfs_read_file(sigfile, CFS_SIG_MAX_SIZE, &sig, &sig_len);
        if (r < 0)
                return log_error_errno(r, "cannot read signature %s", sigfile);

        struct cfs_sig_info info = {};
        struct cfs_error err = {};
        r = cfs_verify_digest(trust, digest, (const uint8_t *)sig, sig_len, &info, &err);
        if (r < 0)
                return log_cfs_error(r, &err, "%s: signature %s rejected", image ? image : hex,
                                     sigfile);
        if (revoked && check_revoked(revoked, image ? image : hex, digest, &info) < 0)
                return CFS_EXIT_FAILURE;
        print_result(image ? image : hex, digest, &info, json);
        return CFS_EXIT_OK;
}

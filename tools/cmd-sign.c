/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-sign.c - `cfsroot sign`: sign the fs-verity digest of a composefs image
 * (PKCS#7, detached, DER - the format of `fsverity sign`), optionally carrying
 * the image's name, version and security generation. Host (release machines).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "digest-arg.h"
#include "fileio.h"
#include "signature.h"
#include "tool-util.h"

static void sign_usage(FILE *f)
{
        fprintf(f,
                "Usage: cfsroot sign --key KEY --cert CERT [OPTIONS] IMAGE|--digest HEX SIGFILE\n\n"
                "Sign the fs-verity digest of IMAGE (or the given digest). Without metadata\n"
                "options the signature is byte-identical to 'fsverity sign'.\n"
                "  --key KEY          PEM private key (RSA >= 2048 bits, ECDSA P-256/P-384)\n"
                "  --cert CERT        PEM certificate of that key\n"
                "  --digest HEX       sign this digest instead of computing one from IMAGE\n"
                "  --name NAME        image name to carry in the signature\n"
                "  --version VERSION  image version to carry in the signature\n"
                "  --generation N     security generation (only rises when an image fixes\n"
                "                     a security problem); needs --name and --version\n");
}

struct sign_args {
        const char *key, *cert, *digest_hex, *image, *out;
        struct cfs_sig_meta meta;
        bool with_meta, has_name, has_version;
};

static int set_text(char *dst, const char *src, const char *what)
{
        if (strlen(src) > CFS_SIG_META_TEXT_MAX) {
                log_error("%s longer than %u characters", what, CFS_SIG_META_TEXT_MAX);
                return -EINVAL;
        }
        strcpy(dst, src);
        return 0;
}

static int sign_parse_args(int argc, char **argv, struct sign_args *a)
{
        enum { OPT_KEY = 256, OPT_CERT, OPT_DIGEST, OPT_NAME, OPT_VERSION, OPT_GEN };
        static const struct option options[] = {
            {"key", required_argument, NULL, OPT_KEY},
            {"cert", required_argument, NULL, OPT_CERT},
            {"digest", required_argument, NULL, OPT_DIGEST},
            {"name", required_argument, NULL, OPT_NAME},
            {"version", required_argument, NULL, OPT_VERSION},
            {"generation", required_argument, NULL, OPT_GEN},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        char *end;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case OPT_KEY:
                        a->key = optarg;
                        break;
                case OPT_CERT:
                        a->cert = optarg;
                        break;
                case OPT_DIGEST:
                        a->digest_hex = optarg;
                        break;
                case OPT_NAME:
                        if (set_text(a->meta.name, optarg, "--name") < 0)
                                return -EINVAL;
                        a->with_meta = a->has_name = true;
                        break;
                case OPT_VERSION:
                        if (set_text(a->meta.version, optarg, "--version") < 0)
                                return -EINVAL;
                        a->with_meta = a->has_version = true;
                        break;
                case OPT_GEN:
                        errno = 0;
                        a->meta.generation = strtoull(optarg, &end, 10);
                        if (errno || end == optarg || *end || optarg[0] == '-') {
                                log_error("invalid generation '%s'", optarg);
                                return -EINVAL;
                        }
                        a->with_meta = true;
                        break;
                case 'h':
                        sign_usage(stdout);
                        exit(CFS_EXIT_OK);
                default:
                        return -EINVAL;
                }
        }
        int want = a->digest_hex ? 1 : 2;
        if (!a->key || !a->cert || argc - optind != want) {
                sign_usage(stderr);
                return -EINVAL;
        }
        if (a->with_meta && (!a->has_name || !a->has_version)) {
                log_error("--name and --version are both needed to carry metadata");
                return -EINVAL;
        }
        a->image = a->digest_hex ? NULL : argv[optind];
        a->out = argv[argc - 1];
        return 0;
}

int cmd_sign(int argc, char **argv)
{
        struct sign_args a = {};
        struct cfs_error err = {};
        uint8_t digest[CFS_DIGEST_SIZE];
        _cleanup_free_ uint8_t *sig = NULL;
        size_t sig_len = 0;
        int r;

        if (sign_parse_args(argc, argv, &a) < 0)
                return CFS_EXIT_USAGE;
        if (digest_from_arg(a.digest_hex, a.image, digest) < 0)
                return CFS_EXIT_FAILURE;
        r = cfs_sign_digest(digest, a.key, a.cert, a.with_meta ? &a.meta : NULL, &sig, &sig_len,
                            &err);
        if (r < 0)
                return log_cfs_error(r, &err, "cannot sign");

        struct cfs_tmpfile tmp = CFS_TMPFILE_INIT;
        r = cfs_tmpfile_open(a.out, &tmp);
        if (r >= 0)
                r = cfs_write_all(tmp.fd, sig, sig_len);
        if (r >= 0)
                r = cfs_tmpfile_commit(&tmp, a.out, true);
        cfs_tmpfile_discard(&tmp);
        if (r < 0)
                return log_error_errno(r, "cannot write %s", a.out);
        return CFS_EXIT_OK;
}

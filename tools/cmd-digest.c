/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-digest.c - `cfsroot digest FILE...`: print the fs-verity sha256 digest of
 * files, computed in userspace with libfsverity, in the format of
 * `fsverity digest` ("sha256:<64 hex> FILE"). Host, initrd and real root.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "json.h"
#include "tool-util.h"
#include "verity.h"

static void digest_usage(FILE *f)
{
        fprintf(f, "Usage: cfsroot digest [--compact|--json] FILE...\n\n"
                   "Print the fs-verity sha256 digest (4096-byte blocks, no salt) of each FILE,\n"
                   "as 'fsverity digest' does. '-' reads stdin.\n"
                   "  --compact  print only the 64 hex digits\n"
                   "  --json     one JSON object per file\n");
}

int cmd_digest(int argc, char **argv)
{
        static const struct option options[] = {
            {"compact", no_argument, NULL, 'c'},
            {"json", no_argument, NULL, 'j'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool compact = false, json = false;
        int c, ret = CFS_EXIT_OK;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        compact = true;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'h':
                        digest_usage(stdout);
                        return CFS_EXIT_OK;
                default:
                        return CFS_EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                digest_usage(stderr);
                return CFS_EXIT_USAGE;
        }
        for (int i = optind; i < argc; i++) {
                const char *path = argv[i];
                _cleanup_close_ int fd = -1;
                uint8_t digest[CFS_DIGEST_SIZE];
                char hex[CFS_DIGEST_HEX_SIZE];
                int r;

                if (strcmp(path, "-") != 0) {
                        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                        if (fd < 0) {
                                ret = log_error_errno(-errno, "cannot open %s", path);
                                continue;
                        }
                }
                r = cfs_verity_digest_fd(fd >= 0 ? fd : STDIN_FILENO, digest);
                if (r < 0) {
                        ret = log_error_errno(r, "cannot compute the digest of %s", path);
                        continue;
                }
                cfs_digest_to_hex(digest, hex);
                if (json) {
                        printf("{\"file\":");
                        json_print_string(stdout, path);
                        printf(",\"algorithm\":\"sha256\",\"digest\":\"%s\"}\n", hex);
                } else if (compact)
                        printf("%s\n", hex);
                else
                        printf("sha256:%s %s\n", hex, path);
        }
        if (fflush(stdout) != 0)
                ret = log_error_errno(-errno, "cannot write to stdout");
        return ret;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-check.c - `cfsroot check IMAGE...`: full validation of untrusted composefs
 * images (every offset and size in bounds, directories well-formed and sorted,
 * no loops, xattrs and composefs rules). Exit 0 when all are valid, 1 otherwise.
 * Host, initrd and real root.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "image-reader.h"
#include "json.h"
#include "tool-util.h"

static void check_usage(FILE *f)
{
        fprintf(f, "Usage: cfsroot check [--json] [-q] IMAGE...\n\n"
                   "Validate composefs images. Exit status 0 if all are valid, 1 if any is not.\n"
                   "  --json       one JSON object per image on stdout\n"
                   "  -q, --quiet  print only errors\n");
}

/* Validate one image; on failure @msg gets the one-line reason. */
static int check_one(const char *path, struct cfs_image_info *info, char *msg, size_t msg_size)
{
        struct cfs_error err = {};
        _cleanup_(cfs_image_closep) struct cfs_image *img = NULL;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        int r;

        if (fd < 0) {
                r = -errno;
                snprintf(msg, msg_size, "cannot open: %s", strerror(-r));
                return r;
        }
        r = cfs_image_open_fd(fd, &img, &err);
        if (r >= 0) {
                cfs_image_get_info(img, info);
                r = cfs_image_check(img, &err);
        }
        if (r < 0)
                snprintf(msg, msg_size, "%s", cfs_error_text(&err, r));
        return r;
}

int cmd_check(int argc, char **argv)
{
        static const struct option options[] = {
            {"json", no_argument, NULL, 'j'},
            {"quiet", no_argument, NULL, 'q'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool json = false, quiet = false;
        int c, ret = CFS_EXIT_OK;

        while ((c = getopt_long(argc, argv, "qh", options, NULL)) >= 0) {
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        check_usage(stdout);
                        return CFS_EXIT_OK;
                default:
                        return CFS_EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                check_usage(stderr);
                return CFS_EXIT_USAGE;
        }
        for (int i = optind; i < argc; i++) {
                struct cfs_image_info info = {};
                char msg[CFS_ERROR_MAX + 64] = "";
                int r = check_one(argv[i], &info, msg, sizeof(msg));
                if (r < 0)
                        ret = CFS_EXIT_FAILURE;
                if (json) {
                        printf("{\"image\":");
                        json_print_string(stdout, argv[i]);
                        printf(",\"valid\":%s", r < 0 ? "false" : "true");
                        if (r < 0) {
                                printf(",\"error\":");
                                json_print_string(stdout, msg);
                        } else {
                                printf(",\"size\":%" PRIu64 ",\"inodes\":%" PRIu64
                                       ",\"composefs_version\":%" PRIu32,
                                       info.size, info.inos, info.composefs_version);
                        }
                        printf("}\n");
                } else if (r < 0) {
                        log_error("%s: invalid composefs image: %s", argv[i], msg);
                } else if (!quiet) {
                        printf("%s: valid composefs image (%" PRIu64
                               " inodes, format version %" PRIu32 ")\n",
                               argv[i], info.inos, info.composefs_version);
                }
        }
        return ret;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-dump.c - `cfsroot dump IMAGE`: print a composefs image as a composefs
 * dump file (composefs-dump(5)). The image is validated while it is read, so
 * this is safe on untrusted images. Host, initrd and real root.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "dump.h"
#include "image-reader.h"
#include "tool-util.h"

static void dump_usage(FILE *f)
{
        fprintf(f, "Usage: cfsroot dump IMAGE\n\n"
                   "Print the composefs image IMAGE as a composefs dump file on stdout.\n"
                   "'cfsroot mkimage --from-dump' turns the output back into the same image.\n");
}

/* Open and map an image, with one error line naming the file on failure. */
static int open_image(const char *path, struct cfs_image **ret)
{
        struct cfs_error err = {};
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_error_errno(-errno, "cannot open %s", path), -EBADF;
        int r = cfs_image_open_fd(fd, ret, &err);
        if (r < 0)
                log_cfs_error(r, &err, "%s", path);
        return r;
}

int cmd_dump(int argc, char **argv)
{
        static const struct option options[] = {
            {"help", no_argument, NULL, 'h'},
            {},
        };
        struct cfs_error err = {};
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (c == 'h') {
                        dump_usage(stdout);
                        return CFS_EXIT_OK;
                }
                return CFS_EXIT_USAGE;
        }
        if (argc - optind != 1) {
                dump_usage(stderr);
                return CFS_EXIT_USAGE;
        }
        const char *path = argv[optind];
        _cleanup_(cfs_image_closep) struct cfs_image *img = NULL;
        if (open_image(path, &img) < 0)
                return CFS_EXIT_FAILURE;
        _cleanup_(cfs_tree_freep) struct cfs_tree *tree = NULL;
        r = cfs_image_load(img, &tree, &err);
        if (r < 0)
                return log_cfs_error(r, &err, "%s", path);
        r = cfs_dump_write(tree, stdout);
        if (r == 0 && fflush(stdout) != 0)
                r = -errno;
        if (r < 0)
                return log_error_errno(r, "cannot write the dump of %s", path);
        return CFS_EXIT_OK;
}

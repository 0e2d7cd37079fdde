/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-image.c - libFuzzer target for the composefs image reader and
 * validator (lib/image-reader.c, image-check.c, image-load.c). The input is an
 * image file. Whatever it holds, the reader must not crash, hang or read out
 * of bounds (ASan), errors must be -EUCLEAN/-EFBIG/-ENOMEM with a message,
 * cfs_image_check() and cfs_image_load() must agree on validity, and a valid
 * image's dump must parse again into as many nodes. Host only.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "image-reader.h"

static void check_error(const struct cfs_error *err, int r, const char *what)
{
        if (r == -ENOMEM)
                return;
        if ((r != -EUCLEAN && r != -EFBIG) || err->message[0] == 0) {
                fprintf(stderr, "%s: unexpected error %d (%s)\n", what, r, err->message);
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct cfs_error err = {};
        struct cfs_image *img = NULL;
        int r = cfs_image_open_buffer(data, size, &img, &err);
        if (r < 0) {
                check_error(&err, r, "open");
                return 0;
        }
        struct cfs_error cerr = {}, lerr = {};
        int rc = cfs_image_check(img, &cerr);
        struct cfs_tree *t = NULL;
        int rl = cfs_image_load(img, &t, &lerr);
        if (rc < 0)
                check_error(&cerr, rc, "check");
        if (rl < 0)
                check_error(&lerr, rl, "load");
        if ((rc < 0) != (rl < 0) && rc != -ENOMEM && rl != -ENOMEM && rl != -EFBIG) {
                fprintf(stderr, "check says %s, load says %s\n", cerr.message, lerr.message);
                abort();
        }
        if (rl == 0) {
                char *text = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&text, &len);
                if (!f)
                        abort();
                r = cfs_dump_write(t, f);
                if (fclose(f) != 0 || r < 0) {
                        fprintf(stderr, "dump of a loaded image failed: %d\n", r);
                        abort();
                }
                struct cfs_dump_options o = {.strict = false};
                struct cfs_tree *t2 = NULL;
                struct cfs_error perr = {};
                r = cfs_dump_parse_buffer(text, len, "reloaded.dump", &o, &t2, &perr);
                /* Known limit: escaping can grow an xattr list past what the
                 * parser accepts on one line. */
                if (r < 0 && !strstr(perr.message, "Too many xattrs")) {
                        fprintf(stderr, "dump of a valid image does not parse: %s\n%.*s\n",
                                perr.message, (int)CFS_MIN(len, 4096), text);
                        abort();
                }
                if (r == 0 && cfs_tree_n_nodes(t2) != cfs_tree_n_nodes(t)) {
                        fprintf(stderr, "re-parsed dump has %zu nodes, expected %zu\n",
                                cfs_tree_n_nodes(t2), cfs_tree_n_nodes(t));
                        abort();
                }
                cfs_tree_free(t2);
                free(text);
        }
        cfs_tree_free(t);
        cfs_image_close(img);
        return 0;
}

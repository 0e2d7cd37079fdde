/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-dump-parse.c - libFuzzer target for the dump parser and writer
 * (lib/dump-parse.c, lib/dump-write.c). The first byte picks the mode (odd:
 * strict, even: lax; 's' and 'l' in the seed corpus), the rest is the dump.
 * A dump that parses must write, re-parse to the same number of nodes and
 * write again to the same text. Host only.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"

#define NAME "fuzz.dump"

static char *write_dump(struct cfs_tree *t, size_t *len)
{
        char *text = NULL;
        FILE *f = open_memstream(&text, len);
        if (!f)
                abort();
        int r = cfs_dump_write(t, f);
        if (fclose(f) != 0 || r < 0) {
                fprintf(stderr, "writing a parsed tree failed: %s\n", strerror(-r));
                abort();
        }
        return text;
}

/* An error must say where it is and what is wrong. */
static void check_error(const struct cfs_error *err, int r)
{
        if (r != -EINVAL && r != -ELOOP && r != -ENOMEM)
                abort();
        if (r != -ENOMEM && strncmp(err->message, NAME ":", strlen(NAME ":")) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        struct cfs_dump_options opts = {.strict = data[0] & 1};
        struct cfs_error err = {};
        struct cfs_tree *t = NULL;
        int r = cfs_dump_parse_buffer(data + 1, size - 1, NAME, &opts, &t, &err);
        if (r < 0) {
                check_error(&err, r);
                return 0;
        }

        size_t len1 = 0, len2 = 0;
        char *w1 = write_dump(t, &len1);
        struct cfs_tree *t2 = NULL;
        struct cfs_error err2 = {};
        r = cfs_dump_parse_buffer(w1, len1, NAME, &opts, &t2, &err2);
        if (r < 0) {
                /* Known limit: escaping can grow an xattr list past 65535 bytes
                 * (a raw byte >= 0x80 becomes \xhh), which the parser refuses. */
                if (strstr(err2.message, ": Too many xattrs")) {
                        free(w1);
                        cfs_tree_free(t);
                        return 0;
                }
                fprintf(stderr, "re-parse failed: %s\n--- written:\n%.*s\n", err2.message,
                        (int)CFS_MIN(len1, 4096), w1);
                abort();
        }
        if (cfs_tree_n_nodes(t) != cfs_tree_n_nodes(t2))
                abort();
        char *w2 = write_dump(t2, &len2);
        if (len1 != len2 || memcmp(w1, w2, len1) != 0) {
                fprintf(stderr, "--- first:\n%.*s\n--- second:\n%.*s\n", (int)len1, w1, (int)len2,
                        w2);
                abort();
        }
        free(w1);
        free(w2);
        cfs_tree_free(t);
        cfs_tree_free(t2);
        return 0;
}

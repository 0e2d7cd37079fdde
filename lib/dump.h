/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dump.h - the composefs dump format (composefs-dump(5), COMPOSEFS-FORMAT.md §14,
 * §15): parse a dump into a tree, write a tree as a dump. Host (and initrd, for
 * `cfsroot dump`).
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "error.h"
#include "tree.h"

struct cfs_dump_options {
        /* Strict parsing (mkcomposefs with CFS_PARSE_STRICT): see §14.4. */
        bool strict;
};

/*
 * Parse dump text. @name is used in error messages ("NAME:LINE: message").
 * Streams: the whole input is never held in memory at once (cfs_dump_parse_fd),
 * so multi-GB dumps of million-entry trees work. Children are sorted and hard
 * links resolved on success. Errors: -EINVAL (malformed; @err says where and
 * what, with upstream's wording), -ENOMEM, -EIO, -ELOOP (hard-link cycle).
 */
int cfs_dump_parse_fd(int fd, const char *name, const struct cfs_dump_options *opts,
                      struct cfs_tree **ret, struct cfs_error *err);
int cfs_dump_parse_buffer(const void *buf, size_t len, const char *name,
                          const struct cfs_dump_options *opts, struct cfs_tree **ret,
                          struct cfs_error *err);

/*
 * Write @t as a dump (depth-first pre-order, children in name order, the
 * escaping of §14.2; hard links as "@MODE" lines naming the first path). The
 * tree must be sorted (cfs_tree_sort()). Returns 0 or -errno of the write.
 */
int cfs_dump_write(struct cfs_tree *t, FILE *out);

/*
 * Escaping helpers (§14.2), shared by parser and writer.
 * cfs_unescape(): decode @len bytes of @in into @out (at least @len bytes); sets
 * *ret_len. Returns 0 or -EINVAL with a message in @err ("No character after
 * escape", …).
 */
int cfs_unescape(const char *in, size_t len, char *out, size_t *ret_len, struct cfs_error *err);
enum cfs_escape_mode {
        CFS_ESCAPE_PATH,    /* paths */
        CFS_ESCAPE_FIELD,   /* PAYLOAD and CONTENT: a lone "-" is written \x2d */
        CFS_ESCAPE_XATTR,   /* xattr names and values: '=' is written \x3d */
};
int cfs_escape(FILE *out, const void *data, size_t len, enum cfs_escape_mode mode);

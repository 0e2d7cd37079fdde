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

/* Longest dump line the parser accepts (bytes, without the newline). Only a
 * path can make a line this long: every other field is bounded (§14.7). */
#define CFS_DUMP_LINE_MAX (16u << 20)

struct cfs_dump_options {
        /* Strict parsing (mkcomposefs with CFS_PARSE_STRICT): see §14.4. */
        bool strict;
};

/*
 * Parse dump text. @name is used in error messages ("NAME:LINE: message").
 * Streams: the whole input is never held in memory at once (cfs_dump_parse_fd),
 * so multi-GB dumps of million-entry trees work. Children are sorted and hard
 * links resolved on success. Errors: -EINVAL (malformed; @err says where and
 * what, with upstream's wording: "NAME:LINE: message"), -ENOMEM, the -errno of
 * read(), -ELOOP (hard-link cycle; upstream only notices it when writing).
 *
 * The tree: one node per line. A hard-link line ("@MODE") becomes a node with
 * that mode, ->payload the target path as written (unescaped) and ->link the
 * final non-link node (chains are collapsed); its other fields are zero. Other
 * nodes hold every field as given (PAYLOAD, CONTENT and DIGEST whatever the
 * type, except that a symlink's size is its target length and its CONTENT is
 * dropped); an empty CONTENT is stored as NULL. A DIGEST field that is not 64
 * hex digits still sets has_digest: the bytes its leading hex pairs give, the
 * rest zero (upstream leaves them uninitialized).
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
 *
 * A hard-link node (->link set) prints '@', the final target's path as PAYLOAD
 * and the target's SIZE, MODE, NLINK, UID, GID, RDEV, MTIME, CONTENT, DIGEST and
 * xattrs (§15). One exception keeps dumps re-parsable: when the target is a
 * directory and the link node's own mode is not, the link node's mode is
 * printed. -ELOOP on a hard-link cycle.
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
        CFS_ESCAPE_PATH,  /* paths */
        CFS_ESCAPE_FIELD, /* PAYLOAD and CONTENT: a lone "-" is written \x2d */
        CFS_ESCAPE_XATTR, /* xattr names and values: '=' is written \x3d */
};
/* Write @data escaped for @mode. Returns 0 or -EIO. */
int cfs_escape(FILE *out, const void *data, size_t len, enum cfs_escape_mode mode);
/* Same into @out, which must hold 4 * @len bytes (at least 4); returns the length
 * written (no NUL added). */
size_t cfs_escape_mem(char *out, const void *data, size_t len, enum cfs_escape_mode mode);
/* Bytes made safe for an error message: printable ASCII (space included) as is,
 * everything else escaped; truncated with "..." to fit @size (NUL included). */
size_t cfs_escape_message(char *out, size_t size, const void *data, size_t len);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image.h - write a composefs 1.0 image (EROFS metadata image) from a tree,
 * byte-identical to composefs 1.0's mkcomposefs for the same input
 * (COMPOSEFS-FORMAT.md §1-§13). Host only.
 */
#pragma once

#include <stdint.h>

#include "error.h"
#include "tree.h"

struct cfs_image_options {
        /* Format version range (§5.1). Defaults: min 0, max 1 (auto bump to 1
         * when the tree has whiteouts). Values > 1 are -EINVAL. */
        unsigned min_version;
        unsigned max_version;
};

#define CFS_IMAGE_OPTIONS_DEFAULT ((struct cfs_image_options){.min_version = 0, .max_version = 1})

/*
 * Write the image of @t to @fd: sequentially with write(2) from the fd's current
 * offset (use a fresh, empty file; pipes work too), in file order, through one
 * buffer, never holding the image in memory. Peak extra memory is about 75
 * bytes per inode for typical trees (see image-write-internal.h).
 *
 * The tree is sorted (cfs_tree_sort()) and the writer may intern extra xattrs
 * in its table (escaped trusted.overlay.* names, the overlay constants); nodes
 * are not changed: the overlay rewrites of COMPOSEFS-FORMAT.md §5 exist only in
 * the writer. Output depends only on the tree's content.
 *
 * Errors, with a message in @err in upstream mkcomposefs wording, prefixed by
 * the node's path where there is one ("/f: cannot write file: File too large
 * (...)"): -EINVAL (options: a version above 1; no root; a bad file type or
 * symlink target), -ELOOP (hard-link cycle), -EFBIG (external file with
 * 2^53 < size <= 2^64 - 2^43, §9.2; image limits), -ERANGE (write-time xattr
 * budget, §5.3), -ENOMEM, or the -errno of a failed write (-ENOSPC).
 */
int cfs_image_write(struct cfs_tree *t, const struct cfs_image_options *opts, int fd,
                    struct cfs_error *err);

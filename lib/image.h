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
 * Write the image of @t to @fd (from offset 0, sequentially; @fd is typically a
 * fresh temp file). The tree must be sorted (cfs_tree_sort()). The tree is not
 * changed in any way visible to other users. Errors: -EINVAL (bad options),
 * -ELOOP (hard-link cycle), -EFBIG (file too large, §9.2), -ERANGE (xattr
 * budget, §5.3), -ENOMEM, or the -errno of a failed write (-ENOSPC).
 */
int cfs_image_write(struct cfs_tree *t, const struct cfs_image_options *opts, int fd,
                    struct cfs_error *err);

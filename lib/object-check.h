/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * object-check.h - before the root is mounted, check that every object the
 * image names exists in the store as a regular file of the right size with
 * fs-verity enabled. Initrd (setup-root) and host (dry runs).
 *
 * This is the early, clear refusal; the guarantee itself is overlayfs'
 * verity=require, which compares each object's fs-verity digest with the one
 * in the image whenever a file is opened.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "tree.h"

struct cfs_object_check {
        uint64_t objects;        /* distinct object references checked */
        uint64_t without_verity; /* of those, objects without fs-verity */
};

/*
 * For each external regular file of @t (payload = object path relative to
 * @store_fd, as in a composefs dump): statx() it below @store_fd. Errors
 * (first problem found, naming the file in the image and the object):
 *   -ENOENT   object missing
 *   -EUCLEAN  not a regular file, wrong size, or a payload that is not a
 *             plain relative path inside the store
 *   -ENODATA  no fs-verity (only when @require_verity)
 */
int cfs_object_check(int store_fd, const struct cfs_tree *t, bool require_verity,
                     struct cfs_object_check *ret, struct cfs_error *err);

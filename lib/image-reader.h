/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image-reader.h - read and validate an untrusted composefs image (host and
 * initrd). Every offset and size is checked against the image length before it
 * is used (COMPOSEFS-FORMAT.md §16): a hostile image gets an error, never a
 * crash, an out-of-bounds read or an endless loop.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tree.h"

struct cfs_image;

/*
 * Open an image: from a file descriptor (mmap'ed read-only; the caller must
 * ensure the file does not change, e.g. a private memfd copy or an fs-verity
 * file) or from a caller-owned buffer that must outlive the image.
 * Checks header and superblock (-EINVAL/-EUCLEAN with a message in @err).
 */
int cfs_image_open_fd(int fd, struct cfs_image **ret, struct cfs_error *err);
int cfs_image_open_buffer(const void *buf, size_t len, struct cfs_image **ret,
                          struct cfs_error *err);
void cfs_image_close(struct cfs_image *img);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cfs_image *, cfs_image_close);

/* Summary figures of an opened image. */
struct cfs_image_info {
        uint64_t size; /* file length */
        uint32_t composefs_version;
        uint32_t flags; /* header flags */
        uint64_t inos;  /* superblock inode count */
        uint64_t root_nid;
};
void cfs_image_get_info(const struct cfs_image *img, struct cfs_image_info *ret);

/*
 * Full validation (§16): walks every inode reachable from the root; -EUCLEAN
 * (corrupt/hostile image) with "what is wrong, where (path, nid, offset), what
 * was expected and found" in @err, or -ENOMEM.
 */
int cfs_image_check(const struct cfs_image *img, struct cfs_error *err);

/*
 * Load the image into a tree, undoing the composefs rewrites (§15): the result
 * is what the dump that made the image described. Validates what it reads the
 * same way cfs_image_check() does.
 */
int cfs_image_load(const struct cfs_image *img, struct cfs_tree **ret, struct cfs_error *err);

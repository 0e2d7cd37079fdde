/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image-open.h - open a composefs image so that the bytes whose digest is
 * checked are the bytes that get mounted (initrd: setup-root; host: tests).
 *
 * If the file has fs-verity, the kernel measures it (FS_IOC_MEASURE_VERITY) and
 * guarantees every later read matches that digest: the file itself is used.
 * Otherwise the content is copied into a private memfd, sealed against any
 * change (F_SEAL_WRITE, F_SEAL_GROW, F_SEAL_SHRINK, F_SEAL_SEAL), and the digest
 * is computed over that copy; the copy is what gets mounted. Nobody can change
 * the image between check and use either way.
 */
#pragma once

#include <stdint.h>

#include "error.h"
#include "tree.h"

#define CFS_IMAGE_SIZE_MAX (4ull << 30) /* larger images are refused */

enum cfs_image_source {
        CFS_IMAGE_VERITY, /* file with fs-verity, measured by the kernel */
        CFS_IMAGE_COPY,   /* sealed private memfd copy, digest computed in userspace */
};

struct cfs_opened_image {
        int fd; /* read-only fd to mount from (O_CLOEXEC) */
        enum cfs_image_source source;
        uint8_t digest[CFS_DIGEST_SIZE]; /* fs-verity sha256 digest of exactly these bytes */
        uint64_t size;
};

/*
 * Open @path relative to @dir_fd (AT_FDCWD for cwd), never following a symlink
 * in the last component, and get its trustworthy digest. A regular file only,
 * at most CFS_IMAGE_SIZE_MAX bytes. -ENOENT missing, -EFBIG too large, -EINVAL
 * not a regular file; messages name the file.
 */
int cfs_image_open_verified(int dir_fd, const char *path, struct cfs_opened_image *ret,
                            struct cfs_error *err);

const char *cfs_image_source_to_string(enum cfs_image_source s);

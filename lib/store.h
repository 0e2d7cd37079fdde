/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store.h - the content-addressed object store: STORE/objects/ab/<62 hex>, named
 * by the fs-verity sha256 digest of the content (the layout composefs, ostree and
 * bootc use). Objects are added atomically (temp file, fsync, link), deduplicated,
 * and get fs-verity enabled where the file system supports it. Host.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "tree.h"

struct cfs_store;

/* Open (and with @create, make) a store at @path. */
int cfs_store_open(const char *path, bool create, struct cfs_store **ret, struct cfs_error *err);
void cfs_store_free(struct cfs_store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cfs_store *, cfs_store_free);

/* Object path relative to the store's objects/ directory: "ab/cdef…" (65 chars + NUL). */
void cfs_store_object_name(const uint8_t digest[CFS_DIGEST_SIZE], char name[66]);

enum cfs_store_added {
        CFS_STORE_EXISTED = 0,     /* already there (deduplicated) */
        CFS_STORE_ADDED = 1,       /* copied in */
};

/*
 * Add the content of @fd (read from offset 0, @size bytes) whose fs-verity digest
 * is @digest. The copy is verified against @digest before it is linked in.
 * *ret_verity tells whether the object has fs-verity enabled (false where the
 * file system does not support it). Thread-safe.
 */
int cfs_store_add_fd(struct cfs_store *s, int fd, uint64_t size,
                     const uint8_t digest[CFS_DIGEST_SIZE], enum cfs_store_added *ret_added,
                     bool *ret_verity, struct cfs_error *err);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store.h - the content-addressed object store: STORE/objects/ab/<62 hex>, named
 * by the fs-verity sha256 digest of the content (the layout composefs, ostree and
 * bootc use). Objects are added atomically (temp file, fsync, link), deduplicated,
 * and get fs-verity enabled where the file system supports it. Host.
 *
 * An object never exists under its name with content other than the content the
 * name is the digest of: it is written to an anonymous temp file inside
 * STORE/objects, its digest is computed from the bytes written, it is fsync'ed,
 * fs-verity is enabled (and the kernel's measurement compared) where supported,
 * and only then it is linked into place. Another writer linking the same object
 * first (EEXIST) is deduplication, not an error. All functions taking a store
 * are safe to call from several threads at once.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "tree.h"

struct cfs_store;

/*
 * Open (and with @create, make) a store at @path. With @create the directory,
 * objects/ and all 256 objects/xx/ subdirectories are created up front; a store
 * made by another tool that creates them lazily works too (missing
 * subdirectories are created when needed).
 */
int cfs_store_open(const char *path, bool create, struct cfs_store **ret, struct cfs_error *err);
void cfs_store_free(struct cfs_store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cfs_store *, cfs_store_free);

/* Object path relative to the store's objects/ directory: "ab/cdef…" (65 chars + NUL). */
void cfs_store_object_name(const uint8_t digest[CFS_DIGEST_SIZE], char name[66]);

enum cfs_store_added {
        CFS_STORE_EXISTED = 0, /* already there (deduplicated) */
        CFS_STORE_ADDED = 1,   /* copied in */
};

/*
 * Add the content of @fd (read from offset 0, @size bytes) whose fs-verity digest
 * is @digest. The copy is verified against @digest before it is linked in: a
 * file that changed since its digest was computed gives -EBADMSG with both
 * digests in @err; a file that is not @size bytes long gives -EIO.
 * *ret_verity tells whether the object has fs-verity enabled (false where the
 * file system does not support it). Thread-safe.
 */
int cfs_store_add_fd(struct cfs_store *s, int fd, uint64_t size,
                     const uint8_t digest[CFS_DIGEST_SIZE], enum cfs_store_added *ret_added,
                     bool *ret_verity, struct cfs_error *err);

/*
 * Like cfs_store_add_fd() for content whose digest is not known yet: the file
 * is copied and its fs-verity digest computed in the same pass over the data
 * (one read, one sha256 pass), returned in @ret_digest, and the object is named
 * by it; if the object exists already the copy is dropped. The object holds
 * exactly the bytes that were hashed. -EIO when @fd does not have @size bytes.
 * (The directory scanner uses this: it learns digests only by reading files.)
 */
int cfs_store_add_fd_hashing(struct cfs_store *s, int fd, uint64_t size,
                             uint8_t ret_digest[CFS_DIGEST_SIZE], enum cfs_store_added *ret_added,
                             bool *ret_verity, struct cfs_error *err);

/* Flush the store's file system (syncfs), making every link made so far durable. */
int cfs_store_sync(struct cfs_store *s, struct cfs_error *err);

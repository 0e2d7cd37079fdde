/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store.h - the content-addressed object store: STORE/objects/ab/<62 hex>, named
 * by the fs-verity sha256 digest of the content (the layout composefs, ostree and
 * bootc use). Objects are added atomically, deduplicated, and get fs-verity
 * enabled where the file system supports it. Host.
 *
 * An object never exists under its name with content other than the content the
 * name is the digest of, and never before it is durable. A new object is copied
 * into a staging directory of this store handle (STORE/objects/.staging-<random>),
 * verified (the kernel's fs-verity measurement, or a second hash of the copy
 * where the file system has no fs-verity; none where the digest was computed
 * over the very bytes written) and remembered in memory under its digest (so a
 * second copy of the same content in the run is not made);
 * cfs_store_commit() syncs the file system once and renames every staged copy
 * into objects/ab/. Objects that are already in the store are found by name and
 * size, and nothing is written for them. A staging directory left by a crashed
 * run is removed by the next cfs_store_open(). All functions taking a store are
 * safe to call from several threads at once.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "error.h"
#include "tree.h"
#include "verity.h"

struct cfs_store;

/*
 * Open (and with @create, make) a store at @path. With @create the directory,
 * objects/ and all 256 objects/xx/ subdirectories are created up front; a store
 * made by another tool that creates them lazily works too (missing
 * subdirectories are created when needed). Staging directories of crashed runs
 * (objects/.staging-*, not locked by a live process) are removed, best effort.
 */
int cfs_store_open(const char *path, bool create, struct cfs_store **ret, struct cfs_error *err);
/* Close the store; objects staged since the last cfs_store_commit() are dropped. */
void cfs_store_free(struct cfs_store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cfs_store *, cfs_store_free);

/* Object path relative to the store's objects/ directory: "ab/cdef…" (65 chars + NUL). */
void cfs_store_object_name(const uint8_t digest[CFS_DIGEST_SIZE], char name[66]);

enum cfs_store_added {
        CFS_STORE_EXISTED = 0, /* already there, or staged already (deduplicated) */
        CFS_STORE_ADDED = 1,   /* copied in (staged: visible after cfs_store_commit()) */
};

/*
 * Add the content of @fd (read from offset 0, @size bytes) whose fs-verity digest
 * is @digest. If the object exists (a regular file of @size bytes under its
 * name, or staged by this handle) nothing is read or written. Otherwise the
 * copy is verified against @digest before it is staged: content that is not
 * what @digest says gives -EBADMSG with both digests in @err; a file that is not
 * @size bytes long, or that changes while it is copied, gives -EIO.
 * *ret_verity tells whether the object has fs-verity enabled (false where the
 * file system does not support it). Thread-safe.
 */
int cfs_store_add_fd(struct cfs_store *s, int fd, uint64_t size,
                     const uint8_t digest[CFS_DIGEST_SIZE], enum cfs_store_added *ret_added,
                     bool *ret_verity, struct cfs_error *err);

/*
 * cfs_store_add_fd() for a caller that has an fstat() of @fd already (@before,
 * NULL: made here) and a thread's @scratch (NULL: made when a copy must be
 * hashed), and whose @digest does not come from reading @fd (the directory
 * scanner with the kernel's fs-verity measurement of the source): an existing
 * object means nothing is read; a new one is copied, the source checked
 * against @before and the copy verified exactly as in cfs_store_add_fd().
 * Counts towards the hint of cfs_store_add_fd_hashing() like its own adds.
 */
int cfs_store_add_fd_digest(struct cfs_store *s, int fd, uint64_t size, const struct stat *before,
                            struct cfs_verity_scratch *scratch,
                            const uint8_t digest[CFS_DIGEST_SIZE], enum cfs_store_added *ret_added,
                            bool *ret_verity, struct cfs_error *err);

/*
 * Like cfs_store_add_fd() for content whose digest is not known yet; the digest
 * is returned in @ret_digest. @before is the caller's fstat() of @fd made before
 * anything was read (NULL: made here); @scratch the calling thread's read buffer
 * and hasher (NULL: made for this call). Two ways, chosen per file by what the last files
 * of this handle were (a hint; a fresh handle starts with the first):
 * - hash first (read only), while most files turn out to exist already: an
 *   object that exists costs nothing more; a new one is then copied
 *   (copy_file_range) and verified like cfs_store_add_fd()'s;
 * - copy while hashing, while most files turn out to be new: one read of the
 *   source, each buffer hashed and written to the temp copy (the digest is the
 *   digest of the bytes written, so no second pass); an object that exists
 *   after all only costs a copy that is removed.
 * Either way the source must be unchanged: an fstat() after the last read shows
 * the inode, size, mtime and ctime of @before and exactly @size bytes; otherwise
 * -EIO "changed while it was read" / "between hashing and copying". A caller
 * does not need to check that again. (The directory scanner uses this: it
 * learns digests only by reading files.)
 */
int cfs_store_add_fd_hashing(struct cfs_store *s, int fd, uint64_t size, const struct stat *before,
                             struct cfs_verity_scratch *scratch,
                             uint8_t ret_digest[CFS_DIGEST_SIZE], enum cfs_store_added *ret_added,
                             bool *ret_verity, struct cfs_error *err);

/*
 * Make every object staged so far durable and visible under its name: one
 * syncfs(), a rename per object into objects/ab/ (an object that appeared there
 * meanwhile, e.g. from another process, wins: the staged copy is dropped), then
 * an fsync of each objects/ab/ directory touched. Adds that returned before
 * the call are committed by it; adds running at the same time wait or go to the
 * next commit. On failure the objects not renamed yet stay staged.
 */
int cfs_store_commit(struct cfs_store *s, struct cfs_error *err);

/* Flush the store's file system (syncfs). */
int cfs_store_sync(struct cfs_store *s, struct cfs_error *err);

/* For tests only: called by cfs_store_add_fd_hashing() with the source fd after
 * hashing it and before copying it (to change the source in between); when
 * copying while hashing, after both, before the source is checked again. */
void cfs_store_set_test_hook(struct cfs_store *s, void (*after_hash)(int fd, void *userdata),
                             void *userdata);

/* For tests only: how cfs_store_add_fd_hashing() adds a file: 0 adaptive (the
 * default), 1 always copy while hashing, -1 always hash first. */
void cfs_store_set_test_mode(struct cfs_store *s, int mode);

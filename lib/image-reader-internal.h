/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image-reader-internal.h - shared pieces of the composefs image reader
 * (image-reader.c: open, inode/xattr/dirent decoding; image-check.c: the
 * validating walk; image-load.c: image -> tree). Host and initrd; the input is
 * untrusted (COMPOSEFS-FORMAT.md §16): every function here bounds every offset
 * by the image length before touching a byte.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "erofs.h"
#include "error.h"
#include "image-reader.h"

struct cfs_image {
        const uint8_t *data;
        uint64_t size;
        bool mapped; /* data is our mmap() (unmapped on close) */
        uint32_t composefs_version, flags;
        uint32_t feature_compat;
        uint64_t root_nid, inos;
        int64_t build_time;
        uint32_t build_time_nsec;
        uint64_t xattr_base; /* xattr_blkaddr * 4096: shared xattr id 0 */
};

/* One decoded inode whose header, layout and data extents are in bounds. */
struct cfs_rinode {
        uint64_t nid, off; /* off = nid * 32 */
        uint64_t size;
        uint32_t mode, nlink, uid, gid, u, ino;
        int64_t mtime;
        uint32_t mtime_nsec;
        uint8_t layout; /* CFS_LAYOUT_* */
        bool extended;
        uint32_t isize;      /* 32 or 64 */
        uint32_t xattr_size; /* 0, or 12 + 4 * (icount - 1) */
        uint64_t xattr_off;  /* off + isize */
        uint64_t tail_off;   /* xattr_off + xattr_size: inline data / chunk map */
        uint32_t tail_len;   /* FLAT_INLINE: size % 4096; CHUNK_BASED: 4 * chunks */
        uint64_t blk_off;    /* first out-of-line data byte (raw_blkaddr * 4096) */
        uint64_t n_blocks;   /* out-of-line 4096-byte blocks */
};

/* Where an error is: the path (raw bytes, may be NULL) of the entry checked. */
struct cfs_rctx {
        const struct cfs_image *img;
        struct cfs_error *err;
        const char *path;
        size_t path_len;
};

/* Record "PATH (nid N, byte offset B): MESSAGE" and return -EUCLEAN. */
int cfs_rfail(const struct cfs_rctx *c, uint64_t nid, uint64_t off, const char *fmt, ...)
    _printf_(4, 5);

/* Decode and bound-check inode @nid (§16 rules 5-13, not xattrs or dirents). */
int cfs_rinode_read(const struct cfs_rctx *c, uint64_t nid, struct cfs_rinode *ret);

/* One xattr entry as stored (§11.2), inline or shared. */
struct cfs_rxattr {
        const uint8_t *suffix;
        const uint8_t *value;
        uint64_t off; /* byte offset of the entry */
        uint16_t value_len;
        uint8_t suffix_len;
        uint8_t index;
        bool shared;
};

/* Full name of @x into @buf (at least 256 bytes); returns its length. */
size_t cfs_rxattr_name(const struct cfs_rxattr *x, char *buf);

/*
 * Decode and validate the xattr area of @ino (§16 rules 20-25 and the overlay
 * rules). The entries, inline ones first then shared ones (the order
 * `composefs-info dump` prints), are stored into *@vec (grown as needed,
 * *@alloc elements) and their count into *@ret_n. @shared_ok remembers the
 * shared entries whose value was already validated, so a big shared value
 * referenced by many inodes is scanned once (bounded work).
 */
struct cfs_u64map;
int cfs_rxattrs_read(const struct cfs_rctx *c, const struct cfs_rinode *ino,
                     struct cfs_u64map *shared_ok, struct cfs_rxattr **vec, size_t *alloc,
                     size_t *ret_n);

/* A directory being iterated block by block (§7, §16 rules 14-16). */
struct cfs_rdir {
        struct cfs_rinode ino;   /* the directory (a copy: frames may move) */
        uint64_t n_blocks_total; /* out-of-line blocks + inline tail (0/1) */
        uint64_t blk;            /* current block index */
        const uint8_t *block;    /* NULL: block @blk not entered yet */
        uint64_t block_off;
        uint32_t block_len;
        uint32_t i, n; /* next dirent, dirents in this block */
        const uint8_t *prev_name;
        uint32_t prev_len;
        uint64_t count;
};

struct cfs_rdirent {
        const uint8_t *name;
        uint32_t name_len;
        uint8_t ftype;
        uint64_t nid;
        uint64_t off; /* byte offset of the dirent */
};

void cfs_rdir_init(struct cfs_rdir *d, const struct cfs_rinode *dir);
/* Next entry in name order: 1 and *@ret, 0 at the end, or -EUCLEAN. */
int cfs_rdir_next(const struct cfs_rctx *c, struct cfs_rdir *d, struct cfs_rdirent *ret);

/* Copy the data of a FLAT inode (symlink target, inline file content: at most
 * 5000 bytes) to @out, which holds ino->size bytes. */
void cfs_rinode_copy_data(const struct cfs_image *img, const struct cfs_rinode *ino, uint8_t *out);

/*
 * The validating walk shared by cfs_image_check() and cfs_image_load():
 * depth-first pre-order from the root, entries in name order, "." and ".."
 * checked but not reported. Every directory is entered at most once; every
 * inode is validated once (a visited bitmap keyed by nid); no recursion.
 */
struct cfs_walk_entry {
        void *parent;        /* what entry() returned for the parent directory */
        const uint8_t *name; /* NULL for the root */
        uint32_t name_len;
        const struct cfs_rinode *ino;    /* the target inode */
        bool hardlink;                   /* the inode was already reported under another name */
        const struct cfs_rxattr *xattrs; /* !hardlink: inline then shared */
        size_t n_xattrs;
        const char *path; /* raw path bytes ("" for the root) */
        size_t path_len;
};

struct cfs_walk_ops {
        /* Called for the root and every entry; *@ret_dir is what later
         * children of this directory get as ->parent. */
        int (*entry)(void *userdata, const struct cfs_walk_entry *e, void **ret_dir);
        void *userdata;
};

int cfs_image_walk(const struct cfs_image *img, const struct cfs_walk_ops *ops,
                   struct cfs_error *err);

/* A u64 -> u64 open-addressing map (keys are stored + 1; 0 marks empty). */
struct cfs_u64map {
        uint64_t *keys, *vals;
        size_t size, n;
};
int cfs_u64map_put(struct cfs_u64map *m, uint64_t key, uint64_t val);
bool cfs_u64map_get(const struct cfs_u64map *m, uint64_t key, uint64_t *ret);
void cfs_u64map_free(struct cfs_u64map *m);

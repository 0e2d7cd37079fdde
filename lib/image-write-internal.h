/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image-write-internal.h - state shared by the parts of the composefs image
 * writer (image-write*.c). Host only.
 *
 * The writer never changes the tree visibly. Everything composefs adds for
 * overlayfs (the 256 root whiteouts, "." and "..", escaped and added xattrs,
 * whiteouts turned into regular files) lives in writer-side arrays indexed by
 * the inode's breadth-first index ("bfs index" = i_ino). Per inode the writer
 * keeps about 24 bytes plus 4 bytes per xattr reference; xattr (name, value)
 * pairs are deduplicated in a pair table (16 bytes per distinct pair, plus a
 * content hash table for metacopy/redirect values that lives only during the
 * xattr pass). Measured peak: ~75 bytes per inode on a 1M-entry /usr-like tree
 * (three quarters external files with unique digests), on top of the tree.
 * Nothing is keyed or ordered by pointer values, so output is reproducible.
 *
 * Passes: build (BFS order, version, minimum mtime, hard links), xattrs
 * (per-inode lists, counts), layout (nids), shared table (sort, ids), emit.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "erofs.h"
#include "error.h"
#include "image.h"
#include "tree.h"

struct cfs_writer;

/* Kinds of xattr pairs (COMPOSEFS-FORMAT.md §11.6). */
enum {
        XK_TREE = 0, /* ref = tree xattr id, name and value verbatim */
        XK_ESC,      /* ref = tree xattr id "trusted.overlay.X", written as
                      * "trusted.overlay.overlay.X" (only names > 255 bytes;
                      * shorter escaped names are interned as XK_TREE) */
        XK_METACOPY, /* ref = bfs index of a node with a digest */
        XK_REDIRECT, /* ref = bfs index of a node with a payload */
};

/* Constant xattrs the writer adds; interned into the tree at start. */
enum {
        XC_OPAQUE_Y = 0,   /* trusted.overlay.opaque=y (root) */
        XC_TOVL_WHITEOUT,  /* trusted.overlay.overlay.whiteout= */
        XC_USER_WHITEOUT,  /* user.overlay.whiteout= */
        XC_TOVL_WHITEOUTS, /* trusted.overlay.overlay.whiteouts= */
        XC_USER_WHITEOUTS, /* user.overlay.whiteouts= */
        XC_TOVL_OPAQUE_X,  /* trusted.overlay.overlay.opaque=x (version 1) */
        XC_USER_OPAQUE_X,  /* user.overlay.opaque=x (version 1) */
        XC_METACOPY_EMPTY, /* trusted.overlay.metacopy= (no digest) */
        XC_COUNT,
};

#define WPAIR_SHARED 0x1u /* used by at least two inodes */
#define WPAIR_ACL 0x2u    /* system.posix_acl_access / _default */

/* One distinct (full name, value) pair used by at least one inode. */
struct wpair {
        uint32_t ref;
        uint32_t val;   /* use count (saturating at 2), then the shared id */
        uint32_t esize; /* on-disk entry size (§11.2), a multiple of 4 */
        uint8_t kind;
        uint8_t fbit; /* bloom filter bit (§11.5) */
        uint8_t flags;
        uint8_t index; /* name prefix index (§11.1) */
};

/* A byte string in up to two pieces (e.g. "/" + payload). */
struct bstr2 {
        const uint8_t *p[2];
        size_t len[2];
};

/* Longest full xattr name the writer can produce: 255 + "overlay." */
#define W_NAME_BUF 272u

/* One directory entry (§7) as produced by the entry iterator. */
struct wdent {
        const char *name;
        uint32_t name_len;
        uint8_t dot;           /* 1 ".", 2 "..", 0 otherwise */
        struct cfs_node *node; /* child node (a hard-link entry or an inode), NULL for dots */
        uint32_t bfs;          /* target bfs index (valid unless node->link) */
};

struct wdent_iter {
        const struct cfs_writer *w;
        const struct cfs_node *dir;
        uint32_t self, next_child; /* bfs of the dir and of its next non-link child */
        uint32_t ci, fi;           /* next child / next auto whiteout */
        uint8_t di;                /* dots emitted */
};

/* Pre-placement and final shape of an inode (§6). */
struct wshape {
        uint64_t size;     /* i_size */
        uint64_t n_blocks; /* data blocks */
        uint32_t tail;     /* inline tail bytes */
        uint32_t isize;    /* 32 or 64 */
        uint32_t xsize;    /* xattr area bytes */
        uint32_t nlink;
        uint32_t mode;
        uint16_t n_shared; /* shared refs in the xattr area */
        uint32_t n_last;   /* directories: entries in the last block (see w_shape) */
        uint8_t chunkbits; /* external files */
        bool extended;
        bool external;
};

struct wlink {
        const struct cfs_node *node; /* hard-link target, NULL = empty slot */
        uint32_t bfs;
};

struct wcslot {
        uint32_t pair; /* pair index + 1, 0 = empty */
        uint32_t hash;
};

struct witem {
        uint32_t ref;
        uint8_t kind;
};

struct cfs_writer {
        struct cfs_tree *t;
        struct cfs_error *err;
        struct cfs_node *root;
        unsigned version;
        size_t n_tree_nodes;

        /* root whiteouts 00..ff not shadowed by a root child, sorted */
        struct cfs_node *fakes;
        uint32_t n_fakes;
        char fake_names[256][3];
        bool root_has_selinux;
        uint32_t root_selinux; /* tree xattr id */

        /* inodes in BFS order */
        uint32_t n_inodes, cap_inodes;
        struct cfs_node **bfs;
        uint32_t *parent;      /* bfs index of the parent (root: 0) */
        uint32_t *first_child; /* directories: bfs index of the first non-link child */
        uint32_t *nid;
        uint8_t *spilled;    /* bitmap: tail moved out of line (§6.4) */
        uint8_t *has_blocks; /* bitmap: the inode owns data blocks (§12) */

        /* hard-link targets -> bfs index (open addressing by pointer) */
        struct wlink *links;
        size_t links_size, n_links;

        /* xattrs: per-inode sorted pair references */
        uint32_t *xstart; /* n_inodes + 1 offsets into xrefs */
        uint32_t *xrefs;
        size_t n_xrefs, alloc_xrefs;
        struct wpair *pairs;
        uint32_t n_pairs, alloc_pairs;
        uint32_t *tree_pair; /* tree xattr id -> pair index + 1 */
        size_t tree_pair_size;
        uint32_t *esc_pair; /* tree xattr id -> XK_ESC pair index + 1 */
        size_t esc_pair_size;
        struct wcslot *chash; /* metacopy/redirect pairs by content */
        size_t chash_size, chash_n;
        size_t n_external; /* external files: sizes the content table */
        uint32_t consts[XC_COUNT];
        struct witem *scratch;
        size_t n_scratch, alloc_scratch;

        /* shared table, sorted (§11.4) */
        uint32_t *shared;
        uint32_t n_shared;

        /* global values */
        int64_t min_sec;
        uint32_t min_nsec;
        bool has_acl;
        uint32_t root_nid;
        uint64_t inodes_end, shared_size, data_start, total_blocks;
};

/* ---- image-write.c ---- */
/* Hard-link target node -> bfs index (UINT32_MAX if unknown). */
uint32_t w_link_bfs(const struct cfs_writer *w, const struct cfs_node *target);
/* Follow a hard-link chain; NULL on a cycle. */
struct cfs_node *w_resolve(const struct cfs_writer *w, struct cfs_node *n);
/* Set err (path of @n as context) and return -code. */
int w_fail(struct cfs_writer *w, const struct cfs_node *n, int code, const char *what);

/* ---- image-write-layout.c: node semantics, directory entries, shapes ---- */
bool w_is_fake(const struct cfs_writer *w, const struct cfs_node *n);
bool w_is_whiteout(const struct cfs_writer *w, const struct cfs_node *n);
uint32_t w_mode(const struct cfs_writer *w, const struct cfs_node *n);
uint64_t w_size(const struct cfs_writer *w, const struct cfs_node *n);
bool w_is_external(const struct cfs_writer *w, const struct cfs_node *n);
void w_dent_init(struct wdent_iter *it, const struct cfs_writer *w, uint32_t self);
bool w_dent_next(struct wdent_iter *it, struct wdent *d);
/* Most entries one dirent block can hold (each costs at least 13 bytes). */
#define W_DIR_MAX_ENTRIES (CFS_BLOCK_SIZE / (CFS_DIRENT_SIZE + 1) + 1)
/* Shape of inode @i before placement. For directories, @last (W_DIR_MAX_ENTRIES
 * entries, may be NULL) receives the entries of the last block. */
int w_shape(struct cfs_writer *w, uint32_t i, struct wshape *s, struct wdent *last);
void w_shape_finish(struct wshape *s, bool spilled);
uint32_t w_chunk_format(const struct wshape *s);
int w_layout(struct cfs_writer *w);

/* ---- image-write-xattr.c ---- */
int w_collect_xattrs(struct cfs_writer *w);
void w_xattr_area(const struct cfs_writer *w, uint32_t i, uint64_t *xsize, uint16_t *n_shared);
int w_shared_table(struct cfs_writer *w);
void w_pair_name(const struct cfs_writer *w, const struct wpair *p, char buf[W_NAME_BUF],
                 const char **name, size_t *len);
void w_pair_value(const struct cfs_writer *w, const struct wpair *p, struct bstr2 *v);
void w_writer_free_xattrs(struct cfs_writer *w);

/* ---- image-write-emit.c: buffered sequential output ---- */
struct wout {
        int fd;
        int error; /* first write error (sticky), 0 if none */
        uint8_t *buf;
        size_t used;
        uint64_t off; /* bytes produced so far */
};
void w_out_bytes(struct wout *o, const void *p, size_t n);
void w_out_fill(struct wout *o, uint8_t byte, uint64_t n);
int w_emit(struct cfs_writer *w, int fd);

/* ---- image-write-xattr.c: emission ---- */
void w_emit_xattr_area(const struct cfs_writer *w, struct wout *o, uint32_t i);
void w_emit_shared_table(const struct cfs_writer *w, struct wout *o);

static inline bool w_bit(const uint8_t *map, uint32_t i)
{
        return (map[i / 8] >> (i % 8)) & 1u;
}

static inline void w_set_bit(uint8_t *map, uint32_t i)
{
        map[i / 8] |= (uint8_t)(1u << (i % 8));
}

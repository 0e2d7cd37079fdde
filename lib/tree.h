/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tree.h - the in-memory file tree every part of libcfsroot works on.
 *
 * Producers: the dump parser (dump-parse.c), the directory scanner (scan.c) and
 * the image loader (image-load.c). Consumers: the image writer (image-write*.c)
 * and the dump writer (dump-write.c). Runs on the host (building images) and in
 * the initrd (reading them).
 *
 * The tree holds what a composefs dump line holds (composefs-dump(5)): one node
 * per path, with hard-link entries as separate nodes pointing at their target.
 * It does NOT hold the overlay rewrites (escaped trusted.overlay.*, metacopy,
 * redirect, whiteout xattrs, the 256 root whiteouts): the writer applies those
 * when it lays out an image, and the loader removes them when it reads one, so
 * dump -> tree -> image -> tree -> dump is lossless.
 *
 * Memory: images of a million entries must build in well under 500 bytes per
 * entry, so strings and byte strings live in an arena owned by the tree, xattr
 * (name, value) pairs are interned once per tree, and nodes hold only ids.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"
#include "macros.h"

/* Limits of the composefs 1.0 format (COMPOSEFS-FORMAT.md §14.7). */
#define CFS_NAME_MAX 255u              /* one path component */
#define CFS_SYMLINK_MAX 4095u          /* symlink target */
#define CFS_PAYLOAD_MAX 4095u          /* backing path of a regular file */
#define CFS_INLINE_MAX 5000u           /* inline file content */
#define CFS_XATTR_NAME_MAX 255u        /* full xattr name incl. prefix */
#define CFS_XATTR_VALUE_MAX 65535u     /* one xattr value */
#define CFS_XATTR_BUDGET 32767u        /* per node: 12 + sum(7 + name + value) */
#define CFS_FILE_SIZE_MAX (1ull << 53) /* external file size */
#define CFS_DIGEST_SIZE 32u            /* fs-verity sha256 digest */

/* A tree-wide interned xattr: the same (name, value) pair has the same id. */
struct cfs_xattr {
        const char *name;     /* NUL-terminated full name, e.g. "security.selinux" */
        const uint8_t *value; /* value bytes (not terminated) */
        uint32_t hash;        /* hash of name and value, for the intern table */
        uint16_t value_len;
        uint8_t name_len;
};

struct cfs_node {
        struct cfs_node *parent;    /* root: NULL */
        struct cfs_node **children; /* directories: children incl. hard-link entries */
        struct cfs_node *link;      /* hard-link entry: the node it names; else NULL */
        const char *name;           /* component, NUL-terminated ("" for the root) */
        const char *payload;        /* symlink target, backing path, or NULL (absent) */
        const uint8_t *content;     /* inline content (size bytes) or NULL (absent) */
        uint32_t *xattrs;           /* ids into tree->xattrs, in insertion order */
        uint64_t size;              /* st_size (dump SIZE) */
        int64_t mtime_sec;
        uint32_t mtime_nsec;
        uint32_t mode; /* st_mode incl. file type */
        uint32_t nlink, uid, gid, rdev;
        uint32_t n_children, alloc_children;
        uint32_t index; /* creation order, 0 = root; free for users after that */
        uint16_t n_xattrs, alloc_xattrs;
        uint8_t name_len;
        bool has_digest : 1; /* digest[] is the fs-verity digest of the content */
        bool children_sorted : 1;
        uint8_t digest[CFS_DIGEST_SIZE];
};

struct cfs_tree;

/* Create an empty tree (no root yet). Returns 0 or -ENOMEM. */
int cfs_tree_new(struct cfs_tree **ret);
void cfs_tree_free(struct cfs_tree *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cfs_tree *, cfs_tree_free);

/* The root node, or NULL if none was added yet. */
struct cfs_node *cfs_tree_root(const struct cfs_tree *t);
/* Number of nodes (hard-link entries included). */
size_t cfs_tree_n_nodes(const struct cfs_tree *t);
/* Bytes of heap the tree holds (arena + nodes + tables), for benchmarks. */
size_t cfs_tree_memory(const struct cfs_tree *t);

/*
 * Copy bytes into the tree's arena; the copy lives as long as the tree.
 * cfs_tree_strndup() adds a terminating NUL. Return NULL on ENOMEM.
 */
void *cfs_tree_memdup(struct cfs_tree *t, const void *p, size_t n);
char *cfs_tree_strndup(struct cfs_tree *t, const char *s, size_t n);

/*
 * Create the root directory node. -EEXIST if there is one already.
 * Mode must be a directory (-ENOTDIR otherwise).
 */
int cfs_tree_add_root(struct cfs_tree *t, struct cfs_node **ret);

/*
 * Create a node named @name (@name_len bytes, 1..255, no '/' or NUL, not "." or
 * "..") in directory @parent. The name is copied. Fields other than name/parent
 * are zero; fill them in afterwards. Errors: -EINVAL bad name, -ENOTDIR parent is
 * not a directory (parent->mode must be set first), -EEXIST name taken, -ENOMEM.
 */
int cfs_tree_add_child(struct cfs_tree *t, struct cfs_node *parent, const char *name,
                       size_t name_len, struct cfs_node **ret);

/* Child of @dir named @name, or NULL. O(1) (hash lookup). */
struct cfs_node *cfs_tree_lookup(const struct cfs_tree *t, const struct cfs_node *dir,
                                 const char *name, size_t name_len);

/*
 * Resolve an absolute or relative (to the root) path. Repeated slashes are
 * skipped, "." and ".." are not interpreted. NULL if not found.
 */
struct cfs_node *cfs_tree_lookup_path(const struct cfs_tree *t, const char *path, size_t path_len);

/*
 * Sort every directory's children by name (bytewise, memcmp, shorter prefix
 * first). Call once after the tree is complete; writers rely on it.
 */
void cfs_tree_sort(struct cfs_tree *t);

/* Bytewise name order used everywhere (COMPOSEFS-FORMAT.md §0). */
int cfs_name_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* Follow hard-link entries to the real node (chains followed). NULL on a cycle. */
struct cfs_node *cfs_node_resolve(struct cfs_node *n);

static inline bool cfs_node_is_hardlink(const struct cfs_node *n)
{
        return n->link != NULL;
}

/*
 * Interned xattrs. cfs_tree_intern_xattr() returns the id of (name, value),
 * adding it if new. Name: 1..255 bytes, no NUL; value <= 65535 bytes.
 */
int cfs_tree_intern_xattr(struct cfs_tree *t, const char *name, size_t name_len, const void *value,
                          size_t value_len, uint32_t *ret_id);
const struct cfs_xattr *cfs_tree_xattr(const struct cfs_tree *t, uint32_t id);
size_t cfs_tree_n_xattrs(const struct cfs_tree *t);

/*
 * Set xattr @name=@value on @n, replacing an existing one of the same name
 * (composefs semantics: the last one wins). Does not apply the dump parser's
 * per-line budget (§14.7); that is the parser's job.
 */
int cfs_node_set_xattr(struct cfs_tree *t, struct cfs_node *n, const char *name, size_t name_len,
                       const void *value, size_t value_len);
/* Same, with an already interned id. */
int cfs_node_set_xattr_id(struct cfs_tree *t, struct cfs_node *n, uint32_t id);
/* Remove xattr @name from @n; returns 0 if removed, -ENODATA if absent. */
int cfs_node_remove_xattr(struct cfs_tree *t, struct cfs_node *n, const char *name,
                          size_t name_len);
/* The xattr of @n named @name, or NULL. */
const struct cfs_xattr *cfs_node_get_xattr(const struct cfs_tree *t, const struct cfs_node *n,
                                           const char *name, size_t name_len);

/* Call @fn on every node, parents before children (children in current order).
 * Stops and returns the first non-zero return of @fn. Iterative, no recursion. */
int cfs_tree_walk(struct cfs_tree *t, int (*fn)(struct cfs_node *n, void *userdata),
                  void *userdata);

/* Full path of @n ("/" for the root) into a malloc()ed string, or NULL on ENOMEM. */
char *cfs_node_path(const struct cfs_node *n);

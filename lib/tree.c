/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tree.c - the in-memory file tree (see tree.h): arena, nodes, the
 * (parent, name) lookup table, interned xattrs. Runs on the host and in the initrd.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "tree.h"

#define ARENA_CHUNK (256u * 1024u)

struct arena_chunk {
        struct arena_chunk *next;
        size_t used, size;
        max_align_t data[];
};

struct cfs_tree {
        struct arena_chunk *chunks;
        size_t arena_bytes;
        struct cfs_node *root;
        size_t n_nodes;

        /* (parent, name) -> node; open addressing, power-of-two size */
        struct cfs_node **lookup;
        size_t lookup_size;

        /* interned xattrs: array + open-addressing index of ids (id + 1, 0 = empty) */
        struct cfs_xattr *xattrs;
        size_t n_xattrs, alloc_xattrs;
        uint32_t *xattr_index;
        size_t xattr_index_size;
};

/* ---- arena ---- */

static void *arena_alloc(struct cfs_tree *t, size_t n)
{
        struct arena_chunk *c = t->chunks;
        const size_t align = _Alignof(max_align_t);

        n = CFS_ROUND_UP(n, align);
        if (n == 0)
                n = align;
        if (!c || c->size - c->used < n) {
                size_t size = CFS_MAX((size_t)ARENA_CHUNK, n);
                c = malloc(sizeof(*c) + size);
                if (!c)
                        return NULL;
                c->used = 0;
                c->size = size;
                /* A big one-off allocation goes behind the current chunk so the
                 * current chunk's free space stays usable. */
                if (t->chunks && size > ARENA_CHUNK) {
                        c->next = t->chunks->next;
                        t->chunks->next = c;
                } else {
                        c->next = t->chunks;
                        t->chunks = c;
                }
                t->arena_bytes += sizeof(*c) + size;
        }
        void *p = (uint8_t *)c->data + c->used;
        c->used += n;
        return p;
}

void *cfs_tree_memdup(struct cfs_tree *t, const void *p, size_t n)
{
        void *q = arena_alloc(t, n);
        if (q && n)
                memcpy(q, p, n);
        return q;
}

char *cfs_tree_strndup(struct cfs_tree *t, const char *s, size_t n)
{
        char *q = arena_alloc(t, n + 1);
        if (!q)
                return NULL;
        memcpy(q, s, n);
        q[n] = 0;
        return q;
}

/* ---- tree ---- */

int cfs_tree_new(struct cfs_tree **ret)
{
        struct cfs_tree *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        *ret = t;
        return 0;
}

void cfs_tree_free(struct cfs_tree *t)
{
        if (!t)
                return;
        for (struct arena_chunk *c = t->chunks, *next; c; c = next) {
                next = c->next;
                free(c);
        }
        free(t->lookup);
        free(t->xattrs);
        free(t->xattr_index);
        free(t);
}

struct cfs_node *cfs_tree_root(const struct cfs_tree *t)
{
        return t->root;
}

size_t cfs_tree_n_nodes(const struct cfs_tree *t)
{
        return t->n_nodes;
}

size_t cfs_tree_memory(const struct cfs_tree *t)
{
        return sizeof(*t) + t->arena_bytes + t->lookup_size * sizeof(t->lookup[0]) +
               t->alloc_xattrs * sizeof(t->xattrs[0]) +
               t->xattr_index_size * sizeof(t->xattr_index[0]);
}

int cfs_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
        int r = memcmp(a, b, CFS_MIN(alen, blen));
        if (r != 0)
                return r;
        return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static uint64_t child_hash(const struct cfs_node *parent, const char *name, size_t len)
{
        return XXH3_64bits_withSeed(name, len, (uint64_t)(uintptr_t)parent);
}

static int lookup_grow(struct cfs_tree *t)
{
        size_t size = t->lookup_size ? t->lookup_size * 2 : 1024;
        struct cfs_node **tab = calloc(size, sizeof(*tab));
        if (!tab)
                return -ENOMEM;
        for (size_t i = 0; i < t->lookup_size; i++) {
                struct cfs_node *n = t->lookup[i];
                if (!n)
                        continue;
                size_t j = child_hash(n->parent, n->name, n->name_len) & (size - 1);
                while (tab[j])
                        j = (j + 1) & (size - 1);
                tab[j] = n;
        }
        free(t->lookup);
        t->lookup = tab;
        t->lookup_size = size;
        return 0;
}

struct cfs_node *cfs_tree_lookup(const struct cfs_tree *t, const struct cfs_node *dir,
                                 const char *name, size_t name_len)
{
        if (!t->lookup_size || name_len == 0 || name_len > CFS_NAME_MAX)
                return NULL;
        size_t mask = t->lookup_size - 1;
        for (size_t j = child_hash(dir, name, name_len) & mask;; j = (j + 1) & mask) {
                struct cfs_node *n = t->lookup[j];
                if (!n)
                        return NULL;
                if (n->parent == dir && n->name_len == name_len &&
                    memcmp(n->name, name, name_len) == 0)
                        return n;
        }
}

struct cfs_node *cfs_tree_lookup_path(const struct cfs_tree *t, const char *path, size_t path_len)
{
        struct cfs_node *n = t->root;
        size_t i = 0;

        while (n) {
                while (i < path_len && path[i] == '/')
                        i++;
                if (i == path_len)
                        return n;
                size_t start = i;
                while (i < path_len && path[i] != '/')
                        i++;
                n = cfs_tree_lookup(t, n, path + start, i - start);
        }
        return NULL;
}

static struct cfs_node *node_alloc(struct cfs_tree *t)
{
        struct cfs_node *n = arena_alloc(t, sizeof(*n));
        if (!n)
                return NULL;
        memset(n, 0, sizeof(*n));
        n->index = (uint32_t)t->n_nodes;
        n->name = "";
        n->children_sorted = true;
        return n;
}

int cfs_tree_add_root(struct cfs_tree *t, struct cfs_node **ret)
{
        if (t->root)
                return -EEXIST;
        struct cfs_node *n = node_alloc(t);
        if (!n)
                return -ENOMEM;
        n->mode = S_IFDIR | 0755;
        t->root = n;
        t->n_nodes++;
        if (ret)
                *ret = n;
        return 0;
}

static int children_append(struct cfs_tree *t, struct cfs_node *dir, struct cfs_node *n)
{
        if (dir->n_children == dir->alloc_children) {
                if (dir->alloc_children >= UINT32_MAX / 2)
                        return -EFBIG;
                uint32_t alloc = dir->alloc_children ? dir->alloc_children * 2 : 4;
                /* Arena growth wastes the old array; the total waste is bounded by
                 * the final array size, cheaper than malloc headers per directory. */
                struct cfs_node **c = arena_alloc(t, (size_t)alloc * sizeof(*c));
                if (!c)
                        return -ENOMEM;
                if (dir->n_children)
                        memcpy(c, dir->children, dir->n_children * sizeof(*c));
                dir->children = c;
                dir->alloc_children = alloc;
        }
        if (dir->n_children > 0) {
                const struct cfs_node *last = dir->children[dir->n_children - 1];
                if (cfs_name_cmp(last->name, last->name_len, n->name, n->name_len) > 0)
                        dir->children_sorted = false;
        }
        dir->children[dir->n_children++] = n;
        return 0;
}

static bool name_valid(const char *name, size_t len)
{
        if (len == 0 || len > CFS_NAME_MAX)
                return false;
        if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
                return false;
        return memchr(name, '/', len) == NULL && memchr(name, 0, len) == NULL;
}

int cfs_tree_add_child(struct cfs_tree *t, struct cfs_node *parent, const char *name,
                       size_t name_len, struct cfs_node **ret)
{
        int r;

        if (!name_valid(name, name_len))
                return -EINVAL;
        if (!S_ISDIR(parent->mode) || parent->link)
                return -ENOTDIR;
        /* Children usually arrive in sorted order (dumps, sorted scans): a name
         * after the last one of a sorted list can't be there yet, so the lookup,
         * which dereferences every node it probes, is skipped. */
        const struct cfs_node *last =
            parent->n_children ? parent->children[parent->n_children - 1] : NULL;
        bool in_order = parent->children_sorted &&
                        (!last || cfs_name_cmp(last->name, last->name_len, name, name_len) < 0);
        if (!in_order && cfs_tree_lookup(t, parent, name, name_len))
                return -EEXIST;
        if (t->n_nodes >= UINT32_MAX)
                return -EFBIG;
        /* keep the table at most half full */
        if ((t->n_nodes + 1) * 2 > t->lookup_size) {
                r = lookup_grow(t);
                if (r < 0)
                        return r;
        }
        struct cfs_node *n = node_alloc(t);
        if (!n)
                return -ENOMEM;
        n->name = cfs_tree_strndup(t, name, name_len);
        if (!n->name)
                return -ENOMEM;
        n->name_len = (uint8_t)name_len;
        n->parent = parent;
        r = children_append(t, parent, n);
        if (r < 0)
                return r;
        size_t mask = t->lookup_size - 1;
        size_t j = child_hash(parent, name, name_len) & mask;
        while (t->lookup[j])
                j = (j + 1) & mask;
        t->lookup[j] = n;
        t->n_nodes++;
        if (ret)
                *ret = n;
        return 0;
}

static int child_cmp(const void *a, const void *b)
{
        const struct cfs_node *x = *(struct cfs_node *const *)a;
        const struct cfs_node *y = *(struct cfs_node *const *)b;
        return cfs_name_cmp(x->name, x->name_len, y->name, y->name_len);
}

static int sort_one(struct cfs_node *n, void *userdata)
{
        (void)userdata;
        if (!n->children_sorted) {
                qsort(n->children, n->n_children, sizeof(n->children[0]), child_cmp);
                n->children_sorted = true;
        }
        return 0;
}

void cfs_tree_sort(struct cfs_tree *t)
{
        (void)cfs_tree_walk(t, sort_one, NULL);
}

struct cfs_node *cfs_node_resolve(struct cfs_node *n)
{
        /* Floyd's cycle detection: the hare moves two links per step, the
         * tortoise one; they meet only on a cycle. Linear time, no state. */
        struct cfs_node *slow = n, *fast = n;
        while (fast && fast->link) {
                fast = fast->link;
                if (!fast->link)
                        break;
                fast = fast->link;
                slow = slow->link;
                if (slow == fast)
                        return NULL;
        }
        return fast;
}

int cfs_tree_walk(struct cfs_tree *t, int (*fn)(struct cfs_node *n, void *userdata), void *userdata)
{
        struct cfs_node *n = t->root;
        if (!n)
                return 0;
        /* Iterative pre-order walk: keep a stack of (dir, next child index). */
        size_t depth = 0, alloc = 64;
        struct frame {
                struct cfs_node *dir;
                uint32_t next;
        } *stack = malloc(alloc * sizeof(*stack));
        if (!stack)
                return -ENOMEM;

        int r = fn(n, userdata);
        if (r != 0)
                goto out;
        stack[depth++] = (struct frame){n, 0};
        while (depth > 0) {
                struct frame *f = &stack[depth - 1];
                if (f->next >= f->dir->n_children) {
                        depth--;
                        continue;
                }
                struct cfs_node *c = f->dir->children[f->next++];
                r = fn(c, userdata);
                if (r != 0)
                        goto out;
                if (!c->link && S_ISDIR(c->mode) && c->n_children > 0) {
                        if (cfs_reserve(&stack, &alloc, depth + 1, sizeof(*stack), 0) < 0) {
                                r = -ENOMEM;
                                goto out;
                        }
                        stack[depth++] = (struct frame){c, 0};
                }
        }
out:
        free(stack);
        return r;
}

char *cfs_node_path(const struct cfs_node *n)
{
        size_t len = 0;
        for (const struct cfs_node *p = n; p->parent; p = p->parent)
                len += 1 + p->name_len;
        if (len == 0)
                return strdup("/");
        char *s = malloc(len + 1);
        if (!s)
                return NULL;
        s[len] = 0;
        for (const struct cfs_node *p = n; p->parent; p = p->parent) {
                len -= p->name_len;
                memcpy(s + len, p->name, p->name_len);
                s[--len] = '/';
        }
        return s;
}

/* ---- interned xattrs ---- */

static uint32_t xattr_hash(const char *name, size_t name_len, const void *value, size_t value_len)
{
        uint64_t h = XXH3_64bits(name, name_len);
        return (uint32_t)XXH3_64bits_withSeed(value, value_len, h);
}

static int xattr_index_grow(struct cfs_tree *t)
{
        size_t size = t->xattr_index_size ? t->xattr_index_size * 2 : 256;
        uint32_t *idx = calloc(size, sizeof(*idx));
        if (!idx)
                return -ENOMEM;
        for (size_t id = 0; id < t->n_xattrs; id++) {
                size_t j = t->xattrs[id].hash & (size - 1);
                while (idx[j])
                        j = (j + 1) & (size - 1);
                idx[j] = (uint32_t)id + 1;
        }
        free(t->xattr_index);
        t->xattr_index = idx;
        t->xattr_index_size = size;
        return 0;
}

int cfs_tree_intern_xattr(struct cfs_tree *t, const char *name, size_t name_len, const void *value,
                          size_t value_len, uint32_t *ret_id)
{
        int r;

        if (name_len == 0 || name_len > CFS_XATTR_NAME_MAX || memchr(name, 0, name_len) ||
            value_len > CFS_XATTR_VALUE_MAX)
                return -EINVAL;
        uint32_t h = xattr_hash(name, name_len, value, value_len);
        if (t->xattr_index_size) {
                size_t mask = t->xattr_index_size - 1;
                for (size_t j = h & mask; t->xattr_index[j]; j = (j + 1) & mask) {
                        const struct cfs_xattr *x = &t->xattrs[t->xattr_index[j] - 1];
                        if (x->hash == h && x->name_len == name_len && x->value_len == value_len &&
                            memcmp(x->name, name, name_len) == 0 &&
                            (value_len == 0 || memcmp(x->value, value, value_len) == 0)) {
                                *ret_id = t->xattr_index[j] - 1;
                                return 0;
                        }
                }
        }
        if (t->n_xattrs >= UINT32_MAX - 1)
                return -EFBIG;
        if ((t->n_xattrs + 1) * 2 > t->xattr_index_size) {
                r = xattr_index_grow(t);
                if (r < 0)
                        return r;
        }
        if (cfs_reserve(&t->xattrs, &t->alloc_xattrs, t->n_xattrs + 1, sizeof(*t->xattrs), 64) < 0)
                return -ENOMEM;
        struct cfs_xattr *x = &t->xattrs[t->n_xattrs];
        x->name = cfs_tree_strndup(t, name, name_len);
        x->value = cfs_tree_memdup(t, value, value_len);
        if (!x->name || !x->value)
                return -ENOMEM;
        x->name_len = (uint8_t)name_len;
        x->value_len = (uint16_t)value_len;
        x->hash = h;
        size_t mask = t->xattr_index_size - 1;
        size_t j = h & mask;
        while (t->xattr_index[j])
                j = (j + 1) & mask;
        t->xattr_index[j] = (uint32_t)t->n_xattrs + 1;
        *ret_id = (uint32_t)t->n_xattrs++;
        return 0;
}

const struct cfs_xattr *cfs_tree_xattr(const struct cfs_tree *t, uint32_t id)
{
        return id < t->n_xattrs ? &t->xattrs[id] : NULL;
}

size_t cfs_tree_n_xattrs(const struct cfs_tree *t)
{
        return t->n_xattrs;
}

static int node_find_xattr(const struct cfs_tree *t, const struct cfs_node *n, const char *name,
                           size_t name_len)
{
        for (int i = 0; i < n->n_xattrs; i++) {
                const struct cfs_xattr *x = &t->xattrs[n->xattrs[i]];
                if (x->name_len == name_len && memcmp(x->name, name, name_len) == 0)
                        return i;
        }
        return -1;
}

int cfs_node_set_xattr_id(struct cfs_tree *t, struct cfs_node *n, uint32_t id)
{
        const struct cfs_xattr *x = cfs_tree_xattr(t, id);
        if (!x)
                return -EINVAL;
        int i = node_find_xattr(t, n, x->name, x->name_len);
        if (i >= 0) {
                n->xattrs[i] = id;
                return 0;
        }
        if (n->n_xattrs == UINT16_MAX)
                return -E2BIG;
        if (n->n_xattrs == n->alloc_xattrs) {
                uint32_t alloc = n->alloc_xattrs ? 2u * n->alloc_xattrs : 2;
                if (alloc > UINT16_MAX)
                        alloc = UINT16_MAX;
                uint32_t *ids = arena_alloc(t, alloc * sizeof(*ids));
                if (!ids)
                        return -ENOMEM;
                if (n->n_xattrs)
                        memcpy(ids, n->xattrs, n->n_xattrs * sizeof(*ids));
                n->xattrs = ids;
                n->alloc_xattrs = (uint16_t)alloc;
        }
        n->xattrs[n->n_xattrs++] = id;
        return 0;
}

int cfs_node_set_xattr(struct cfs_tree *t, struct cfs_node *n, const char *name, size_t name_len,
                       const void *value, size_t value_len)
{
        uint32_t id;
        int r = cfs_tree_intern_xattr(t, name, name_len, value, value_len, &id);
        if (r < 0)
                return r;
        return cfs_node_set_xattr_id(t, n, id);
}

int cfs_node_remove_xattr(struct cfs_tree *t, struct cfs_node *n, const char *name, size_t name_len)
{
        int i = node_find_xattr(t, n, name, name_len);
        if (i < 0)
                return -ENODATA;
        memmove(&n->xattrs[i], &n->xattrs[i + 1], (n->n_xattrs - i - 1) * sizeof(n->xattrs[0]));
        n->n_xattrs--;
        return 0;
}

const struct cfs_xattr *cfs_node_get_xattr(const struct cfs_tree *t, const struct cfs_node *n,
                                           const char *name, size_t name_len)
{
        int i = node_find_xattr(t, n, name, name_len);
        return i < 0 ? NULL : &t->xattrs[n->xattrs[i]];
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image-write.c - composefs 1.0 image writer, entry point (image.h): options and
 * format version (COMPOSEFS-FORMAT.md §5.1), the 256 root whiteouts (§5.4),
 * breadth-first inode order and hard-link targets (§5.5, §5.6). The other
 * passes live in image-write-{xattr,layout,emit}.c. Host only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "image-write-internal.h"

int w_fail(struct cfs_writer *w, const struct cfs_node *n, int code, const char *what)
{
        _cleanup_free_ char *path = n ? cfs_node_path(n) : NULL;
        return cfs_error_set(w->err, code, "%s%scannot write file: %s (%s)", path ? path : "",
                             path ? ": " : "", strerror(code), what);
}

struct cfs_node *w_resolve(const struct cfs_writer *w, struct cfs_node *n)
{
        /* A chain without a cycle visits each node at most once. */
        size_t steps = 0;
        while (n && n->link) {
                n = n->link;
                if (++steps > w->n_tree_nodes)
                        return NULL;
        }
        return n;
}

/* ---- hard-link targets: node pointer -> bfs index (lookup only, never ordered) ---- */

static size_t ptr_hash(const void *p)
{
        uint64_t x = (uint64_t)(uintptr_t)p;
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        return (size_t)x;
}

static struct wlink *links_slot(const struct wlink *tab, size_t size, const struct cfs_node *n)
{
        size_t mask = size - 1;
        for (size_t j = ptr_hash(n) & mask;; j = (j + 1) & mask)
                if (tab[j].node == n || !tab[j].node)
                        return (struct wlink *)&tab[j];
}

static int links_grow(struct cfs_writer *w)
{
        size_t size = w->links_size ? w->links_size * 2 : 64;
        struct wlink *tab = calloc(size, sizeof(*tab));
        if (!tab)
                return -ENOMEM;
        for (size_t i = 0; i < w->links_size; i++)
                if (w->links[i].node)
                        *links_slot(tab, size, w->links[i].node) = w->links[i];
        free(w->links);
        w->links = tab;
        w->links_size = size;
        return 0;
}

static int links_add(struct cfs_writer *w, struct cfs_node *hardlink)
{
        struct cfs_node *target = w_resolve(w, hardlink);
        if (!target)
                return w_fail(w, hardlink, ELOOP, "hard-link cycle");
        if ((w->n_links + 1) * 2 > w->links_size) {
                int r = links_grow(w);
                if (r < 0)
                        return r;
        }
        struct wlink *s = links_slot(w->links, w->links_size, target);
        if (!s->node) {
                s->node = target;
                s->bfs = UINT32_MAX;
                w->n_links++;
        }
        return 0;
}

uint32_t w_link_bfs(const struct cfs_writer *w, const struct cfs_node *target)
{
        if (!w->links_size)
                return UINT32_MAX;
        const struct wlink *s = links_slot(w->links, w->links_size, target);
        return s->node ? s->bfs : UINT32_MAX;
}

static int links_fill(struct cfs_writer *w)
{
        if (!w->n_links)
                return 0;
        size_t found = 0;
        for (uint32_t i = 0; i < w->n_inodes; i++) {
                struct wlink *s = links_slot(w->links, w->links_size, w->bfs[i]);
                if (s->node) {
                        s->bfs = i;
                        found++;
                }
        }
        if (found != w->n_links)
                return cfs_error_set(
                    w->err, EINVAL, "cannot write file: a hard link names a node outside the tree");
        return 0;
}

/* ---- the root whiteouts 00..ff (§5.4) ---- */

static void find_root_selinux(struct cfs_writer *w)
{
        for (uint16_t i = 0; i < w->root->n_xattrs; i++) {
                const struct cfs_xattr *x = cfs_tree_xattr(w->t, w->root->xattrs[i]);
                if (x && x->name_len == 16 && memcmp(x->name, "security.selinux", 16) == 0) {
                        w->root_has_selinux = true;
                        w->root_selinux = w->root->xattrs[i];
                }
        }
}

static int make_fakes(struct cfs_writer *w)
{
        static const char hex[] = "0123456789abcdef";
        const struct cfs_node *root = w->root;

        w->fakes = calloc(256, sizeof(*w->fakes));
        if (!w->fakes)
                return -ENOMEM;
        for (unsigned i = 0; i < 256; i++) {
                char *name = w->fake_names[i];
                name[0] = hex[i >> 4];
                name[1] = hex[i & 15];
                name[2] = 0;
                if (cfs_tree_lookup(w->t, root, name, 2))
                        continue; /* a user entry takes the name */
                struct cfs_node *f = &w->fakes[w->n_fakes++];
                f->parent = (struct cfs_node *)root;
                f->name = name;
                f->name_len = 2;
                f->mode = S_IFCHR | 0644;
                f->nlink = 1;
                f->uid = root->uid;
                f->gid = root->gid;
                f->mtime_sec = root->mtime_sec;
                f->mtime_nsec = root->mtime_nsec;
                f->children_sorted = true;
        }
        find_root_selinux(w);
        return 0;
}

/* ---- breadth-first order (§5.6) ---- */

static void note_inode(struct cfs_writer *w, const struct cfs_node *n, bool *has_whiteout)
{
        if (n->mtime_sec < w->min_sec ||
            (n->mtime_sec == w->min_sec && n->mtime_nsec < w->min_nsec)) {
                w->min_sec = n->mtime_sec;
                w->min_nsec = n->mtime_nsec;
        }
        if (w_is_whiteout(w, n))
                *has_whiteout = true;
        if (w_is_external(w, n))
                w->n_external++;
}

static int build_bfs(struct cfs_writer *w, bool *has_whiteout)
{
        uint32_t n = 1;
        int r;

        w->bfs[0] = w->root;
        w->parent[0] = 0;
        w->min_sec = w->root->mtime_sec;
        w->min_nsec = w->root->mtime_nsec;
        for (uint32_t head = 0; head < n; head++) {
                struct cfs_node *d = w->bfs[head];
                if (cfs_mode_to_ftype(d->mode) == CFS_FT_UNKNOWN)
                        return w_fail(w, d, EINVAL, "invalid file type in mode");
                note_inode(w, d, has_whiteout);
                w->first_child[head] = n;
                if (!S_ISDIR(d->mode))
                        continue;
                struct wdent_iter it;
                struct wdent e;
                w_dent_init(&it, w, head);
                while (w_dent_next(&it, &e)) {
                        if (e.dot)
                                continue;
                        if (e.node->link) {
                                r = links_add(w, e.node);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        if (n >= w->cap_inodes)
                                return cfs_error_set(w->err, EINVAL,
                                                     "cannot write file: tree node count is wrong");
                        w->bfs[n] = e.node;
                        w->parent[n] = head;
                        n++;
                }
        }
        w->n_inodes = n;
        return links_fill(w);
}

/* ---- setup ---- */

static void writer_free(struct cfs_writer *w)
{
        if (!w)
                return;
        free(w->fakes);
        free(w->bfs);
        free(w->parent);
        free(w->first_child);
        free(w->nid);
        free(w->spilled);
        free(w->has_blocks);
        free(w->links);
        w_writer_free_xattrs(w);
        free(w);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cfs_writer *, writer_free);

static int writer_alloc(struct cfs_writer *w)
{
        w->n_tree_nodes = cfs_tree_n_nodes(w->t);
        if (w->n_tree_nodes > UINT32_MAX - 512)
                return cfs_error_set(w->err, EFBIG, "cannot write file: too many nodes");
        w->cap_inodes = (uint32_t)w->n_tree_nodes + 256;
        size_t cap = w->cap_inodes;
        w->bfs = malloc(cap * sizeof(*w->bfs));
        w->parent = malloc(cap * sizeof(*w->parent));
        w->first_child = malloc(cap * sizeof(*w->first_child));
        w->nid = malloc(cap * sizeof(*w->nid));
        w->spilled = calloc(cap / 8 + 1, 1);
        w->has_blocks = calloc(cap / 8 + 1, 1);
        w->xstart = malloc((cap + 1) * sizeof(*w->xstart));
        if (!w->bfs || !w->parent || !w->first_child || !w->nid || !w->spilled || !w->has_blocks ||
            !w->xstart)
                return -ENOMEM;
        return make_fakes(w);
}

/* §5.1; the options were checked already. */
static void choose_version(struct cfs_writer *w, const struct cfs_image_options *opts,
                           bool has_whiteout)
{
        unsigned min = opts->min_version, max = opts->max_version;
        if (max < min)
                max = min;
        w->version = min;
        if (w->version < 1 && max >= 1 && has_whiteout)
                w->version = 1;
}

int cfs_image_write(struct cfs_tree *t, const struct cfs_image_options *opts, int fd,
                    struct cfs_error *err)
{
        const struct cfs_image_options defaults = CFS_IMAGE_OPTIONS_DEFAULT;
        _cleanup_(writer_freep) struct cfs_writer *w = NULL;
        bool has_whiteout = false;
        int r;

        if (!opts)
                opts = &defaults;
        if (opts->min_version > CFS_FORMAT_VERSION_MAX ||
            opts->max_version > CFS_FORMAT_VERSION_MAX)
                return cfs_error_set(err, EINVAL,
                                     "cannot write file: Invalid argument (format version "
                                     "min %u, max %u; at most %u is supported)",
                                     opts->min_version, opts->max_version, CFS_FORMAT_VERSION_MAX);
        struct cfs_node *root = cfs_tree_root(t);
        if (!root || !S_ISDIR(root->mode) || root->link)
                return cfs_error_set(err, EINVAL,
                                     "cannot write file: the tree has no root directory");
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->t = t;
        w->err = err;
        w->root = root;
        cfs_tree_sort(t);
        r = writer_alloc(w);
        if (r < 0)
                return r;
        r = build_bfs(w, &has_whiteout);
        if (r < 0)
                return r;
        choose_version(w, opts, has_whiteout);
        r = w_collect_xattrs(w);
        if (r < 0)
                return r;
        r = w_layout(w);
        if (r < 0)
                return r;
        r = w_shared_table(w);
        if (r < 0)
                return r;
        return w_emit(w, fd);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image-load.c - turn a validated composefs image back into the tree its dump
 * described, undoing composefs' overlay rewrites the way `composefs-info dump`
 * does (COMPOSEFS-FORMAT.md §15): redirect -> PAYLOAD, metacopy -> DIGEST,
 * escaped trusted.overlay.overlay.X -> trusted.overlay.X, whiteout-marked
 * files -> character devices 0/0, writer-added overlay xattrs and the root's
 * whiteouts dropped, a second name for an inode -> a hard-link node. Host and
 * initrd (`cfsroot dump`). Validation is the walk of image-check.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image-reader-internal.h"

/* A tree node costs ~100 bytes; refuse images that would need tens of GB. */
#define LOAD_MAX_NODES (1u << 26)

struct loader {
        const struct cfs_image *img;
        struct cfs_tree *t;
        struct cfs_u64map nodes; /* nid -> node, for hard links */
        struct cfs_error *err;
};

static int load_fail(struct loader *l, const struct cfs_walk_entry *e, int r)
{
        if (r == -ENOMEM)
                return r;
        return cfs_error_set(l->err, -r, "cannot add nid %" PRIu64 " to the tree: %s", e->ino->nid,
                             strerror(-r));
}

/* One xattr as composefs-info prints it (§15): 0 handled, or -errno. */
static int load_xattr(struct loader *l, struct cfs_node *n, const struct cfs_rxattr *x,
                      bool *whiteout)
{
        char name[512];
        size_t len = cfs_rxattr_name(x, name);
        const size_t plen = strlen(CFS_XATTR_OVERLAY_PREFIX);

        if (strcmp(name, CFS_XATTR_METACOPY) == 0) {
                if (x->value_len == CFS_METACOPY_SIZE) {
                        memcpy(n->digest, x->value + 4, CFS_DIGEST_SIZE);
                        n->has_digest = true;
                }
                return 0;
        }
        if (strcmp(name, CFS_XATTR_REDIRECT) == 0) {
                const uint8_t *v = x->value;
                size_t vl = x->value_len;
                if (vl > 1 && v[0] == '/') {
                        v++;
                        vl--;
                }
                const uint8_t *z = memchr(v, 0, vl);
                if (z)
                        vl = (size_t)(z - v);
                n->payload = cfs_tree_strndup(l->t, (const char *)v, vl);
                return n->payload ? 0 : -ENOMEM;
        }
        if (strcmp(name, CFS_XATTR_ESC_WHITEOUT) == 0 && S_ISREG(n->mode)) {
                *whiteout = true;
                return 0;
        }
        if (strcmp(name, CFS_XATTR_ESC_WHITEOUTS) == 0 ||
            strcmp(name, CFS_XATTR_USER_WHITEOUT) == 0 ||
            strcmp(name, CFS_XATTR_USER_WHITEOUTS) == 0)
                return 0;
        if (strncmp(name, CFS_XATTR_OVERLAY_ESCAPED_PREFIX,
                    strlen(CFS_XATTR_OVERLAY_ESCAPED_PREFIX)) == 0) {
                /* drop one "overlay." */
                memmove(name + plen, name + plen + 8, len - plen - 8 + 1);
                len -= 8;
        } else if (strncmp(name, CFS_XATTR_OVERLAY_PREFIX, plen) == 0) {
                return 0; /* writer-added, e.g. the root's opaque=y */
        }
        return cfs_node_set_xattr(l->t, n, name, len, x->value, x->value_len);
}

static int load_inode(struct loader *l, struct cfs_node *n, const struct cfs_walk_entry *e)
{
        const struct cfs_rinode *ino = e->ino;
        bool whiteout = false;
        int r;

        n->mode = ino->mode;
        n->nlink = ino->nlink;
        n->uid = ino->uid;
        n->gid = ino->gid;
        n->mtime_sec = ino->mtime;
        n->mtime_nsec = ino->mtime_nsec;
        n->size = ino->size;
        if (S_ISCHR(ino->mode) || S_ISBLK(ino->mode))
                n->rdev = ino->u;
        if (S_ISLNK(ino->mode) ||
            (S_ISREG(ino->mode) && ino->size > 0 && ino->layout != CFS_LAYOUT_CHUNK_BASED)) {
                uint8_t buf[CFS_INLINE_MAX + 1]; /* validated: size <= 5000 */
                cfs_rinode_copy_data(l->img, ino, buf);
                buf[ino->size] = 0;
                uint8_t *data = cfs_tree_memdup(l->t, buf, (size_t)ino->size + 1);
                if (!data)
                        return -ENOMEM;
                if (S_ISLNK(ino->mode))
                        n->payload = (const char *)data;
                else
                        n->content = data;
        }
        for (size_t i = 0; i < e->n_xattrs; i++)
                if ((r = load_xattr(l, n, &e->xattrs[i], &whiteout)) < 0)
                        return r;
        if (whiteout) {
                n->mode = S_IFCHR | (n->mode & 07777);
                n->rdev = 0;
                n->size = 0;
                n->content = NULL;
        }
        return 0;
}

static int load_entry(void *userdata, const struct cfs_walk_entry *e, void **ret_dir)
{
        struct loader *l = userdata;
        const struct cfs_rinode *ino = e->ino;
        struct cfs_node *n = NULL;
        int r;

        *ret_dir = NULL;
        /* overlay whiteouts (the root's 00..ff) are not part of the dump */
        if (S_ISCHR(ino->mode) && ino->u == 0)
                return 0;
        if (cfs_tree_n_nodes(l->t) >= LOAD_MAX_NODES)
                return cfs_error_set(l->err, EFBIG,
                                     "image has more than %u entries, more than a tree is "
                                     "allowed to hold",
                                     LOAD_MAX_NODES);
        if (!e->name)
                r = cfs_tree_add_root(l->t, &n);
        else if (!e->parent)
                return cfs_error_set(l->err, EUCLEAN, "nid %" PRIu64 ": entry without a parent",
                                     ino->nid);
        else
                r = cfs_tree_add_child(l->t, e->parent, (const char *)e->name, e->name_len, &n);
        if (r < 0)
                return load_fail(l, e, r);
        if (e->hardlink) {
                uint64_t v;
                if (!cfs_u64map_get(&l->nodes, ino->nid, &v))
                        return cfs_error_set(l->err, EUCLEAN,
                                             "nid %" PRIu64 ": hard link to an inode never loaded",
                                             ino->nid);
                struct cfs_node *target = (struct cfs_node *)(uintptr_t)v;
                n->link = target;
                n->mode = target->mode;
                return 0;
        }
        if ((r = load_inode(l, n, e)) < 0)
                return load_fail(l, e, r);
        if (!S_ISDIR(ino->mode) &&
            (r = cfs_u64map_put(&l->nodes, ino->nid, (uint64_t)(uintptr_t)n)) < 0)
                return r;
        *ret_dir = n;
        return 0;
}

int cfs_image_load(const struct cfs_image *img, struct cfs_tree **ret, struct cfs_error *err)
{
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = NULL;
        int r = cfs_tree_new(&t);
        if (r < 0)
                return r;
        struct loader l = {.img = img, .t = t, .err = err};
        struct cfs_walk_ops ops = {.entry = load_entry, .userdata = &l};
        r = cfs_image_walk(img, &ops, err);
        cfs_u64map_free(&l.nodes);
        if (r < 0)
                return r;
        cfs_tree_sort(t); /* already in order; marks it so for the writers */
        *ret = TAKE_PTR(t);
        return 0;
}

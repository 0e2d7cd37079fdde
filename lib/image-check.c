/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image-check.c - the validating walk over an untrusted composefs image
 * (COMPOSEFS-FORMAT.md §16) and cfs_image_check(). Host (`cfsroot check`,
 * `cfsroot dump`) and initrd (setup-root checks the image before mounting it).
 *
 * Depth-first pre-order from the root with an explicit stack, entries in name
 * order. Each directory is entered once and each inode validated once (a
 * bitmap keyed by nid), so the work is linear in the image size whatever the
 * input: a directory reachable twice (a loop or a hard-linked directory) is an
 * error, a second name for any other inode is a hard link.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image-reader-internal.h"

struct frame {
        struct cfs_rdir it;
        uint64_t parent_nid;
        void *ud;
        size_t path_len;
        bool seen_dot, seen_dotdot;
};

struct walker {
        const struct cfs_image *img;
        const struct cfs_walk_ops *ops;
        struct cfs_rctx c;
        uint8_t *visited; /* one bit per nid */
        struct frame *stack;
        size_t depth, alloc;
        char *path;
        size_t path_alloc;
        struct cfs_rxattr *xv;
        size_t xv_alloc;
        struct cfs_u64map shared_ok;
};

static bool visited_test_set(struct walker *w, uint64_t nid)
{
        uint8_t bit = (uint8_t)(1u << (nid & 7));
        bool was = w->visited[nid >> 3] & bit;
        w->visited[nid >> 3] |= bit;
        return was;
}

static bool visited_test(const struct walker *w, uint64_t nid)
{
        return w->visited[nid >> 3] & (1u << (nid & 7));
}

/* Path of the entry @name in the directory at the top of the stack. */
static int path_set(struct walker *w, size_t dir_len, const uint8_t *name, size_t len)
{
        if (cfs_reserve(&w->path, &w->path_alloc, dir_len + 1 + len + 1, 1, 0) < 0)
                return -ENOMEM;
        w->path[dir_len] = '/';
        memcpy(w->path + dir_len + 1, name, len);
        w->c.path = w->path;
        w->c.path_len = dir_len + 1 + len;
        return 0;
}

void cfs_rinode_copy_data(const struct cfs_image *img, const struct cfs_rinode *ino, uint8_t *out)
{
        uint64_t in_blocks =
            ino->size - (ino->layout == CFS_LAYOUT_FLAT_INLINE ? ino->tail_len : 0);
        if (in_blocks)
                memcpy(out, img->data + ino->blk_off, in_blocks);
        if (ino->layout == CFS_LAYOUT_FLAT_INLINE)
                memcpy(out + in_blocks, img->data + ino->tail_off, ino->tail_len);
}

/* Checks that need the inode's name or parent. */
static int check_entry(struct walker *w, const struct cfs_rinode *ino, const struct cfs_rdirent *de,
                       uint64_t parent_nid)
{
        if (S_ISCHR(ino->mode) && ino->u == 0) {
                static const char hex[] = "0123456789abcdef";
                bool ok = parent_nid == w->img->root_nid && de->name_len == 2 &&
                          memchr(hex, de->name[0], 16) && memchr(hex, de->name[1], 16);
                if (!ok)
                        return cfs_rfail(&w->c, ino->nid, ino->off,
                                         "overlay whiteout (character device 0/0) that is not one "
                                         "of the root's \"00\"..\"ff\": composefs stores whiteouts "
                                         "as regular files with %s",
                                         CFS_XATTR_ESC_WHITEOUT);
        }
        if (S_ISLNK(ino->mode)) {
                uint8_t target[CFS_SYMLINK_MAX];
                cfs_rinode_copy_data(w->img, ino, target);
                if (memchr(target, 0, ino->size))
                        return cfs_rfail(
                            &w->c, ino->nid, ino->n_blocks ? ino->blk_off : ino->tail_off,
                            "symlink target of %" PRIu64 " bytes contains a NUL byte", ino->size);
        }
        return 0;
}

static int push_dir(struct walker *w, const struct cfs_rinode *ino, uint64_t parent_nid, void *ud,
                    size_t path_len)
{
        if (cfs_reserve(&w->stack, &w->alloc, w->depth + 1, sizeof(*w->stack), 64) < 0)
                return -ENOMEM;
        struct frame *f = &w->stack[w->depth++];
        *f = (struct frame){.parent_nid = parent_nid, .ud = ud, .path_len = path_len};
        cfs_rdir_init(&f->it, ino);
        return 0;
}

/* A new inode (first name for it): validate the rest and report it. */
static int visit_new(struct walker *w, struct cfs_walk_entry *e, void **ret_ud)
{
        size_t n = 0;
        int r = cfs_rxattrs_read(&w->c, e->ino, &w->shared_ok, &w->xv, &w->xv_alloc, &n);
        if (r < 0)
                return r;
        e->xattrs = w->xv;
        e->n_xattrs = n;
        *ret_ud = NULL;
        if (w->ops && w->ops->entry)
                return w->ops->entry(w->ops->userdata, e, ret_ud);
        return 0;
}

/* "." and "..": checked, not reported. 1 if @de was one of them. */
static int dot_entry(struct walker *w, struct frame *f, const struct cfs_rdirent *de)
{
        bool dot = de->name_len == 1 && de->name[0] == '.';
        bool dotdot = de->name_len == 2 && de->name[0] == '.' && de->name[1] == '.';
        if (!dot && !dotdot)
                return 0;
        uint64_t want = dot ? f->it.ino.nid : f->parent_nid;
        if (de->nid != want || de->ftype != CFS_FT_DIR)
                return cfs_rfail(&w->c, f->it.ino.nid, de->off,
                                 "\"%s\" entry points at nid %" PRIu64 " with file type %u: "
                                 "expected nid %" PRIu64 " (%s) with file type %u",
                                 dot ? "." : "..", de->nid, de->ftype, want,
                                 dot ? "the directory itself" : "its parent", CFS_FT_DIR);
        if (dot)
                f->seen_dot = true;
        else
                f->seen_dotdot = true;
        return 1;
}

static int walk_step(struct walker *w)
{
        struct frame *f = &w->stack[w->depth - 1];
        struct cfs_rdirent de;
        int r;

        w->c.path = w->path;
        w->c.path_len = f->path_len;
        r = cfs_rdir_next(&w->c, &f->it, &de);
        if (r < 0)
                return r;
        if (r == 0) {
                if (!f->seen_dot || !f->seen_dotdot)
                        return cfs_rfail(&w->c, f->it.ino.nid, f->it.ino.off,
                                         "directory without a \"%s\" entry",
                                         f->seen_dot ? ".." : ".");
                w->depth--;
                return 0;
        }
        r = dot_entry(w, f, &de);
        if (r != 0)
                return r < 0 ? r : 0;
        uint64_t dir_nid = f->it.ino.nid;
        size_t dir_len = f->path_len;
        void *dir_ud = f->ud;
        if ((r = path_set(w, dir_len, de.name, de.name_len)) < 0)
                return r;
        if (de.nid > w->img->size / CFS_SLOT_SIZE)
                return cfs_rfail(&w->c, de.nid, de.off,
                                 "directory entry points at nid %" PRIu64
                                 ", beyond the end of the %" PRIu64 "-byte image",
                                 de.nid, w->img->size);
        struct cfs_rinode ino;
        r = cfs_rinode_read(&w->c, de.nid, &ino);
        if (r < 0)
                return r;
        if (de.ftype != cfs_mode_to_ftype(ino.mode))
                return cfs_rfail(&w->c, de.nid, de.off,
                                 "directory entry file type %u, but the inode has mode 0%o "
                                 "(file type %u)",
                                 de.ftype, ino.mode, cfs_mode_to_ftype(ino.mode));
        struct cfs_walk_entry e = {
            .parent = dir_ud,
            .name = de.name,
            .name_len = de.name_len,
            .ino = &ino,
            .path = w->c.path,
            .path_len = w->c.path_len,
        };
        if (visited_test(w, de.nid)) {
                if (S_ISDIR(ino.mode))
                        return cfs_rfail(&w->c, de.nid, de.off,
                                         "directory reachable through a second entry (a "
                                         "directory loop or a hard-linked directory)");
                e.hardlink = true;
                void *unused = NULL;
                if (w->ops && w->ops->entry)
                        return w->ops->entry(w->ops->userdata, &e, &unused);
                return 0;
        }
        (void)visited_test_set(w, de.nid);
        if ((r = check_entry(w, &ino, &de, dir_nid)) < 0)
                return r;
        void *ud = NULL;
        if ((r = visit_new(w, &e, &ud)) < 0)
                return r;
        if (S_ISDIR(ino.mode))
                return push_dir(w, &ino, dir_nid, ud, w->c.path_len);
        return 0;
}

static int walk(struct walker *w)
{
        struct cfs_rinode root;
        int r;

        w->path = malloc(256);
        if (!w->path)
                return -ENOMEM;
        w->path_alloc = 256;
        w->c.path = w->path;
        w->c.path_len = 0;
        r = cfs_rinode_read(&w->c, w->img->root_nid, &root);
        if (r < 0)
                return r;
        if (!S_ISDIR(root.mode))
                return cfs_rfail(&w->c, root.nid, root.off,
                                 "the root inode is a %s (mode 0%o): expected a directory",
                                 S_ISREG(root.mode) ? "regular file" : "non-directory", root.mode);
        (void)visited_test_set(w, root.nid);
        struct cfs_walk_entry e = {.ino = &root, .path = w->path, .path_len = 0};
        void *ud = NULL;
        if ((r = visit_new(w, &e, &ud)) < 0)
                return r;
        if ((r = push_dir(w, &root, root.nid, ud, 0)) < 0)
                return r;
        while (w->depth > 0)
                if ((r = walk_step(w)) < 0)
                        return r;
        return 0;
}

int cfs_image_walk(const struct cfs_image *img, const struct cfs_walk_ops *ops,
                   struct cfs_error *err)
{
        struct walker w = {.img = img, .ops = ops, .c = {.img = img, .err = err}};
        uint64_t nids = img->size / CFS_SLOT_SIZE;

        w.visited = calloc(nids / 8 + 1, 1);
        int r = w.visited ? walk(&w) : -ENOMEM;
        free(w.visited);
        free(w.stack);
        free(w.path);
        free(w.xv);
        cfs_u64map_free(&w.shared_ok);
        return r;
}

int cfs_image_check(const struct cfs_image *img, struct cfs_error *err)
{
        return cfs_image_walk(img, NULL, err);
}

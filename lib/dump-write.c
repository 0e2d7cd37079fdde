/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dump-write.c - write a tree as a composefs dump (COMPOSEFS-FORMAT.md §15):
 * depth-first pre-order, children in name order, the escaping of §14.2, hard
 * links as "@MODE" lines naming their target. Used by `cfsroot dump` (host,
 * initrd, real root).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"

struct buf {
        char *p;
        size_t len, alloc;
};

static int buf_reserve(struct buf *b, size_t n)
{
        if (b->alloc - b->len >= n)
                return 0;
        size_t need;
        if (!cfs_add_u64(b->len, n, &need))
                return -ENOMEM;
        return cfs_reserve(&b->p, &b->alloc, need, 1, 4096);
}

/* The append helpers assume the caller reserved the room. */
static void buf_putc(struct buf *b, char c)
{
        b->p[b->len++] = c;
}

static void buf_put(struct buf *b, const char *s, size_t n)
{
        memcpy(b->p + b->len, s, n);
        b->len += n;
}

static void buf_u64(struct buf *b, uint64_t v, unsigned base)
{
        char tmp[24];
        size_t i = sizeof(tmp);
        do {
                tmp[--i] = (char)('0' + v % base);
                v /= base;
        } while (v);
        buf_put(b, tmp + i, sizeof(tmp) - i);
}

static int buf_escape(struct buf *b, const void *data, size_t len, enum cfs_escape_mode mode)
{
        size_t room;
        if (!cfs_mul_u64(len, 4, &room) || buf_reserve(b, room + 4) < 0)
                return -ENOMEM;
        b->len += cfs_escape_mem(b->p + b->len, data, len, mode);
        return 0;
}

struct writer {
        struct cfs_tree *t;
        FILE *out;
        struct buf line;
        struct buf path; /* escaped path of the node being written */
};

/* SIZE ... MTIME of @v, MODE @mode (with '@' for hard links). */
static int put_numbers(struct buf *b, const struct cfs_node *v, uint32_t mode, bool hardlink)
{
        if (buf_reserve(b, 160) < 0)
                return -ENOMEM;
        buf_putc(b, ' ');
        buf_u64(b, v->size, 10);
        buf_putc(b, ' ');
        if (hardlink)
                buf_putc(b, '@');
        buf_u64(b, mode, 8);
        const uint64_t nums[] = {v->nlink, v->uid, v->gid, v->rdev};
        for (size_t i = 0; i < ELEMENTSOF(nums); i++) {
                buf_putc(b, ' ');
                buf_u64(b, nums[i], 10);
        }
        buf_putc(b, ' ');
        if (v->mtime_sec < 0) {
                buf_putc(b, '-');
                buf_u64(b, -(uint64_t)v->mtime_sec, 10);
        } else {
                buf_u64(b, (uint64_t)v->mtime_sec, 10);
        }
        buf_putc(b, '.');
        buf_u64(b, v->mtime_nsec, 10);
        buf_putc(b, ' ');
        return 0;
}

static int put_digest(struct buf *b, const struct cfs_node *v)
{
        static const char hex[] = "0123456789abcdef";
        if (buf_reserve(b, 2 * CFS_DIGEST_SIZE + 1) < 0)
                return -ENOMEM;
        buf_putc(b, ' ');
        if (!v->has_digest) {
                buf_putc(b, '-');
                return 0;
        }
        for (size_t i = 0; i < CFS_DIGEST_SIZE; i++) {
                buf_putc(b, hex[v->digest[i] >> 4]);
                buf_putc(b, hex[v->digest[i] & 0xf]);
        }
        return 0;
}

static int put_xattrs(struct writer *w, const struct cfs_node *v)
{
        struct buf *b = &w->line;
        for (uint32_t i = 0; i < v->n_xattrs; i++) {
                const struct cfs_xattr *x = cfs_tree_xattr(w->t, v->xattrs[i]);
                if (!x)
                        return -EINVAL;
                if (buf_reserve(b, 2) < 0)
                        return -ENOMEM;
                buf_putc(b, ' ');
                if (buf_escape(b, x->name, x->name_len, CFS_ESCAPE_XATTR) < 0)
                        return -ENOMEM;
                buf_putc(b, '=');
                if (buf_escape(b, x->value, x->value_len, CFS_ESCAPE_XATTR) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* The final target of a hard link, or NULL on a cycle (a chain can't be longer
 * than the tree has nodes). */
static const struct cfs_node *resolve(const struct writer *w, const struct cfs_node *n)
{
        size_t max = cfs_tree_n_nodes(w->t);
        for (size_t steps = 0; n->link; steps++) {
                if (steps > max)
                        return NULL;
                n = n->link;
        }
        return n;
}

/* One line for @n, whose escaped path is in w->path. */
static int write_node(struct writer *w, struct cfs_node *n)
{
        struct buf *b = &w->line;
        const struct cfs_node *v = n;
        uint32_t mode = n->mode;
        _cleanup_free_ char *target = NULL;
        int r;

        if (n->link) {
                v = resolve(w, n);
                if (!v)
                        return -ELOOP;
                /* a link to a directory keeps its own mode, or it could not be parsed */
                if (!S_ISDIR(v->mode) || S_ISDIR(n->mode))
                        mode = v->mode;
                target = cfs_node_path(v);
                if (!target)
                        return -ENOMEM;
        }
        b->len = 0;
        if (buf_reserve(b, w->path.len + 1) < 0)
                return -ENOMEM;
        if (w->path.len)
                buf_put(b, w->path.p, w->path.len);
        else
                buf_putc(b, '/');
        r = put_numbers(b, v, mode, n->link != NULL);
        if (r < 0)
                return r;
        const char *payload = target ? target : v->payload;
        if (payload)
                r = buf_escape(b, payload, strlen(payload), CFS_ESCAPE_FIELD);
        else
                r = buf_escape(b, "-", 1, CFS_ESCAPE_PATH);
        if (r < 0 || buf_reserve(b, 1) < 0)
                return -ENOMEM;
        buf_putc(b, ' ');
        if (v->content)
                r = buf_escape(b, v->content, v->size, CFS_ESCAPE_FIELD);
        else
                r = buf_escape(b, "-", 1, CFS_ESCAPE_PATH);
        if (r < 0)
                return r;
        r = put_digest(b, v);
        if (r < 0)
                return r;
        r = put_xattrs(w, v);
        if (r < 0 || buf_reserve(b, 1) < 0)
                return r < 0 ? r : -ENOMEM;
        buf_putc(b, '\n');
        if (fwrite(b->p, 1, b->len, w->out) != b->len)
                return errno > 0 ? -errno : -EIO;
        return 0;
}

struct frame {
        struct cfs_node *dir;
        uint32_t next;
        size_t path_len; /* escaped path length of dir */
};

/* Depth-first pre-order without recursion (trees can be deep). */
static int write_tree(struct writer *w, struct cfs_node *root)
{
        size_t depth = 0, alloc = 64;
        _cleanup_free_ struct frame *stack = malloc(alloc * sizeof(*stack));
        int r;

        if (!stack)
                return -ENOMEM;
        r = write_node(w, root);
        if (r < 0)
                return r;
        stack[depth++] = (struct frame){root, 0, 0};
        while (depth > 0) {
                struct frame *f = &stack[depth - 1];
                if (f->next >= f->dir->n_children) {
                        depth--;
                        continue;
                }
                struct cfs_node *c = f->dir->children[f->next++];
                w->path.len = f->path_len;
                if (buf_reserve(&w->path, 1) < 0)
                        return -ENOMEM;
                buf_putc(&w->path, '/');
                if (buf_escape(&w->path, c->name, c->name_len, CFS_ESCAPE_PATH) < 0)
                        return -ENOMEM;
                r = write_node(w, c);
                if (r < 0)
                        return r;
                if (c->link || !S_ISDIR(c->mode) || c->n_children == 0)
                        continue;
                if (cfs_reserve(&stack, &alloc, depth + 1, sizeof(*stack), 0) < 0)
                        return -ENOMEM;
                stack[depth++] = (struct frame){c, 0, w->path.len};
        }
        return 0;
}

int cfs_dump_write(struct cfs_tree *t, FILE *out)
{
        struct cfs_node *root = cfs_tree_root(t);
        struct writer w = {.t = t, .out = out};
        int r = 0;

        if (!root)
                return -EINVAL;
        r = write_tree(&w, root);
        free(w.line.p);
        free(w.path.p);
        if (r == 0 && ferror(out))
                r = -EIO;
        return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image-write-layout.c - composefs image writer: what each node becomes on disk
 * after the overlay rewrites (COMPOSEFS-FORMAT.md §5.2, §10), directory entries
 * with ".", ".." and the root whiteouts (§7), inode shapes (§6.1-§6.3, §9) and
 * the placement pass that assigns nids (§6.4). Host only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "image-write-internal.h"

/* ---- node semantics after the §5.2 rewrites (computed, never stored) ---- */

bool w_is_fake(const struct cfs_writer *w, const struct cfs_node *n)
{
        return w->fakes && n >= w->fakes && n < w->fakes + 256;
}

/* A user whiteout: a character device with rdev 0 (not one of the root whiteouts). */
bool w_is_whiteout(const struct cfs_writer *w, const struct cfs_node *n)
{
        return S_ISCHR(n->mode) && n->rdev == 0 && !n->link && !w_is_fake(w, n);
}

uint32_t w_mode(const struct cfs_writer *w, const struct cfs_node *n)
{
        if (w_is_whiteout(w, n))
                return (n->mode & ~(uint32_t)S_IFMT) | S_IFREG;
        return n->mode;
}

uint64_t w_size(const struct cfs_writer *w, const struct cfs_node *n)
{
        if (w_is_whiteout(w, n))
                return 0;
        if (S_ISLNK(n->mode))
                return n->payload ? strlen(n->payload) : 0;
        return n->size;
}

bool w_is_external(const struct cfs_writer *w, const struct cfs_node *n)
{
        return S_ISREG(w_mode(w, n)) && w_size(w, n) > 0 && !n->content;
}

/* ---- directory entries: children, ".", ".." and (root) whiteouts, merged by name ---- */

void w_dent_init(struct wdent_iter *it, const struct cfs_writer *w, uint32_t self)
{
        *it = (struct wdent_iter){
            .w = w,
            .dir = w->bfs[self],
            .self = self,
            .next_child = w->first_child[self],
        };
}

static const char *const dot_names[2] = {".", ".."};

bool w_dent_next(struct wdent_iter *it, struct wdent *d)
{
        const struct cfs_writer *w = it->w;
        struct cfs_node *c = it->ci < it->dir->n_children ? it->dir->children[it->ci] : NULL;
        struct cfs_node *f = it->dir == w->root && it->fi < w->n_fakes ? &w->fakes[it->fi] : NULL;

        /* pick the smallest of child, root whiteout and dot entry */
        if (f && (!c || cfs_name_cmp(f->name, f->name_len, c->name, c->name_len) < 0))
                c = f;
        if (it->di < 2) {
                const char *dn = dot_names[it->di];
                size_t dl = it->di + 1u;
                if (!c || cfs_name_cmp(dn, dl, c->name, c->name_len) < 0) {
                        *d = (struct wdent){
                            .name = dn, .name_len = (uint32_t)dl, .dot = (uint8_t)(it->di + 1)};
                        d->bfs = it->di == 0 ? it->self : w->parent[it->self];
                        it->di++;
                        return true;
                }
        }
        if (!c)
                return false;
        if (c == f)
                it->fi++;
        else
                it->ci++;
        *d = (struct wdent){.name = c->name, .name_len = c->name_len, .node = c};
        d->bfs = c->link ? UINT32_MAX : it->next_child++;
        return true;
}

/* ---- shapes (§6.1, §6.2, §9.2) ---- */

/* Dirent blocking (§7): n_blocks, tail, i_size and the recomputed nlink; @last
 * (optional) collects the entries of the last block. */
static void dir_shape(const struct cfs_writer *w, uint32_t i, struct wshape *s, struct wdent *last)
{
        struct wdent_iter it;
        struct wdent tmp, *e = last ? &last[0] : &tmp;
        uint64_t full = 0;
        uint32_t b = 0, n = 0, subdirs = 0;

        w_dent_init(&it, w, i);
        while (w_dent_next(&it, e)) {
                uint32_t cost = CFS_DIRENT_SIZE + e->name_len;
                if (b + cost > CFS_BLOCK_SIZE) {
                        full++;
                        b = 0;
                        if (last) {
                                last[0] = *e;
                                n = 0;
                        }
                }
                b += cost;
                n++;
                if (e->node && !e->node->link && S_ISDIR(e->node->mode))
                        subdirs++;
                if (last)
                        e = &last[n];
        }
        s->n_last = n;
        if (b > CFS_BLOCK_SIZE / 2) {
                full++;
                b = 0;
        }
        s->n_blocks = full;
        s->tail = b;
        s->size = full * CFS_BLOCK_SIZE + b;
        s->nlink = 2 + subdirs;
}

static unsigned chunk_bits(uint64_t size)
{
        unsigned bits = size > 1 ? 64u - (unsigned)__builtin_clzll(size - 1) : 0;
        return CFS_MIN(CFS_MAX(bits, CFS_BLOCK_BITS), CFS_BLOCK_BITS + 31u);
}

static int regular_shape(struct cfs_writer *w, const struct cfs_node *n, struct wshape *s)
{
        if (s->size == 0)
                return 0;
        if (n->content) {
                s->n_blocks = s->size / CFS_BLOCK_SIZE;
                s->tail = (uint32_t)(s->size % CFS_BLOCK_SIZE);
                if (s->tail > CFS_BLOCK_SIZE / 2) {
                        s->n_blocks++;
                        s->tail = 0;
                }
                return 0;
        }
        s->external = true;
        s->chunkbits = (uint8_t)chunk_bits(s->size);
        /* rounded-up division in wrapping 64-bit arithmetic (§9.2 quirk) */
        uint64_t chunks = (s->size + ((1ull << s->chunkbits) - 1)) >> s->chunkbits;
        if (chunks > CFS_CHUNK_MAX) {
                char what[96];
                snprintf(what, sizeof(what),
                         "external file size %llu needs %llu chunks, at most %u",
                         (unsigned long long)s->size, (unsigned long long)chunks, CFS_CHUNK_MAX);
                return w_fail(w, n, EFBIG, what);
        }
        s->tail = (uint32_t)chunks * 4u;
        return 0;
}

static int symlink_shape(struct cfs_writer *w, const struct cfs_node *n, struct wshape *s)
{
        if (s->size == 0 || s->size > CFS_SYMLINK_MAX) {
                char what[64];
                snprintf(what, sizeof(what), "symlink target of %llu bytes, expected 1..%u",
                         (unsigned long long)s->size, CFS_SYMLINK_MAX);
                return w_fail(w, n, EINVAL, what);
        }
        s->tail = (uint32_t)s->size;
        return 0;
}

/* Shape before placement; w_shape_finish() applies the §6.4 out-of-line decision. */
int w_shape(struct cfs_writer *w, uint32_t i, struct wshape *s, struct wdent *last)
{
        const struct cfs_node *n = w->bfs[i];
        uint64_t xsize, cmp_size;
        int r = 0;

        *s = (struct wshape){.mode = w_mode(w, n), .nlink = n->nlink};
        w_xattr_area(w, i, &xsize, &s->n_shared);
        if (xsize > CFS_XATTR_IBODY_HEADER_SIZE + 4ull * (UINT16_MAX - 1))
                return w_fail(w, n, ERANGE, "xattrs do not fit in the inode's xattr area");
        s->xsize = (uint32_t)xsize;
        s->size = w_size(w, n);
        cmp_size = s->size;
        switch (s->mode & S_IFMT) {
        case S_IFDIR:
                dir_shape(w, i, s, last);
                cmp_size = s->size;
                break;
        case S_IFLNK:
                r = symlink_shape(w, n, s);
                break;
        case S_IFREG:
                r = regular_shape(w, n, s);
                break;
        default:
                s->size = 0; /* devices, fifos, sockets; cmp_size keeps the node's size */
                break;
        }
        bool compact = n->mtime_sec == w->min_sec && n->mtime_nsec == w->min_nsec &&
                       s->nlink <= UINT16_MAX && n->uid <= UINT16_MAX && n->gid <= UINT16_MAX &&
                       cmp_size <= UINT32_MAX;
        s->extended = !compact;
        s->isize = compact ? CFS_INODE_COMPACT_SIZE : CFS_INODE_EXTENDED_SIZE;
        return r;
}

void w_shape_finish(struct wshape *s, bool spilled)
{
        if (!spilled)
                return;
        s->n_blocks++;
        s->tail = 0;
        if (S_ISDIR(s->mode))
                s->size = s->n_blocks * CFS_BLOCK_SIZE;
}

uint32_t w_chunk_format(const struct wshape *s)
{
        return (uint32_t)(s->chunkbits - CFS_BLOCK_BITS) & CFS_CHUNK_FORMAT_BLKBITS_MASK;
}

/* ---- placement (§6.4) ---- */

/* Pad *pos for the inode; returns true if the tail must go out of line. */
static bool place(uint64_t *pos, const struct wshape *s)
{
        const uint64_t blk = CFS_BLOCK_SIZE;
        uint64_t nt = (uint64_t)s->isize + s->xsize;
        bool spill = false;

        *pos = CFS_ROUND_UP(*pos, CFS_SLOT_SIZE);
        if (S_ISLNK(s->mode)) {
                uint64_t total = nt + s->tail;
                spill = total >= blk;
                if (*pos / blk != (*pos + total - 1) / blk)
                        *pos = CFS_ROUND_UP(*pos, blk);
        } else if (s->tail > 0) {
                uint64_t rem = blk - (*pos + nt) % blk;
                if (rem < s->tail) {
                        uint64_t pad = CFS_ROUND_UP(rem, CFS_SLOT_SIZE);
                        uint64_t rem2 = blk - (*pos + nt + pad) % blk;
                        if (s->tail <= rem2) {
                                *pos += pad;
                        } else {
                                spill = true;
                                *pos = CFS_ROUND_UP(*pos, blk);
                        }
                }
        }
        return spill;
}

int w_layout(struct cfs_writer *w)
{
        uint64_t pos = CFS_INODES_START, blocks = 0;
        struct wshape s;

        for (uint32_t i = 0; i < w->n_inodes; i++) {
                int r = w_shape(w, i, &s, NULL);
                if (r < 0)
                        return r;
                bool spill = place(&pos, &s);
                w_shape_finish(&s, spill);
                if (spill)
                        w_set_bit(w->spilled, i);
                if (s.n_blocks)
                        w_set_bit(w->has_blocks, i);
                if (pos / CFS_SLOT_SIZE > UINT32_MAX)
                        return cfs_error_set(w->err, EFBIG,
                                             "cannot write file: File too large (inode table)");
                w->nid[i] = (uint32_t)(pos / CFS_SLOT_SIZE);
                pos += (uint64_t)s.isize + s.xsize + s.tail;
                blocks += s.n_blocks;
        }
        w->inodes_end = CFS_ROUND_UP(pos, CFS_SLOT_SIZE);
        w->total_blocks = blocks;
        if (w->nid[0] > UINT16_MAX)
                return cfs_error_set(w->err, EFBIG, "cannot write file: root nid %u too large",
                                     w->nid[0]);
        w->root_nid = w->nid[0];
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image-write-emit.c - composefs image writer, last pass: streams the image to
 * the output fd in file order through one buffer (COMPOSEFS-FORMAT.md §2):
 * header (§3), superblock (§4), the inode table with xattr areas and inline
 * tails (§6.5), the shared xattr table (§11.4), then the data blocks (§12).
 * The image is never held in memory. Host only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "image-write-internal.h"

#define WOUT_BUF_SIZE (256u * 1024u)

/* ---- buffered output; the first error sticks and later writes are dropped ---- */

static void out_flush(struct wout *o)
{
        if (o->used && !o->error) {
                int r = cfs_write_all(o->fd, o->buf, o->used);
                if (r < 0)
                        o->error = r;
        }
        o->used = 0;
}

void w_out_bytes(struct wout *o, const void *p, size_t n)
{
        const uint8_t *s = p;
        o->off += n;
        while (n > 0) {
                size_t k = CFS_MIN(n, WOUT_BUF_SIZE - o->used);
                memcpy(o->buf + o->used, s, k);
                o->used += k;
                s += k;
                n -= k;
                if (o->used == WOUT_BUF_SIZE)
                        out_flush(o);
        }
}

void w_out_fill(struct wout *o, uint8_t byte, uint64_t n)
{
        o->off += n;
        while (n > 0) {
                size_t k = (size_t)CFS_MIN(n, (uint64_t)(WOUT_BUF_SIZE - o->used));
                memset(o->buf + o->used, byte, k);
                o->used += k;
                n -= k;
                if (o->used == WOUT_BUF_SIZE)
                        out_flush(o);
        }
}

/* Zero padding up to @target; a target behind us is a layout bug. */
static int out_pad_to(const struct cfs_writer *w, struct wout *o, uint64_t target)
{
        if (target < o->off)
                return cfs_error_set(w->err, EINVAL,
                                     "cannot write file: internal layout error at offset %llu",
                                     (unsigned long long)o->off);
        w_out_fill(o, 0, target - o->off);
        return 0;
}

/* ---- header and superblock ---- */

static void emit_head(const struct cfs_writer *w, struct wout *o)
{
        uint8_t b[CFS_INODES_START] = {0};
        uint8_t *sb = b + CFS_SB_OFFSET;

        cfs_put_le32(b + CFS_HDR_OFF_MAGIC, CFS_HEADER_MAGIC);
        cfs_put_le32(b + CFS_HDR_OFF_VERSION, CFS_HEADER_VERSION);
        cfs_put_le32(b + CFS_HDR_OFF_FLAGS, w->has_acl ? CFS_HEADER_FLAG_HAS_ACL : 0);
        cfs_put_le32(b + CFS_HDR_OFF_CFS_VERSION, w->version);

        cfs_put_le32(sb + CFS_SB_OFF_MAGIC, CFS_SB_MAGIC);
        cfs_put_le32(sb + CFS_SB_OFF_FEATURE_COMPAT,
                     CFS_SB_FEATURE_COMPAT_MTIME | CFS_SB_FEATURE_COMPAT_XATTR_FILTER);
        sb[CFS_SB_OFF_BLKSZBITS] = CFS_BLOCK_BITS;
        cfs_put_le16(sb + CFS_SB_OFF_ROOT_NID, (uint16_t)w->root_nid);
        cfs_put_le64(sb + CFS_SB_OFF_INOS, w->n_inodes);
        cfs_put_le64(sb + CFS_SB_OFF_BUILD_TIME, (uint64_t)w->min_sec);
        cfs_put_le32(sb + CFS_SB_OFF_BUILD_TIME_NSEC, w->min_nsec);
        cfs_put_le32(sb + CFS_SB_OFF_BLOCKS,
                     (uint32_t)(w->data_start / CFS_BLOCK_SIZE + w->total_blocks));
        cfs_put_le32(sb + CFS_SB_OFF_XATTR_BLKADDR, (uint32_t)(w->inodes_end / CFS_BLOCK_SIZE));
        w_out_bytes(o, b, sizeof(b));
}

/* ---- directory blocks (§7) ---- */

static int dent_target(const struct cfs_writer *w, const struct wdent *e, uint32_t *bfs)
{
        *bfs = e->bfs;
        if (e->node && e->node->link) {
                struct cfs_node *t = w_resolve(w, e->node);
                *bfs = t ? w_link_bfs(w, t) : UINT32_MAX;
        }
        if (*bfs >= w->n_inodes)
                return cfs_error_set(w->err, EINVAL,
                                     "cannot write file: unresolved directory entry %s", e->name);
        return 0;
}

static int emit_dir_block(const struct cfs_writer *w, struct wout *o, const struct wdent *ents,
                          uint32_t n, bool full)
{
        uint8_t b[CFS_BLOCK_SIZE];
        uint32_t nameoff = n * CFS_DIRENT_SIZE;

        for (uint32_t k = 0; k < n; k++) {
                uint8_t *d = b + k * CFS_DIRENT_SIZE;
                uint32_t t;
                int r = dent_target(w, &ents[k], &t);
                if (r < 0)
                        return r;
                cfs_put_le64(d + CFS_DIRENT_OFF_NID, w->nid[t]);
                cfs_put_le16(d + CFS_DIRENT_OFF_NAMEOFF, (uint16_t)nameoff);
                d[CFS_DIRENT_OFF_TYPE] =
                    ents[k].dot ? CFS_FT_DIR : cfs_mode_to_ftype(w_mode(w, w->bfs[t]));
                d[CFS_DIRENT_OFF_TYPE + 1] = 0;
                memcpy(b + nameoff, ents[k].name, ents[k].name_len);
                nameoff += ents[k].name_len;
        }
        if (full)
                memset(b + nameoff, 0, CFS_BLOCK_SIZE - nameoff);
        w_out_bytes(o, b, full ? CFS_BLOCK_SIZE : nameoff);
        return 0;
}

/* The dirent blocks of directory @i that go to the data area. */
static int emit_dir_blocks(const struct cfs_writer *w, struct wout *o, uint32_t i)
{
        struct wdent ents[W_DIR_MAX_ENTRIES];
        struct wdent_iter it;
        uint32_t n = 0, b = 0;
        int r;

        w_dent_init(&it, w, i);
        while (w_dent_next(&it, &ents[n])) {
                uint32_t cost = CFS_DIRENT_SIZE + ents[n].name_len;
                if (b + cost > CFS_BLOCK_SIZE) {
                        r = emit_dir_block(w, o, ents, n, true);
                        if (r < 0)
                                return r;
                        ents[0] = ents[n];
                        n = 0;
                        b = 0;
                }
                b += cost;
                n++;
        }
        if (b <= CFS_BLOCK_SIZE / 2 && !w_bit(w->spilled, i))
                return 0; /* the last block is the inline tail */
        return emit_dir_block(w, o, ents, n, true);
}

/* ---- inodes (§6.5) ---- */

static uint32_t inode_u(const struct cfs_node *n, const struct wshape *s, uint32_t blkaddr)
{
        if (S_ISCHR(s->mode) || S_ISBLK(s->mode))
                return n->rdev;
        if (s->external)
                return ((s->n_blocks ? blkaddr : 0) & 0xFFFF0000u) | w_chunk_format(s);
        return s->n_blocks ? blkaddr : 0;
}

static void emit_inode(const struct cfs_writer *w, struct wout *o, uint32_t i,
                       const struct wshape *s, uint32_t blkaddr)
{
        const struct cfs_node *n = w->bfs[i];
        uint8_t b[CFS_INODE_EXTENDED_SIZE] = {0};
        unsigned layout = s->external   ? CFS_LAYOUT_CHUNK_BASED
                          : s->tail > 0 ? CFS_LAYOUT_FLAT_INLINE
                                        : CFS_LAYOUT_FLAT_PLAIN;
        uint16_t icount =
            s->xsize ? (uint16_t)((s->xsize - CFS_XATTR_IBODY_HEADER_SIZE) / 4 + 1) : 0;

        cfs_put_le16(b + CFS_IC_OFF_FORMAT, CFS_I_FORMAT(layout, s->extended));
        cfs_put_le16(b + CFS_IC_OFF_XATTR_ICOUNT, icount);
        cfs_put_le16(b + CFS_IC_OFF_MODE, (uint16_t)s->mode);
        cfs_put_le32(b + CFS_IC_OFF_U, inode_u(n, s, blkaddr));
        cfs_put_le32(b + CFS_IC_OFF_INO, i);
        if (!s->extended) {
                cfs_put_le16(b + CFS_IC_OFF_NLINK, (uint16_t)s->nlink);
                cfs_put_le32(b + CFS_IC_OFF_SIZE, (uint32_t)s->size);
                cfs_put_le16(b + CFS_IC_OFF_UID, (uint16_t)n->uid);
                cfs_put_le16(b + CFS_IC_OFF_GID, (uint16_t)n->gid);
        } else {
                cfs_put_le64(b + CFS_IE_OFF_SIZE, s->size);
                cfs_put_le32(b + CFS_IE_OFF_UID, n->uid);
                cfs_put_le32(b + CFS_IE_OFF_GID, n->gid);
                cfs_put_le64(b + CFS_IE_OFF_MTIME, (uint64_t)n->mtime_sec);
                cfs_put_le32(b + CFS_IE_OFF_MTIME_NSEC, n->mtime_nsec);
                cfs_put_le32(b + CFS_IE_OFF_NLINK, s->nlink);
        }
        w_out_bytes(o, b, s->isize);
}

static int emit_tail(const struct cfs_writer *w, struct wout *o, uint32_t i, const struct wshape *s,
                     const struct wdent *last)
{
        const struct cfs_node *n = w->bfs[i];

        if (s->tail == 0)
                return 0;
        if (S_ISDIR(s->mode))
                return emit_dir_block(w, o, last, s->n_last, false);
        if (S_ISLNK(s->mode))
                w_out_bytes(o, n->payload, s->tail);
        else if (s->external)
                w_out_fill(o, 0xFF, s->tail);
        else
                w_out_bytes(o, n->content + (s->size - s->tail), s->tail);
        return 0;
}

static int emit_inodes(struct cfs_writer *w, struct wout *o)
{
        uint64_t blkaddr = w->data_start / CFS_BLOCK_SIZE;
        struct wdent last[W_DIR_MAX_ENTRIES];
        struct wshape s;

        for (uint32_t i = 0; i < w->n_inodes; i++) {
                int r = w_shape(w, i, &s, last);
                if (r < 0)
                        return r;
                w_shape_finish(&s, w_bit(w->spilled, i));
                r = out_pad_to(w, o, (uint64_t)w->nid[i] * CFS_SLOT_SIZE);
                if (r < 0)
                        return r;
                emit_inode(w, o, i, &s, (uint32_t)blkaddr);
                w_emit_xattr_area(w, o, i);
                r = emit_tail(w, o, i, &s, last);
                if (r < 0)
                        return r;
                blkaddr += s.n_blocks;
                if (o->error)
                        return o->error;
        }
        return 0;
}

/* ---- data blocks (§12) ---- */

static int emit_data_one(const struct cfs_writer *w, struct wout *o, uint32_t i,
                         const struct wshape *s)
{
        const struct cfs_node *n = w->bfs[i];
        uint64_t bytes = s->n_blocks * CFS_BLOCK_SIZE;

        if (S_ISLNK(s->mode)) {
                w_out_bytes(o, n->payload, s->size);
                w_out_fill(o, 0, bytes - s->size);
        } else if (s->external) {
                w_out_fill(o, 0xFF, bytes);
        } else {
                uint64_t k = CFS_MIN(s->size, bytes);
                w_out_bytes(o, n->content, k);
                w_out_fill(o, 0, bytes - k);
        }
        return 0;
}

static int emit_data(struct cfs_writer *w, struct wout *o)
{
        struct wshape s;

        for (uint32_t i = 0; i < w->n_inodes; i++) {
                int r;
                if (!w_bit(w->has_blocks, i))
                        continue;
                if (S_ISDIR(w->bfs[i]->mode)) {
                        r = emit_dir_blocks(w, o, i);
                } else {
                        r = w_shape(w, i, &s, NULL);
                        if (r < 0)
                                return r;
                        w_shape_finish(&s, w_bit(w->spilled, i));
                        r = emit_data_one(w, o, i, &s);
                }
                if (r < 0)
                        return r;
                if (o->error)
                        return o->error;
        }
        return 0;
}

int w_emit(struct cfs_writer *w, int fd)
{
        struct wout o = {.fd = fd};
        int r;

        o.buf = malloc(WOUT_BUF_SIZE);
        if (!o.buf)
                return -ENOMEM;
        emit_head(w, &o);
        r = emit_inodes(w, &o);
        if (r >= 0)
                r = out_pad_to(w, &o, w->inodes_end);
        if (r >= 0) {
                w_emit_shared_table(w, &o);
                r = out_pad_to(w, &o, w->data_start);
        }
        if (r >= 0)
                r = emit_data(w, &o);
        if (r >= 0)
                out_flush(&o);
        free(o.buf);
        if (r < 0)
                return r;
        if (o.error)
                return cfs_error_set(w->err, -o.error, "cannot write file: %s", strerror(-o.error));
        if (o.off != (w->data_start / CFS_BLOCK_SIZE + w->total_blocks) * CFS_BLOCK_SIZE)
                return cfs_error_set(w->err, EINVAL,
                                     "cannot write file: internal error, wrote %llu bytes",
                                     (unsigned long long)o.off);
        return 0;
}

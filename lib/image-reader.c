/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image-reader.c - open an untrusted composefs image and decode its pieces
 * (header, superblock, inodes, xattr areas, directory blocks) with every offset
 * and size checked against the image length first (COMPOSEFS-FORMAT.md §3, §4,
 * §6, §7, §11, §16). Host (check, dump) and initrd (setup-root validates the
 * image before the kernel mounts it). The walk over the tree is image-check.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "dump.h"
#include "image-open.h"
#include "image-reader-internal.h"

/* ---- errors ---- */

int cfs_rfail(const struct cfs_rctx *c, uint64_t nid, uint64_t off, const char *fmt, ...)
{
        char msg[CFS_ERROR_MAX], where[200] = "";
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (c->path) {
                if (c->path_len == 0)
                        snprintf(where, sizeof(where), "/");
                else
                        cfs_escape_message(where, sizeof(where), c->path, c->path_len);
        }
        return cfs_error_set(c->err, EUCLEAN, "%s%snid %" PRIu64 ", byte offset %" PRIu64 ": %s",
                             where, where[0] ? ": " : "", nid, off, msg);
}

/* "x" as an escaped, quoted, bounded string for messages. */
static const char *quote(char *buf, size_t size, const void *p, size_t len)
{
        if (size < 4)
                return "";
        buf[0] = '"';
        size_t n = cfs_escape_message(buf + 1, size - 2, p, len);
        buf[1 + n] = '"';
        buf[2 + n] = 0;
        return buf;
}

/* ---- open ---- */

static int hdr_fail(struct cfs_error *err, const char *fmt, ...) _printf_(2, 3);
static int hdr_fail(struct cfs_error *err, const char *fmt, ...)
{
        char msg[CFS_ERROR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return cfs_error_set(err, EUCLEAN, "%s", msg);
}

/* §3, §4, §16 rules 1-4 (the root inode itself is checked by the walk). */
static int parse_super(struct cfs_image *img, struct cfs_error *err)
{
        const uint8_t *d = img->data, *sb = img->data + CFS_SB_OFFSET;
        uint64_t L = img->size;

        if (L < CFS_BLOCK_SIZE)
                return hdr_fail(err, "image too short: %" PRIu64 " bytes, expected at least %u", L,
                                CFS_BLOCK_SIZE);
        if (L % CFS_BLOCK_SIZE)
                return hdr_fail(err,
                                "image size %" PRIu64 " is not a multiple of the block size %u", L,
                                CFS_BLOCK_SIZE);
        uint32_t v = cfs_get_le32(d + CFS_HDR_OFF_MAGIC);
        if (v != CFS_HEADER_MAGIC)
                return hdr_fail(err,
                                "composefs header (byte offset 0): bad magic: expected 0x%08x, "
                                "found 0x%08x (not a composefs image)",
                                CFS_HEADER_MAGIC, v);
        v = cfs_get_le32(d + CFS_HDR_OFF_VERSION);
        if (v != CFS_HEADER_VERSION)
                return hdr_fail(err,
                                "composefs header (byte offset 4): unsupported header version: "
                                "expected %u, found %u",
                                CFS_HEADER_VERSION, v);
        img->flags = cfs_get_le32(d + CFS_HDR_OFF_FLAGS);
        if (img->flags & ~CFS_HEADER_FLAG_HAS_ACL)
                return hdr_fail(err,
                                "composefs header (byte offset 8): unknown flags 0x%x (only 0x1 "
                                "is defined)",
                                img->flags);
        img->composefs_version = cfs_get_le32(d + CFS_HDR_OFF_CFS_VERSION);
        if (img->composefs_version > CFS_FORMAT_VERSION_MAX)
                return hdr_fail(err,
                                "composefs header (byte offset 12): unsupported format version "
                                "%u (expected 0 or 1)",
                                img->composefs_version);

        v = cfs_get_le32(sb + CFS_SB_OFF_MAGIC);
        if (v != CFS_SB_MAGIC)
                return hdr_fail(err,
                                "EROFS superblock (byte offset 1024): bad magic: expected "
                                "0x%08x, found 0x%08x",
                                CFS_SB_MAGIC, v);
        static const struct {
                uint16_t off;
                uint8_t size;
                uint32_t want;
                const char *what;
        } fixed[] = {
            {CFS_SB_OFF_BLKSZBITS, 1, CFS_BLOCK_BITS, "blkszbits"},
            {CFS_SB_OFF_EXTSLOTS, 1, 0, "sb_extslots"},
            {CFS_SB_OFF_META_BLKADDR, 4, 0, "meta_blkaddr"},
            {CFS_SB_OFF_FEATURE_INCOMPAT, 4, 0, "feature_incompat"},
            {CFS_SB_OFF_AVAILABLE_COMPR, 2, 0, "available_compr_algs"},
            {CFS_SB_OFF_EXTRA_DEVICES, 2, 0, "extra_devices"},
            {CFS_SB_OFF_DIRBLKBITS, 1, 0, "dirblkbits"},
            {CFS_SB_OFF_XATTR_PREFIX_COUNT, 1, 0, "xattr_prefix_count"},
        };
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++) {
                const uint8_t *p = sb + fixed[i].off;
                uint32_t found = fixed[i].size == 1   ? p[0]
                                 : fixed[i].size == 2 ? cfs_get_le16(p)
                                                      : cfs_get_le32(p);
                if (found != fixed[i].want)
                        return hdr_fail(err,
                                        "EROFS superblock (byte offset %u): %s: expected %u, "
                                        "found %u",
                                        CFS_SB_OFFSET + fixed[i].off, fixed[i].what, fixed[i].want,
                                        found);
        }
        img->feature_compat = cfs_get_le32(sb + CFS_SB_OFF_FEATURE_COMPAT);
        img->root_nid = cfs_get_le16(sb + CFS_SB_OFF_ROOT_NID);
        img->inos = cfs_get_le64(sb + CFS_SB_OFF_INOS);
        img->build_time = (int64_t)cfs_get_le64(sb + CFS_SB_OFF_BUILD_TIME);
        img->build_time_nsec = cfs_get_le32(sb + CFS_SB_OFF_BUILD_TIME_NSEC);
        uint64_t blocks = cfs_get_le32(sb + CFS_SB_OFF_BLOCKS);
        if (blocks * CFS_BLOCK_SIZE > L)
                return hdr_fail(err,
                                "EROFS superblock (byte offset %u): blocks: %" PRIu64
                                " blocks of 4096 bytes do not fit in the %" PRIu64 "-byte image",
                                CFS_SB_OFFSET + CFS_SB_OFF_BLOCKS, blocks, L);
        uint64_t xblk = cfs_get_le32(sb + CFS_SB_OFF_XATTR_BLKADDR);
        img->xattr_base = xblk * CFS_BLOCK_SIZE;
        if (img->xattr_base >= L)
                return hdr_fail(err,
                                "EROFS superblock (byte offset %u): xattr_blkaddr %" PRIu64
                                " is outside the %" PRIu64 "-byte image",
                                CFS_SB_OFFSET + CFS_SB_OFF_XATTR_BLKADDR, xblk, L);
        if (img->root_nid * CFS_SLOT_SIZE < CFS_INODES_START ||
            img->root_nid * CFS_SLOT_SIZE + CFS_INODE_COMPACT_SIZE > L)
                return hdr_fail(err,
                                "EROFS superblock (byte offset %u): root_nid %" PRIu64
                                " is outside the inode table of the %" PRIu64 "-byte image",
                                CFS_SB_OFFSET + CFS_SB_OFF_ROOT_NID, img->root_nid, L);
        return 0;
}

int cfs_image_open_buffer(const void *buf, size_t len, struct cfs_image **ret,
                          struct cfs_error *err)
{
        struct cfs_image *img = calloc(1, sizeof(*img));
        if (!img)
                return -ENOMEM;
        img->data = buf;
        img->size = len;
        int r = parse_super(img, err);
        if (r < 0) {
                free(img);
                return r;
        }
        *ret = img;
        return 0;
}

int cfs_image_open_fd(int fd, struct cfs_image **ret, struct cfs_error *err)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return cfs_error_set(err, errno, "cannot stat the image: %m");
        if (!S_ISREG(st.st_mode))
                return cfs_error_set(err, EINVAL, "not a regular file");
        if ((uint64_t)st.st_size > CFS_IMAGE_SIZE_MAX)
                return cfs_error_set(err, EFBIG,
                                     "image of %lld bytes is larger than the %llu allowed",
                                     (long long)st.st_size, (unsigned long long)CFS_IMAGE_SIZE_MAX);
        if ((uint64_t)st.st_size < CFS_BLOCK_SIZE)
                return hdr_fail(err, "image too short: %lld bytes, expected at least %u",
                                (long long)st.st_size, CFS_BLOCK_SIZE);
        size_t len = (size_t)st.st_size;
        void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
                return cfs_error_set(err, errno, "cannot map the image: %m");
        struct cfs_image *img = NULL;
        int r = cfs_image_open_buffer(p, len, &img, err);
        if (r < 0) {
                munmap(p, len);
                return r;
        }
        img->mapped = true;
        *ret = img;
        return 0;
}

void cfs_image_close(struct cfs_image *img)
{
        if (!img)
                return;
        if (img->mapped)
                munmap((void *)img->data, img->size);
        free(img);
}

void cfs_image_get_info(const struct cfs_image *img, struct cfs_image_info *ret)
{
        *ret = (struct cfs_image_info){
            .size = img->size,
            .composefs_version = img->composefs_version,
            .flags = img->flags,
            .inos = img->inos,
            .root_nid = img->root_nid,
        };
}

/* ---- inodes ---- */

static const char *type_name(uint32_t mode)
{
        switch (mode & S_IFMT) {
        case S_IFDIR:
                return "directory";
        case S_IFREG:
                return "regular file";
        case S_IFLNK:
                return "symlink";
        case S_IFCHR:
                return "character device";
        case S_IFBLK:
                return "block device";
        case S_IFIFO:
                return "fifo";
        case S_IFSOCK:
                return "socket";
        default:
                return "unknown type";
        }
}

static const char *layout_name(uint8_t l)
{
        return l == CFS_LAYOUT_FLAT_PLAIN    ? "FLAT_PLAIN"
               : l == CFS_LAYOUT_FLAT_INLINE ? "FLAT_INLINE"
                                             : "CHUNK_BASED";
}

static void decode_inode(const struct cfs_image *img, const uint8_t *p, struct cfs_rinode *ino)
{
        uint16_t icount = cfs_get_le16(p + CFS_IC_OFF_XATTR_ICOUNT);
        ino->mode = cfs_get_le16(p + CFS_IC_OFF_MODE);
        ino->u = cfs_get_le32(p + CFS_IC_OFF_U);
        ino->ino = cfs_get_le32(p + CFS_IC_OFF_INO);
        if (ino->extended) {
                ino->size = cfs_get_le64(p + CFS_IE_OFF_SIZE);
                ino->uid = cfs_get_le32(p + CFS_IE_OFF_UID);
                ino->gid = cfs_get_le32(p + CFS_IE_OFF_GID);
                ino->mtime = (int64_t)cfs_get_le64(p + CFS_IE_OFF_MTIME);
                ino->mtime_nsec = cfs_get_le32(p + CFS_IE_OFF_MTIME_NSEC);
                ino->nlink = cfs_get_le32(p + CFS_IE_OFF_NLINK);
        } else {
                ino->size = cfs_get_le32(p + CFS_IC_OFF_SIZE);
                ino->uid = cfs_get_le16(p + CFS_IC_OFF_UID);
                ino->gid = cfs_get_le16(p + CFS_IC_OFF_GID);
                ino->mtime = img->build_time;
                ino->mtime_nsec = img->build_time_nsec;
                ino->nlink = cfs_get_le16(p + CFS_IC_OFF_NLINK);
        }
        ino->xattr_size = icount ? CFS_XATTR_IBODY_HEADER_SIZE + 4u * (icount - 1u) : 0;
}

/* §16 rules 9-12: where the data is, and whether it fits. */
static int inode_data(const struct cfs_rctx *c, struct cfs_rinode *ino)
{
        const uint64_t L = c->img->size;
        const uint32_t type = ino->mode & S_IFMT;
        const bool has_blocks = type == S_IFDIR || type == S_IFREG || type == S_IFLNK;

        if (!has_blocks && (ino->layout != CFS_LAYOUT_FLAT_PLAIN || ino->size != 0))
                return cfs_rfail(c, ino->nid, ino->off,
                                 "%s with layout %s and size %" PRIu64
                                 ": expected FLAT_PLAIN and size 0",
                                 type_name(ino->mode), layout_name(ino->layout), ino->size);
        if (type == S_IFLNK && (ino->size < 1 || ino->size > CFS_SYMLINK_MAX))
                return cfs_rfail(c, ino->nid, ino->off,
                                 "symlink target length %" PRIu64 ": expected 1..%u", ino->size,
                                 CFS_SYMLINK_MAX);
        if (type == S_IFDIR && ino->size == 0)
                return cfs_rfail(c, ino->nid, ino->off,
                                 "directory of size 0: expected at "
                                 "least the \".\" and \"..\" entries");
        if (type == S_IFREG && ino->layout != CFS_LAYOUT_CHUNK_BASED && ino->size > CFS_INLINE_MAX)
                return cfs_rfail(c, ino->nid, ino->off,
                                 "regular file with inline data of %" PRIu64
                                 " bytes: composefs stores at most %u bytes inline",
                                 ino->size, CFS_INLINE_MAX);

        switch (ino->layout) {
        case CFS_LAYOUT_FLAT_PLAIN:
                ino->n_blocks = has_blocks ? (ino->size + CFS_BLOCK_SIZE - 1) / CFS_BLOCK_SIZE : 0;
                break;
        case CFS_LAYOUT_FLAT_INLINE:
                ino->n_blocks = ino->size / CFS_BLOCK_SIZE;
                ino->tail_len = (uint32_t)(ino->size % CFS_BLOCK_SIZE);
                if (ino->tail_len == 0)
                        return cfs_rfail(c, ino->nid, ino->off,
                                         "FLAT_INLINE inode of size %" PRIu64
                                         " has no inline tail: expected a size that is not a "
                                         "multiple of 4096",
                                         ino->size);
                if (ino->tail_off + ino->tail_len > L)
                        return cfs_rfail(c, ino->nid, ino->tail_off,
                                         "inline data of %u bytes runs past the end of the "
                                         "image (%" PRIu64 " bytes)",
                                         ino->tail_len, L);
                if (ino->tail_off % CFS_BLOCK_SIZE + ino->tail_len > CFS_BLOCK_SIZE)
                        return cfs_rfail(c, ino->nid, ino->tail_off,
                                         "inline data of %u bytes crosses a block boundary",
                                         ino->tail_len);
                break;
        case CFS_LAYOUT_CHUNK_BASED: {
                if (type != S_IFREG)
                        return cfs_rfail(c, ino->nid, ino->off,
                                         "%s with layout CHUNK_BASED: only regular files may be "
                                         "chunk-based",
                                         type_name(ino->mode));
                uint32_t fmt = ino->u & 0xFFFFu;
                if (fmt & ~CFS_CHUNK_FORMAT_BLKBITS_MASK)
                        return cfs_rfail(c, ino->nid, ino->off + CFS_IC_OFF_U,
                                         "chunk format 0x%04x: expected only chunk bits (mask "
                                         "0x001f), no chunk indexes",
                                         fmt);
                unsigned bits = CFS_BLOCK_BITS + (fmt & CFS_CHUNK_FORMAT_BLKBITS_MASK);
                /* upstream's rounded-up division in wrapping 64-bit arithmetic (§9.2) */
                uint64_t chunks = (ino->size + ((1ull << bits) - 1)) >> bits;
                if (chunks > CFS_CHUNK_MAX)
                        return cfs_rfail(c, ino->nid, ino->off,
                                         "external file of %" PRIu64 " bytes in chunks of 2^%u: "
                                         "%" PRIu64 " chunks, composefs writes at most %u",
                                         ino->size, bits, chunks, CFS_CHUNK_MAX);
                if (ino->size == 0)
                        return cfs_rfail(c, ino->nid, ino->off,
                                         "chunk-based file of size 0: expected a FLAT_PLAIN "
                                         "inode for an empty file");
                ino->tail_len = (uint32_t)chunks * 4;
                if (ino->tail_off + ino->tail_len > L)
                        return cfs_rfail(c, ino->nid, ino->tail_off,
                                         "chunk map of %" PRIu64 " entries runs past the end "
                                         "of the image (%" PRIu64 " bytes)",
                                         chunks, L);
                break;
        }
        }
        if (ino->n_blocks) {
                uint64_t blk = ino->u, max = L / CFS_BLOCK_SIZE;
                if (blk == 0 || blk > max || ino->n_blocks > max - blk)
                        return cfs_rfail(c, ino->nid, ino->off,
                                         "data blocks %" PRIu64 "..%" PRIu64
                                         " are outside the image (blocks 1..%" PRIu64 ")",
                                         blk, blk + ino->n_blocks - 1, max - 1);
                ino->blk_off = blk * CFS_BLOCK_SIZE;
        }
        return 0;
}

int cfs_rinode_read(const struct cfs_rctx *c, uint64_t nid, struct cfs_rinode *ret)
{
        const struct cfs_image *img = c->img;
        const uint64_t L = img->size;
        struct cfs_rinode ino = {.nid = nid};

        if (nid > (L - CFS_INODE_COMPACT_SIZE) / CFS_SLOT_SIZE ||
            nid * CFS_SLOT_SIZE < CFS_INODES_START)
                return cfs_rfail(c, nid, nid > UINT64_MAX / CFS_SLOT_SIZE ? 0 : nid * CFS_SLOT_SIZE,
                                 "inode number out of range: expected nid %u..%" PRIu64,
                                 CFS_INODES_START / CFS_SLOT_SIZE,
                                 (L - CFS_INODE_COMPACT_SIZE) / CFS_SLOT_SIZE);
        ino.off = nid * CFS_SLOT_SIZE;
        const uint8_t *p = img->data + ino.off;
        uint16_t format = cfs_get_le16(p + CFS_IC_OFF_FORMAT);
        if (format & ~0xFu)
                return cfs_rfail(c, nid, ino.off, "unknown i_format bits 0x%04x", format);
        ino.extended = format & CFS_INODE_FORMAT_EXTENDED;
        ino.layout = CFS_I_LAYOUT(format);
        ino.isize = ino.extended ? CFS_INODE_EXTENDED_SIZE : CFS_INODE_COMPACT_SIZE;
        if (ino.layout != CFS_LAYOUT_FLAT_PLAIN && ino.layout != CFS_LAYOUT_FLAT_INLINE &&
            ino.layout != CFS_LAYOUT_CHUNK_BASED)
                return cfs_rfail(c, nid, ino.off,
                                 "unsupported data layout %u: expected 0 (FLAT_PLAIN), 2 "
                                 "(FLAT_INLINE) or 4 (CHUNK_BASED)",
                                 ino.layout);
        if (ino.off + ino.isize > L)
                return cfs_rfail(
                    c, nid, ino.off,
                    "extended inode runs past the end of the image (%" PRIu64 " bytes)", L);
        decode_inode(img, p, &ino);
        if (cfs_mode_to_ftype(ino.mode) == CFS_FT_UNKNOWN)
                return cfs_rfail(c, nid, ino.off + CFS_IC_OFF_MODE, "unknown file type in mode 0%o",
                                 ino.mode);
        ino.xattr_off = ino.off + ino.isize;
        ino.tail_off = ino.xattr_off + ino.xattr_size;
        if (ino.tail_off > L)
                return cfs_rfail(c, nid, ino.xattr_off,
                                 "xattr area of %u bytes runs past the end of the image (%" PRIu64
                                 " bytes)",
                                 ino.xattr_size, L);
        int r = inode_data(c, &ino);
        if (r < 0)
                return r;
        *ret = ino;
        return 0;
}

/* ---- xattrs ---- */

size_t cfs_rxattr_name(const struct cfs_rxattr *x, char *buf)
{
        const char *prefix = cfs_xattr_index_prefix(x->index);
        size_t pl = prefix ? strlen(prefix) : 0;
        memcpy(buf, prefix, pl);
        memcpy(buf + pl, x->suffix, x->suffix_len);
        buf[pl + x->suffix_len] = 0;
        return pl + x->suffix_len;
}

static int rxattr_cmp(const struct cfs_rxattr *a, const struct cfs_rxattr *b)
{
        char na[512], nb[512];
        size_t la = cfs_rxattr_name(a, na), lb = cfs_rxattr_name(b, nb);
        return cfs_name_cmp(na, la, nb, lb);
}

/* Decode the entry at @off (inline: within @end; shared: within the image). */
static int rxattr_decode(const struct cfs_rctx *c, const struct cfs_rinode *ino, uint64_t off,
                         uint64_t end, bool shared, struct cfs_rxattr *x)
{
        const uint8_t *p = c->img->data + off;
        char name[512], q[300];

        if (end - off < CFS_XATTR_ENTRY_HEADER_SIZE)
                return cfs_rfail(c, ino->nid, off, "%s xattr entry header runs past the end of %s",
                                 shared ? "shared" : "inline",
                                 shared ? "the image" : "the inode's xattr area");
        *x = (struct cfs_rxattr){
            .suffix_len = p[0],
            .index = p[1],
            .value_len = cfs_get_le16(p + 2),
            .off = off,
            .shared = shared,
        };
        x->suffix = p + 4;
        x->value = x->suffix + x->suffix_len;
        if ((uint64_t)4 + x->suffix_len + x->value_len > end - off)
                return cfs_rfail(c, ino->nid, off,
                                 "%s xattr entry of %u + %u bytes runs past the end of %s",
                                 shared ? "shared" : "inline", x->suffix_len, x->value_len,
                                 shared ? "the image" : "the inode's xattr area");
        if (x->index & 0x80)
                return cfs_rfail(c, ino->nid, off,
                                 "xattr uses long name prefix %u, but the image defines none",
                                 x->index & 0x7f);
        if (x->index > CFS_XATTR_INDEX_SECURITY)
                return cfs_rfail(c, ino->nid, off, "xattr name prefix index %u: expected 0..6",
                                 x->index);
        if (memchr(x->suffix, 0, x->suffix_len))
                return cfs_rfail(c, ino->nid, off, "xattr name contains a NUL byte");
        size_t len = cfs_rxattr_name(x, name);
        if (len == 0 || len > CFS_XATTR_NAME_MAX)
                return cfs_rfail(c, ino->nid, off, "xattr name of %zu bytes: expected 1..%u", len,
                                 CFS_XATTR_NAME_MAX);
        size_t soff;
        uint8_t want = cfs_xattr_split_name(name, len, &soff);
        if (want != x->index)
                return cfs_rfail(c, ino->nid, off,
                                 "xattr %s stored with name prefix index %u, expected %u (the "
                                 "kernel would not find it under this name)",
                                 quote(q, sizeof(q), name, len), x->index, want);
        return 0;
}

static bool has_prefix(const char *s, size_t len, const char *prefix)
{
        size_t pl = strlen(prefix);
        return len >= pl && memcmp(s, prefix, pl) == 0;
}

static bool name_is(const char *s, size_t len, const char *want)
{
        return len == strlen(want) && memcmp(s, want, len) == 0;
}

/* trusted.overlay.redirect: "/" + a relative path, no NUL, no "." or ".." parts. */
static const char *redirect_problem(const uint8_t *v, size_t len)
{
        if (len < 2 || len > CFS_PAYLOAD_MAX + 1)
                return "expected 2..4096 bytes";
        if (v[0] != '/')
                return "expected an absolute path starting with \"/\"";
        if (memchr(v, 0, len))
                return "contains a NUL byte";
        for (size_t i = 1; i < len;) {
                size_t j = i;
                while (j < len && v[j] != '/')
                        j++;
                size_t n = j - i;
                if ((n == 1 && v[i] == '.') || (n == 2 && v[i] == '.' && v[i + 1] == '.'))
                        return "contains a \".\" or \"..\" component";
                i = j + 1;
        }
        return NULL;
}

/* The composefs rules for overlay xattrs (§5.2, §11.6, §16 rule 24). */
static int overlay_rules(const struct cfs_rctx *c, const struct cfs_rinode *ino,
                         const struct cfs_rxattr *x, bool check_value, bool *has_metacopy)
{
        char name[512], q[300];
        size_t len = cfs_rxattr_name(x, name);
        const bool reg = S_ISREG(ino->mode), ext = ino->layout == CFS_LAYOUT_CHUNK_BASED;

        if (!has_prefix(name, len, CFS_XATTR_OVERLAY_PREFIX))
                return 0;
        if (has_prefix(name, len, CFS_XATTR_OVERLAY_ESCAPED_PREFIX)) {
                /* an escaped user xattr; only the whiteout marker means something */
                if (name_is(name, len, CFS_XATTR_ESC_WHITEOUT) && reg && ino->size != 0)
                        return cfs_rfail(c, ino->nid, x->off,
                                         "whiteout marker %s on a regular file of %" PRIu64
                                         " bytes: composefs whiteouts are empty files",
                                         CFS_XATTR_ESC_WHITEOUT, ino->size);
                return 0;
        }
        if (name_is(name, len, CFS_XATTR_METACOPY)) {
                if (!reg || !ext)
                        return cfs_rfail(c, ino->nid, x->off,
                                         "%s on a %s with layout %s: only external "
                                         "(chunk-based) regular files have it",
                                         CFS_XATTR_METACOPY, type_name(ino->mode),
                                         layout_name(ino->layout));
                if (x->value_len != 0 &&
                    (x->value_len != CFS_METACOPY_SIZE || x->value[0] != 0 ||
                     x->value[1] != CFS_METACOPY_SIZE || x->value[2] != 0 || x->value[3] != 1))
                        return cfs_rfail(c, ino->nid, x->off,
                                         "%s value: expected empty or 36 bytes starting 00 24 00 "
                                         "01 (sha256 digest), found %u bytes starting %s",
                                         CFS_XATTR_METACOPY, x->value_len,
                                         quote(q, sizeof(q), x->value, CFS_MIN(x->value_len, 4)));
                *has_metacopy = true;
                return 0;
        }
        if (name_is(name, len, CFS_XATTR_REDIRECT)) {
                if (!reg || !ext)
                        return cfs_rfail(c, ino->nid, x->off,
                                         "%s on a %s with layout %s: only external "
                                         "(chunk-based) regular files have it",
                                         CFS_XATTR_REDIRECT, type_name(ino->mode),
                                         layout_name(ino->layout));
                const char *why = check_value ? redirect_problem(x->value, x->value_len) : NULL;
                if (why)
                        return cfs_rfail(c, ino->nid, x->off, "%s value %s: %s", CFS_XATTR_REDIRECT,
                                         quote(q, sizeof(q), x->value, x->value_len), why);
                return 0;
        }
        if (name_is(name, len, CFS_XATTR_OPAQUE)) {
                if (ino->nid != c->img->root_nid || x->value_len != 1 || x->value[0] != 'y')
                        return cfs_rfail(
                            c, ino->nid, x->off,
                            "%s=%s on a %s: composefs sets it only on the root "
                            "directory, with value \"y\"",
                            CFS_XATTR_OPAQUE, quote(q, sizeof(q), x->value, x->value_len),
                            ino->nid == c->img->root_nid ? "the root" : "non-root inode");
                return 0;
        }
        return cfs_rfail(c, ino->nid, x->off,
                         "unexpected overlay xattr %s: composefs escapes user trusted.overlay.* "
                         "xattrs as trusted.overlay.overlay.*",
                         quote(q, sizeof(q), name, len));
}

static int vec_reserve(struct cfs_rxattr **vec, size_t *alloc, size_t n)
{
        return cfs_reserve(vec, alloc, n, sizeof(**vec), 16);
}

/* Names strictly increasing within [a, b) (upstream writes each group sorted). */
static int check_sorted(const struct cfs_rctx *c, const struct cfs_rinode *ino,
                        const struct cfs_rxattr *v, size_t a, size_t b)
{
        char n1[512], n2[512], q1[300], q2[300];
        for (size_t i = a + 1; i < b; i++) {
                if (rxattr_cmp(&v[i - 1], &v[i]) < 0)
                        continue;
                size_t l1 = cfs_rxattr_name(&v[i - 1], n1), l2 = cfs_rxattr_name(&v[i], n2);
                return cfs_rfail(c, ino->nid, v[i].off,
                                 "%s xattr %s after %s: expected names sorted and unique",
                                 v[i].shared ? "shared" : "inline", quote(q2, sizeof(q2), n2, l2),
                                 quote(q1, sizeof(q1), n1, l1));
        }
        return 0;
}

/* No name both inline and shared: merge the two sorted groups. */
static int check_disjoint(const struct cfs_rctx *c, const struct cfs_rinode *ino,
                          const struct cfs_rxattr *v, size_t n_inline, size_t n)
{
        char name[512], q[300];
        for (size_t i = 0, j = n_inline; i < n_inline && j < n;) {
                int d = rxattr_cmp(&v[i], &v[j]);
                if (d == 0) {
                        size_t l = cfs_rxattr_name(&v[j], name);
                        return cfs_rfail(c, ino->nid, v[j].off,
                                         "xattr %s is stored both inline and shared",
                                         quote(q, sizeof(q), name, l));
                }
                if (d < 0)
                        i++;
                else
                        j++;
        }
        return 0;
}

int cfs_rxattrs_read(const struct cfs_rctx *c, const struct cfs_rinode *ino,
                     struct cfs_u64map *shared_ok, struct cfs_rxattr **vec, size_t *alloc,
                     size_t *ret_n)
{
        const struct cfs_image *img = c->img;
        const uint64_t xs = ino->xattr_size, base = ino->xattr_off, end = base + xs;
        size_t n = 0;
        int r;

        *ret_n = 0;
        if (xs == 0) {
                if (S_ISREG(ino->mode) && ino->layout == CFS_LAYOUT_CHUNK_BASED)
                        return cfs_rfail(c, ino->nid, ino->off,
                                         "external (chunk-based) file without %s: overlayfs would "
                                         "show its empty chunk map instead of the data",
                                         CFS_XATTR_METACOPY);
                return 0;
        }
        const uint8_t *h = img->data + base;
        uint32_t filter = cfs_get_le32(h);
        uint32_t n_shared = h[4];
        if (CFS_XATTR_IBODY_HEADER_SIZE + 4ull * n_shared > xs)
                return cfs_rfail(c, ino->nid, base + 4,
                                 "%u shared xattr ids do not fit in the %" PRIu64
                                 "-byte xattr area",
                                 n_shared, xs);
        /* inline entries */
        for (uint64_t off = base + CFS_XATTR_IBODY_HEADER_SIZE + 4ull * n_shared; off < end;) {
                if ((r = vec_reserve(vec, alloc, n + 1)) < 0)
                        return r;
                struct cfs_rxattr *x = &(*vec)[n];
                r = rxattr_decode(c, ino, off, end, false, x);
                if (r < 0)
                        return r;
                off += CFS_ROUND_UP(4u + x->suffix_len + x->value_len, 4u);
                n++;
        }
        size_t n_inline = n;
        /* shared entries */
        for (uint32_t i = 0; i < n_shared; i++) {
                uint64_t id_off = base + CFS_XATTR_IBODY_HEADER_SIZE + 4ull * i;
                uint64_t pos = img->xattr_base + 4ull * cfs_get_le32(img->data + id_off);
                if (pos > img->size - CFS_XATTR_ENTRY_HEADER_SIZE)
                        return cfs_rfail(c, ino->nid, id_off,
                                         "shared xattr id %u points at byte %" PRIu64
                                         ", outside the %" PRIu64 "-byte image",
                                         cfs_get_le32(img->data + id_off), pos, img->size);
                if ((r = vec_reserve(vec, alloc, n + 1)) < 0)
                        return r;
                r = rxattr_decode(c, ino, pos, img->size, true, &(*vec)[n]);
                if (r < 0)
                        return r;
                n++;
        }
        struct cfs_rxattr *v = *vec;
        if ((r = check_sorted(c, ino, v, 0, n_inline)) < 0 ||
            (r = check_sorted(c, ino, v, n_inline, n)) < 0 ||
            (r = check_disjoint(c, ino, v, n_inline, n)) < 0)
                return r;

        uint32_t mask = 0;
        bool has_metacopy = false;
        for (size_t i = 0; i < n; i++) {
                bool check_value = true;
                uint64_t dummy;
                if (v[i].shared && shared_ok && cfs_u64map_get(shared_ok, v[i].off, &dummy))
                        check_value = false;
                r = overlay_rules(c, ino, &v[i], check_value, &has_metacopy);
                if (r < 0)
                        return r;
                if (v[i].shared && shared_ok && check_value &&
                    (r = cfs_u64map_put(shared_ok, v[i].off, 1)) < 0)
                        return r;
                mask |= 1u << cfs_xattr_filter_bit(v[i].index, (const char *)v[i].suffix,
                                                   v[i].suffix_len);
        }
        if ((img->feature_compat & CFS_SB_FEATURE_COMPAT_XATTR_FILTER) && (filter & mask)) {
                char name[512], q[300];
                for (size_t i = 0; i < n; i++) {
                        unsigned bit = cfs_xattr_filter_bit(v[i].index, (const char *)v[i].suffix,
                                                            v[i].suffix_len);
                        if (!(filter & (1u << bit)))
                                continue;
                        size_t l = cfs_rxattr_name(&v[i], name);
                        return cfs_rfail(c, ino->nid, base,
                                         "xattr name filter 0x%08x marks bit %u as absent, but "
                                         "xattr %s hashes there (the kernel would not see it)",
                                         filter, bit, quote(q, sizeof(q), name, l));
                }
        }
        if (S_ISREG(ino->mode) && ino->layout == CFS_LAYOUT_CHUNK_BASED && !has_metacopy)
                return cfs_rfail(c, ino->nid, ino->off,
                                 "external (chunk-based) file without %s: overlayfs would show "
                                 "its empty chunk map instead of the data",
                                 CFS_XATTR_METACOPY);
        *ret_n = n;
        return 0;
}

/* ---- directories ---- */

void cfs_rdir_init(struct cfs_rdir *d, const struct cfs_rinode *dir)
{
        *d = (struct cfs_rdir){.ino = *dir};
        d->n_blocks_total = dir->n_blocks + (dir->tail_len ? 1 : 0);
}

static int rdir_enter_block(const struct cfs_rctx *c, struct cfs_rdir *d)
{
        const struct cfs_rinode *ino = &d->ino;
        if (d->blk < ino->n_blocks) {
                d->block_off = ino->blk_off + d->blk * CFS_BLOCK_SIZE;
                d->block_len = (uint32_t)CFS_MIN((uint64_t)CFS_BLOCK_SIZE,
                                                 ino->size - d->blk * CFS_BLOCK_SIZE);
        } else {
                d->block_off = ino->tail_off;
                d->block_len = ino->tail_len;
        }
        d->block = c->img->data + d->block_off;
        uint32_t nameoff0 =
            d->block_len >= CFS_DIRENT_SIZE ? cfs_get_le16(d->block + CFS_DIRENT_OFF_NAMEOFF) : 0;
        if (nameoff0 < CFS_DIRENT_SIZE || nameoff0 >= d->block_len ||
            nameoff0 % CFS_DIRENT_SIZE != 0)
                return cfs_rfail(c, ino->nid, d->block_off,
                                 "directory block %" PRIu64 " of %u bytes: first name offset "
                                 "%u: expected a multiple of 12 in 12..%u",
                                 d->blk, d->block_len, nameoff0,
                                 d->block_len > 0 ? d->block_len - 1 : 0);
        d->n = nameoff0 / CFS_DIRENT_SIZE;
        d->i = 0;
        return 0;
}

int cfs_rdir_next(const struct cfs_rctx *c, struct cfs_rdir *d, struct cfs_rdirent *ret)
{
        char q1[300], q2[300];
        int r;

        while (!d->block || d->i == d->n) {
                if (d->block) {
                        d->block = NULL;
                        d->blk++;
                }
                if (d->blk >= d->n_blocks_total)
                        return 0;
                if ((r = rdir_enter_block(c, d)) < 0)
                        return r;
        }
        const uint8_t *de = d->block + (size_t)d->i * CFS_DIRENT_SIZE;
        uint64_t de_off = d->block_off + (uint64_t)d->i * CFS_DIRENT_SIZE;
        uint32_t start = cfs_get_le16(de + CFS_DIRENT_OFF_NAMEOFF), end;
        /* start was bounded by the previous entry (or is nameoff0) */
        if (d->i + 1 < d->n) {
                end = cfs_get_le16(de + CFS_DIRENT_SIZE + CFS_DIRENT_OFF_NAMEOFF);
                if (end <= start || end > d->block_len)
                        return cfs_rfail(c, d->ino.nid, de_off + CFS_DIRENT_SIZE,
                                         "directory entry %u of block %" PRIu64
                                         ": name offset %u: expected %u < offset <= %u "
                                         "(increasing, inside the block)",
                                         d->i + 1, d->blk, end, start, d->block_len);
        } else {
                const uint8_t *z = memchr(d->block + start, 0, d->block_len - start);
                end = z ? (uint32_t)(z - d->block) : d->block_len;
        }
        uint32_t len = end - start;
        const uint8_t *name = d->block + start;
        if (len == 0 || len > CFS_NAME_MAX)
                return cfs_rfail(c, d->ino.nid, d->block_off + start,
                                 "directory entry %u of block %" PRIu64
                                 ": name of %u bytes: expected 1..%u",
                                 d->i, d->blk, len, CFS_NAME_MAX);
        if (memchr(name, '/', len) || memchr(name, 0, len))
                return cfs_rfail(c, d->ino.nid, d->block_off + start,
                                 "directory entry name %s contains \"/\" or a NUL byte",
                                 quote(q1, sizeof(q1), name, len));
        if (d->prev_name &&
            cfs_name_cmp((const char *)d->prev_name, d->prev_len, (const char *)name, len) >= 0)
                return cfs_rfail(c, d->ino.nid, d->block_off + start,
                                 "directory entry %s after %s: expected names sorted bytewise "
                                 "and unique",
                                 quote(q1, sizeof(q1), name, len),
                                 quote(q2, sizeof(q2), d->prev_name, d->prev_len));
        d->prev_name = name;
        d->prev_len = len;
        d->i++;
        d->count++;
        *ret = (struct cfs_rdirent){
            .name = name,
            .name_len = len,
            .ftype = de[CFS_DIRENT_OFF_TYPE],
            .nid = cfs_get_le64(de + CFS_DIRENT_OFF_NID),
            .off = de_off,
        };
        return 1;
}

/* ---- u64 map ---- */

static size_t map_slot(const struct cfs_u64map *m, uint64_t k)
{
        uint64_t h = k * 0x9E3779B97F4A7C15ull;
        size_t mask = m->size - 1, j = (size_t)(h >> 17) & mask;
        while (m->keys[j] && m->keys[j] != k)
                j = (j + 1) & mask;
        return j;
}

int cfs_u64map_put(struct cfs_u64map *m, uint64_t key, uint64_t val)
{
        if ((m->n + 1) * 2 > m->size) {
                struct cfs_u64map g = {.size = m->size ? m->size * 2 : 1024};
                g.keys = calloc(g.size, sizeof(uint64_t));
                g.vals = malloc(g.size * sizeof(uint64_t));
                if (!g.keys || !g.vals) {
                        free(g.keys);
                        free(g.vals);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < m->size; i++) {
                        if (!m->keys[i])
                                continue;
                        size_t j = map_slot(&g, m->keys[i]);
                        g.keys[j] = m->keys[i];
                        g.vals[j] = m->vals[i];
                }
                g.n = m->n;
                cfs_u64map_free(m);
                *m = g;
        }
        size_t j = map_slot(m, key + 1);
        if (!m->keys[j]) {
                m->keys[j] = key + 1;
                m->n++;
        }
        m->vals[j] = val;
        return 0;
}

bool cfs_u64map_get(const struct cfs_u64map *m, uint64_t key, uint64_t *ret)
{
        if (!m->size)
                return false;
        size_t j = map_slot(m, key + 1);
        if (!m->keys[j])
                return false;
        *ret = m->vals[j];
        return true;
}

void cfs_u64map_free(struct cfs_u64map *m)
{
        free(m->keys);
        free(m->vals);
        *m = (struct cfs_u64map){};
}

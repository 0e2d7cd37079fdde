/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-image-write.c - unit tests of the composefs image writer (lib/image-write*.c)
 * on trees built by hand: the worked examples of COMPOSEFS-FORMAT.md §18 (exact
 * bytes and fs-verity digests), the quirks of §17, error cases and
 * reproducibility. Host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "test-util.h"
#include <libfsverity.h>

#include "erofs.h"
#include "image.h"
#include "tree.h"

/* ---- helpers ---- */

struct img {
        uint8_t *data;
        size_t len;
};

static void img_free(struct img *im)
{
        free(im->data);
        im->data = NULL;
        im->len = 0;
}

/* Write @t into memory; returns cfs_image_write()'s result, fills @im on success. */
static int write_img(struct cfs_tree *t, const struct cfs_image_options *o, struct img *im,
                     struct cfs_error *err)
{
        int fd = memfd_create("img", MFD_CLOEXEC);
        assert_true(fd >= 0);
        int r = cfs_image_write(t, o, fd, err);
        if (r == 0) {
                off_t len = lseek(fd, 0, SEEK_END);
                assert_true(len > 0);
                im->len = (size_t)len;
                im->data = malloc(im->len);
                assert_non_null(im->data);
                assert_int_equal(pread(fd, im->data, im->len, 0), (ssize_t)im->len);
        }
        close(fd);
        return r;
}

static void write_ok(struct cfs_tree *t, const struct cfs_image_options *o, struct img *im)
{
        struct cfs_error err = {0};
        int r = write_img(t, o, im, &err);
        if (r != 0)
                fail_msg("cfs_image_write: %d %s", r, err.message);
}

static void verity_hex(const struct img *im, char hex[65])
{
        uint8_t d[CFS_DIGEST_SIZE];
        test_ref_digest(im->data, im->len, d);
        for (int i = 0; i < 32; i++)
                sprintf(hex + 2 * i, "%02x", d[i]);
}

static void assert_digest(const struct img *im, const char *expected)
{
        char hex[65];
        verity_hex(im, hex);
        assert_string_equal(hex, expected);
}

static void assert_bytes(const struct img *im, size_t off, const char *hexbytes)
{
        size_t i = 0;
        for (const char *p = hexbytes; *p;) {
                if (*p == ' ') {
                        p++;
                        continue;
                }
                unsigned v;
                assert_int_equal(sscanf(p, "%2x", &v), 1);
                assert_true(off + i < im->len);
                if (im->data[off + i] != v)
                        fail_msg("byte at 0x%zx: expected %02x, found %02x", off + i, v,
                                 im->data[off + i]);
                i++;
                p += 2;
        }
}

static uint16_t le16(const struct img *im, size_t off)
{
        return cfs_get_le16(im->data + off);
}
static uint32_t le32(const struct img *im, size_t off)
{
        return cfs_get_le32(im->data + off);
}
static uint64_t le64(const struct img *im, size_t off)
{
        return cfs_get_le64(im->data + off);
}

static struct cfs_node *mk(struct cfs_tree *t, const char *path, uint32_t mode, uint64_t size,
                           int64_t sec, uint32_t nsec)
{
        struct cfs_node *n;
        const char *slash = strrchr(path, '/');
        if (strcmp(path, "/") == 0) {
                assert_int_equal(cfs_tree_add_root(t, &n), 0);
        } else {
                struct cfs_node *dir = cfs_tree_lookup_path(t, path, (size_t)(slash - path));
                assert_non_null(dir);
                assert_int_equal(cfs_tree_add_child(t, dir, slash + 1, strlen(slash + 1), &n), 0);
        }
        n->mode = mode;
        n->size = size;
        n->nlink = S_ISDIR(mode) ? 2 : 1;
        n->mtime_sec = sec;
        n->mtime_nsec = nsec;
        return n;
}

static void xattr(struct cfs_tree *t, struct cfs_node *n, const char *name, const char *value)
{
        assert_int_equal(cfs_node_set_xattr(t, n, name, strlen(name), value, strlen(value)), 0);
}

static struct cfs_node *hardlink(struct cfs_tree *t, const char *path, struct cfs_node *target)
{
        struct cfs_node *n = mk(t, path, S_IFREG | 0644, 0, 0, 0);
        n->link = target;
        return n;
}

static void hex_digest(const char *hex, uint8_t out[32])
{
        for (int i = 0; i < 32; i++) {
                unsigned v;
                assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
                out[i] = (uint8_t)v;
        }
}

static struct cfs_tree *new_tree(void)
{
        struct cfs_tree *t = NULL;
        assert_int_equal(cfs_tree_new(&t), 0);
        return t;
}

/* ---- §18 Example 1: root only ---- */

static void test_example1_root_only(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
        struct img im = {0};
        mk(t, "/", S_IFDIR | 0755, 4096, 0, 0);
        write_ok(t, NULL, &im);
        assert_int_equal(im.len, 16384);
        assert_digest(&im, "8f589e8f57ecb88823736b0d857ddca1e1068a23e264fad164b28f7038eb3682");
        assert_bytes(&im, 0, "9a 62 78 d0 01 00 00 00 00 00 00 00 00 00 00 00");
        assert_bytes(&im, 0x400, "e2e1f5e0 00000000 06000000 0c 00 2400");
        assert_int_equal(le64(&im, 0x410), 257);
        assert_int_equal(le32(&im, 0x424), 4);
        assert_int_equal(le32(&im, 0x42c), 2);
        assert_bytes(&im, 0x480,
                     "0000 0600 ed41 0200 00100000 00000000 03000000 00000000 0000 0000 "
                     "00000000");
        assert_bytes(&im, 0x4a0, "ffffefff 00 00000000000000 0e040100");
        assert_int_equal(memcmp(im.data + 0x4b0, "overlay.opaquey\0", 16), 0);
        assert_bytes(&im, 0x4c0, "0000 0000 a421 0100 00000000 00000000 00000000 01000000");
        assert_int_equal(le32(&im, 0x24a0 + 20), 256); /* "ff" is ino 256 */
        /* root directory block */
        assert_int_equal(le64(&im, 0x3000), 36);
        assert_bytes(&im, 0x3008, "180c 02 00");
        assert_bytes(&im, 0x3014, "190c 02 00");
        assert_int_equal(le64(&im, 0x3018), 38);
        assert_bytes(&im, 0x3020, "1b0c 03 00");
        assert_int_equal(memcmp(im.data + 0x3c18, "...00", 5), 0);
        assert_int_equal(memcmp(im.data + 0x3e19, "ff", 2), 0);
        for (size_t i = 0x3e1b; i < 0x4000; i++)
                assert_int_equal(im.data[i], 0);
        img_free(&im);
}

/* ---- §18 Example 2: inline file, external file, symlink, extended inode ---- */

static void build_example2(struct cfs_tree *t)
{
        mk(t, "/", S_IFDIR | 0755, 4096, 1000, 0);
        struct cfs_node *ext = mk(t, "/ext", S_IFREG | 0644, 5000, 1000, 0);
        ext->payload = cfs_tree_strndup(t, "ab/cdef", 7);
        ext->has_digest = true;
        hex_digest("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ext->digest);
        struct cfs_node *hello = mk(t, "/hello", S_IFREG | 0644, 6, 1000, 0);
        hello->content = cfs_tree_memdup(t, "hello\n", 6);
        struct cfs_node *lnk = mk(t, "/lnk", S_IFLNK | 0777, 3, 2000, 5);
        lnk->payload = cfs_tree_strndup(t, "ext", 3);
}

static void test_example2_files(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
        struct img im = {0};
        build_example2(t);
        write_ok(t, NULL, &im);
        assert_int_equal(im.len, 16384);
        assert_digest(&im, "65838da84d4abe2bb583f4a788a165ebf898898cc5e2cd403eac7d7157924edb");
        assert_int_equal(le64(&im, 0x410), 260);
        assert_int_equal(le64(&im, 0x418), 1000);
        assert_bytes(&im, 0x22c0, "0800 1600 a481 0100 88130000 00000000 01000000 f1000000");
        assert_bytes(&im, 0x22e0, "fffffd7f");
        assert_bytes(&im, 0x22ec, "10 04 2400");
        assert_bytes(&im, 0x2340, "ffffffff");
        assert_int_equal(le16(&im, 299 * 32), 0x0004);
        assert_int_equal(memcmp(im.data + 0x2580, "hello\n", 6), 0);
        assert_bytes(&im, 0x25a0, "0500");
        assert_int_equal(le64(&im, 0x25a0 + 8), 3);
        assert_int_equal(le64(&im, 0x25a0 + 32), 2000);
        assert_int_equal(le32(&im, 0x25a0 + 40), 5);
        assert_int_equal(memcmp(im.data + 0x25e0, "ext", 3), 0);
        img_free(&im);
}

/* ---- §18 Example 3: whiteout, version auto-bump, shared xattrs ---- */

static void build_example3(struct cfs_tree *t)
{
        mk(t, "/", S_IFDIR | 0755, 4096, 0, 0);
        struct cfs_node *d = mk(t, "/d", S_IFDIR | 0755, 4096, 0, 0);
        xattr(t, d, "user.a", "1");
        mk(t, "/d/wh", S_IFCHR | 0644, 0, 0, 0);
        struct cfs_node *f = mk(t, "/f", S_IFREG | 0644, 0, 0, 0);
        xattr(t, f, "user.a", "1");
        xattr(t, f, "user.b", "2");
}

static void test_example3_whiteout(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
        struct img im = {0};
        build_example3(t);
        write_ok(t, NULL, &im);
        assert_digest(&im, "dedc66bbe25f977589f5120ee5e023909208324bb8867ea709b5032f5dfda282");
        assert_int_equal(le32(&im, 12), 1); /* auto-bumped */
        assert_bytes(&im, 0x2640, "01 01 0100 61 31 00 00");
        assert_bytes(&im, 0x1ec0, "0400 1c00 ed41 0200 29000000");
        assert_int_equal(le32(&im, 0x1ec0 + 32 + 12), 0x190);
        assert_int_equal(le16(&im, 0x1ec0 + 32 + 4), 1); /* shared count */
        assert_int_equal(le64(&im, 0x1f58 + 24), 303);   /* "wh" -> nid 303 */
        assert_int_equal(im.data[0x1f58 + 24 + 10], CFS_FT_REG_FILE);
        assert_int_equal(le16(&im, 303 * 32 + 4), S_IFREG | 0644);
        assert_bytes(&im, 285 * 32 + 32, "ffff5fff 01");
        assert_int_equal(le16(&im, 36 * 32 + 6), 3); /* root nlink */
        img_free(&im);

        /* --max-version=0: version 0 and no opaque xattrs on /d */
        struct cfs_image_options o = {.min_version = 0, .max_version = 0};
        write_ok(t, &o, &im);
        assert_int_equal(le32(&im, 12), 0);
        uint16_t icount = le16(&im, 0x1ec0 + 2);
        assert_true(icount < 0x1c);
        img_free(&im);
}

/* ---- §18 Example 4: multi-block directory with tail ---- */

static void test_example4_big_dir(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
        struct img im = {0};
        mk(t, "/", S_IFDIR | 0755, 4096, 10, 0);
        struct cfs_node *big = mk(t, "/big", S_IFDIR | 0755, 4096, 20, 5);
        big->uid = 70000;
        for (int i = 0; i < 300; i++) {
                char path[64];
                snprintf(path, sizeof(path), "/big/%020d", i + 1); /* 1..300 */
                mk(t, path, S_IFREG | 0644, 0, 10, 0);
        }
        write_ok(t, NULL, &im);
        assert_int_equal(im.len, 36864);
        size_t b = 254 * 32;
        assert_int_equal(le16(&im, b), CFS_I_FORMAT(CFS_LAYOUT_FLAT_INLINE, 1));
        assert_int_equal(le64(&im, b + 8), 9632);
        assert_int_equal(le32(&im, b + 16), 7);
        assert_bytes(&im, 7 * 4096, "fe00000000000000 0c06 02 00");
        for (size_t i = 0x1cc0; i < 0x1fc0; i++)
                assert_int_equal(im.data[i], 0);
        assert_int_equal(le32(&im, 0x424), 9);
        assert_int_equal(le32(&im, 0x42c), 5);
        assert_int_equal(le64(&im, 0x418), 10);
        assert_int_equal(le64(&im, 0x410), 558);
        assert_digest(&im, "3188c2b177c876d19388ff16b6639ed5927d45b05118e08496d1e6eadfe5a58f");
        img_free(&im);
}

/* ---- a tiny image navigator for the checks below ---- */

static size_t ioff(uint64_t nid)
{
        return (size_t)nid * 32;
}
static bool iext(const struct img *im, uint64_t nid)
{
        return le16(im, ioff(nid)) & 1;
}
static unsigned ilayout(const struct img *im, uint64_t nid)
{
        return (le16(im, ioff(nid)) >> 1) & 7;
}
static uint64_t isize(const struct img *im, uint64_t nid)
{
        return iext(im, nid) ? le64(im, ioff(nid) + 8) : le32(im, ioff(nid) + 8);
}
static uint32_t iu(const struct img *im, uint64_t nid)
{
        return le32(im, ioff(nid) + 16);
}
static uint16_t imode(const struct img *im, uint64_t nid)
{
        return le16(im, ioff(nid) + 4);
}
static size_t xoff(const struct img *im, uint64_t nid)
{
        return ioff(nid) + (iext(im, nid) ? 64 : 32);
}
static size_t xsize(const struct img *im, uint64_t nid)
{
        uint16_t c = le16(im, ioff(nid) + 2);
        return c ? 12 + 4u * (c - 1u) : 0;
}
static size_t tail_off(const struct img *im, uint64_t nid)
{
        return xoff(im, nid) + xsize(im, nid);
}

/* Find @name in one dirent block; UINT64_MAX if absent. */
static uint64_t block_lookup(const struct img *im, size_t b, size_t len, const char *name,
                             uint8_t *type)
{
        size_t n = le16(im, b + 8) / 12, nl = strlen(name);
        for (size_t k = 0; k < n; k++) {
                size_t no = le16(im, b + 12 * k + 8);
                size_t end = k + 1 < n ? le16(im, b + 12 * (k + 1) + 8) : len;
                if (k + 1 == n)
                        while (end > no && im->data[b + end - 1] == 0)
                                end--;
                if (end - no == nl && memcmp(im->data + b + no, name, nl) == 0) {
                        if (type)
                                *type = im->data[b + 12 * k + 10];
                        return le64(im, b + 12 * k);
                }
        }
        return UINT64_MAX;
}

static uint64_t dir_lookup(const struct img *im, uint64_t dir, const char *name, uint8_t *type)
{
        uint64_t size = isize(im, dir), nfull = size / 4096, r;
        if (ilayout(im, dir) == CFS_LAYOUT_FLAT_PLAIN && size % 4096)
                nfull++;
        for (uint64_t k = 0; k < nfull; k++)
                if ((r = block_lookup(im, (iu(im, dir) + k) * 4096, 4096, name, type)) !=
                    UINT64_MAX)
                        return r;
        if (ilayout(im, dir) == CFS_LAYOUT_FLAT_INLINE)
                return block_lookup(im, tail_off(im, dir), size % 4096, name, type);
        return UINT64_MAX;
}

static uint64_t path_nid(const struct img *im, const char *path)
{
        uint64_t nid = le16(im, 0x40e);
        char buf[256];
        while (*path == '/')
                path++;
        while (*path) {
                size_t l = strcspn(path, "/");
                memcpy(buf, path, l);
                buf[l] = 0;
                nid = dir_lookup(im, nid, buf, NULL);
                assert_true(nid != UINT64_MAX);
                path += l;
                while (*path == '/')
                        path++;
        }
        return nid;
}

static uint8_t shared_count(const struct img *im, uint64_t nid)
{
        return xsize(im, nid) ? im->data[xoff(im, nid) + 4] : 0;
}
static uint32_t shared_id(const struct img *im, uint64_t nid, unsigned k)
{
        return le32(im, xoff(im, nid) + 12 + 4 * k);
}
/* Byte offset of shared xattr @id. */
static size_t shared_pos(const struct img *im, uint32_t id)
{
        return (size_t)le32(im, 0x42c) * 4096 + (size_t)id * 4;
}
/* Does the xattr entry at @pos have this index, suffix and value? */
static bool entry_is(const struct img *im, size_t pos, uint8_t index, const char *suffix,
                     const void *value, size_t vlen)
{
        size_t sl = strlen(suffix);
        return im->data[pos] == sl && im->data[pos + 1] == index && le16(im, pos + 2) == vlen &&
               memcmp(im->data + pos + 4, suffix, sl) == 0 &&
               memcmp(im->data + pos + 4 + sl, value, vlen) == 0;
}
/* Find an inline (unshared) entry of inode @nid; offset or 0. */
static size_t inline_entry(const struct img *im, uint64_t nid, uint8_t index, const char *suffix)
{
        size_t p = xoff(im, nid) + 12 + 4u * shared_count(im, nid), end = tail_off(im, nid);
        size_t sl = strlen(suffix);
        while (p + 4 <= end) {
                if (im->data[p] == sl && im->data[p + 1] == index &&
                    memcmp(im->data + p + 4, suffix, sl) == 0)
                        return p;
                p += (4 + im->data[p] + le16(im, p + 2) + 3) & ~3u;
        }
        return 0;
}

/* fsck.erofs must accept the image (skipped, and reported, if it is not installed). */
static void assert_fsck(const struct img *im)
{
        char path[] = "/tmp/cfs-test-image-write-XXXXXX";
        int fd = mkostemp(path, O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, im->data, im->len), (ssize_t)im->len);
        close(fd);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "timeout 120 fsck.erofs %s >/dev/null 2>&1", path);
        int st = system(cmd);
        unlink(path);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
                print_message("fsck.erofs not installed, image not checked\n");
                return;
        }
        assert_int_equal(st, 0);
}

static void write_fails(struct cfs_tree *t, const struct cfs_image_options *o, int code,
                        const char *text)
{
        struct cfs_error err = {0};
        struct img im = {0};
        assert_int_equal(write_img(t, o, &im, &err), -code);
        if (!strstr(err.message, text))
                fail_msg("error message '%s' lacks '%s'", err.message, text);
}

/* ---- errors ---- */

static void test_bad_version(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
        mk(t, "/", S_IFDIR | 0755, 0, 0, 0);
        struct cfs_image_options o = {.min_version = 2, .max_version = 2};
        write_fails(t, &o, EINVAL, "cannot write file: Invalid argument");
        o = (struct cfs_image_options){.min_version = 0, .max_version = 2};
        write_fails(t, &o, EINVAL, "cannot write file: Invalid argument");
        /* max below min is raised to min */
        struct img im = {0};
        o = (struct cfs_image_options){.min_version = 1, .max_version = 0};
        write_ok(t, &o, &im);
        assert_int_equal(le32(&im, 12), 1);
        img_free(&im);
        /* no root */
        _cleanup_(cfs_tree_freep) struct cfs_tree *e = new_tree();
        write_fails(e, NULL, EINVAL, "no root");
        /* a node without a valid file type */
        mk(t, "/odd", 0644, 0, 0, 0);
        write_fails(t, NULL, EINVAL, "/odd: cannot write file: Invalid argument");
}

static void test_hardlink_cycle(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
        mk(t, "/", S_IFDIR | 0755, 0, 0, 0);
        struct cfs_node *a = hardlink(t, "/a", NULL);
        struct cfs_node *b = hardlink(t, "/b", a);
        a->link = b;
        write_fails(t, NULL, ELOOP, "cannot write file: Too many levels of symbolic links");
}

static void test_file_too_large(void **state)
{
        (void)state;
        static const struct {
                uint64_t size;
                int code;
                uint32_t chunks;
                bool xattr, spill;
                bool nofsck; /* fsck.erofs 1.5 rejects (or hangs on) these upstream images */
        } cases[] = {
            {1, 0, 1, false, false},
            {1ull << 43, 0, 1, false, false},
            {(1ull << 43) + 1, 0, 2, false, false},
            /* 4096-byte map: inline when the inode+xattrs end on a 32-byte
             * boundary (the padding reaches the block end), else spilled */
            {1ull << 53, 0, 1024, false, false},
            {1ull << 53, 0, 1024, true, true},
            {(1ull << 53) + 1, EFBIG, 0, false, false},
            {UINT64_MAX - (1ull << 43) + 1, EFBIG, 0, false, false},   /* 2^64 - 2^43 */
            {UINT64_MAX - (1ull << 43) + 2, 0, 0, false, false, true}, /* wraps to 0 chunks */
            {UINT64_MAX, 0, 0, false, false, true},
        };
        for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
                _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
                mk(t, "/", S_IFDIR | 0755, 0, 0, 0);
                struct cfs_node *f = mk(t, "/big", S_IFREG | 0644, cases[k].size, 0, 0);
                if (cases[k].xattr)
                        xattr(t, f, "user.foo", "");
                if (cases[k].code) {
                        write_fails(t, NULL, cases[k].code,
                                    "/big: cannot write file: File too large");
                        continue;
                }
                struct img im = {0};
                write_ok(t, NULL, &im);
                uint64_t nid = path_nid(&im, "/big");
                assert_int_equal(ilayout(&im, nid), CFS_LAYOUT_CHUNK_BASED);
                assert_int_equal(isize(&im, nid), cases[k].size);
                assert_int_equal(iext(&im, nid), cases[k].size > UINT32_MAX);
                /* chunkbits - 12: 0 for size 1, capped at 31 for the others here */
                unsigned bits = cases[k].size == 1 ? 0 : 31;
                assert_int_equal(iu(&im, nid) & 0xFFFF, bits);
                size_t map = tail_off(&im, nid);
                if (!cases[k].spill) {
                        for (uint32_t c = 0; c < cases[k].chunks; c++)
                                assert_int_equal(le32(&im, map + 4 * c), 0xFFFFFFFFu);
                        assert_int_equal(im.data[im.len - 1], 0); /* root dir block */
                } else {
                        /* one 0xFF block in the data area, nothing inline */
                        assert_int_equal(im.data[im.len - 1], 0xFF);
                        assert_int_equal(im.data[im.len - 4096], 0xFF);
                        assert_int_equal(iu(&im, nid) >> 16, 0);
                }
                if (!cases[k].nofsck)
                        assert_fsck(&im);
                img_free(&im);
        }
}

/* §5.3: a user xattr that the writer overwrites with a shorter value wraps the
 * write-time budget counter (upstream: ERANGE). */
static void test_budget_quirk(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
        char longv[101];
        memset(longv, 'v', 100);
        longv[100] = 0;
        mk(t, "/", S_IFDIR | 0755, 0, 0, 0);
        struct cfs_node *d = mk(t, "/d", S_IFDIR | 0755, 0, 0, 0);
        xattr(t, d, "trusted.overlay.opaque", longv);
        mk(t, "/d/wh", S_IFCHR | 0644, 0, 0, 0);
        write_fails(t, NULL, ERANGE, "/d: cannot write file: Numerical result out of range");
        /* version 0 does not set the opaque xattrs: fine */
        struct img im = {0};
        struct cfs_image_options o = {.min_version = 0, .max_version = 0};
        write_ok(t, &o, &im);
        img_free(&im);
        /* a short user value (<= 70 bytes here) does not wrap */
        assert_int_equal(cfs_node_set_xattr(t, d, "trusted.overlay.opaque", 22, longv, 70), 0);
        write_ok(t, NULL, &im);
        uint64_t nid = path_nid(&im, "/d");
        size_t e = inline_entry(&im, nid, CFS_XATTR_INDEX_TRUSTED, "overlay.overlay.opaque");
        assert_true(e != 0);
        assert_true(entry_is(&im, e, CFS_XATTR_INDEX_TRUSTED, "overlay.overlay.opaque", "x", 1));
        img_free(&im);

        /* a user whiteout's own user.overlay.whiteout value is replaced after
         * trusted.overlay.overlay.whiteout (7 + 32 bytes of budget) was added: a
         * value longer than 39 bytes wraps the counter */
        _cleanup_(cfs_tree_freep) struct cfs_tree *t2 = new_tree();
        mk(t2, "/", S_IFDIR | 0755, 0, 0, 0);
        struct cfs_node *wh = mk(t2, "/wh", S_IFCHR | 0644, 0, 0, 0);
        assert_int_equal(cfs_node_set_xattr(t2, wh, "user.overlay.whiteout", 21, longv, 39), 0);
        write_ok(t2, NULL, &im);
        nid = path_nid(&im, "/wh");
        e = inline_entry(&im, nid, CFS_XATTR_INDEX_USER, "overlay.whiteout");
        assert_true(e != 0 && entry_is(&im, e, CFS_XATTR_INDEX_USER, "overlay.whiteout", "", 0));
        img_free(&im);
        assert_int_equal(cfs_node_set_xattr(t2, wh, "user.overlay.whiteout", 21, longv, 40), 0);
        write_fails(t2, NULL, ERANGE, "/wh: cannot write file: Numerical result out of range");
}

static void test_write_error(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
        struct cfs_error err = {0};
        build_example2(t);
        int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(cfs_image_write(t, NULL, fd, &err), -ENOSPC);
        assert_non_null(strstr(err.message, "No space left on device"));
        close(fd);
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_int_equal(cfs_image_write(t, NULL, fd, NULL), -EBADF);
        close(fd);
}

/* ---- hard links (§5.5) ---- */

static void test_hardlinks(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
        struct img im = {0};
        uint8_t type;
        mk(t, "/", S_IFDIR | 0755, 0, 0, 0);
        struct cfs_node *a = mk(t, "/a", S_IFREG | 0644, 0, 0, 0);
        a->nlink = 3;
        struct cfs_node *d = mk(t, "/d", S_IFDIR | 0755, 0, 0, 0);
        struct cfs_node *l1 = hardlink(t, "/d/l1", a);
        hardlink(t, "/d/l2", l1);   /* a chain */
        hardlink(t, "/dirlink", d); /* quirk: hard link naming a directory */
        struct cfs_node *wh = mk(t, "/d/wh", S_IFCHR | 0600, 0, 0, 0);
        hardlink(t, "/whl", wh);
        write_ok(t, NULL, &im);
        assert_int_equal(le64(&im, 0x410), 256 + 4); /* root, a, d, wh: links are no inodes */
        uint64_t na = path_nid(&im, "/a"), nd = path_nid(&im, "/d");
        assert_int_equal(dir_lookup(&im, nd, "l1", &type), na);
        assert_int_equal(type, CFS_FT_REG_FILE);
        assert_int_equal(dir_lookup(&im, nd, "l2", &type), na);
        assert_int_equal(le16(&im, ioff(na) + 6), 3); /* nlink verbatim */
        assert_int_equal(dir_lookup(&im, path_nid(&im, "/"), "dirlink", &type), nd);
        assert_int_equal(type, CFS_FT_DIR);
        /* the link to a whiteout points to the converted regular file */
        assert_int_equal(dir_lookup(&im, path_nid(&im, "/"), "whl", &type), path_nid(&im, "/d/wh"));
        assert_int_equal(type, CFS_FT_REG_FILE);
        /* root nlink: 2 + /d (hard links to directories do not count) */
        assert_int_equal(le16(&im, ioff(path_nid(&im, "/")) + 6), 3);
        assert_int_equal(le16(&im, ioff(nd) + 6), 2);
        assert_fsck(&im);
        img_free(&im);
}

/* ---- xattr sharing (§11.4) ---- */

static void test_shared_limit_128(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
        struct img im = {0};
        mk(t, "/", S_IFDIR | 0755, 0, 0, 0);
        const char *files[] = {"/a", "/b", "/c"};
        for (int f = 0; f < 3; f++) {
                struct cfs_node *n = mk(t, files[f], S_IFREG | 0644, 0, 0, 0);
                for (int k = 129; k >= 0; k--) { /* insertion order must not matter */
                        char name[32];
                        snprintf(name, sizeof(name), "user.k%03d", k);
                        xattr(t, n, name, "v");
                }
        }
        write_ok(t, NULL, &im);
        uint64_t nid = path_nid(&im, "/b");
        assert_int_equal(shared_count(&im, nid), 128);
        assert_int_equal(xsize(&im, nid), 12 + 4 * 128 + 2 * 12);
        /* ids follow the inode's ascending name order; the table is descending */
        for (unsigned k = 0; k + 1 < 128; k++)
                assert_true(shared_id(&im, nid, k) > shared_id(&im, nid, k + 1));
        assert_true(entry_is(&im, shared_pos(&im, shared_id(&im, nid, 0)), CFS_XATTR_INDEX_USER,
                             "k000", "v", 1));
        assert_true(entry_is(&im, shared_pos(&im, shared_id(&im, nid, 127)), CFS_XATTR_INDEX_USER,
                             "k127", "v", 1));
        /* k128 and k129 stay inline although their table entries exist */
        assert_true(inline_entry(&im, nid, CFS_XATTR_INDEX_USER, "k128") != 0);
        assert_true(inline_entry(&im, nid, CFS_XATTR_INDEX_USER, "k129") != 0);
        assert_true(entry_is(&im, shared_pos(&im, shared_id(&im, nid, 127)) - 12,
                             CFS_XATTR_INDEX_USER, "k128", "v", 1));
        assert_fsck(&im);
        img_free(&im);
}

static void test_shared_order(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
        struct img im = {0};
        static const struct {
                const char *path, *name, *value;
        } f[] = {
            {"/a", "user.v", "bb"}, {"/b", "user.v", "bb"}, {"/c", "user.v", "a"},
            {"/d", "user.v", "a"},  {"/e", "user.w", "x"},  {"/f", "user.w", "x"},
            {"/g", "user.w", "y"},  {"/h", "user.w", "y"},  {"/i", "user.u", "once"},
        };
        mk(t, "/", S_IFDIR | 0755, 0, 0, 0);
        for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
                xattr(t, mk(t, f[k].path, S_IFREG | 0644, 0, 0, 0), f[k].name, f[k].value);
        write_ok(t, NULL, &im);
        uint32_t wy = shared_id(&im, path_nid(&im, "/g"), 0);
        uint32_t wx = shared_id(&im, path_nid(&im, "/e"), 0);
        uint32_t vbb = shared_id(&im, path_nid(&im, "/a"), 0);
        uint32_t va = shared_id(&im, path_nid(&im, "/c"), 0);
        assert_true(wy < wx && wx < vbb && vbb < va);
        /* the table starts right at inodes_end: the first entry's id */
        assert_int_equal(shared_pos(&im, wy) % 32, 0);
        assert_int_equal(shared_count(&im, path_nid(&im, "/i")), 0); /* used once */
        assert_true(entry_is(&im, shared_pos(&im, va), CFS_XATTR_INDEX_USER, "v", "a", 1));
        assert_true(entry_is(&im, shared_pos(&im, vbb), CFS_XATTR_INDEX_USER, "v", "bb", 2));
        img_free(&im);
}

/* Escaping (§5.2 step 1), incl. names that only fit escaped because the on-disk
 * suffix drops "trusted.", and sharing between user and writer xattrs. */
static void test_escape(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
        struct img im = {0};
        char longname[256];
        memcpy(longname, "trusted.overlay.", 16);
        memset(longname + 16, 'n', 255 - 16);
        longname[255] = 0;
        mk(t, "/", S_IFDIR | 0755, 0, 0, 0);
        struct cfs_node *a = mk(t, "/a", S_IFREG | 0644, 0, 0, 0);
        struct cfs_node *b = mk(t, "/b", S_IFREG | 0644, 0, 0, 0);
        xattr(t, a, "trusted.overlay.foo", "1");
        xattr(t, a, longname, "L");
        xattr(t, b, longname, "L");
        /* user "trusted.overlay.whiteout=" escapes to the writer's whiteout mark */
        xattr(t, b, "trusted.overlay.whiteout", "");
        mk(t, "/wh", S_IFCHR | 0644, 0, 0, 0);
        write_ok(t, NULL, &im);
        uint64_t na = path_nid(&im, "/a"), nb = path_nid(&im, "/b"), nw = path_nid(&im, "/wh");
        assert_true(inline_entry(&im, na, CFS_XATTR_INDEX_TRUSTED, "overlay.overlay.foo") != 0);
        /* the 263-byte escaped name is shared by /a and /b */
        char suffix[256];
        memcpy(suffix, "overlay.overlay.", 16);
        memset(suffix + 16, 'n', 255 - 16);
        suffix[255] = 0;
        assert_int_equal(shared_count(&im, na), 1);
        assert_true(entry_is(&im, shared_pos(&im, shared_id(&im, na, 0)), CFS_XATTR_INDEX_TRUSTED,
                             suffix, "L", 1));
        /* whiteout mark: one shared entry for the user's and the writer's copy */
        assert_int_equal(shared_count(&im, nb), 2);
        assert_int_equal(shared_count(&im, nw), 1);
        assert_int_equal(shared_id(&im, nw, 0), shared_id(&im, nb, 1));
        assert_true(entry_is(&im, shared_pos(&im, shared_id(&im, nw, 0)), CFS_XATTR_INDEX_TRUSTED,
                             "overlay.overlay.whiteout", "", 0));
        /* the root's opaque=y is not escaped, the whiteout became a regular file */
        assert_true(
            inline_entry(&im, path_nid(&im, "/"), CFS_XATTR_INDEX_TRUSTED, "overlay.opaque") != 0);
        assert_int_equal(imode(&im, nw), S_IFREG | 0644);
        assert_fsck(&im);
        img_free(&im);
}

static void test_root_selinux_and_acl(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
        struct img im = {0};
        struct cfs_node *root = mk(t, "/", S_IFDIR | 0755, 0, 7, 0);
        root->uid = 5;
        root->gid = 6;
        xattr(t, root, "security.selinux", "ctx");
        struct cfs_node *f = mk(t, "/f", S_IFREG | 0644, 0, 7, 0);
        assert_int_equal(cfs_node_set_xattr(t, f, "system.posix_acl_access", 23, "\x02\0\0\0", 4),
                         0);
        struct cfs_node *u = mk(t, "/00", S_IFREG | 0644, 0, 7, 0); /* takes a whiteout's name */
        (void)u;
        write_ok(t, NULL, &im);
        assert_int_equal(le32(&im, 8), CFS_HEADER_FLAG_HAS_ACL);
        assert_int_equal(le64(&im, 0x410), 1 + 255 + 2);
        uint64_t w1 = path_nid(&im, "/01"), r = path_nid(&im, "/");
        assert_int_equal(imode(&im, w1), S_IFCHR | 0644);
        assert_int_equal(le16(&im, ioff(w1) + 24), 5);
        assert_int_equal(le16(&im, ioff(w1) + 26), 6);
        assert_int_equal(imode(&im, path_nid(&im, "/00")), S_IFREG | 0644);
        /* selinux label shared by the root and 255 whiteouts */
        assert_int_equal(shared_count(&im, w1), 1);
        assert_int_equal(shared_id(&im, w1, 0), shared_id(&im, r, 0));
        assert_true(entry_is(&im, shared_pos(&im, shared_id(&im, r, 0)), CFS_XATTR_INDEX_SECURITY,
                             "selinux", "ctx", 3));
        /* ACL: index 2, empty suffix */
        assert_true(inline_entry(&im, path_nid(&im, "/f"), CFS_XATTR_INDEX_POSIX_ACL_ACCESS, "") !=
                    0);
        assert_fsck(&im);
        img_free(&im);
}

/* ---- data shapes (§6, §8, §9, §10) ---- */

static void test_inline_sizes(void **state)
{
        (void)state;
        static const struct {
                uint64_t size;
                unsigned layout;
                uint64_t tail;
        } cases[] = {
            {1, CFS_LAYOUT_FLAT_INLINE, 1},    {2048, CFS_LAYOUT_FLAT_INLINE, 2048},
            {2049, CFS_LAYOUT_FLAT_PLAIN, 0},  {4096, CFS_LAYOUT_FLAT_PLAIN, 0},
            {4097, CFS_LAYOUT_FLAT_INLINE, 1}, {5000, CFS_LAYOUT_FLAT_INLINE, 904},
        };
        for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
                _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
                struct img im = {0};
                uint8_t *data = malloc(cases[k].size);
                for (uint64_t j = 0; j < cases[k].size; j++)
                        data[j] = (uint8_t)(j * 7 + k);
                mk(t, "/", S_IFDIR | 0755, 0, 0, 0);
                struct cfs_node *f = mk(t, "/f", S_IFREG | 0644, cases[k].size, 0, 0);
                f->content = cfs_tree_memdup(t, data, cases[k].size);
                f->payload = cfs_tree_strndup(t, "ignored", 7);
                write_ok(t, NULL, &im);
                uint64_t nid = path_nid(&im, "/f");
                assert_int_equal(ilayout(&im, nid), cases[k].layout);
                assert_int_equal(isize(&im, nid), cases[k].size);
                assert_int_equal(xsize(&im, nid), 0); /* no overlay xattrs */
                uint64_t inblock = cases[k].size - cases[k].tail;
                if (inblock) {
                        size_t b = (size_t)iu(&im, nid) * 4096;
                        assert_memory_equal(im.data + b, data, CFS_MIN(inblock, 4096));
                }
                if (cases[k].tail) {
                        assert_memory_equal(im.data + tail_off(&im, nid), data + inblock,
                                            cases[k].tail);
                        size_t to = tail_off(&im, nid);
                        assert_int_equal(to / 4096, (to + cases[k].tail - 1) / 4096);
                }
                assert_fsck(&im);
                free(data);
                img_free(&im);
        }
}

static void test_symlinks(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
        struct img im = {0};
        char target[4096];
        memset(target, 't', sizeof(target));
        mk(t, "/", S_IFDIR | 0755, 0, 0, 0);
        struct cfs_node *l = mk(t, "/long", S_IFLNK | 0777, 1, 0, 0);
        l->payload = cfs_tree_strndup(t, target, 4095);
        struct cfs_node *m = mk(t, "/mid", S_IFLNK | 0777, 1, 0, 0);
        m->payload = cfs_tree_strndup(t, target, 3000);
        write_ok(t, NULL, &im);
        uint64_t nl = path_nid(&im, "/long"), nm = path_nid(&im, "/mid");
        /* 32 + 4095 >= 4096: target in a data block */
        assert_int_equal(ilayout(&im, nl), CFS_LAYOUT_FLAT_PLAIN);
        assert_int_equal(isize(&im, nl), 4095);
        assert_memory_equal(im.data + (size_t)iu(&im, nl) * 4096, target, 4095);
        assert_int_equal(im.data[(size_t)iu(&im, nl) * 4096 + 4095], 0);
        /* inode and target in one block */
        assert_int_equal(ilayout(&im, nm), CFS_LAYOUT_FLAT_INLINE);
        assert_int_equal(ioff(nm) / 4096, (tail_off(&im, nm) + 3000 - 1) / 4096);
        assert_memory_equal(im.data + tail_off(&im, nm), target, 3000);
        assert_fsck(&im);
        img_free(&im);
        /* an empty target is refused */
        m->payload = "";
        write_fails(t, NULL, EINVAL, "/mid: cannot write file");
}

static void test_devices(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
        struct img im = {0};
        mk(t, "/", S_IFDIR | 0755, 0, 0, 0);
        struct cfs_node *c = mk(t, "/c", S_IFCHR | 0600, 0, 0, 0);
        c->rdev = makedev(1, 3);
        struct cfs_node *b = mk(t, "/b", S_IFBLK | 0600, 0, 0, 0);
        b->rdev = 0xABCDEF;
        mk(t, "/fifo", S_IFIFO | 0600, 1ull << 33, 0, 0); /* SIZE kept for compact choice */
        struct cfs_node *s = mk(t, "/sock", S_IFSOCK | 0600, 0, 0, 0);
        s->rdev = 77; /* ignored */
        write_ok(t, NULL, &im);
        assert_int_equal(le32(&im, 12), 0); /* no user whiteout: version 0 */
        uint64_t nc = path_nid(&im, "/c"), nb = path_nid(&im, "/b");
        uint64_t nf = path_nid(&im, "/fifo"), ns = path_nid(&im, "/sock");
        assert_int_equal(iu(&im, nc), makedev(1, 3));
        assert_int_equal(iu(&im, nb), 0xABCDEF);
        assert_true(iext(&im, nf));
        assert_int_equal(isize(&im, nf), 0);
        assert_false(iext(&im, ns));
        assert_int_equal(iu(&im, ns), 0);
        uint8_t type;
        dir_lookup(&im, path_nid(&im, "/"), "b", &type);
        assert_int_equal(type, CFS_FT_BLKDEV);
        dir_lookup(&im, path_nid(&im, "/"), "sock", &type);
        assert_int_equal(type, CFS_FT_SOCK);
        assert_fsck(&im);
        img_free(&im);
}

/* "." and ".." sort among the names (§17.9); directory nlink (§5.6). */
static void test_dot_order(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = new_tree();
        struct img im = {0};
        mk(t, "/", S_IFDIR | 0755, 0, 0, 0);
        mk(t, "/d", S_IFDIR | 0755, 0, 0, 0);
        mk(t, "/d/z", S_IFREG | 0644, 0, 0, 0);
        mk(t, "/d/-y", S_IFREG | 0644, 0, 0, 0);
        mk(t, "/d/!x", S_IFREG | 0644, 0, 0, 0);
        mk(t, "/d/.z", S_IFDIR | 0755, 0, 0, 0);
        write_ok(t, NULL, &im);
        uint64_t nd = path_nid(&im, "/d");
        size_t b = tail_off(&im, nd);
        const char *order[] = {"!x", "-y", ".", "..", ".z", "z"};
        assert_int_equal(le16(&im, b + 8), 6 * 12);
        size_t off = 6 * 12;
        for (int k = 0; k < 6; k++) {
                assert_int_equal(le16(&im, b + 12 * k + 8), off);
                assert_memory_equal(im.data + b + off, order[k], strlen(order[k]));
                off += strlen(order[k]);
        }
        assert_int_equal(isize(&im, nd), off);
        assert_int_equal(le64(&im, b + 24), nd);                 /* "." */
        assert_int_equal(le64(&im, b + 36), path_nid(&im, "/")); /* ".." */
        assert_int_equal(le16(&im, ioff(nd) + 6), 3);            /* 2 + ".z" */
        img_free(&im);
}

/* ---- determinism and tree invariance ---- */

static struct cfs_tree *build_mixed(bool reverse)
{
        struct cfs_tree *t = new_tree();
        mk(t, "/", S_IFDIR | 0755, 0, 1, 0);
        const char *names[] = {"b", "a", "c", "dd", "0", "ff", "x y"};
        for (int k = 0; k < 7; k++) {
                int i = reverse ? 6 - k : k;
                char path[32];
                snprintf(path, sizeof(path), "/%s", names[i]);
                struct cfs_node *n = mk(t, path, S_IFREG | 0644, 100 + (uint64_t)i, 1 + i, 0);
                n->payload = cfs_tree_strndup(t, names[i], strlen(names[i]));
                xattr(t, n, reverse ? "user.z" : "user.a", "1");
                xattr(t, n, reverse ? "user.a" : "user.z", "1");
        }
        return t;
}

static void test_reproducible(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t1 = build_mixed(false);
        _cleanup_(cfs_tree_freep) struct cfs_tree *t2 = build_mixed(true);
        struct img a = {0}, b = {0}, c = {0};
        struct cfs_node *root = cfs_tree_root(t1);
        size_t nodes = cfs_tree_n_nodes(t1);
        uint16_t nx = cfs_tree_lookup(t1, root, "a", 1)->n_xattrs;
        write_ok(t1, NULL, &a);
        write_ok(t2, NULL, &b);
        write_ok(t1, NULL, &c);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        assert_memory_equal(a.data, c.data, a.len);
        /* the tree did not change: no whiteouts, dots or overlay xattrs added */
        assert_int_equal(cfs_tree_n_nodes(t1), nodes);
        assert_int_equal(root->n_children, 7);
        assert_null(cfs_tree_lookup(t1, root, "01", 2));
        assert_int_equal(root->n_xattrs, 0);
        assert_int_equal(cfs_tree_lookup(t1, root, "a", 1)->n_xattrs, nx);
        assert_null(cfs_node_get_xattr(t1, cfs_tree_lookup(t1, root, "a", 1),
                                       "trusted.overlay.redirect", 24));
        assert_fsck(&a);
        img_free(&a);
        img_free(&b);
        img_free(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_example1_root_only),
            cmocka_unit_test(test_example2_files),
            cmocka_unit_test(test_example3_whiteout),
            cmocka_unit_test(test_example4_big_dir),
            cmocka_unit_test(test_bad_version),
            cmocka_unit_test(test_hardlink_cycle),
            cmocka_unit_test(test_file_too_large),
            cmocka_unit_test(test_budget_quirk),
            cmocka_unit_test(test_write_error),
            cmocka_unit_test(test_hardlinks),
            cmocka_unit_test(test_shared_limit_128),
            cmocka_unit_test(test_shared_order),
            cmocka_unit_test(test_escape),
            cmocka_unit_test(test_root_selinux_and_acl),
            cmocka_unit_test(test_inline_sizes),
            cmocka_unit_test(test_symlinks),
            cmocka_unit_test(test_devices),
            cmocka_unit_test(test_dot_order),
            cmocka_unit_test(test_reproducible),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

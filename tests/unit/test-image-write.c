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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>
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

struct memreader {
        const uint8_t *p;
        size_t left;
};

static int mem_read(void *fd, void *buf, size_t count)
{
        struct memreader *m = fd;
        if (count > m->left)
                return -EIO;
        memcpy(buf, m->p, count);
        m->p += count;
        m->left -= count;
        return 0;
}

static void verity_hex(const struct img *im, char hex[65])
{
        struct memreader m = {im->data, im->len};
        struct libfsverity_merkle_tree_params params = {
            .version = 1,
            .hash_algorithm = FS_VERITY_HASH_ALG_SHA256,
            .file_size = im->len,
            .block_size = 4096,
        };
        struct libfsverity_digest *d = NULL;
        assert_int_equal(libfsverity_compute_digest(&m, mem_read, &params, &d), 0);
        assert_int_equal(d->digest_size, 32);
        for (int i = 0; i < 32; i++)
                sprintf(hex + 2 * i, "%02x", d->digest[i]);
        free(d);
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

_unused_ static struct cfs_node *hardlink(struct cfs_tree *t, const char *path,
                                          struct cfs_node *target)
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

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_example1_root_only),
            cmocka_unit_test(test_example2_files),
            cmocka_unit_test(test_example3_whiteout),
            cmocka_unit_test(test_example4_big_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-image-reader.c - unit tests of the composefs image reader and validator
 * (lib/image-reader.c, image-check.c, image-load.c): the worked examples of
 * COMPOSEFS-FORMAT.md §18 read back the way composefs-info dump prints them
 * (§15), hard links, escaping, the redirect quirk done right, hostile images
 * (loops, corruption sweeps, truncation) and deep trees without recursion.
 * Host.
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
#include <unistd.h>

#include <cmocka.h>

#include "dump.h"
#include "erofs.h"
#include "image-reader.h"
#include "image.h"
#include "tree.h"

/* ---- helpers ---- */

struct img {
        uint8_t *data;
        size_t len;
};

/* dump text -> image bytes (writer), asserting success */
static struct img make_image(const char *dump, unsigned max_version)
{
        struct cfs_error err = {};
        struct cfs_tree *t = NULL;
        struct cfs_dump_options o = {.strict = false};
        int r = cfs_dump_parse_buffer(dump, strlen(dump), "test.dump", &o, &t, &err);
        if (r < 0)
                fail_msg("parse: %s", err.message);
        int fd = memfd_create("img", MFD_CLOEXEC);
        assert_true(fd >= 0);
        struct cfs_image_options io = {.min_version = 0, .max_version = max_version};
        r = cfs_image_write(t, &io, fd, &err);
        if (r < 0)
                fail_msg("write: %s", err.message);
        struct img im = {.len = (size_t)lseek(fd, 0, SEEK_END)};
        im.data = malloc(im.len);
        assert_non_null(im.data);
        assert_int_equal(pread(fd, im.data, im.len, 0), (ssize_t)im.len);
        close(fd);
        cfs_tree_free(t);
        return im;
}

/* image bytes -> check result; *msg gets the error text */
static int check_buf(const uint8_t *data, size_t len, char *msg, size_t msg_size)
{
        struct cfs_error err = {};
        struct cfs_image *img = NULL;
        int r = cfs_image_open_buffer(data, len, &img, &err);
        if (r == 0)
                r = cfs_image_check(img, &err);
        if (msg)
                snprintf(msg, msg_size, "%s", err.message);
        cfs_image_close(img);
        return r;
}

/* image bytes -> dump text (malloc'ed) or NULL with *ret_r */
static char *load_dump(const uint8_t *data, size_t len, int *ret_r, char *msg, size_t msg_size)
{
        struct cfs_error err = {};
        struct cfs_image *img = NULL;
        struct cfs_tree *t = NULL;
        char *text = NULL;
        size_t tlen = 0;
        int r = cfs_image_open_buffer(data, len, &img, &err);
        if (r == 0)
                r = cfs_image_load(img, &t, &err);
        if (r == 0) {
                FILE *f = open_memstream(&text, &tlen);
                assert_non_null(f);
                assert_int_equal(cfs_dump_write(t, f), 0);
                fclose(f);
        }
        if (msg)
                snprintf(msg, msg_size, "%s", err.message);
        *ret_r = r;
        cfs_tree_free(t);
        cfs_image_close(img);
        return text;
}

static char *roundtrip(const char *dump, unsigned max_version)
{
        struct img im = make_image(dump, max_version);
        char msg[CFS_ERROR_MAX];
        assert_int_equal(check_buf(im.data, im.len, msg, sizeof(msg)), 0);
        int r;
        char *text = load_dump(im.data, im.len, &r, msg, sizeof(msg));
        if (!text)
                fail_msg("load: %s", msg);
        free(im.data);
        return text;
}

/* ---- header and superblock ---- */

static void test_open_rejects(void **state)
{
        (void)state;
        struct img im = make_image("/ 4096 40755 2 0 0 0 0.0 - - -\n", 1);
        struct cfs_image *img = NULL;
        struct cfs_error err = {};
        char msg[CFS_ERROR_MAX];

        assert_int_equal(cfs_image_open_buffer(im.data, 100, &img, &err), -EUCLEAN);
        assert_non_null(strstr(err.message, "image too short"));
        assert_int_equal(check_buf(im.data, im.len - 1, msg, sizeof(msg)), -EUCLEAN);
        assert_non_null(strstr(msg, "not a multiple of the block size"));

        uint8_t *copy = malloc(im.len);
        memcpy(copy, im.data, im.len);
        copy[CFS_SB_OFFSET] ^= 1;
        assert_int_equal(check_buf(copy, im.len, msg, sizeof(msg)), -EUCLEAN);
        assert_non_null(strstr(msg, "EROFS superblock (byte offset 1024): bad magic"));
        memcpy(copy, im.data, im.len);
        cfs_put_le32(copy + CFS_HDR_OFF_CFS_VERSION, 2);
        assert_int_equal(check_buf(copy, im.len, msg, sizeof(msg)), -EUCLEAN);
        assert_non_null(strstr(msg, "unsupported format version 2"));
        free(copy);

        /* a pipe is not an image file */
        int p[2];
        assert_int_equal(pipe(p), 0);
        err = (struct cfs_error){};
        assert_int_equal(cfs_image_open_fd(p[0], &img, &err), -EINVAL);
        close(p[0]);
        close(p[1]);
        free(im.data);
}

static void test_info_root_only(void **state)
{
        (void)state;
        struct img im = make_image("/ 4096 40755 2 0 0 0 0.0 - - -\n", 1);
        struct cfs_image *img = NULL;
        struct cfs_error err = {};
        int fd = memfd_create("img", MFD_CLOEXEC);
        assert_int_equal(write(fd, im.data, im.len), (ssize_t)im.len);
        assert_int_equal(cfs_image_open_fd(fd, &img, &err), 0);
        close(fd); /* the mapping stays valid */
        struct cfs_image_info info;
        cfs_image_get_info(img, &info);
        assert_int_equal(info.size, 16384);
        assert_int_equal(info.inos, 257);
        assert_int_equal(info.root_nid, 36);
        assert_int_equal(info.composefs_version, 0);
        assert_int_equal(cfs_image_check(img, &err), 0);
        cfs_image_close(img);
        free(im.data);
}

/* ---- what composefs-info dump prints (§15, §18) ---- */

static void test_example2(void **state)
{
        (void)state;
        const char *dump = "/ 4096 40755 2 0 0 0 1000.0 - - -\n"
                           "/ext 5000 100644 1 0 0 0 1000.0 ab/cdef - "
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
                           "/hello 6 100644 1 0 0 0 1000.0 - hello\\n -\n"
                           "/lnk 3 120777 1 0 0 0 2000.5 ext - -\n";
        char *out = roundtrip(dump, 1);
        /* the root's size is its dirent bytes; everything else as given */
        const char *want = "/ 4096 40755 2 0 0 0 1000.0 - - -\n"
                           "/ext 5000 100644 1 0 0 0 1000.0 ab/cdef - "
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
                           "/hello 6 100644 1 0 0 0 1000.0 - hello\\n -\n"
                           "/lnk 3 120777 1 0 0 0 2000.5 ext - -\n";
        assert_string_equal(out, want);
        free(out);
}

static void test_example3_whiteouts_shared(void **state)
{
        (void)state;
        const char *dump = "/ 4096 40755 2 0 0 0 0.0 - - -\n"
                           "/d 4096 40755 2 0 0 0 0.0 - - - user.a=1\n"
                           "/d/wh 0 20644 1 0 0 0 0.0 - - -\n"
                           "/f 0 100644 1 0 0 0 0.0 - - - user.a=1 user.b=2\n";
        char *out = roundtrip(dump, 1);
        /* version 1: /d shows the opaque markers; the whiteout is a char device
         * again; inline xattrs come before shared ones (user.a=1 is shared) */
        const char *want =
            "/ 4096 40755 3 0 0 0 0.0 - - -\n"
            "/d 41 40755 2 0 0 0 0.0 - - - trusted.overlay.opaque=x user.overlay.opaque=x "
            "user.a=1\n"
            "/d/wh 0 20644 1 0 0 0 0.0 - - -\n"
            "/f 0 100644 1 0 0 0 0.0 - - - user.b=2 user.a=1\n";
        assert_string_equal(out, want);
        free(out);
        /* version 0: no opaque markers */
        out = roundtrip(dump, 0);
        assert_non_null(strstr(out, "/d 41 40755 2 0 0 0 0.0 - - - user.a=1\n"));
        free(out);
}

static void test_hardlinks(void **state)
{
        (void)state;
        const char *dump = "/ 4096 40755 2 0 0 0 0.0 - - -\n"
                           "/a 5 100644 3 0 0 0 0.0 - hello - user.x=1\n"
                           "/b 5 @100644 3 0 0 0 0.0 /a - -\n"
                           "/z 4096 40755 2 0 0 0 0.0 - - -\n"
                           "/z/c 5 @100644 3 0 0 0 0.0 /a - -\n";
        char *out = roundtrip(dump, 1);
        const char *want = "/ 4096 40755 3 0 0 0 0.0 - - -\n"
                           "/a 5 100644 3 0 0 0 0.0 - hello - user.x=1\n"
                           "/b 5 @100644 3 0 0 0 0.0 /a hello - user.x=1\n"
                           "/z 40 40755 2 0 0 0 0.0 - - -\n"
                           "/z/c 5 @100644 3 0 0 0 0.0 /a hello - user.x=1\n";
        assert_string_equal(out, want);
        free(out);
}

static void test_escaping_and_redirect(void **state)
{
        (void)state;
        /* payload "abc": redirect "/abc" is 4 bytes, upstream's reader leaks the
         * following bytes there; we print exactly "abc". A payload starting with
         * "/" gives "//x" on disk and reads back as "/x". */
        const char *dump = "/ 4096 40755 2 0 0 0 0.0 - - - trusted.overlay.opaque=z\n"
                           "/e 10 100644 1 0 0 0 0.0 abc - -\n"
                           "/s 10 100644 1 0 0 0 0.0 /x - -\n"
                           "/t 0 100644 1 0 0 0 0.0 - - - trusted.overlay.overlay.q=1 "
                           "trusted.overlay.w=2 user.overlay.z=3\n";
        char *out = roundtrip(dump, 1);
        const char *want = "/ 4096 40755 2 0 0 0 0.0 - - - trusted.overlay.opaque=z\n"
                           "/e 10 100644 1 0 0 0 0.0 abc - -\n"
                           "/s 10 100644 1 0 0 0 0.0 /x - -\n"
                           "/t 0 100644 1 0 0 0 0.0 - - - trusted.overlay.overlay.q=1 "
                           "trusted.overlay.w=2 user.overlay.z=3\n";
        assert_string_equal(out, want);
        free(out);
}

static void test_devices_and_specials(void **state)
{
        (void)state;
        const char *dump = "/ 4096 40755 2 0 0 0 0.0 - - -\n"
                           "/blk 0 60600 1 0 0 2049 0.0 - - -\n"
                           "/chr 0 20600 1 0 0 1025 0.0 - - -\n"
                           "/fifo 0 10644 1 0 0 0 0.0 - - -\n"
                           "/sock 0 140644 1 0 0 0 0.0 - - -\n"
                           "/x 0 100644 70000 70000 70000 0 -5.123 - - -\n";
        char *out = roundtrip(dump, 1);
        assert_non_null(strstr(out, "/blk 0 60600 1 0 0 2049 0.0 - - -\n"));
        assert_non_null(strstr(out, "/chr 0 20600 1 0 0 1025 0.0 - - -\n"));
        assert_non_null(strstr(out, "/fifo 0 10644 1 0 0 0 0.0 - - -\n"));
        assert_non_null(strstr(out, "/sock 0 140644 1 0 0 0 0.0 - - -\n"));
        assert_non_null(strstr(out, "/x 0 100644 70000 70000 70000 0 -5.123 - - -\n"));
        /* the 256 root whiteouts are not printed */
        assert_null(strstr(out, "/00 "));
        free(out);
}

/* ---- hostile images ---- */

/* nid of the root's entry @name (single block root, as in small images) */
static uint64_t dirent_off(const struct img *im, const char *name)
{
        uint64_t root = cfs_get_le16(im->data + CFS_SB_OFFSET + CFS_SB_OFF_ROOT_NID) * 32;
        uint64_t blk = cfs_get_le32(im->data + root + CFS_IC_OFF_U) * 4096ull;
        unsigned n = cfs_get_le16(im->data + blk + 8) / 12;
        for (unsigned i = 0; i < n; i++) {
                const uint8_t *de = im->data + blk + 12 * i;
                unsigned start = cfs_get_le16(de + 8);
                unsigned end = i + 1 < n ? cfs_get_le16(de + 20) : 4096;
                if (strlen(name) <= end - start &&
                    memcmp(im->data + blk + start, name, strlen(name)) == 0 &&
                    (end - start == strlen(name) || im->data[blk + start + strlen(name)] == 0))
                        return blk + 12 * i;
        }
        fail_msg("no entry %s", name);
        return 0;
}

static void test_loop_and_dir_hardlink(void **state)
{
        (void)state;
        struct img im = make_image("/ 4096 40755 2 0 0 0 0.0 - - -\n"
                                   "/d 4096 40755 2 0 0 0 0.0 - - -\n"
                                   "/e 4096 40755 2 0 0 0 0.0 - - -\n",
                                   1);
        char msg[CFS_ERROR_MAX];
        uint64_t d = dirent_off(&im, "d"), e = dirent_off(&im, "e");
        /* /e -> /d: a directory with two names */
        memcpy(im.data + e, im.data + d, 8);
        assert_int_equal(check_buf(im.data, im.len, msg, sizeof(msg)), -EUCLEAN);
        assert_non_null(strstr(msg, "/e: nid"));
        assert_non_null(strstr(msg, "directory reachable through a second entry"));
        int r;
        char *out = load_dump(im.data, im.len, &r, msg, sizeof(msg));
        assert_null(out);
        assert_int_equal(r, -EUCLEAN);
        /* /d -> root: a loop */
        cfs_put_le64(im.data + d, 36);
        assert_int_equal(check_buf(im.data, im.len, msg, sizeof(msg)), -EUCLEAN);
        assert_non_null(strstr(msg, "/d: nid 36"));
        free(im.data);
}

static const char *sweep_dump = "/ 4096 40755 2 0 0 0 1000.0 - - - user.r=1\n"
                                "/d 4096 40755 2 0 0 0 1000.0 - - - user.r=1\n"
                                "/d/f 0 100644 1 0 0 0 1000.0 - - -\n"
                                "/d/wh 0 20644 1 0 0 0 1000.0 - - -\n"
                                "/ext 5000 100644 1 0 0 0 1000.0 ab/cd - "
                                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
                                "/h 6 100644 2 0 0 0 1000.0 - hello\\n -\n"
                                "/hl 6 @100644 2 0 0 0 1000.0 /h - -\n"
                                "/l 3 120777 1 0 0 0 2000.5 ext - -\n";

/* Every single-byte corruption of the metadata: valid or -EUCLEAN, check and
 * load agree, never a crash (run under ASan in the sanitizer build). */
static void test_corruption_sweep(void **state)
{
        (void)state;
        struct img im = make_image(sweep_dump, 1);
        uint8_t *copy = malloc(im.len);
        unsigned invalid = 0, valid = 0;
        static const uint8_t values[] = {0x00, 0xff, 0x80, 0x01};
        for (size_t off = 0; off < im.len; off++) {
                for (size_t v = 0; v < ELEMENTSOF(values); v++) {
                        if (im.data[off] == values[v])
                                continue;
                        memcpy(copy, im.data, im.len);
                        copy[off] = values[v];
                        int rc = check_buf(copy, im.len, NULL, 0), rl;
                        char *out = load_dump(copy, im.len, &rl, NULL, 0);
                        assert_true(rc == 0 || rc == -EUCLEAN);
                        assert_int_equal(rc, rl);
                        free(out);
                        if (rc)
                                invalid++;
                        else
                                valid++;
                }
        }
        /* most metadata bytes matter; many data/padding bytes do not */
        assert_true(invalid > 1000);
        assert_true(valid > 1000);
        free(copy);
        free(im.data);
}

static void test_truncation_sweep(void **state)
{
        (void)state;
        struct img im = make_image(sweep_dump, 1);
        for (size_t len = 0; len < im.len; len += 512) {
                uint8_t *copy = malloc(len ? len : 1);
                memcpy(copy, im.data, len);
                if (len >= 4096 && len % 4096 == 0)
                        cfs_put_le32(copy + CFS_SB_OFFSET + CFS_SB_OFF_BLOCKS,
                                     (uint32_t)(len / 4096));
                assert_int_equal(check_buf(copy, len, NULL, 0), -EUCLEAN);
                free(copy);
        }
        assert_int_equal(check_buf(im.data, im.len, NULL, 0), 0);
        free(im.data);
}

/* 3000 nested directories: no recursion, check and load work. */
static void test_deep_tree(void **state)
{
        (void)state;
        size_t depth = 3000, cap = depth * (depth * 2 + 60) + 100;
        char *dump = malloc(cap), *p = dump;
        p += sprintf(p, "/ 4096 40755 2 0 0 0 0.0 - - -\n");
        char *path = malloc(depth * 2 + 1);
        size_t plen = 0;
        for (size_t i = 0; i < depth; i++) {
                path[plen++] = '/';
                path[plen++] = 'd';
                p += sprintf(p, "%.*s 0 40755 2 0 0 0 0.0 - - -\n", (int)plen, path);
        }
        struct img im = make_image(dump, 1);
        assert_int_equal(check_buf(im.data, im.len, NULL, 0), 0);
        int r;
        char *out = load_dump(im.data, im.len, &r, NULL, 0);
        assert_non_null(out);
        size_t lines = 0;
        for (char *q = out; (q = strchr(q, '\n')); q++)
                lines++;
        assert_int_equal(lines, depth + 1);
        free(out);
        free(im.data);
        free(path);
        free(dump);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_open_rejects),
            cmocka_unit_test(test_info_root_only),
            cmocka_unit_test(test_example2),
            cmocka_unit_test(test_example3_whiteouts_shared),
            cmocka_unit_test(test_hardlinks),
            cmocka_unit_test(test_escaping_and_redirect),
            cmocka_unit_test(test_devices_and_specials),
            cmocka_unit_test(test_loop_and_dir_hardlink),
            cmocka_unit_test(test_corruption_sweep),
            cmocka_unit_test(test_truncation_sweep),
            cmocka_unit_test(test_deep_tree),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

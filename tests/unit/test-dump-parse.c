/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-dump-parse.c - unit tests of the dump parser (lib/dump-parse.c,
 * COMPOSEFS-FORMAT.md §14): every error message of §14.5, strict vs lax, number
 * quirks, hard links, the xattr budget, streaming from fds, the golden dumps and
 * the should-fail corpus. Host.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dump.h"
#include "fileio.h"

#define ROOT "/ 4096 40755 2 0 0 0 0.0 - - -\n"
#define UPSTREAM TEST_SRCDIR "/tests/golden/upstream"

/* malloc() that never returns NULL (so the compiler knows it, too). */
static void *xmalloc(size_t n)
{
        void *p = malloc(n);
        if (!p)
                abort();
        return p;
}
static int parse_len(const char *text, size_t len, bool strict, struct cfs_tree **t,
                     struct cfs_error *err)
{
        struct cfs_dump_options o = {.strict = strict};
        *err = (struct cfs_error){};
        return cfs_dump_parse_buffer(text, len, "t.dump", &o, t, err);
}

/* Parse @text (must succeed) and return the tree. */
static struct cfs_tree *parse_ok(const char *text, bool strict)
{
        struct cfs_tree *t = NULL;
        struct cfs_error err;
        int r = parse_len(text, strlen(text), strict, &t, &err);
        if (r < 0)
                fail_msg("unexpected failure (%s): %s\ninput: %s", strict ? "strict" : "lax",
                         cfs_error_text(&err, r), text);
        assert_non_null(t);
        return t;
}

static void expect_error_len(const char *text, size_t len, bool strict, int code, const char *msg)
{
        struct cfs_tree *t = NULL;
        struct cfs_error err;
        int r = parse_len(text, len, strict, &t, &err);
        if (r != code || strcmp(err.message, msg) != 0)
                fail_msg("input %.200s\n (%s) expected %d '%s'\n got %d '%s'", text,
                         strict ? "strict" : "lax", code, msg, r, err.message);
        assert_null(t);
}

static void expect_error(const char *text, bool strict, const char *msg)
{
        expect_error_len(text, strlen(text), strict, -EINVAL, msg);
}

static struct cfs_node *node(struct cfs_tree *t, const char *path)
{
        struct cfs_node *n = cfs_tree_lookup_path(t, path, strlen(path));
        if (!n)
                fail_msg("no node %s", path);
        return n;
}

/* One minimal input per message of §14.5 (strict mode), with the full text. */
static void test_error_messages(void **state)
{
        (void)state;
        static const struct {
                const char *in, *msg;
        } cases[] = {
            {ROOT "/a\\ 0 100644 1 0 0 0 0.0 - - -\n", "t.dump:2: No character after escape"},
            {ROOT "/a\\x4 0 100644 1 0 0 0 0.0 - - -\n",
             "t.dump:2: No hex characters after hex escape"},
            {ROOT "/a\\xzz 0 100644 1 0 0 0 0.0 - - -\n",
             "t.dump:2: Invalid hex characters after hex escape"},
            {ROOT "/a\\q 0 100644 1 0 0 0 0.0 - - -\n", "t.dump:2: Unsupported escape type q"},
            {ROOT "\n", "t.dump:2: Invalid empty path"},
            {" 0 40755 2 0 0 0 0.0 - - -\n", "t.dump:1: Invalid empty path"},
            {"\\x00/ 0 40755 2 0 0 0 0.0 - - -\n", "t.dump:1: Invalid empty path"},
            {"/ 0 x 2 0 0 0 0.0 - - -\n", "t.dump:1: Invalid integer x"},
            {"/ 0 0x41ed 2 0 0 0 0.0 - - -\n", "t.dump:1: Invalid integer 0x41ed"},
            {"/ 0 40758 2 0 0 0 0.0 - - -\n", "t.dump:1: Invalid integer 40758"},
            {"/ 0 @ 2 0 0 0 0.0 - - -\n", "t.dump:1: Invalid integer "},
            {ROOT "/a 0 755 1 0 0 0 0.0 - - -\n", "t.dump:2: Invalid mode 755"},
            {ROOT "/a 0 170755 1 0 0 0 0.0 - - -\n", "t.dump:2: Invalid mode 170755"},
            {"/ 0 100644 1 0 0 0 0.0 - - -\n", "t.dump:1: Root must be a directory"},
            {ROOT ROOT, "t.dump:2: Can't have multiple roots"},
            {"/a 0 100644 1 0 0 0 0.0 - - -\n", "t.dump:1: Root node not present"},
            {ROOT "/a/b 0 100644 1 0 0 0 0.0 - - -\n",
             "t.dump:2: Parent directory missing for /a/b"},
            {ROOT "/a/./b 0 100644 1 0 0 0 0.0 - - -\n",
             "t.dump:2: Parent directory missing for /a/./b"},
            {ROOT "/f 0 100644 1 0 0 0 0.0 - - -\n/f/x 0 100644 1 0 0 0 0.0 - - -\n",
             "t.dump:3: Parent must be a directory for /f/x"},
            {ROOT "/. 0 40755 1 0 0 0 0.0 - - -\n", "t.dump:2: Invalid . or .. in path: /."},
            {ROOT "/d/.. 0 40755 1 0 0 0 0.0 - - -\n",
             "t.dump:2: Parent directory missing for /d/.."},
            {ROOT "/.. 0 40755 1 0 0 0 0.0 - - -\n", "t.dump:2: Invalid . or .. in path: /.."},
            {ROOT "/a 0 100644 1 0 0 0 0.0 - - -\n/a 0 100644 1 0 0 0 0.0 - - -\n",
             "t.dump:3: Can't add child /a: path already exists"},
            {ROOT "//a 0 100644 1 0 0 0 0.0 - - -\n/a 0 100644 1 0 0 0 0.0 - - -\n",
             "t.dump:3: Can't add child /a: path already exists"},
            {ROOT "// 0 40755 1 0 0 0 0.0 - - -\n", "t.dump:2: Can't add child //: empty name"},
            {ROOT "/d 0 40755 1 0 0 0 0.0 - - -\n/d/ 0 40755 1 0 0 0 0.0 - - -\n",
             "t.dump:3: Can't add child /d/: empty name"},
            {ROOT "/l 0 @40755 1 0 0 0 0.0 / - -\n", "t.dump:2: Directories can't be hardlinked"},
            {ROOT "/l 0 @100644 1 0 0 0 0.0 - - -\n", "t.dump:2: No target path for the hardlink"},
            {ROOT "/f 2 100644 1 0 0 0 0.0 - abc -\n",
             "t.dump:2: Invalid content size 3, must match size 2"},
            {ROOT "/d 0 40755 1 0 0 0 0.0 - x -\n",
             "t.dump:2: Invalid content size 1, must match size 0"},
            {ROOT "/f 0 100644 1 0 0 5 0.0 - - -\n", "t.dump:2: Non-zero devnum on non-device"},
            {ROOT "/l 0 120777 1 0 0 0 0.0 - - -\n", "t.dump:2: Invalid symlink"},
            {ROOT "/l 0 120777 1 0 0 0 0.0  - -\n", "t.dump:2: Invalid symlink"},
            {ROOT "/l 0 120777 1 0 0 0 0.0 \\x00abc - -\n", "t.dump:2: Invalid symlink"},
            {ROOT "/l 5 120777 1 0 0 0 0.0 x - -\n",
             "t.dump:2: Invalid symlink size 1, must match size 5"},
            {ROOT "/l 1 120777 1 0 0 0 0.0 x y -\n", "t.dump:2: Symlink cannot have content"},
            {ROOT "/f 0 100644 1 0 0 0 0.0 - - - abc\n", "t.dump:2: Missing = in xattr"},
            {ROOT "/f 0 100644 1 0 0 0 0.0 - - - a=b  \n", "t.dump:2: Missing = in xattr"},
            {ROOT "/f 0 100644 1 0 0 0 0.0 - - -  a=b\n", "t.dump:2: Missing = in xattr"},
            {ROOT "/f 0 100644 1 0 0 0 0.0 - - - =v\n", "t.dump:2: Can't set xattr: empty name"},
            {ROOT "/f 0 100644 1 0 0 0 0.0 - - - \\x00a=v\n",
             "t.dump:2: Can't set xattr: empty name"},
            {ROOT "/f 0 100644 1 0 0 0 0.0 - - - a\\q=v\n", "t.dump:2: Unsupported escape type q"},
            {ROOT "/f 0 100644 1 0 0 0 0.0 \\z - -\n", "t.dump:2: Unsupported escape type z"},
            {ROOT "/f 0 100644 1 0 0 0 0.0 - \\z -\n", "t.dump:2: Unsupported escape type z"},
            {ROOT "/f 0 100644 1 0 0 0 0.0 - - \\z\n", "t.dump:2: Unsupported escape type z"},
            {ROOT "/l 0 @100644 1 0 0 0 0.0 \\z - -\n", "t.dump:2: Unsupported escape type z"},
            {ROOT "/f 0 100644 1 0 0 0 0.0 - - -", "t.dump:2: Missing trailing newline"},
            {ROOT "/l 0 @100644 1 0 0 0 0.0 /x - -\n", "t.dump:2: No target at /x for hardlink"},
            {ROOT "/l 0 @100644 1 0 0 0 0.0 /l - -\n", "t.dump:2: Self-referential hardlink /l"},
            {ROOT "/l 0 @100644 1 0 0 0 0.0 //l/ - -\n",
             "t.dump:2: Self-referential hardlink //l/"},
            {"", "t.dump: No files in dump file"},
            /* names in messages are made printable */
            {ROOT "/a\\x1b/b 0 100644 1 0 0 0 0.0 - - -\n",
             "t.dump:2: Parent directory missing for /a\\x1b/b"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                expect_error(cases[i].in, true, cases[i].msg);
        /* a raw NUL byte, reported with its position in the line */
        static const char nul[] = ROOT "/a 0 100644 1 0 0 0 0.0 - - -\n/b\0 0 100644\n";
        expect_error_len(nul, sizeof(nul) - 1, true, -EINVAL,
                         "t.dump:3: Invalid embedded NUL character at position 2");
}

/* Messages that need long inputs: limits of §14.7. */
static void test_error_limits(void **state)
{
        (void)state;
        static char buf[200000], a[70000];
        memset(a, 'a', sizeof(a));

        /* symlink target 4095 is fine, 4096 is not */
        snprintf(buf, 200000, ROOT "/l 4095 120777 1 0 0 0 0.0 %.*s - -\n", 4095, a);
        cfs_tree_free(parse_ok(buf, true));
        snprintf(buf, 200000, ROOT "/l 4096 120777 1 0 0 0 0.0 %.*s - -\n", 4096, a);
        expect_error(buf, true, "t.dump:2: Invalid symlink");
        /* other payloads: same limit, other message */
        snprintf(buf, 200000, ROOT "/f 1 100644 1 0 0 0 0.0 %.*s - -\n", 4095, a);
        cfs_tree_free(parse_ok(buf, true));
        snprintf(buf, 200000, ROOT "/f 1 100644 1 0 0 0 0.0 %.*s - -\n", 4096, a);
        expect_error(buf, true, "t.dump:2: Invalid payload");
        /* a payload NUL-truncated below the limit is fine */
        snprintf(buf, 200000, ROOT "/f 1 100644 1 0 0 0 0.0 ab\\x00%.*s - -\n", 5000, a);
        cfs_tree_free(parse_ok(buf, true));
        /* inline content */
        snprintf(buf, 200000, ROOT "/f 5000 100644 1 0 0 0 0.0 - %.*s -\n", 5000, a);
        cfs_tree_free(parse_ok(buf, true));
        snprintf(buf, 200000, ROOT "/f 5001 100644 1 0 0 0 0.0 - %.*s -\n", 5001, a);
        expect_error(buf, true, "t.dump:2: Inline content size 5001 exceeds maximum 5000");
        /* a name of 255 bytes is fine, 256 is not */
        snprintf(buf, 200000, ROOT "/%.*s 0 100644 1 0 0 0 0.0 - - -\n", 255, a);
        cfs_tree_free(parse_ok(buf, true));
        snprintf(buf, 200000, ROOT "/%.*s 0 100644 1 0 0 0 0.0 - - -\n", 256, a);
        struct cfs_tree *t = NULL;
        struct cfs_error err;
        assert_int_equal(parse_len(buf, strlen(buf), true, &t, &err), -EINVAL);
        assert_non_null(strstr(err.message, "t.dump:2: Can't add child /aaa"));
        assert_non_null(strstr(err.message, "name longer than 255 bytes"));
        /* xattr names: 255 fine, 256 not */
        snprintf(buf, 200000, ROOT "/f 0 100644 1 0 0 0 0.0 - - - %.*s=v\n", 255, a);
        cfs_tree_free(parse_ok(buf, true));
        snprintf(buf, 200000, ROOT "/f 0 100644 1 0 0 0 0.0 - - - %.*s=v\n", 256, a);
        assert_int_equal(parse_len(buf, strlen(buf), true, &t, &err), -EINVAL);
        assert_non_null(strstr(err.message, "t.dump:2: Can't set xattr aaa"));
        /* xattr text: 65535 bytes (escaped) pass the length check, 65536 do not */
        snprintf(buf, 200000, ROOT "/f 0 100644 1 0 0 0 0.0 - - - a=%.*s\n", 65535 - 2, a);
        assert_int_equal(parse_len(buf, strlen(buf), true, &t, &err), -EINVAL);
        assert_non_null(strstr(err.message, "t.dump:2: Can't set xattr a:"));
        snprintf(buf, 200000, ROOT "/f 0 100644 1 0 0 0 0.0 - - - a=%.*s\n", 65535 - 1, a);
        expect_error(buf, true, "t.dump:2: Too many xattrs");
        /* the single trailing space counts */
        snprintf(buf, 200000, ROOT "/f 0 100644 1 0 0 0 0.0 - - - a=%.*s \n", 65535 - 2, a);
        expect_error(buf, true, "t.dump:2: Too many xattrs");
}

/* The four differences of §14.4: rejected strictly, accepted (and interpreted) laxly. */
static void test_strict_vs_lax(void **state)
{
        (void)state;
        const char *rdev = ROOT "/f 0 100644 1 0 0 5 0.0 - - -\n";
        expect_error(rdev, true, "t.dump:2: Non-zero devnum on non-device");
        _cleanup_(cfs_tree_freep) struct cfs_tree *t1 = parse_ok(rdev, false);
        assert_int_equal(node(t1, "/f")->rdev, 5);
        /* devices may have any rdev in both modes */
        cfs_tree_free(parse_ok(ROOT "/c 0 20644 1 0 0 1234 0.0 - - -\n", true));

        const char *size = ROOT "/l 7 120777 1 0 0 0 0.0 target - -\n";
        expect_error(size, true, "t.dump:2: Invalid symlink size 6, must match size 7");
        _cleanup_(cfs_tree_freep) struct cfs_tree *t2 = parse_ok(size, false);
        assert_int_equal(node(t2, "/l")->size, 6); /* replaced by the target length */
        assert_string_equal(node(t2, "/l")->payload, "target");

        const char *content = ROOT "/l 6 120777 1 0 0 0 0.0 target abcdef -\n";
        expect_error(content, true, "t.dump:2: Symlink cannot have content");
        _cleanup_(cfs_tree_freep) struct cfs_tree *t3 = parse_ok(content, false);
        assert_null(node(t3, "/l")->content);
        /* the CONTENT length check still applies to symlinks in lax mode */
        expect_error(ROOT "/l 5 120777 1 0 0 0 0.0 target abcdef -\n", false,
                     "t.dump:2: Invalid content size 6, must match size 5");
        /* empty content on a symlink needs SIZE 0, so only lax mode takes it */
        _cleanup_(cfs_tree_freep) struct cfs_tree *t5 =
            parse_ok(ROOT "/l 0 120777 1 0 0 0 0.0 target  -\n", false);
        assert_int_equal(node(t5, "/l")->size, 6);

        const char *nonl = ROOT "/a 0 100644 1 0 0 0 0.0 - - -";
        expect_error(nonl, true, "t.dump:2: Missing trailing newline");
        expect_error("/ 0 40755 2 0 0 0 0.0 - - -", true, "t.dump:1: Missing trailing newline");
        _cleanup_(cfs_tree_freep) struct cfs_tree *t4 = parse_ok(nonl, false);
        assert_int_equal(cfs_tree_n_nodes(t4), 2);
        /* errors on an unterminated last line are still reported in lax mode */
        expect_error(ROOT "/a 0 100644 1 0 0 0 0.0 - - - x", false, "t.dump:2: Missing = in xattr");
}

static void test_numbers(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = parse_ok(
            ROOT "/a \t+12 \t100644 +3 -1 4294967297 0 -5.7 - - -\n"
                 "/b 99999999999999999999999 1100644 0 99999999999999999999 0 0 1.1 - - -\n"
                 "/c -1 20644 0 0 0 4294967298 9223372036854775808.4294967297 - - -\n"
                 "/d 18446744073709551615 40755 0 0 0 0 -9223372036854775808.0 - - -\n"
                 "/e 0 @\t100644 x x x x x /a\n"
                 "/m 0 100644 1 0 0 0 0.0\n",
            true);
        struct cfs_node *a = node(t, "/a"), *b = node(t, "/b"), *c = node(t, "/c");
        struct cfs_node *d = node(t, "/d"), *e = node(t, "/e");
        assert_int_equal(a->size, 12);
        assert_int_equal(a->mode, S_IFREG | 0644);
        assert_int_equal(a->nlink, 3);
        assert_int_equal(a->uid, UINT32_MAX); /* -1 wraps, then 32 bits */
        assert_int_equal(a->gid, 1);          /* truncated to 32 bits */
        assert_int_equal(a->mtime_sec, -5);
        assert_int_equal(a->mtime_nsec, 7);
        /* missing PAYLOAD, CONTENT, DIGEST are empty strings, not absent */
        struct cfs_node *m = node(t, "/m");
        assert_string_equal(m->payload, "");
        assert_null(m->content);
        assert_true(m->has_digest);
        static const uint8_t zero[32];
        assert_memory_equal(m->digest, zero, 32);
        assert_null(a->payload);
        assert_false(a->has_digest);
        assert_int_equal(b->size, UINT64_MAX); /* saturates */
        assert_int_equal(b->mode, 01100644);   /* 32 bits kept */
        assert_int_equal(b->uid, UINT32_MAX);
        assert_int_equal(b->mtime_sec, 1); /* SEC.NSEC, not a float */
        assert_int_equal(b->mtime_nsec, 1);
        assert_int_equal(c->size, UINT64_MAX);
        assert_int_equal(c->rdev, 2);
        assert_int_equal(c->mtime_sec, INT64_MIN);
        assert_int_equal(c->mtime_nsec, 1);
        assert_int_equal(d->size, UINT64_MAX);
        assert_int_equal(d->mtime_sec, INT64_MIN);
        assert_ptr_equal(e->link, a);

        static const struct {
                const char *in, *msg;
        } bad[] = {
            {ROOT "/a 0x10 100644 1 0 0 0 0.0 - - -\n", "t.dump:2: Invalid integer 0x10"},
            {ROOT "/a 12a 100644 1 0 0 0 0.0 - - -\n", "t.dump:2: Invalid integer 12a"},
            {ROOT "/a  100644 1 0 0 0 0.0 - - -\n", "t.dump:2: Invalid integer "},
            {ROOT "/a +-1 100644 1 0 0 0 0.0 - - -\n", "t.dump:2: Invalid integer +-1"},
            {ROOT "/a \t 100644 1 0 0 0 0.0 - - -\n", "t.dump:2: Invalid integer \\t"},
            {ROOT "/a - 100644 1 0 0 0 0.0 - - -\n", "t.dump:2: Invalid integer -"},
            {ROOT "/a 1 100644 n 0 0 0 0.0 - - -\n", "t.dump:2: Invalid integer n"},
            {ROOT "/a 1 100644 1 u 0 0 0.0 - - -\n", "t.dump:2: Invalid integer u"},
            {ROOT "/a 1 100644 1 0 g 0 0.0 - - -\n", "t.dump:2: Invalid integer g"},
            {ROOT "/a 1 100644 1 0 0 r 0.0 - - -\n", "t.dump:2: Invalid integer r"},
            {ROOT "/a 1 100644 1 0 0 0 5 - - -\n", "t.dump:2: Invalid integer "},
            {ROOT "/a 1 100644 1 0 0 0 1.2.3 - - -\n", "t.dump:2: Invalid integer 2.3"},
            {ROOT "/a 1 100644 1 0 0 0 x.0 - - -\n", "t.dump:2: Invalid integer x"},
            {ROOT "/a 1 100644 1 0 0 0 1.x - - -\n", "t.dump:2: Invalid integer x"},
            {ROOT "/a 1 100644 1 0 0 0 1. - - -\n", "t.dump:2: Invalid integer "},
            {ROOT "/a 1 100644 1 0 0 0 1.1e3 - - -\n", "t.dump:2: Invalid integer 1e3"},
            {ROOT "/a 1 100644\n", "t.dump:2: Invalid integer "},
            /* order: SIZE before NLINK before ... before MTIME */
            {ROOT "/a s 100644 n u g r m - - -\n", "t.dump:2: Invalid integer s"},
            {ROOT "/a 0 100644 n u g r m - - -\n", "t.dump:2: Invalid integer n"},
            {ROOT "/a 0 100644 1 0 g r m - - -\n", "t.dump:2: Invalid integer g"},
            /* MODE is parsed before SIZE, and tree insertion before numbers */
            {ROOT "/a s m n u g r m - - -\n", "t.dump:2: Invalid integer m"},
            {ROOT "/x/a s 100644 n u g r m - - -\n", "t.dump:2: Parent directory missing for /x/a"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                expect_error(bad[i].in, true, bad[i].msg);

        /* quirk: GID and RDEV errors only count when UID is 0 */
        _cleanup_(cfs_tree_freep) struct cfs_tree *q =
            parse_ok(ROOT "/a 0 100644 1 7 bad worse 0.0 - - -\n", true);
        assert_int_equal(node(q, "/a")->uid, 7);
        assert_int_equal(node(q, "/a")->gid, 0);
        assert_int_equal(node(q, "/a")->rdev, 0);
}

static void test_fields(void **state)
{
        (void)state;
        static const char digest[] =
            "0123456789abcdefABCDEF0123456789abcdef0123456789abcdef0123456789";
        char text[2048];
        snprintf(text, sizeof(text),
                 ROOT "a 3 100644 1 0 0 0 0.0 \\x2d \\x2d\\x00\\n %s\n"
                      "//d 0 40755 2 0 0 0 0.0 - - abcd\n"
                      "/d//x 0 100644 1 0 0 0 0.0 p\\x00q  %sff\n"
                      "///d/y 0 100644 1 0 0 0 0.0 - - zz\n"
                      "/d/z 0 100644 1 0 0 0 0.0 - - -\r\n"
                      "/d/w 0 100644 1 0 0 0 0.0 - - - "
                      "user.a\\x00b=v\\x00w user.x=1 user.y= user.x=2 \n",
                 digest, digest);
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = parse_ok(text, true);
        struct cfs_node *a = node(t, "/a");
        assert_string_equal(a->payload, "-");
        assert_memory_equal(a->content, "-\0\n", 3);
        assert_true(a->has_digest);
        static const uint8_t raw[32] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                        0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89,
                                        0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89,
                                        0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89};
        assert_memory_equal(a->digest, raw, 32);
        /* malformed digests: leading pairs, then zeros; never uninitialized */
        struct cfs_node *d = node(t, "/d");
        assert_true(d->has_digest);
        static const uint8_t abcd[32] = {0xab, 0xcd};
        assert_memory_equal(d->digest, abcd, 32);
        struct cfs_node *x = node(t, "/d/x");
        assert_string_equal(x->payload, "p");
        assert_null(x->content);                 /* empty CONTENT with SIZE 0 means none */
        assert_memory_equal(x->digest, raw, 32); /* extra digits ignored */
        static const uint8_t zero[32];
        assert_true(node(t, "/d/y")->has_digest);
        assert_memory_equal(node(t, "/d/y")->digest, zero, 32);
        /* no CR handling: "-\r" is not "-" */
        assert_true(node(t, "/d/z")->has_digest);
        assert_memory_equal(node(t, "/d/z")->digest, zero, 32);
        assert_null(node(t, "/d/z")->payload);
        /* xattrs: names cut at NUL, values binary, the last duplicate wins */
        struct cfs_node *w = node(t, "/d/w");
        assert_int_equal(w->n_xattrs, 3);
        const struct cfs_xattr *xa = cfs_node_get_xattr(t, w, "user.a", 6);
        assert_non_null(xa);
        assert_int_equal(xa->value_len, 3);
        assert_memory_equal(xa->value, "v\0w", 3);
        assert_memory_equal(cfs_node_get_xattr(t, w, "user.x", 6)->value, "2", 1);
        assert_int_equal(cfs_node_get_xattr(t, w, "user.y", 6)->value_len, 0);
        /* hard links take nothing but mode and target from their line */
        assert_int_equal(cfs_tree_n_nodes(t), 7);
}

static void test_hardlinks(void **state)
{
        (void)state;
        /* forward reference, chain (collapsed), link to a directory, odd slashes */
        _cleanup_(cfs_tree_freep) struct cfs_tree *t =
            parse_ok(ROOT "/a 0 @100644 0 0 0 0 0.0 /b - - ignored\n"
                          "/b 0 @120777 0 0 0 0 0.0 //d//f - -\n"
                          "/c 0 @100644 0 0 0 0 0.0 /d - -\n"
                          "/d 0 40755 2 0 0 0 0.0 - - -\n"
                          "/d/f 5 100644 3 0 0 0 0.0 - - -\n"
                          "/r 0 @100644 0 0 0 0 0.0 \\x00 - -\n",
                     true);
        struct cfs_node *f = node(t, "/d/f");
        struct cfs_node *a = node(t, "/a"), *b = node(t, "/b"), *c = node(t, "/c");
        assert_ptr_equal(a->link, f);
        assert_ptr_equal(b->link, f);
        assert_ptr_equal(c->link, node(t, "/d"));
        assert_ptr_equal(node(t, "/r")->link, cfs_tree_root(t)); /* "" is the root */
        assert_int_equal(a->mode, S_IFREG | 0644);               /* the link keeps its own mode */
        assert_int_equal(b->mode, S_IFLNK | 0777);
        assert_string_equal(b->payload, "//d//f");
        assert_int_equal(a->n_xattrs, 0);
        assert_int_equal(a->size, 0);
        assert_int_equal(f->nlink, 3);
        assert_ptr_equal(cfs_node_resolve(a), f);

        /* errors name the line of the link; reverse file order decides */
        expect_error(ROOT "/a 0 @100644 0 0 0 0 0.0 /x - -\n/b 0 @100644 0 0 0 0 0.0 /y - -\n",
                     true, "t.dump:3: No target at /y for hardlink");
        expect_error(ROOT "/a 0 @100644 0 0 0 0 0.0 /a - -\n/b 0 @100644 0 0 0 0 0.0 /y - -\n",
                     true, "t.dump:3: No target at /y for hardlink");
        expect_error(ROOT "/a 0 @100644 0 0 0 0 0.0 /x - -\n/b 0 @100644 0 0 0 0 0.0 /b - -\n",
                     true, "t.dump:3: Self-referential hardlink /b");
        /* a link is no directory, even if its target is one */
        expect_error(ROOT "/d 0 40755 2 0 0 0 0.0 - - -\n/l 0 @100644 0 0 0 0 0.0 /d - -\n"
                          "/l/x 0 100644 1 0 0 0 0.0 - - -\n",
                     true, "t.dump:4: Parent must be a directory for /l/x");
}

/* Cycles: -ELOOP, reported after reading (upstream: when writing the image). */
static void test_hardlink_cycles(void **state)
{
        (void)state;
        static const char *const cycles[] = {
            ROOT "/a 0 @100644 0 0 0 0 0.0 /b - -\n/b 0 @100644 0 0 0 0 0.0 /a - -\n",
            ROOT "/a 0 @100644 0 0 0 0 0.0 /b - -\n/b 0 @100644 0 0 0 0 0.0 /c - -\n"
                 "/c 0 @100644 0 0 0 0 0.0 /a - -\n",
            ROOT "/x 0 @100644 0 0 0 0 0.0 /a - -\n/a 0 @100644 0 0 0 0 0.0 /b - -\n"
                 "/b 0 @100644 0 0 0 0 0.0 /a - -\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(cycles); i++) {
                struct cfs_tree *t = NULL;
                struct cfs_error err;
                assert_int_equal(parse_len(cycles[i], strlen(cycles[i]), true, &t, &err), -ELOOP);
                assert_null(t);
                assert_true(strncmp(err.message, "t.dump:", 7) == 0);
                assert_non_null(strstr(err.message, ": Too many levels of symbolic links"));
                assert_non_null(strstr(err.message, "cycle"));
        }
}

static char *xattr_line(const char *extra, size_t value_len, const char *name2, size_t value2_len)
{
        char *s = xmalloc(100000);
        int n = snprintf(s, 100000, ROOT "/f 0 100644 1 0 0 0 0.0 - - - %suser.a=", extra);
        memset(s + n, 'v', value_len);
        n += (int)value_len;
        if (name2) {
                n += sprintf(s + n, " %s=", name2);
                memset(s + n, 'w', value2_len);
                n += (int)value2_len;
        }
        strcpy(s + n, "\n");
        return s;
}

/* §14.7: 12 + sum(7 + name + value) <= 32767 per line; replacements subtract. */
static void test_xattr_budget(void **state)
{
        (void)state;
        struct cfs_tree *t = NULL;
        struct cfs_error err;
        const size_t max = 32767 - 12 - 7 - 6; /* one xattr "user.a" */

        _cleanup_free_ char *ok = xattr_line("", max, NULL, 0);
        cfs_tree_free(parse_ok(ok, true));
        _cleanup_free_ char *over = xattr_line("", max + 1, NULL, 0);
        assert_int_equal(parse_len(over, strlen(over), true, &t, &err), -EINVAL);
        assert_string_equal(err.message,
                            "t.dump:2: Can't set xattr user.a: the xattrs of a node exceed 32767 "
                            "bytes");
        /* two xattrs share the budget */
        _cleanup_free_ char *two = xattr_line("b= ", max - 8, NULL, 0);
        cfs_tree_free(parse_ok(two, true));
        _cleanup_free_ char *two_over = xattr_line("b= ", max - 7, NULL, 0);
        assert_int_equal(parse_len(two_over, strlen(two_over), true, &t, &err), -EINVAL);
        /* replacing the only xattr resets the count */
        _cleanup_free_ char *repl = xattr_line("", max, "user.a", max);
        _cleanup_(cfs_tree_freep) struct cfs_tree *r = parse_ok(repl, true);
        const struct cfs_xattr *x = cfs_node_get_xattr(r, node(r, "/f"), "user.a", 6);
        assert_int_equal(x->value_len, max);
        assert_int_equal(x->value[0], 'w');
        /* replacing one of several subtracts its old cost */
        _cleanup_free_ char *repl2 = xattr_line("b= ", max - 8, "user.a", max - 8);
        cfs_tree_free(parse_ok(repl2, true));
        _cleanup_free_ char *repl3 = xattr_line("b= ", max - 8, "user.a", max - 7);
        assert_int_equal(parse_len(repl3, strlen(repl3), true, &t, &err), -EINVAL);
        /* the budget is per line */
        _cleanup_free_ char *a = xattr_line("", max, NULL, 0);
        char *two_lines = xmalloc(2 * strlen(a) + 1);
        strcpy(two_lines, a);
        strcat(two_lines, strstr(a, "\n/f") + 1);
        two_lines[strlen(a) + 1] = 'g'; /* "/f" -> "/g" in the second copy */
        cfs_tree_free(parse_ok(two_lines, true));
        free(two_lines);
        assert_null(t);
}

/* Feed a pipe in small pieces from a thread, so reads return short. */
struct feeder {
        int fd;
        const char *data;
        size_t len, piece;
};

static void *feed(void *arg)
{
        struct feeder *f = arg;
        for (size_t off = 0; off < f->len;) {
                size_t n = CFS_MIN(f->piece, f->len - off);
                ssize_t w = write(f->fd, f->data + off, n);
                if (w <= 0)
                        break;
                off += (size_t)w;
                if (f->piece < 4096)
                        f->piece = f->piece * 3 + 1;
        }
        close(f->fd);
        return NULL;
}

static int parse_pipe(const char *data, size_t len, bool strict, struct cfs_tree **t,
                      struct cfs_error *err)
{
        int fds[2];
        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        struct feeder f = {fds[1], data, len, 1};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, feed, &f), 0);
        struct cfs_dump_options o = {.strict = strict};
        *err = (struct cfs_error){};
        int r = cfs_dump_parse_fd(fds[0], "pipe", &o, t, err);
        close(fds[0]); /* unblocks the feeder if the parser stopped early */
        pthread_join(th, NULL);
        return r;
}

static char *write_dump(struct cfs_tree *t, size_t *len)
{
        char *text = NULL;
        FILE *f = open_memstream(&text, len);
        assert_non_null(f);
        assert_int_equal(cfs_dump_write(t, f), 0);
        assert_int_equal(fclose(f), 0);
        return text;
}

/* A dump of @n lines with long lines mixed in (crossing every chunk boundary). */
static char *make_dump(size_t n, size_t *len)
{
        char *text = NULL;
        FILE *f = open_memstream(&text, len);
        assert_non_null(f);
        fputs(ROOT, f);
        for (size_t i = 0; i < n; i++) {
                if (i % 1000 == 0)
                        fprintf(f, "/d%zu 4096 40755 2 0 0 0 %zu.0 - - -\n", i / 1000, i);
                fprintf(f, "/d%zu/f%zu %zu 100644 1 %zu 0 0 0.%zu - - - user.n=%zu", i / 1000, i, i,
                        i % 7, i, i);
                if (i % 5000 == 17) {
                        fputs(" user.long=", f);
                        for (int k = 0; k < 16000; k++)
                                fputs("\\x01", f);
                }
                fputc('\n', f);
        }
        assert_int_equal(fclose(f), 0);
        return text;
}

static void test_streaming(void **state)
{
        (void)state;
        size_t len, out1_len, out2_len, out3_len;
        _cleanup_free_ char *text = make_dump(60000, &len);
        assert_true(len > 3 * 1024 * 1024);
        struct cfs_error err;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t1 = NULL, *t2 = NULL, *t3 = NULL;
        assert_int_equal(parse_len(text, len, true, &t1, &err), 0);
        assert_int_equal(parse_pipe(text, len, true, &t2, &err), 0);
        int fd = memfd_create("dump", MFD_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(cfs_write_all(fd, text, len), 0);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        struct cfs_dump_options o = {.strict = true};
        assert_int_equal(cfs_dump_parse_fd(fd, "memfd", &o, &t3, &err), 0);
        close(fd);
        assert_int_equal(cfs_tree_n_nodes(t1), 1 + 60 + 60000);
        _cleanup_free_ char *out1 = write_dump(t1, &out1_len);
        _cleanup_free_ char *out2 = write_dump(t2, &out2_len);
        _cleanup_free_ char *out3 = write_dump(t3, &out3_len);
        assert_int_equal(out1_len, out2_len);
        assert_memory_equal(out1, out2, out1_len);
        assert_int_equal(out1_len, out3_len);
        assert_memory_equal(out1, out3, out1_len);

        /* errors through a pipe: line numbers survive chunking; no trailing newline */
        struct cfs_tree *t = NULL;
        text[len - 1] = 'x';
        assert_int_equal(parse_pipe(text, len, true, &t, &err), -EINVAL);
        char want[64];
        snprintf(want, sizeof(want), "pipe:%zu: Missing trailing newline", (size_t)60000 + 61);
        assert_string_equal(err.message, want);
        assert_int_equal(parse_pipe(text, len, false, &t, &err), 0);
        const struct cfs_xattr *x = cfs_node_get_xattr(t, node(t, "/d59/f59999"), "user.n", 6);
        assert_int_equal(x->value_len, 6);
        assert_memory_equal(x->value, "59999x", 6);
        cfs_tree_free(t);
        assert_int_equal(parse_pipe(text, len - 1, false, &t, &err), 0);
        cfs_tree_free(t);
        t = NULL;
        assert_int_equal(parse_pipe("", 0, false, &t, &err), -EINVAL);
        assert_string_equal(err.message, "pipe: No files in dump file");

        /* read errors */
        assert_int_equal(cfs_dump_parse_fd(-1, "bad", &o, &t, &err), -EBADF);
        assert_null(t);
}

/* A line longer than the read chunk, and one longer than the limit. */
static void test_long_lines(void **state)
{
        (void)state;
        const size_t big = 3u << 20;
        char *text = xmalloc(big + 200);
        int n = sprintf(text, ROOT "/l %zu 120777 1 0 0 0 0.0 t ", big);
        memset(text + n, 'c', big);
        strcpy(text + n + big, " -\n/z 0 100644 1 0 0 0 0.0 - - -\n");
        size_t len = strlen(text);
        struct cfs_error err;
        struct cfs_tree *t = NULL;
        /* symlink CONTENT is checked against SIZE, then ignored (lax) */
        assert_int_equal(parse_pipe(text, len, false, &t, &err), 0);
        assert_int_equal(node(t, "/l")->size, 1);
        node(t, "/z");
        cfs_tree_free(t);
        t = NULL;
        assert_int_equal(parse_pipe(text, len, true, &t, &err), -EINVAL);
        assert_string_equal(err.message, "pipe:2: Invalid symlink size 1, must match size 3145728");
        free(text);

        const size_t huge = CFS_DUMP_LINE_MAX + 10;
        text = xmalloc(huge + 100);
        n = sprintf(text, ROOT "/f ");
        memset(text + n, '1', huge);
        strcpy(text + n + huge, "\n");
        len = strlen(text);
        assert_int_equal(parse_pipe(text, len, true, &t, &err), -EINVAL);
        assert_non_null(strstr(err.message, "pipe:2: Line too long"));
        assert_int_equal(parse_len(text, len, true, &t, &err), -EINVAL);
        assert_non_null(strstr(err.message, "t.dump:2: Line too long"));
        /* also without a newline at all */
        text[len - 1] = 0;
        assert_int_equal(parse_pipe(text, len - 1, false, &t, &err), -EINVAL);
        assert_non_null(strstr(err.message, "pipe:2: Line too long"));
        free(text);
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int parse_file(const char *path, bool strict, struct cfs_tree **t, struct cfs_error *err)
{
        struct cfs_dump_options o = {.strict = strict};
        *err = (struct cfs_error){};
        if (!ends_with(path, ".gz")) {
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                assert_true(fd >= 0);
                int r = cfs_dump_parse_fd(fd, path, &o, t, err);
                close(fd);
                return r;
        }
        char cmd[4200];
        snprintf(cmd, sizeof(cmd), "gzip -dc < '%s'", path);
        FILE *p = popen(cmd, "re");
        assert_non_null(p);
        int r = cfs_dump_parse_fd(fileno(p), path, &o, t, err);
        assert_int_equal(pclose(p), 0);
        return r;
}

static bool needs_lax(const char *name)
{
        return strcmp(name, "no-newline.dump") == 0 || strcmp(name, "longlink.dump") == 0 ||
               strcmp(name, "honggfuzz-longlink-unterminated.dump") == 0;
}

/* Every upstream vector parses (strictly, but for three); every should-fail fails. */
static void test_golden(void **state)
{
        (void)state;
        DIR *d = opendir(UPSTREAM);
        assert_non_null(d);
        unsigned good = 0, bad = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                const char *name = de->d_name;
                if (!ends_with(name, ".dump") && !ends_with(name, ".dump.gz"))
                        continue;
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s", UPSTREAM, name);
                struct cfs_tree *t = NULL;
                struct cfs_error err;
                int r = parse_file(path, !needs_lax(name), &t, &err);
                if (strncmp(name, "should-fail-", 12) != 0) {
                        if (r < 0)
                                fail_msg("%s: %s", name, cfs_error_text(&err, r));
                        /* the three lax files really need lax mode */
                        if (needs_lax(name)) {
                                cfs_tree_free(t);
                                t = NULL;
                                assert_int_equal(parse_file(path, true, &t, &err), -EINVAL);
                        }
                        good++;
                } else if (strcmp(name, "should-fail-too-big.dump") == 0) {
                        /* 2^53 < SIZE: refused by the image writer (EFBIG), not the parser */
                        assert_int_equal(r, 0);
                        assert_true(node(t, "/bigfile")->size > CFS_FILE_SIZE_MAX);
                        bad++;
                } else {
                        if (r != -EINVAL)
                                fail_msg("%s: parsed (r=%d)", name, r);
                        assert_null(t);
                        assert_non_null(strstr(err.message, name));
                        bad++;
                }
                cfs_tree_free(t);
        }
        closedir(d);
        assert_int_equal(good, 14);
        assert_int_equal(bad, 14);
}

static void test_golden_counts(void **state)
{
        (void)state;
        struct cfs_tree *t = NULL;
        struct cfs_error err;
        assert_int_equal(parse_file(UPSTREAM "/config-with-hard-link.dump.gz", true, &t, &err), 0);
        size_t links = 0, n = 0;
        /* count hard-link nodes: every one resolved to a non-link node */
        struct cfs_node *stack[4096];
        size_t depth = 0;
        stack[depth++] = cfs_tree_root(t);
        while (depth > 0) {
                struct cfs_node *dir = stack[--depth];
                n++;
                for (uint32_t i = 0; i < dir->n_children; i++) {
                        struct cfs_node *c = dir->children[i];
                        if (c->link) {
                                links++;
                                assert_null(c->link->link);
                                n++;
                        } else if (S_ISDIR(c->mode)) {
                                assert_true(depth < ELEMENTSOF(stack));
                                stack[depth++] = c;
                        } else {
                                n++;
                        }
                }
        }
        assert_int_equal(n, cfs_tree_n_nodes(t));
        assert_true(links > 0);
        cfs_tree_free(t);
}

/* tests/shouldfail/dump/NAME.dump must fail (strict) with NAME.dump.err in the message. */
static void test_shouldfail_corpus(void **state)
{
        (void)state;
        const char *dir = TEST_SRCDIR "/tests/shouldfail/dump";
        DIR *d = opendir(dir);
        assert_non_null(d);
        unsigned n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!ends_with(de->d_name, ".dump"))
                        continue;
                char path[4096], errpath[4200];
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                snprintf(errpath, sizeof(errpath), "%s.err", path);
                _cleanup_free_ char *text = NULL, *want = NULL;
                size_t len, want_len;
                assert_int_equal(cfs_read_file(path, 64u << 20, &text, &len), 0);
                if (cfs_read_file(errpath, 4096, &want, &want_len) < 0)
                        fail_msg("%s: missing .err file", de->d_name);
                while (want_len > 0 && want[want_len - 1] == '\n')
                        want[--want_len] = 0;
                assert_true(want_len > 0);
                struct cfs_dump_options o = {.strict = true};
                struct cfs_error err = {};
                struct cfs_tree *t = NULL;
                int r = cfs_dump_parse_buffer(text, len, de->d_name, &o, &t, &err);
                if (r >= 0)
                        fail_msg("%s: parsed", de->d_name);
                assert_null(t);
                if (!strstr(err.message, want))
                        fail_msg("%s: message '%s' lacks '%s'", de->d_name, err.message, want);
                n++;
        }
        closedir(d);
        assert_true(n >= 25);
}

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Not a benchmark, a tripwire: 200k lines must parse in well under a few seconds. */
static void test_speed(void **state)
{
        (void)state;
        size_t len;
        _cleanup_free_ char *text = make_dump(200000, &len);
        struct cfs_error err;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = NULL;
        double start = now();
        assert_int_equal(parse_len(text, len, true, &t, &err), 0);
        double el = now() - start;
        printf("# parsed %zu bytes, %zu nodes in %.3f s\n", len, cfs_tree_n_nodes(t), el);
        assert_true(el < 20.0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_error_messages),
            cmocka_unit_test(test_error_limits),
            cmocka_unit_test(test_strict_vs_lax),
            cmocka_unit_test(test_numbers),
            cmocka_unit_test(test_fields),
            cmocka_unit_test(test_hardlinks),
            cmocka_unit_test(test_hardlink_cycles),
            cmocka_unit_test(test_xattr_budget),
            cmocka_unit_test(test_streaming),
            cmocka_unit_test(test_long_lines),
            cmocka_unit_test(test_golden),
            cmocka_unit_test(test_golden_counts),
            cmocka_unit_test(test_shouldfail_corpus),
            cmocka_unit_test(test_speed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

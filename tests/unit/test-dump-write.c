/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-dump-write.c - unit tests of the dump writer (lib/dump-write.c,
 * COMPOSEFS-FORMAT.md §15): exact output for every field and escape, hard
 * links, and the round trip parse -> write -> parse -> write on every golden
 * dump. Host.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dump.h"

#define ROOT "/ 4096 40755 2 0 0 0 0.0 - - -\n"

/* malloc() that never returns NULL (so the compiler knows it, too). */
static void *xmalloc(size_t n)
{
        void *p = malloc(n);
        if (!p)
                abort();
        return p;
}
static struct cfs_tree *parse(const char *text, size_t len, bool strict)
{
        struct cfs_dump_options o = {.strict = strict};
        struct cfs_error err = {};
        struct cfs_tree *t = NULL;
        int r = cfs_dump_parse_buffer(text, len, "t.dump", &o, &t, &err);
        if (r < 0)
                fail_msg("parse failed: %s", cfs_error_text(&err, r));
        return t;
}

static char *write_dump(struct cfs_tree *t, size_t *len)
{
        char *text = NULL;
        FILE *f = open_memstream(&text, len);
        assert_non_null(f);
        int r = cfs_dump_write(t, f);
        if (r < 0)
                fail_msg("write failed: %s", strerror(-r));
        assert_int_equal(fclose(f), 0);
        return text;
}

/* Parse @in, write it, and expect exactly @out. */
static void expect_output(const char *in, bool strict, const char *out)
{
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = parse(in, strlen(in), strict);
        size_t len;
        _cleanup_free_ char *text = write_dump(t, &len);
        if (len != strlen(out) || memcmp(text, out, len) != 0)
                fail_msg("input:\n%s\nexpected:\n%s\ngot:\n%s", in, out, text);
}

static void test_fields(void **state)
{
        (void)state;
        static const char digest[] =
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        char in[2048], out[2048];
        snprintf(in, sizeof(in),
                 "/ 4096 40755 3 1 2 0 -5.999999999 - - -\n"
                 "/f 3 100644 1 0 0 0 7.4294967295 \\x2d \\x2d\\x00\\n %s "
                 "user.a=- user.b\\x3dc=a\\x20b\\x3d trusted.z=\n"
                 "/e 0 100644 1 0 0 0 0.0  - -\n"
                 "/d 0 40755 2 0 0 0 0.0 - - -\n"
                 "/d/x\\x20y\\n 10 20644 1 0 0 1025 0.0 - - -\n"
                 "/d/s 3 120777 1 0 0 0 0.0 a\\x20b - -\n"
                 "/d/g 0 100644 1 0 0 0 0.0 - - 0A1b\n"
                 "/x 9007199254740993 101755 4294967295 4294967295 4294967295 0 "
                 "18446744073709551615.0 /ab/cdef - -\n",
                 digest);
        snprintf(out, sizeof(out),
                 "/ 4096 40755 3 1 2 0 -5.999999999 - - -\n"
                 "/d 0 40755 2 0 0 0 0.0 - - -\n"
                 "/d/g 0 100644 1 0 0 0 0.0 - - "
                 "0a1b000000000000000000000000000000000000000000000000000000000000\n"
                 "/d/s 3 120777 1 0 0 0 0.0 a\\x20b - -\n"
                 "/d/x\\x20y\\n 10 20644 1 0 0 1025 0.0 - - -\n"
                 "/e 0 100644 1 0 0 0 0.0  - -\n"
                 "/f 3 100644 1 0 0 0 7.4294967295 \\x2d -\\x00\\n %s "
                 "user.a=- user.b\\x3dc=a\\x20b\\x3d trusted.z=\n"
                 "/x 9007199254740993 101755 4294967295 4294967295 4294967295 0 -1.0 /ab/cdef - "
                 "-\n",
                 digest);
        expect_output(in, true, out);
        /* lax-only values are written as stored */
        expect_output(ROOT "/f 0 100644 1 0 0 77 0.0 - - -\n/l 99 120777 1 0 0 0 0.0 tgt - -\n",
                      false,
                      ROOT "/f 0 100644 1 0 0 77 0.0 - - -\n/l 3 120777 1 0 0 0 0.0 tgt - -\n");
}

static void test_hardlinks(void **state)
{
        (void)state;
        /* the target's values, '@', the target's path; chains print the final target */
        expect_output(ROOT "/a 0 @100644 0 0 0 0 0.0 /z - -\n"
                           "/b 0 @120777 0 0 0 0 0.0 //a - -\n"
                           "/d 0 40755 2 0 0 0 0.0 - - -\n"
                           "/d/l 0 @100644 9 9 9 9 9.9 /d - - user.ignored=1\n"
                           "/r 0 @60644 0 0 0 0 0.0 / - -\n"
                           "/z 3 100755 4 5 6 0 7.8 - abc - user.x=y\n",
                      true,
                      ROOT "/a 3 @100755 4 5 6 0 7.8 /z abc - user.x=y\n"
                           "/b 3 @100755 4 5 6 0 7.8 /z abc - user.x=y\n"
                           "/d 0 40755 2 0 0 0 0.0 - - -\n"
                           "/d/l 0 @100644 2 0 0 0 0.0 /d - -\n"
                           "/r 4096 @60644 2 0 0 0 0.0 / - -\n"
                           "/z 3 100755 4 5 6 0 7.8 - abc - user.x=y\n");
}

/* A tree built like the image loader builds one: link nodes with the target's mode. */
static void test_api_tree(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = NULL;
        struct cfs_node *root, *f, *l, *sub, *l2;
        assert_int_equal(cfs_tree_new(&t), 0);
        assert_int_equal(cfs_tree_add_root(t, &root), 0);
        assert_int_equal(cfs_tree_add_child(t, root, "sub", 3, &sub), 0);
        sub->mode = S_IFDIR | 0700;
        assert_int_equal(cfs_tree_add_child(t, sub, "file", 4, &f), 0);
        f->mode = S_IFREG | 0600;
        f->size = 1 << 20;
        f->has_digest = true;
        memset(f->digest, 0xee, sizeof(f->digest));
        f->payload = "ee/eeee";
        assert_int_equal(cfs_node_set_xattr(t, f, "security.selinux", 16, "x_t\0", 4), 0);
        assert_int_equal(cfs_tree_add_child(t, root, "link", 4, &l), 0);
        l->mode = f->mode;
        l->link = f;
        assert_int_equal(cfs_tree_add_child(t, root, "dirlink", 7, &l2), 0);
        l2->mode = sub->mode; /* a hard link to a directory, as an image can hold */
        l2->link = sub;
        cfs_tree_sort(t);
        size_t len;
        _cleanup_free_ char *text = write_dump(t, &len);
        static const char want[] =
            "/ 0 40755 0 0 0 0 0.0 - - -\n"
            "/dirlink 0 @40700 0 0 0 0 0.0 /sub - -\n"
            "/link 1048576 @100600 0 0 0 0 0.0 /sub/file - "
            "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee "
            "security.selinux=x_t\\x00\n"
            "/sub 0 40700 0 0 0 0 0.0 - - -\n"
            "/sub/file 1048576 100600 0 0 0 0 0.0 ee/eeee - "
            "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee "
            "security.selinux=x_t\\x00\n";
        assert_int_equal(len, strlen(want));
        assert_memory_equal(text, want, len);

        /* a cycle cannot be written */
        struct cfs_node *c1, *c2;
        assert_int_equal(cfs_tree_add_child(t, root, "c1", 2, &c1), 0);
        assert_int_equal(cfs_tree_add_child(t, root, "c2", 2, &c2), 0);
        c1->mode = c2->mode = S_IFREG | 0644;
        c1->link = c2;
        c2->link = c1;
        cfs_tree_sort(t);
        char *out = NULL;
        size_t out_len;
        FILE *mf = open_memstream(&out, &out_len);
        assert_int_equal(cfs_dump_write(t, mf), -ELOOP);
        fclose(mf);
        free(out);
}

static void test_errors(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *empty = NULL;
        assert_int_equal(cfs_tree_new(&empty), 0);
        FILE *f = fopen("/dev/null", "we");
        assert_non_null(f);
        assert_int_equal(cfs_dump_write(empty, f), -EINVAL);
        fclose(f);

        /* a full disk is reported, not ignored */
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = parse(ROOT, strlen(ROOT), true);
        f = fopen("/dev/full", "we");
        if (!f)
                skip();
        setvbuf(f, NULL, _IONBF, 0);
        int r = cfs_dump_write(t, f);
        assert_true(r == -ENOSPC || r == -EIO);
        fclose(f);
}

/* Structural identity of two trees (hard links compared by their target's path). */
static void compare_nodes(struct cfs_tree *ta, const struct cfs_node *a, struct cfs_tree *tb,
                          const struct cfs_node *b)
{
        _cleanup_free_ char *path = cfs_node_path(a);
        assert_int_equal(a->name_len, b->name_len);
        assert_memory_equal(a->name, b->name, a->name_len);
        if (a->link || b->link) {
                assert_non_null(a->link);
                assert_non_null(b->link);
                _cleanup_free_ char *pa = cfs_node_path(a->link), *pb = cfs_node_path(b->link);
                assert_string_equal(pa, pb);
                return;
        }
        if (a->mode != b->mode || a->size != b->size || a->nlink != b->nlink || a->uid != b->uid ||
            a->gid != b->gid || a->rdev != b->rdev || a->mtime_sec != b->mtime_sec ||
            a->mtime_nsec != b->mtime_nsec)
                fail_msg("%s: stat fields differ", path);
        assert_int_equal(!a->payload, !b->payload);
        if (a->payload)
                assert_string_equal(a->payload, b->payload);
        assert_int_equal(!a->content, !b->content);
        if (a->content)
                assert_memory_equal(a->content, b->content, a->size);
        assert_int_equal(a->has_digest, b->has_digest);
        assert_memory_equal(a->digest, b->digest, CFS_DIGEST_SIZE);
        assert_int_equal(a->n_xattrs, b->n_xattrs);
        for (uint32_t i = 0; i < a->n_xattrs; i++) {
                const struct cfs_xattr *xa = cfs_tree_xattr(ta, a->xattrs[i]);
                const struct cfs_xattr *xb = cfs_tree_xattr(tb, b->xattrs[i]);
                assert_string_equal(xa->name, xb->name);
                assert_int_equal(xa->value_len, xb->value_len);
                assert_memory_equal(xa->value, xb->value, xa->value_len);
        }
        if (a->n_children != b->n_children)
                fail_msg("%s: %u vs %u children", path, a->n_children, b->n_children);
}

static void compare_trees(struct cfs_tree *ta, struct cfs_tree *tb)
{
        assert_int_equal(cfs_tree_n_nodes(ta), cfs_tree_n_nodes(tb));
        size_t alloc = 1024, n = 0;
        const struct cfs_node **stack = xmalloc(alloc * 2 * sizeof(*stack));
        stack[n++] = cfs_tree_root(ta);
        stack[n++] = cfs_tree_root(tb);
        while (n > 0) {
                const struct cfs_node *b = stack[--n], *a = stack[--n];
                compare_nodes(ta, a, tb, b);
                if (a->link)
                        continue;
                for (uint32_t i = 0; i < a->n_children; i++) {
                        if (n + 2 > 2 * alloc) {
                                alloc *= 2;
                                stack = realloc(stack, alloc * 2 * sizeof(*stack));
                                assert_non_null(stack);
                        }
                        stack[n++] = a->children[i];
                        stack[n++] = b->children[i];
                }
        }
        free(stack);
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Whole file (gunzipped if .gz) into memory. */
static char *slurp(const char *path, size_t *len)
{
        char cmd[4200];
        snprintf(cmd, sizeof(cmd), ends_with(path, ".gz") ? "gzip -dc < '%s'" : "cat '%s'", path);
        FILE *p = popen(cmd, "re");
        assert_non_null(p);
        char *text = NULL;
        FILE *m = open_memstream(&text, len);
        assert_non_null(m);
        char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
                assert_int_equal(fwrite(buf, 1, n, m), n);
        assert_int_equal(pclose(p), 0);
        assert_int_equal(fclose(m), 0);
        return text;
}

static bool needs_lax(const char *name)
{
        return strcmp(name, "no-newline.dump") == 0 || strcmp(name, "longlink.dump") == 0 ||
               strcmp(name, "honggfuzz-longlink-unterminated.dump") == 0;
}

/*
 * For every golden dump X: parse(write(parse(X))) == parse(X) and
 * write(parse(write(parse(X)))) == write(parse(X)); the upstream dumps were
 * written by composefs-info dump (@canonical), so write(parse(X)) == X for all
 * but the three hand-made lax ones. The synthetic ones are unsorted.
 */
static unsigned round_trip_dir(const char *dir, bool canonical)
{
        DIR *d = opendir(dir);
        assert_non_null(d);
        unsigned n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                const char *name = de->d_name;
                if ((!ends_with(name, ".dump") && !ends_with(name, ".dump.gz")) ||
                    strncmp(name, "should-fail-", 12) == 0)
                        continue;
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s", dir, name);
                size_t len, len1, len2;
                _cleanup_free_ char *x = slurp(path, &len);
                bool strict = !needs_lax(name);
                _cleanup_(cfs_tree_freep) struct cfs_tree *t1 = parse(x, len, strict);
                _cleanup_free_ char *w1 = write_dump(t1, &len1);
                _cleanup_(cfs_tree_freep) struct cfs_tree *t2 = parse(w1, len1, strict);
                compare_trees(t1, t2);
                _cleanup_free_ char *w2 = write_dump(t2, &len2);
                assert_int_equal(len1, len2);
                assert_memory_equal(w1, w2, len1);
                if (canonical && strict && (len != len1 || memcmp(x, w1, len) != 0))
                        fail_msg("%s: written dump differs from the input", name);
                n++;
        }
        closedir(d);
        return n;
}

static void test_golden_round_trip(void **state)
{
        (void)state;
        assert_int_equal(round_trip_dir(TEST_SRCDIR "/tests/golden/upstream", true), 14);
        assert_int_equal(round_trip_dir(TEST_SRCDIR "/tests/golden/synthetic", false), 2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fields),
            cmocka_unit_test(test_hardlinks),
            cmocka_unit_test(test_api_tree),
            cmocka_unit_test(test_errors),
            cmocka_unit_test(test_golden_round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

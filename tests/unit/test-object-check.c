/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-object-check.c - the pre-mount object check (lib/object-check.c):
 * missing objects, wrong sizes, non-regular objects, payloads escaping the
 * store, and objects without fs-verity (every file on the host: its kernel has
 * no fs-verity). Host.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"
#include "object-check.h"
#include "tree.h"

static char store[] = "/tmp/test-object-check-XXXXXX";
static int store_fd = -1;

static int setup(void **state)
{
        (void)state;
        if (!mkdtemp(store))
                return -1;
        store_fd = open(store, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return store_fd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
        (void)state;
        char cmd[128];
        close(store_fd);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", store);
        return system(cmd) == 0 ? 0 : -1;
}

static void put_object(const char *rel, size_t size)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/%.2s", store, rel);
        (void)mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/%s", store, rel);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t)size), 0);
        close(fd);
}

/* A tree: /usr/bin/a -> object @payload_a (@size_a bytes), /b inline, /c hard link to a. */
static struct cfs_tree *make_tree(const char *payload_a, uint64_t size_a)
{
        struct cfs_tree *t = NULL;
        struct cfs_node *root, *usr, *bin, *a, *n;
        assert_int_equal(cfs_tree_new(&t), 0);
        assert_int_equal(cfs_tree_add_root(t, &root), 0);
        root->mode = S_IFDIR | 0755;
        assert_int_equal(cfs_tree_add_child(t, root, "usr", 3, &usr), 0);
        usr->mode = S_IFDIR | 0755;
        assert_int_equal(cfs_tree_add_child(t, usr, "bin", 3, &bin), 0);
        bin->mode = S_IFDIR | 0755;
        assert_int_equal(cfs_tree_add_child(t, bin, "a", 1, &a), 0);
        a->mode = S_IFREG | 0755;
        a->nlink = 2;
        a->size = size_a;
        a->payload = cfs_tree_strndup(t, payload_a, strlen(payload_a));
        assert_int_equal(cfs_tree_add_child(t, root, "b", 1, &n), 0);
        n->mode = S_IFREG | 0644;
        n->size = 3;
        n->content = cfs_tree_memdup(t, "hi\n", 3);
        assert_int_equal(cfs_tree_add_child(t, root, "c", 1, &n), 0);
        n->link = a;
        cfs_tree_sort(t);
        return t;
}

static int run(const char *payload, uint64_t size, bool require, struct cfs_object_check *res,
               struct cfs_error *err)
{
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = make_tree(payload, size);
        return cfs_object_check(store_fd, t, require, res, err);
}

#define OBJ "ab/cdef0123456789abcdef0123456789abcdef0123456789abcdef01234567"

static void test_present_without_verity(void **state)
{
        (void)state;
        struct cfs_object_check res;
        struct cfs_error err = {};
        put_object(OBJ, 5000);
        /* allowed: counted, not refused; the hard link is not checked twice */
        assert_int_equal(run(OBJ, 5000, false, &res, &err), 0);
        assert_int_equal(res.objects, 1);
        assert_int_equal(res.without_verity, 1);
        /* the leading slash of a redirect path is accepted */
        assert_int_equal(run("/" OBJ, 5000, false, &res, &err), 0);
        /* required: refused, naming the file and the object */
        assert_int_equal(run(OBJ, 5000, true, &res, &err), -ENODATA);
        assert_non_null(strstr(err.message, "/usr/bin/a: object " OBJ " has no fs-verity"));
}

static void test_missing(void **state)
{
        (void)state;
        struct cfs_error err = {};
        assert_int_equal(run("ab/0000000000000000000000000000000000000000000000000000000000000000",
                             1, false, NULL, &err),
                         -ENOENT);
        assert_non_null(strstr(err.message, "is missing from the store"));
}

static void test_wrong_size(void **state)
{
        (void)state;
        struct cfs_error err = {};
        put_object(OBJ, 5000);
        assert_int_equal(run(OBJ, 4999, false, NULL, &err), -EUCLEAN);
        assert_non_null(strstr(err.message, "has 5000 bytes, the image says 4999"));
}

static void test_not_regular(void **state)
{
        (void)state;
        struct cfs_error err = {};
        char path[256];
        snprintf(path, sizeof(path), "%s/dd", store);
        (void)mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/dd/dir", store);
        assert_int_equal(mkdir(path, 0755), 0);
        assert_int_equal(run("dd/dir", 4096, false, NULL, &err), -EUCLEAN);
        assert_non_null(strstr(err.message, "is not a regular file"));
        /* a symlink in the store is not followed */
        snprintf(path, sizeof(path), "%s/dd/link", store);
        assert_int_equal(symlink("/etc/passwd", path), 0);
        struct cfs_error err2 = {};
        assert_int_equal(run("dd/link", 11, false, NULL, &err2), -EUCLEAN);
}

static void test_bad_payloads(void **state)
{
        (void)state;
        static const char *bad[] = {"../etc/passwd", "ab/../../x", "ab//cd", "./ab",
                                    "ab/",           "",           "/",      "ab/.."};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct cfs_error err = {};
                int r = run(bad[i], 1, false, NULL, &err);
                if (r != -EUCLEAN || !strstr(err.message, "is not a path inside the object store"))
                        fail_msg("payload '%s': %d %s", bad[i], r, err.message);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_present_without_verity),
            cmocka_unit_test(test_missing),
            cmocka_unit_test(test_wrong_size),
            cmocka_unit_test(test_not_regular),
            cmocka_unit_test(test_bad_payloads),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

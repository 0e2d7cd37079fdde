/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-tree.c - unit tests of the in-memory tree (lib/tree.c). Host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tree.h"

static struct cfs_node *add(struct cfs_tree *t, struct cfs_node *dir, const char *name,
                            uint32_t mode)
{
        struct cfs_node *n = NULL;
        assert_int_equal(cfs_tree_add_child(t, dir, name, strlen(name), &n), 0);
        n->mode = mode;
        return n;
}

static void test_add_lookup(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = NULL;
        struct cfs_node *root, *n;
        assert_int_equal(cfs_tree_new(&t), 0);
        assert_null(cfs_tree_root(t));
        assert_int_equal(cfs_tree_add_root(t, &root), 0);
        assert_int_equal(cfs_tree_add_root(t, NULL), -EEXIST);
        struct cfs_node *usr = add(t, root, "usr", S_IFDIR | 0755);
        struct cfs_node *bin = add(t, usr, "bin", S_IFDIR | 0755);
        struct cfs_node *ls = add(t, bin, "ls", S_IFREG | 0755);
        assert_ptr_equal(cfs_tree_lookup(t, root, "usr", 3), usr);
        assert_null(cfs_tree_lookup(t, root, "bin", 3));
        assert_ptr_equal(cfs_tree_lookup_path(t, "/usr/bin/ls", 11), ls);
        assert_ptr_equal(cfs_tree_lookup_path(t, "usr//bin/", 9), bin);
        assert_ptr_equal(cfs_tree_lookup_path(t, "/", 1), root);
        assert_null(cfs_tree_lookup_path(t, "/usr/lib", 8));
        /* duplicates, bad names, non-directory parents */
        assert_int_equal(cfs_tree_add_child(t, root, "usr", 3, &n), -EEXIST);
        assert_int_equal(cfs_tree_add_child(t, root, ".", 1, &n), -EINVAL);
        assert_int_equal(cfs_tree_add_child(t, root, "..", 2, &n), -EINVAL);
        assert_int_equal(cfs_tree_add_child(t, root, "a/b", 3, &n), -EINVAL);
        assert_int_equal(cfs_tree_add_child(t, root, "a\0b", 3, &n), -EINVAL);
        assert_int_equal(cfs_tree_add_child(t, root, "", 0, &n), -EINVAL);
        assert_int_equal(cfs_tree_add_child(t, ls, "x", 1, &n), -ENOTDIR);
        char longname[257];
        memset(longname, 'a', sizeof(longname));
        assert_int_equal(cfs_tree_add_child(t, root, longname, 256, &n), -EINVAL);
        assert_int_equal(cfs_tree_add_child(t, root, longname, 255, &n), 0);
        assert_int_equal(cfs_tree_n_nodes(t), 5);
        _cleanup_free_ char *p = cfs_node_path(ls);
        assert_string_equal(p, "/usr/bin/ls");
}

/* Duplicates are found whether children arrive sorted (the lookup is skipped
 * while each name sorts after the last) or not. */
static void test_duplicates_in_and_out_of_order(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = NULL;
        struct cfs_node *root, *n;
        assert_int_equal(cfs_tree_new(&t), 0);
        assert_int_equal(cfs_tree_add_root(t, &root), 0);
        add(t, root, "a", S_IFREG | 0644);
        add(t, root, "b", S_IFREG | 0644);
        add(t, root, "c", S_IFREG | 0644);
        /* sorted so far: the last name and an earlier one are both refused */
        assert_int_equal(cfs_tree_add_child(t, root, "c", 1, &n), -EEXIST);
        assert_int_equal(cfs_tree_add_child(t, root, "a", 1, &n), -EEXIST);
        assert_true(root->children_sorted);
        /* out of order: "ab" < "c" is added, then every name goes through the lookup */
        add(t, root, "ab", S_IFREG | 0644);
        assert_false(root->children_sorted);
        assert_int_equal(cfs_tree_add_child(t, root, "ab", 2, &n), -EEXIST);
        assert_int_equal(cfs_tree_add_child(t, root, "c", 1, &n), -EEXIST);
        assert_int_equal(cfs_tree_add_child(t, root, "d", 1, &n), 0);
        assert_int_equal(cfs_tree_add_child(t, root, "d", 1, &n), -EEXIST);
        assert_int_equal(cfs_tree_n_nodes(t), 6);
}

static void test_many_and_sort(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = NULL;
        struct cfs_node *root;
        assert_int_equal(cfs_tree_new(&t), 0);
        assert_int_equal(cfs_tree_add_root(t, &root), 0);
        /* insert in a scrambled order; names that test bytewise order */
        for (unsigned i = 0; i < 20000; i++) {
                char name[32];
                unsigned k = (i * 7919u) % 20000u;
                snprintf(name, sizeof(name), "%c%u", k % 2 ? 0xff : 'a', k);
                add(t, root, name, S_IFREG | 0644);
        }
        add(t, root, "!x", S_IFREG);
        add(t, root, "A", S_IFREG);
        cfs_tree_sort(t);
        for (uint32_t i = 1; i < root->n_children; i++) {
                const struct cfs_node *a = root->children[i - 1], *b = root->children[i];
                assert_true(cfs_name_cmp(a->name, a->name_len, b->name, b->name_len) < 0);
        }
        assert_string_equal(root->children[0]->name, "!x");
        assert_string_equal(root->children[1]->name, "A");
        for (unsigned k = 0; k < 20000; k += 997) {
                char name[32];
                snprintf(name, sizeof(name), "%c%u", k % 2 ? 0xff : 'a', k);
                assert_non_null(cfs_tree_lookup(t, root, name, strlen(name)));
        }
}

static void test_name_cmp(void **state)
{
        (void)state;
        assert_true(cfs_name_cmp("a", 1, "ab", 2) < 0);
        assert_true(cfs_name_cmp("ab", 2, "a", 1) > 0);
        assert_true(cfs_name_cmp(".", 1, "..", 2) < 0);
        assert_true(cfs_name_cmp("..", 2, ".z", 2) < 0);
        assert_true(cfs_name_cmp("a", 1, "\xff", 1) < 0);
        assert_int_equal(cfs_name_cmp("x", 1, "x", 1), 0);
}

static void test_xattrs(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = NULL;
        struct cfs_node *root;
        uint32_t a, b, c;
        assert_int_equal(cfs_tree_new(&t), 0);
        assert_int_equal(cfs_tree_add_root(t, &root), 0);
        assert_int_equal(cfs_tree_intern_xattr(t, "user.a", 6, "1", 1, &a), 0);
        assert_int_equal(cfs_tree_intern_xattr(t, "user.a", 6, "1", 1, &b), 0);
        assert_int_equal(a, b);
        assert_int_equal(cfs_tree_intern_xattr(t, "user.a", 6, "2", 1, &c), 0);
        assert_int_not_equal(a, c);
        assert_int_equal(cfs_tree_intern_xattr(t, "user.e", 6, "", 0, &c), 0);
        assert_int_equal(cfs_tree_xattr(t, c)->value_len, 0);
        assert_int_equal(cfs_tree_intern_xattr(t, "", 0, "", 0, &c), -EINVAL);
        assert_int_equal(cfs_tree_intern_xattr(t, "a\0b", 3, "", 0, &c), -EINVAL);

        struct cfs_node *f = add(t, root, "f", S_IFREG | 0644);
        assert_int_equal(cfs_node_set_xattr(t, f, "user.a", 6, "1", 1), 0);
        assert_int_equal(cfs_node_set_xattr(t, f, "user.b", 6, "x", 1), 0);
        assert_int_equal(cfs_node_set_xattr(t, f, "user.a", 6, "2", 1), 0); /* replaces */
        assert_int_equal(f->n_xattrs, 2);
        const struct cfs_xattr *x = cfs_node_get_xattr(t, f, "user.a", 6);
        assert_non_null(x);
        assert_memory_equal(x->value, "2", 1);
        assert_int_equal(cfs_node_remove_xattr(t, f, "user.a", 6), 0);
        assert_int_equal(cfs_node_remove_xattr(t, f, "user.a", 6), -ENODATA);
        assert_int_equal(f->n_xattrs, 1);
        /* many xattrs on one node grow its array */
        for (unsigned i = 0; i < 300; i++) {
                char name[32];
                snprintf(name, sizeof(name), "user.n%u", i);
                assert_int_equal(cfs_node_set_xattr(t, f, name, strlen(name), &i, sizeof(i)), 0);
        }
        assert_int_equal(f->n_xattrs, 301);
        for (unsigned i = 0; i < 300; i += 37) {
                char name[32];
                snprintf(name, sizeof(name), "user.n%u", i);
                x = cfs_node_get_xattr(t, f, name, strlen(name));
                assert_non_null(x);
                assert_memory_equal(x->value, &i, sizeof(i));
        }
}

static int count_fn(struct cfs_node *n, void *userdata)
{
        (void)n;
        (*(unsigned *)userdata)++;
        return 0;
}

static void test_walk_and_links(void **state)
{
        (void)state;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = NULL;
        struct cfs_node *root, *d = NULL;
        assert_int_equal(cfs_tree_new(&t), 0);
        assert_int_equal(cfs_tree_add_root(t, &root), 0);
        /* a deep chain must not recurse */
        d = root;
        for (unsigned i = 0; i < 10000; i++)
                d = add(t, d, "d", S_IFDIR | 0755);
        struct cfs_node *f = add(t, d, "f", S_IFREG | 0644);
        struct cfs_node *l1 = add(t, root, "l1", S_IFREG | 0644);
        struct cfs_node *l2 = add(t, root, "l2", S_IFREG | 0644);
        l1->link = f;
        l2->link = l1;
        assert_ptr_equal(cfs_node_resolve(l2), f);
        assert_true(cfs_node_is_hardlink(l2));
        unsigned count = 0;
        assert_int_equal(cfs_tree_walk(t, count_fn, &count), 0);
        assert_int_equal(count, cfs_tree_n_nodes(t));
        /* a hard-link entry named like a directory is never descended into */
        struct cfs_node *hd = add(t, root, "hd", S_IFDIR | 0755);
        add(t, hd, "child", S_IFREG);
        hd->link = root;
        count = 0;
        assert_int_equal(cfs_tree_walk(t, count_fn, &count), 0);
        assert_int_equal(count, cfs_tree_n_nodes(t) - 1);
        /* cycles of hard links are detected, whatever their length */
        l1->link = l2;
        assert_null(cfs_node_resolve(l2));
        assert_null(cfs_node_resolve(l1));
        l1->link = l1;
        assert_null(cfs_node_resolve(l1));
        struct cfs_node *chain[7];
        for (unsigned i = 0; i < 7; i++) {
                char name[8];
                snprintf(name, sizeof(name), "c%u", i);
                chain[i] = add(t, root, name, S_IFREG | 0644);
        }
        for (unsigned i = 0; i < 6; i++)
                chain[i]->link = chain[i + 1];
        assert_ptr_equal(cfs_node_resolve(chain[0]), chain[6]);
        assert_ptr_equal(cfs_node_resolve(chain[5]), chain[6]);
        assert_ptr_equal(cfs_node_resolve(chain[6]), chain[6]);
        chain[6]->link = chain[3];
        for (unsigned i = 0; i < 7; i++)
                assert_null(cfs_node_resolve(chain[i]));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_add_lookup),
            cmocka_unit_test(test_duplicates_in_and_out_of_order),
            cmocka_unit_test(test_many_and_sort),
            cmocka_unit_test(test_name_cmp),
            cmocka_unit_test(test_xattrs),
            cmocka_unit_test(test_walk_and_links),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

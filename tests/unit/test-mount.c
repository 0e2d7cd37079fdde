/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-mount.c - EROFS + overlayfs mounts through the new mount API
 * (lib/mount.c), in a private mount namespace. Host; needs root. The host
 * kernel has no fs-verity, so the positive mount runs in the insecure test
 * mode, and verity=require is asserted to refuse objects without fs-verity.
 */
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image.h"
#include "mount.h"
#include "tree.h"
#include "verity.h"

static char dir[] = "/tmp/cfsroot-test-mount.XXXXXX";
static const char content[] = "object content, stored outside the image, found by redirect\n";

/* Image with /hello (inline), /obj (external, redirect to the store), /sub/ */
static void make_image(const char *image_path, const char *store)
{
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = NULL;
        struct cfs_node *root, *n;
        uint8_t digest[CFS_DIGEST_SIZE];
        char hex[CFS_DIGEST_HEX_SIZE], path[1024];

        assert_int_equal(cfs_verity_digest_buffer(content, strlen(content), digest), 0);
        cfs_digest_to_hex(digest, hex);
        assert_int_equal(cfs_tree_new(&t), 0);
        assert_int_equal(cfs_tree_add_root(t, &root), 0);
        root->mode = S_IFDIR | 0755;
        root->nlink = 3;
        assert_int_equal(cfs_tree_add_child(t, root, "hello", 5, &n), 0);
        n->mode = S_IFREG | 0644;
        n->nlink = 1;
        n->size = 6;
        n->content = cfs_tree_memdup(t, "hello\n", 6);
        assert_int_equal(cfs_tree_add_child(t, root, "obj", 3, &n), 0);
        n->mode = S_IFREG | 0600;
        n->nlink = 1;
        n->uid = 1234;
        n->size = strlen(content);
        n->has_digest = true;
        memcpy(n->digest, digest, sizeof(digest));
        snprintf(path, sizeof(path), "%.2s/%s", hex, hex + 2);
        n->payload = cfs_tree_strndup(t, path, strlen(path));
        assert_int_equal(cfs_tree_add_child(t, root, "sub", 3, &n), 0);
        n->mode = S_IFDIR | 0700;
        n->nlink = 2;
        cfs_tree_sort(t);

        int fd = open(image_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        struct cfs_image_options o = CFS_IMAGE_OPTIONS_DEFAULT;
        struct cfs_error err = {};
        if (cfs_image_write(t, &o, fd, &err) < 0)
                fail_msg("writing the image: %s", err.message);
        close(fd);

        /* the object, named by its digest */
        snprintf(path, sizeof(path), "mkdir -p %s/%.2s", store, hex);
        assert_int_equal(system(path), 0);
        snprintf(path, sizeof(path), "%s/%.2s/%s", store, hex, hex + 2);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
}

static int setup(void **state)
{
        (void)state;
        if (geteuid() != 0) {
                fprintf(stderr, "test-mount needs root (mount namespaces)\n");
                return -1;
        }
        if (!mkdtemp(dir) || unshare(CLONE_NEWNS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -1;
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "umount -R %s/root 2>/dev/null; rm -rf %s", dir, dir);
        return system(cmd) == 0 ? 0 : -1;
}

static void read_file(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                fail_msg("open %s: %m", path);
        ssize_t n = read(fd, buf, size - 1);
        assert_true(n >= 0);
        buf[n] = 0;
        close(fd);
}

static void mount_image(bool insecure, char *image, char *store, int *overlay_fd,
                        struct cfs_error *err, int *r_overlay)
{
        int image_fd = open(image, O_RDONLY | O_CLOEXEC);
        assert_true(image_fd >= 0);
        int meta_fd = -1;
        bool loop = true;
        int r = cfs_mount_erofs(image_fd, &meta_fd, &loop, err);
        if (r < 0)
                fail_msg("EROFS mount: %s", err->message);
        assert_false(loop); /* the host kernel (>= 6.12) mounts EROFS file-backed */
        int store_fd = open(store, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(store_fd >= 0);
        struct cfs_mount_options o = {.insecure_no_verity = insecure};
        *r_overlay = cfs_mount_overlay(meta_fd, store_fd, &o, overlay_fd, err);
        close(store_fd);
        close(meta_fd);
        close(image_fd);
}

static void test_mount_insecure(void **state)
{
        (void)state;
        char image[256], store[256], root[256], p[512], buf[256];
        struct cfs_error err = {};
        snprintf(image, sizeof(image), "%s/image.cfs", dir);
        snprintf(store, sizeof(store), "%s/objects", dir);
        snprintf(root, sizeof(root), "%s/root", dir);
        make_image(image, store);
        assert_int_equal(mkdir(root, 0755), 0);

        int ov = -1, r;
        mount_image(true, image, store, &ov, &err, &r);
        if (r < 0)
                fail_msg("overlay mount: %s", err.message);
        assert_int_equal(cfs_mount_attach(ov, root, &err), 0);
        close(ov);
        snprintf(p, sizeof(p), "%s/hello", root);
        read_file(p, buf, sizeof(buf));
        assert_string_equal(buf, "hello\n");
        snprintf(p, sizeof(p), "%s/obj", root);
        read_file(p, buf, sizeof(buf));
        assert_string_equal(buf, content);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_uid, 1234);
        assert_int_equal(st.st_mode, S_IFREG | 0600);
        /* read-only */
        snprintf(p, sizeof(p), "%s/new", root);
        assert_true(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644) < 0);
        assert_int_equal(umount(root), 0);
}

/* verity=require: the object has no fs-verity here, so its content must not be readable. */
static void test_verity_required(void **state)
{
        (void)state;
        char image[256], store[256], root[256], p[512];
        struct cfs_error err = {};
        snprintf(image, sizeof(image), "%s/image.cfs", dir);
        snprintf(store, sizeof(store), "%s/objects", dir);
        snprintf(root, sizeof(root), "%s/root", dir);
        int ov = -1, r;
        mount_image(false, image, store, &ov, &err, &r);
        if (r < 0) {
                /* a kernel that refuses the mount outright also fails closed */
                assert_non_null(strstr(err.message, "overlay"));
                return;
        }
        assert_int_equal(cfs_mount_attach(ov, root, &err), 0);
        close(ov);
        snprintf(p, sizeof(p), "%s/obj", root);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        char buf[64];
        bool readable = fd >= 0 && read(fd, buf, sizeof(buf)) > 0;
        if (fd >= 0)
                close(fd);
        assert_false(readable);
        assert_int_equal(umount(root), 0);
}

static void test_bad_image(void **state)
{
        (void)state;
        char image[4096];
        struct cfs_error err = {};
        snprintf(image, sizeof(image), "%s/garbage.cfs", dir);
        FILE *f = fopen(image, "w");
        for (int i = 0; i < 16384; i++)
                fputc(i & 0xff, f);
        fclose(f);
        int fd = open(image, O_RDONLY | O_CLOEXEC), mnt = -1;
        bool loop;
        assert_true(cfs_mount_erofs(fd, &mnt, &loop, &err) < 0);
        assert_non_null(strstr(err.message, "EROFS mount of"));
        close(fd);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_mount_insecure),
            cmocka_unit_test(test_verity_required),
            cmocka_unit_test(test_bad_image),
        };
        if (geteuid() != 0) {
                printf("SKIP: test-mount needs root\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, setup, teardown);
}

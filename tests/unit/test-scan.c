/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-scan.c - unit tests of the directory scanner (lib/scan.c): what each
 * file type becomes in the tree, the inline threshold (0/1/64/65 bytes),
 * xattrs, hard links, names with every byte, determinism whatever the creation
 * order or thread count, the object store, progress, and errors that name the
 * path (an unreadable file, read by an unprivileged child). Host; some cases
 * need root (devices, trusted.* xattrs, dropping privileges) and run as root
 * in the test suite.
 */
#include <errno.h>
#include <fcntl.h>
#include <libfsverity.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <grp.h>
#include <unistd.h>

#include <cmocka.h>

#include "test-util.h"

#include "dump.h"
#include "image.h"
#include "scan.h"

/* ---- helpers ---- */

static char *pathf(const char *fmt, ...) _printf_(1, 2);
static char *pathf(const char *fmt, ...)
{
        va_list ap;
        char *p = NULL;
        va_start(ap, fmt);
        assert_true(vasprintf(&p, fmt, ap) > 0);
        va_end(ap);
        return p;
}

static void put(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
        _cleanup_free_ char *p = pathf("%s/%s", dir, name);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        close(fd);
        assert_int_equal(chmod(p, mode), 0);
}

static void set_mtime(const char *dir, const char *name, time_t sec, long nsec)
{
        _cleanup_free_ char *p = pathf("%s/%s", dir, name);
        struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
        assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void sub(const char *dir, const char *name)
{
        _cleanup_free_ char *p = pathf("%s/%s", dir, name);
        assert_int_equal(mkdir(p, 0755), 0);
}

static struct cfs_tree *scan(const char *dir, const struct cfs_scan_options *o,
                             struct cfs_scan_result *res)
{
        struct cfs_tree *t = NULL;
        struct cfs_error err = {};
        int r = cfs_scan_dir(dir, o, &t, res, &err);
        if (r < 0)
                fail_msg("scan of %s failed: %s", dir, cfs_error_text(&err, r));
        assert_non_null(t);
        return t;
}

static struct cfs_node *get(struct cfs_tree *t, const char *path)
{
        struct cfs_node *n = cfs_tree_lookup_path(t, path, strlen(path));
        if (!n)
                fail_msg("%s not in the tree", path);
        return n;
}

/* The tree as a dump (every field, text). */
static char *dump(struct cfs_tree *t)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        assert_int_equal(cfs_dump_write(t, f), 0);
        fclose(f);
        return buf;
}

/* The tree as image bytes. */
static void *image(struct cfs_tree *t, size_t *ret_len)
{
        struct cfs_image_options o = CFS_IMAGE_OPTIONS_DEFAULT;
        int fd = memfd_create("image", MFD_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(cfs_image_write(t, &o, fd, NULL), 0);
        off_t size = lseek(fd, 0, SEEK_END);
        assert_true(size > 0);
        void *p = malloc((size_t)size);
        assert_int_equal(pread(fd, p, (size_t)size, 0), size);
        close(fd);
        *ret_len = (size_t)size;
        return p;
}

static void xattr_value(struct cfs_tree *t, struct cfs_node *n, const char *name, const char *want)
{
        const struct cfs_xattr *x = cfs_node_get_xattr(t, n, name, strlen(name));
        if (!x)
                fail_msg("xattr %s missing", name);
        assert_int_equal(x->value_len, strlen(want));
        assert_memory_equal(x->value, want, strlen(want));
}

/* ---- tests ---- */

static void test_file_types_and_inline(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = test_tmpdir("test-scan");
        uint8_t big[65], d[CFS_DIGEST_SIZE];
        char name[66];
        memset(big, 'x', sizeof(big));

        put(dir, "empty", "", 0, 0644);
        put(dir, "one", "1", 1, 0600);
        put(dir, "i64", big, 64, 0755);
        put(dir, "e65", big, 65, 04711);
        sub(dir, "d");
        sub(dir, "d/e");
        _cleanup_free_ char *lnk = pathf("%s/link", dir);
        assert_int_equal(symlink("d/e/../target", lnk), 0);
        char longtarget[4096];
        memset(longtarget, 't', 4095);
        longtarget[4095] = 0;
        _cleanup_free_ char *lnk2 = pathf("%s/d/long", dir);
        assert_int_equal(symlink(longtarget, lnk2), 0);
        _cleanup_free_ char *fifo = pathf("%s/fifo", dir);
        assert_int_equal(mkfifo(fifo, 0640), 0);
        _cleanup_free_ char *sock = pathf("%s/sock", dir);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
        int sfd = socket(AF_UNIX, SOCK_STREAM, 0);
        assert_int_equal(bind(sfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        close(sfd);
        set_mtime(dir, "e65", 1700000000, 123456789);
        set_mtime(dir, "link", 1600000000, 1);
        set_mtime(dir, "d", -5, 999999999);

        struct cfs_tree *t = scan(dir, NULL, NULL);
        struct cfs_node *n;

        n = get(t, "empty");
        assert_true(S_ISREG(n->mode));
        assert_int_equal(n->size, 0);
        assert_null(n->content);
        assert_null(n->payload);
        assert_false(n->has_digest);

        n = get(t, "one");
        assert_int_equal(n->mode, S_IFREG | 0600);
        assert_int_equal(n->size, 1);
        assert_non_null(n->content);
        assert_memory_equal(n->content, "1", 1);
        assert_null(n->payload);
        assert_false(n->has_digest);

        n = get(t, "i64"); /* the largest inline file */
        assert_int_equal(n->size, 64);
        assert_non_null(n->content);
        assert_memory_equal(n->content, big, 64);
        assert_false(n->has_digest);
        assert_null(n->payload);

        n = get(t, "e65"); /* the smallest external one */
        assert_int_equal(n->mode, S_IFREG | 04711);
        assert_int_equal(n->size, 65);
        assert_null(n->content);
        assert_true(n->has_digest);
        test_ref_digest(big, 65, d);
        assert_memory_equal(n->digest, d, CFS_DIGEST_SIZE);
        cfs_store_object_name(d, name);
        assert_string_equal(n->payload, name);
        assert_int_equal(n->mtime_sec, 1700000000);
        assert_int_equal(n->mtime_nsec, 123456789);
        assert_int_equal(n->uid, getuid());
        assert_int_equal(n->gid, getgid());
        assert_int_equal(n->nlink, 1);

        n = get(t, "link");
        assert_true(S_ISLNK(n->mode));
        assert_string_equal(n->payload, "d/e/../target");
        assert_int_equal(n->size, strlen("d/e/../target"));
        assert_int_equal(n->mtime_sec, 1600000000);
        assert_int_equal(n->mtime_nsec, 1);
        n = get(t, "d/long");
        assert_int_equal(strlen(n->payload), 4095);

        n = get(t, "fifo");
        assert_int_equal(n->mode, S_IFIFO | 0640);
        assert_int_equal(n->size, 0);
        n = get(t, "sock");
        assert_true(S_ISSOCK(n->mode));

        n = get(t, "d");
        assert_true(S_ISDIR(n->mode));
        assert_int_equal(n->nlink, 3); /* 2 + d/e */
        assert_int_equal(n->mtime_sec, -5);
        assert_int_equal(n->mtime_nsec, 999999999);
        assert_int_equal(get(t, "/")->nlink, 3);
        assert_int_equal(get(t, "d/e")->nlink, 2);
        assert_int_equal(cfs_tree_n_nodes(t), 11);

        cfs_tree_free(t);
        test_rm_rf(dir);
}

static void test_devices(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip(); /* mknod needs root; the suite runs as root */
        _cleanup_free_ char *dir = test_tmpdir("test-scan");
        _cleanup_free_ char *c = pathf("%s/null", dir), *b = pathf("%s/sda", dir),
                            *w = pathf("%s/wide", dir);
        assert_int_equal(mknod(c, S_IFCHR | 0666, makedev(1, 3)), 0);
        assert_int_equal(mknod(b, S_IFBLK | 0660, makedev(8, 0)), 0);
        /* a 20-bit minor: the kernel's 32-bit encoding, not glibc's dev_t */
        assert_int_equal(mknod(w, S_IFCHR | 0600, makedev(259, 0x12345)), 0);
        assert_int_equal(chmod(c, 0666), 0); /* whatever the umask */
        assert_int_equal(chmod(b, 0660), 0);
        struct cfs_tree *t = scan(dir, NULL, NULL);
        assert_int_equal(get(t, "null")->mode, S_IFCHR | 0666);
        assert_int_equal(get(t, "null")->rdev, 0x103);
        assert_int_equal(get(t, "sda")->mode, S_IFBLK | 0660);
        assert_int_equal(get(t, "sda")->rdev, 0x800);
        assert_int_equal(get(t, "wide")->rdev, 0x45 | (259u << 8) | (0x12300u << 12));
        assert_int_equal(get(t, "wide")->size, 0);
        cfs_tree_free(t);
        test_rm_rf(dir);
}

static void test_xattrs(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = test_tmpdir("test-scan");
        put(dir, "f", "hello", 5, 0644);
        sub(dir, "d");
        _cleanup_free_ char *f = pathf("%s/f", dir), *d = pathf("%s/d", dir);
        /* set in reverse order: the tree lists them by name */
        assert_int_equal(setxattr(f, "user.zz", "2", 1, 0), 0);
        assert_int_equal(setxattr(f, "user.aa", "1", 1, 0), 0);
        assert_int_equal(setxattr(f, "user.empty", "", 0, 0), 0);
        assert_int_equal(setxattr(d, "user.dir", "D", 1, 0), 0);
        assert_int_equal(setxattr(dir, "user.root", "R", 1, 0), 0);
        bool root = geteuid() == 0;
        if (root) {
                /* kept raw in the tree; the image writer escapes it */
                assert_int_equal(setxattr(f, "trusted.overlay.x", "o", 1, 0), 0);
                _cleanup_free_ char *l = pathf("%s/l", dir);
                assert_int_equal(symlink("f", l), 0);
                assert_int_equal(lsetxattr(l, "trusted.sym", "S", 1, 0), 0);
        }
        struct cfs_tree *t = scan(dir, NULL, NULL);
        struct cfs_node *n = get(t, "f");
        assert_int_equal(n->n_xattrs, root ? 4 : 3);
        const char *order[] = {"trusted.overlay.x", "user.aa", "user.empty", "user.zz"};
        for (unsigned i = 0; i < n->n_xattrs; i++)
                assert_string_equal(cfs_tree_xattr(t, n->xattrs[i])->name, order[i + !root]);
        xattr_value(t, n, "user.aa", "1");
        xattr_value(t, n, "user.zz", "2");
        xattr_value(t, n, "user.empty", "");
        xattr_value(t, get(t, "d"), "user.dir", "D");
        xattr_value(t, get(t, "/"), "user.root", "R");
        if (root) {
                xattr_value(t, n, "trusted.overlay.x", "o");
                /* a symlink's own xattrs, not its target's */
                xattr_value(t, get(t, "l"), "trusted.sym", "S");
                assert_int_equal(get(t, "l")->n_xattrs, 1);
        }
        cfs_tree_free(t);
        test_rm_rf(dir);
}

/* Hard links: the first path in depth-first name order is the real node. */
static void test_hardlinks(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = test_tmpdir("test-scan");
        uint8_t data[5000];
        memset(data, 'h', sizeof(data));
        sub(dir, "a");
        put(dir, "z", data, sizeof(data), 0755); /* made first, but "a/x" comes first */
        _cleanup_free_ char *z = pathf("%s/z", dir), *ax = pathf("%s/a/x", dir),
                            *m = pathf("%s/m", dir);
        assert_int_equal(link(z, ax), 0);
        assert_int_equal(link(z, m), 0);
        put(dir, "small", "tiny", 4, 0644);
        _cleanup_free_ char *s1 = pathf("%s/small", dir), *s2 = pathf("%s/a/small2", dir);
        assert_int_equal(link(s1, s2), 0);
        _cleanup_free_ char *sl = pathf("%s/sym", dir), *sl2 = pathf("%s/sym2", dir);
        assert_int_equal(symlink("somewhere", sl), 0);
        assert_int_equal(link(sl, sl2), 0);

        struct cfs_tree *t = scan(dir, NULL, NULL);
        struct cfs_node *real = get(t, "a/x");
        assert_null(real->link);
        assert_true(real->has_digest);
        assert_int_equal(real->nlink, 3);
        assert_int_equal(real->mode, S_IFREG | 0755);
        assert_ptr_equal(get(t, "z")->link, real);
        assert_ptr_equal(get(t, "m")->link, real);
        assert_ptr_equal(cfs_node_resolve(get(t, "z")), real);

        struct cfs_node *small = get(t, "a/small2");
        assert_null(small->link);
        assert_int_equal(small->nlink, 2);
        assert_memory_equal(small->content, "tiny", 4);
        assert_ptr_equal(get(t, "small")->link, small);

        struct cfs_node *sym = get(t, "sym");
        assert_null(sym->link);
        assert_int_equal(sym->nlink, 2);
        assert_ptr_equal(get(t, "sym2")->link, sym);
        /* "a" has no subdirectory: hard links do not count */
        assert_int_equal(get(t, "a")->nlink, 2);

        /* the image takes the tree as it is */
        size_t len;
        free(image(t, &len));
        cfs_tree_free(t);
        test_rm_rf(dir);
}

/* Build the same tree twice in opposite creation orders. */
static void make_ordered(const char *dir, bool reverse)
{
        const char *names[] = {"b", "a", "c", "ab", "a b", "\xff", "\x01", "Z"};
        const size_t n = sizeof(names) / sizeof(names[0]);
        sub(dir, "d1");
        sub(dir, "d1/d2");
        for (size_t k = 0; k < n; k++) {
                size_t i = reverse ? n - 1 - k : k;
                char content[200];
                memset(content, 'a' + (int)i, sizeof(content));
                _cleanup_free_ char *p = pathf("d1/%s", names[i]);
                put(dir, p, content, 10 + i * 20, 0644);
                _cleanup_free_ char *q = pathf("d1/d2/%s", names[i]);
                put(dir, q, content, 100, 0600);
                _cleanup_free_ char *f = pathf("%s/d1/%s", dir, names[i]);
                char v[2] = {names[i][0], 0};
                assert_int_equal(setxattr(f, reverse ? "user.b" : "user.a", v, 1, 0), 0);
                assert_int_equal(setxattr(f, reverse ? "user.a" : "user.b", v, 1, 0), 0);
                set_mtime(dir, p, 1000 + (time_t)i, 0);
                set_mtime(dir, q, 2000, 0);
        }
        _cleanup_free_ char *h1 = pathf("%s/d1/b", dir), *h2 = pathf("%s/hl", dir);
        assert_int_equal(link(h1, h2), 0);
        set_mtime(dir, "d1/d2", 5, 0);
        set_mtime(dir, "d1", 5, 0);
        set_mtime(dir, ".", 5, 0);
}

static void test_determinism(void **state)
{
        (void)state;
        _cleanup_free_ char *d1 = test_tmpdir("test-scan"), *d2 = test_tmpdir("test-scan");
        make_ordered(d1, false);
        make_ordered(d2, true);

        struct cfs_scan_options one = {.threads = 1}, many = {.threads = 7};
        struct cfs_tree *t1 = scan(d1, &one, NULL), *t2 = scan(d2, &many, NULL);
        _cleanup_free_ char *a = dump(t1), *b = dump(t2);
        assert_string_equal(a, b);
        size_t la, lb;
        _cleanup_free_ void *ia = image(t1, &la), *ib = image(t2, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(ia, ib, la);
        cfs_tree_free(t1);
        cfs_tree_free(t2);
        test_rm_rf(d1);
        test_rm_rf(d2);
}

/* Every byte but '/' and NUL, and the longest name. */
static void test_weird_names(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = test_tmpdir("test-scan");
        char names[8][256];
        unsigned n_names = 0, b = 1;
        while (b < 256) {
                unsigned len = 0;
                while (b < 256 && len < 50) {
                        if (b != '/')
                                names[n_names][len++] = (char)b;
                        b++;
                }
                names[n_names++][len] = 0;
        }
        memset(names[n_names], '\xfe', 255);
        names[n_names++][255] = 0;
        for (unsigned i = 0; i < n_names; i++)
                put(dir, names[i], names[i], strlen(names[i]), 0644);
        struct cfs_tree *t = scan(dir, NULL, NULL);
        for (unsigned i = 0; i < n_names; i++) {
                struct cfs_node *n =
                    cfs_tree_lookup(t, cfs_tree_root(t), names[i], strlen(names[i]));
                assert_non_null(n);
                assert_int_equal(n->size, strlen(names[i]));
                assert_int_equal(n->has_digest, strlen(names[i]) > 64);
        }
        assert_int_equal(cfs_tree_root(t)->n_children, n_names);
        cfs_tree_free(t);
        test_rm_rf(dir);
}

struct progress_seen {
        unsigned calls;
        struct cfs_scan_progress last;
};

static void on_progress(const struct cfs_scan_progress *p, void *userdata)
{
        struct progress_seen *s = userdata;
        assert_true(p->bytes_hashed <= p->bytes_total);
        s->calls++;
        s->last = *p;
}

/* Files inside objects/.staging-* directories (with @dirs: plus the directories). */
static unsigned count_staged(const char *store, bool dirs)
{
        _cleanup_free_ char *cmd = pathf("find '%s/objects' -path '*/.staging-*' %s | wc -l", store,
                                         dirs ? "" : "-type f");
        FILE *f = popen(cmd, "r");
        unsigned n = 999;
        assert_non_null(f);
        assert_int_equal(fscanf(f, "%u", &n), 1);
        pclose(f);
        return n;
}

static void test_store_and_progress(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = test_tmpdir("test-scan"), *src = pathf("%s/src", dir),
                            *store_path = pathf("%s/store", dir);
        struct cfs_store *store = NULL;
        struct progress_seen seen = {};
        struct cfs_scan_result res;
        uint8_t data[3][10000];

        assert_int_equal(mkdir(src, 0755), 0);
        for (unsigned i = 0; i < 3; i++)
                memset(data[i], 'A' + (int)i, sizeof(data[i]));
        put(src, "f0", data[0], sizeof(data[0]), 0644);
        put(src, "f1", data[1], sizeof(data[1]), 0644);
        put(src, "f2", data[2], 5000, 0644);
        put(src, "dup", data[0], sizeof(data[0]), 0600); /* same content as f0 */
        put(src, "small", "s", 1, 0644);
        assert_int_equal(cfs_store_open(store_path, true, &store, NULL), 0);

        struct cfs_scan_options o = {
            .store = store, .threads = 2, .progress = on_progress, .userdata = &seen};
        struct cfs_tree *t = scan(src, &o, &res);
        assert_int_equal(res.objects_added, 3);
        assert_int_equal(res.objects_existed, 1);
        assert_int_equal(res.objects_without_verity, 4); /* no fs-verity in the host kernel */
        assert_int_equal(res.digests_from_verity, 0);    /* nor on the sources */
        const char *files[] = {"f0", "f1", "f2", "dup"};
        for (unsigned i = 0; i < 4; i++) {
                struct cfs_node *n = get(t, files[i]);
                uint8_t d[CFS_DIGEST_SIZE];
                test_ref_digest(i == 3 ? data[0] : data[i], n->size, d);
                assert_memory_equal(n->digest, d, CFS_DIGEST_SIZE);
                _cleanup_free_ char *obj = pathf("%s/objects/%s", store_path, n->payload);
                struct stat st;
                assert_int_equal(stat(obj, &st), 0);
                assert_int_equal(st.st_size, (off_t)n->size);
        }
        assert_true(seen.calls >= 1);
        assert_int_equal(seen.last.entries, cfs_tree_n_nodes(t));
        assert_int_equal(seen.last.files_hashed, 4);
        assert_int_equal(seen.last.bytes_hashed, 35000);
        assert_int_equal(seen.last.bytes_total, 35000);
        size_t l1;
        _cleanup_free_ void *i1 = image(t, &l1);

        /* committed by the scan: every object visible, nothing staged */
        assert_int_equal(count_staged(store_path, false), 0);

        /* again: everything is found, nothing written (the objects keep their
         * inode and times), the image is the same as without a store */
        struct stat before, after;
        _cleanup_free_ char *obj0 = pathf("%s/objects/%s", store_path, get(t, "f0")->payload);
        assert_int_equal(stat(obj0, &before), 0);
        cfs_tree_free(t);
        usleep(20000);
        t = scan(src, &o, &res);
        assert_int_equal(res.objects_added, 0);
        assert_int_equal(res.objects_existed, 4);
        assert_int_equal(stat(obj0, &after), 0);
        assert_int_equal(before.st_ino, after.st_ino);
        assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
        assert_int_equal(before.st_ctim.tv_nsec, after.st_ctim.tv_nsec);
        assert_int_equal(count_staged(store_path, false), 0);
        cfs_tree_free(t);
        t = scan(src, NULL, &res);
        assert_int_equal(res.objects_added, 0);
        size_t l2;
        _cleanup_free_ void *i2 = image(t, &l2);
        assert_int_equal(l1, l2);
        assert_memory_equal(i1, i2, l1);
        cfs_tree_free(t);
        cfs_store_free(store);
        assert_int_equal(count_staged(store_path, true), 0);
        test_rm_rf(dir);
}

/* A file that changes after it was hashed, before it is copied into the store
 * (store test hook): the scan fails naming it; nothing new gets a name. */
static void touch_source(int fd, void *userdata)
{
        char proc[64];
        (void)userdata;
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        int w = open(proc, O_WRONLY | O_CLOEXEC);
        assert_true(w >= 0);
        assert_int_equal(pwrite(w, "changed", 7, 0), 7);
        close(w);
}

static void test_store_source_changed(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = test_tmpdir("test-scan"), *src = pathf("%s/src", dir),
                            *store_path = pathf("%s/store", dir);
        struct cfs_store *store = NULL;
        struct cfs_tree *t = NULL;
        struct cfs_error err = {};
        uint8_t data[20000];

        assert_int_equal(mkdir(src, 0755), 0);
        sub(src, "d");
        memset(data, 'q', sizeof(data));
        put(src, "d/victim", data, sizeof(data), 0644);
        assert_int_equal(cfs_store_open(store_path, true, &store, NULL), 0);
        cfs_store_set_test_hook(store, touch_source, NULL);
        struct cfs_scan_options o = {.store = store, .threads = 2};
        assert_int_equal(cfs_scan_dir(src, &o, &t, NULL, &err), -EIO);
        assert_null(t);
        assert_string_equal(err.message, "d/victim: file changed between hashing and copying it "
                                         "into the object store");
        cfs_store_free(store);
        _cleanup_free_ char *cmd = pathf("test -z \"$(find '%s/objects' -type f)\"", store_path);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(count_staged(store_path, true), 0);
        test_rm_rf(dir);
}

/* Change the source of one file only (the one of 33333 bytes), after others were staged. */
static void touch_marked_source(int fd, void *userdata)
{
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        if (st.st_size == 33333)
                touch_source(fd, userdata);
}

/* Many files in one run, in both ways of adding: new contents, each twice in
 * the tree (one copy staged), contents already in the store; objects counted
 * right and all visible after the scan, nothing staged. Then a run that fails
 * on one file after many were staged: nothing new under objects/ab/, no
 * staging directory left. */
static void test_store_mixed_and_failed(void **state)
{
        (void)state;
        for (int mode = -1; mode <= 1; mode += 2) {
                _cleanup_free_ char *dir = test_tmpdir("test-scan"), *src = pathf("%s/src", dir),
                                    *pre = pathf("%s/pre", dir),
                                    *store_path = pathf("%s/store", dir);
                struct cfs_store *store = NULL;
                struct cfs_scan_result res;
                uint8_t data[8000];

                assert_int_equal(mkdir(src, 0755), 0);
                assert_int_equal(mkdir(pre, 0755), 0);
                for (unsigned i = 0; i < 30; i++) {
                        char name[32];
                        memset(data, 'a' + (int)(i % 26), sizeof(data));
                        data[0] = (uint8_t)i;
                        snprintf(name, sizeof(name), "new%02u", i);
                        put(src, name, data, 1000 + i * 100, 0644);
                        snprintf(name, sizeof(name), "z-dup%02u", i); /* same content */
                        put(src, name, data, 1000 + i * 100, 0644);
                        if (i % 3 == 0) { /* a third of them are in the store already */
                                snprintf(name, sizeof(name), "p%02u", i);
                                put(pre, name, data, 1000 + i * 100, 0644);
                        }
                }
                assert_int_equal(cfs_store_open(store_path, true, &store, NULL), 0);
                struct cfs_scan_options o = {.store = store, .threads = 3};
                cfs_tree_free(scan(pre, &o, &res));
                assert_int_equal(res.objects_added, 10);
                cfs_store_set_test_mode(store, mode);
                struct cfs_tree *t = scan(src, &o, &res);
                assert_int_equal(res.objects_added, 20);
                assert_int_equal(res.objects_existed, 40);
                _cleanup_free_ char *count =
                    pathf("test $(find '%s/objects' -path '*/objects/[0-9a-f][0-9a-f]/*' -type f | "
                          "wc -l) -eq 30",
                          store_path);
                assert_int_equal(system(count), 0);
                assert_int_equal(count_staged(store_path, false), 0);
                for (unsigned i = 0; i < 30; i++) {
                        char name[32];
                        snprintf(name, sizeof(name), "z-dup%02u", i);
                        _cleanup_free_ char *obj =
                            pathf("%s/objects/%s", store_path, get(t, name)->payload);
                        assert_int_equal(access(obj, R_OK), 0);
                }
                cfs_tree_free(t);
                cfs_store_free(store);
                assert_int_equal(count_staged(store_path, true), 0);

                /* 40 more new files and one that changes while it is added */
                for (unsigned i = 0; i < 40; i++) {
                        char name[32];
                        memset(data, 'A' + (int)(i % 26), sizeof(data));
                        data[1] = (uint8_t)i;
                        snprintf(name, sizeof(name), "more%02u", i);
                        put(src, name, data, 2000 + i * 10, 0644);
                }
                uint8_t big[33333];
                memset(big, 'v', sizeof(big));
                put(src, "victim", big, sizeof(big), 0644);
                assert_int_equal(cfs_store_open(store_path, true, &store, NULL), 0);
                o.store = store;
                cfs_store_set_test_mode(store, mode);
                cfs_store_set_test_hook(store, touch_marked_source, NULL);
                struct cfs_error err = {};
                t = NULL;
                assert_int_equal(cfs_scan_dir(src, &o, &t, NULL, &err), -EIO);
                assert_null(t);
                assert_non_null(strstr(err.message, "victim: file changed"));
                assert_int_equal(system(count), 0); /* still the 30 of before */
                cfs_store_free(store);
                assert_int_equal(count_staged(store_path, true), 0);
                test_rm_rf(dir);
        }
}

static void test_bad_roots(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = test_tmpdir("test-scan"), *missing = pathf("%s/missing", dir);
        struct cfs_tree *t = NULL;
        struct cfs_error err = {};
        assert_int_equal(cfs_scan_dir(missing, NULL, &t, NULL, &err), -ENOENT);
        assert_non_null(strstr(err.message, missing));
        assert_null(t);
        put(dir, "file", "x", 1, 0644);
        _cleanup_free_ char *file = pathf("%s/file", dir);
        memset(&err, 0, sizeof(err));
        assert_int_equal(cfs_scan_dir(file, NULL, &t, NULL, &err), -ENOTDIR);
        assert_null(t);
        test_rm_rf(dir);
}

/* Run a scan of @dir as "nobody" in a child; its error message comes back. */
static int scan_unprivileged(const char *dir, char *msg, size_t size)
{
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(pfd[0]);
                if (geteuid() == 0 &&
                    (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
                     setresuid(65534, 65534, 65534) < 0))
                        _exit(100);
                struct cfs_tree *t = NULL;
                struct cfs_error err = {};
                struct cfs_scan_options o = {.threads = 2};
                int r = cfs_scan_dir(dir, &o, &t, NULL, &err);
                const char *m = cfs_error_text(&err, r);
                if (write(pfd[1], m, strlen(m)) < 0)
                        _exit(101);
                cfs_tree_free(t);
                _exit(r < 0 ? -r : 0);
        }
        close(pfd[1]);
        ssize_t n = read(pfd[0], msg, size - 1);
        msg[n > 0 ? n : 0] = 0;
        close(pfd[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static void test_unreadable(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = test_tmpdir("test-scan");
        char msg[CFS_ERROR_MAX + 1];
        uint8_t data[1000];
        memset(data, 's', sizeof(data));
        sub(dir, "sub");
        put(dir, "sub/secret", data, sizeof(data), 0000); /* hashed by a worker thread */
        assert_int_equal(scan_unprivileged(dir, msg, sizeof(msg)), EACCES);
        assert_string_equal(msg, "sub/secret: Permission denied");

        _cleanup_free_ char *s = pathf("%s/sub/secret", dir);
        assert_int_equal(unlink(s), 0);
        put(dir, "sub/tiny\n", "t", 1, 0000); /* read inline; odd byte escaped */
        assert_int_equal(scan_unprivileged(dir, msg, sizeof(msg)), EACCES);
        assert_string_equal(msg, "sub/tiny\\x0a: Permission denied");

        _cleanup_free_ char *u = pathf("%s/sub/tiny\n", dir), *sd = pathf("%s/sub", dir);
        assert_int_equal(unlink(u), 0);
        assert_int_equal(chmod(sd, 0700), 0); /* a directory it cannot enter */
        assert_int_equal(scan_unprivileged(dir, msg, sizeof(msg)), EACCES);
        assert_string_equal(msg, "sub: Permission denied");
        test_rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_file_types_and_inline),
            cmocka_unit_test(test_devices),
            cmocka_unit_test(test_xattrs),
            cmocka_unit_test(test_hardlinks),
            cmocka_unit_test(test_determinism),
            cmocka_unit_test(test_weird_names),
            cmocka_unit_test(test_store_and_progress),
            cmocka_unit_test(test_store_source_changed),
            cmocka_unit_test(test_store_mixed_and_failed),
            cmocka_unit_test(test_bad_roots),
            cmocka_unit_test(test_unreadable),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

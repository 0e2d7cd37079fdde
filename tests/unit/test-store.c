/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-store.c - unit tests of the object store (lib/store.c): layout, naming,
 * dedupe, verification of the copy, atomicity (nothing partial or temporary
 * left after a failed add), lazily made subdirectories, concurrent writers of
 * the same object. Digests are checked against libfsverity directly. Host.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libfsverity.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"

/* ---- helpers ---- */

struct membuf {
        const uint8_t *p;
        size_t left;
};

static int mem_read(void *fd, void *buf, size_t count)
{
        struct membuf *m = fd;
        if (count > m->left)
                return -EIO;
        memcpy(buf, m->p, count);
        m->p += count;
        m->left -= count;
        return 0;
}

/* The reference: libfsverity on a buffer. */
static void ref_digest(const void *buf, size_t len, uint8_t out[CFS_DIGEST_SIZE])
{
        struct libfsverity_merkle_tree_params params = {
            .version = 1, .hash_algorithm = 1, .file_size = len, .block_size = 4096};
        struct membuf m = {buf, len};
        struct libfsverity_digest *d = NULL;
        assert_int_equal(libfsverity_compute_digest(&m, mem_read, &params, &d), 0);
        assert_int_equal(d->digest_size, CFS_DIGEST_SIZE);
        memcpy(out, d->digest, CFS_DIGEST_SIZE);
        free(d);
}

static char *make_tmpdir(void)
{
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
        char *p = NULL;
        assert_true(asprintf(&p, "%s/test-store.XXXXXX", base) > 0);
        assert_non_null(mkdtemp(p));
        return p;
}

static void rm_rf(const char *path)
{
        char *cmd = NULL;
        assert_true(asprintf(&cmd, "rm -rf '%s'", path) > 0);
        assert_int_equal(system(cmd), 0);
        free(cmd);
}

/* A file with @len bytes of @content; returns an fd open for reading at offset 0. */
static int make_file(const char *dir, const char *name, const void *content, size_t len)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, len), (ssize_t)len);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

static uint8_t *pattern(size_t len, unsigned seed)
{
        uint8_t *b = malloc(len ? len : 1);
        assert_non_null(b);
        uint32_t x = seed * 2654435761u + 1;
        for (size_t i = 0; i < len; i++) {
                x = x * 1103515245u + 12345u;
                b[i] = (uint8_t)(x >> 16);
        }
        return b;
}

/* Count regular files under objects/ (objects) and names starting with ".cfsroot-tmp". */
static void count_store(const char *store, unsigned *objects, unsigned *temps)
{
        char path[4096];
        *objects = *temps = 0;
        snprintf(path, sizeof(path), "%s/objects", store);
        DIR *d = opendir(path);
        assert_non_null(d);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strncmp(de->d_name, ".cfsroot-tmp", 12) == 0)
                        (*temps)++;
                if (de->d_name[0] == '.' || strlen(de->d_name) != 2)
                        continue;
                char sub[4200];
                snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
                DIR *s = opendir(sub);
                if (!s)
                        continue;
                struct dirent *e;
                while ((e = readdir(s))) {
                        if (e->d_name[0] == '.') {
                                if (strncmp(e->d_name, ".cfsroot-tmp", 12) == 0)
                                        (*temps)++;
                                continue;
                        }
                        (*objects)++;
                }
                closedir(s);
        }
        closedir(d);
}

static void assert_object(const char *store, const uint8_t digest[CFS_DIGEST_SIZE],
                          const void *content, size_t len)
{
        char name[66], path[4200];
        cfs_store_object_name(digest, name);
        snprintf(path, sizeof(path), "%s/objects/%s", store, name);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(st.st_size, (off_t)len);
        uint8_t *got = malloc(len + 1);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(read(fd, got, len + 1), (ssize_t)len);
        close(fd);
        assert_memory_equal(got, content, len);
        free(got);
}

/* ---- tests ---- */

static void test_object_name(void **state)
{
        (void)state;
        uint8_t d[CFS_DIGEST_SIZE];
        char name[66];
        for (unsigned i = 0; i < CFS_DIGEST_SIZE; i++)
                d[i] = (uint8_t)(0xa0 + i * 7);
        cfs_store_object_name(d, name);
        assert_int_equal(strlen(name), 65);
        assert_string_equal(name,
                            "a0/a7aeb5bcc3cad1d8dfe6edf4fb020910171e252c333a41484f565d646b7279");
        assert_int_equal(name[2], '/');
}

static void test_open(void **state)
{
        (void)state;
        char *dir = make_tmpdir(), path[4200];
        struct cfs_error err = {};
        struct cfs_store *s = NULL;
        struct stat st;

        /* not a store: no objects/ */
        assert_int_equal(cfs_store_open(dir, false, &s, &err), -ENOENT);
        assert_non_null(strstr(err.message, "not an object store"));
        assert_null(s);

        /* create makes the whole layout up front, and is idempotent */
        snprintf(path, sizeof(path), "%s/store", dir);
        for (int i = 0; i < 2; i++) {
                assert_int_equal(cfs_store_open(path, true, &s, NULL), 0);
                cfs_store_free(s);
                s = NULL;
        }
        for (unsigned i = 0; i < 256; i++) {
                char sub[4300];
                snprintf(sub, sizeof(sub), "%s/objects/%02x", path, i);
                assert_int_equal(stat(sub, &st), 0);
                assert_true(S_ISDIR(st.st_mode));
        }
        assert_int_equal(cfs_store_open(path, false, &s, NULL), 0);
        cfs_store_free(s);

        /* a missing parent directory is an error naming the path */
        snprintf(path, sizeof(path), "%s/no/such", dir);
        memset(&err, 0, sizeof(err));
        assert_int_equal(cfs_store_open(path, true, &s, &err), -ENOENT);
        assert_non_null(strstr(err.message, path));
        rm_rf(dir);
        free(dir);
}

static void test_add_and_dedupe(void **state)
{
        (void)state;
        char *dir = make_tmpdir(), store[4200];
        struct cfs_store *s = NULL;
        struct cfs_error err = {};
        enum cfs_store_added added;
        bool verity = true;
        unsigned objects, temps;
        uint8_t d[CFS_DIGEST_SIZE];

        snprintf(store, sizeof(store), "%s/store", dir);
        assert_int_equal(cfs_store_open(store, true, &s, &err), 0);

        /* sizes around the block size and the copy buffer */
        const size_t sizes[] = {65, 4095, 4096, 4097, 65536, 65537, 300000};
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                uint8_t *c = pattern(sizes[i], (unsigned)i);
                ref_digest(c, sizes[i], d);
                int fd = make_file(dir, "src", c, sizes[i]);
                assert_int_equal(cfs_store_add_fd(s, fd, sizes[i], d, &added, &verity, &err), 0);
                assert_int_equal(added, CFS_STORE_ADDED);
                assert_false(verity); /* no fs-verity in the host kernel */
                assert_object(store, d, c, sizes[i]);
                /* the same content again: found, not copied */
                assert_int_equal(cfs_store_add_fd(s, fd, sizes[i], d, &added, &verity, &err), 0);
                assert_int_equal(added, CFS_STORE_EXISTED);
                close(fd);
                free(c);
        }
        count_store(store, &objects, &temps);
        assert_int_equal(objects, sizeof(sizes) / sizeof(sizes[0]));
        assert_int_equal(temps, 0);

        /* an existing object is not read from the source at all */
        uint8_t *c = pattern(5000, 1);
        ref_digest(c, 5000, d);
        int fd = make_file(dir, "src2", c, 5000);
        assert_int_equal(cfs_store_add_fd(s, fd, 5000, d, &added, &verity, &err), 0);
        close(fd);
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_int_equal(cfs_store_add_fd(s, devnull, 5000, d, &added, &verity, &err), 0);
        assert_int_equal(added, CFS_STORE_EXISTED);
        close(devnull);
        free(c);
        assert_int_equal(cfs_store_sync(s, &err), 0);
        cfs_store_free(s);
        rm_rf(dir);
        free(dir);
}

static void test_add_hashing(void **state)
{
        (void)state;
        char *dir = make_tmpdir(), store[4200];
        struct cfs_store *s = NULL;
        struct cfs_error err = {};
        enum cfs_store_added added;
        bool verity;
        uint8_t d[CFS_DIGEST_SIZE], want[CFS_DIGEST_SIZE];
        unsigned objects, temps;

        snprintf(store, sizeof(store), "%s/store", dir);
        assert_int_equal(cfs_store_open(store, true, &s, &err), 0);
        uint8_t *c = pattern(1 << 20, 7);
        ref_digest(c, 1 << 20, want);
        int fd = make_file(dir, "src", c, 1 << 20);
        assert_int_equal(cfs_store_add_fd_hashing(s, fd, 1 << 20, d, &added, &verity, &err), 0);
        assert_memory_equal(d, want, CFS_DIGEST_SIZE);
        assert_int_equal(added, CFS_STORE_ADDED);
        assert_object(store, d, c, 1 << 20);
        memset(d, 0, sizeof(d));
        assert_int_equal(cfs_store_add_fd_hashing(s, fd, 1 << 20, d, &added, &verity, &err), 0);
        assert_memory_equal(d, want, CFS_DIGEST_SIZE);
        assert_int_equal(added, CFS_STORE_EXISTED);
        count_store(store, &objects, &temps);
        assert_int_equal(objects, 1);
        assert_int_equal(temps, 0);
        close(fd);
        free(c);
        cfs_store_free(s);
        rm_rf(dir);
        free(dir);
}

/* A file that is not what its digest says, or not as long as its size: an error
 * that says so, and nothing left in the store. */
static void test_mismatch_and_short(void **state)
{
        (void)state;
        char *dir = make_tmpdir(), store[4200], hex[65];
        struct cfs_store *s = NULL;
        struct cfs_error err = {};
        enum cfs_store_added added;
        bool verity;
        uint8_t d[CFS_DIGEST_SIZE], other[CFS_DIGEST_SIZE];
        unsigned objects, temps;

        snprintf(store, sizeof(store), "%s/store", dir);
        assert_int_equal(cfs_store_open(store, true, &s, NULL), 0);
        uint8_t *c = pattern(10000, 3);
        ref_digest(c, 10000, d);
        c[5000] ^= 1; /* the file "changed" after its digest was computed */
        ref_digest(c, 10000, other);
        int fd = make_file(dir, "src", c, 10000);
        assert_int_equal(cfs_store_add_fd(s, fd, 10000, d, &added, &verity, &err), -EBADMSG);
        for (unsigned i = 0; i < CFS_DIGEST_SIZE; i++)
                snprintf(hex + 2 * i, 3, "%02x", d[i]);
        assert_non_null(strstr(err.message, hex)); /* expected */
        for (unsigned i = 0; i < CFS_DIGEST_SIZE; i++)
                snprintf(hex + 2 * i, 3, "%02x", other[i]);
        assert_non_null(strstr(err.message, hex)); /* found */

        /* shorter and longer than the size given */
        memset(&err, 0, sizeof(err));
        assert_int_equal(cfs_store_add_fd(s, fd, 10001, other, &added, &verity, &err), -EIO);
        assert_non_null(strstr(err.message, "shorter"));
        memset(&err, 0, sizeof(err));
        assert_int_equal(cfs_store_add_fd_hashing(s, fd, 9999, d, &added, &verity, &err), -EIO);
        assert_non_null(strstr(err.message, "longer"));

        count_store(store, &objects, &temps);
        assert_int_equal(objects, 0);
        assert_int_equal(temps, 0);
        close(fd);
        free(c);
        cfs_store_free(s);
        rm_rf(dir);
        free(dir);
}

/* A write that fails half-way (file size limit: EFBIG, like a full disk):
 * no object, no temp file. */
static void test_failed_write_leaves_nothing(void **state)
{
        (void)state;
        char *dir = make_tmpdir(), store[4200];
        struct cfs_store *s = NULL;
        struct cfs_error err = {};
        enum cfs_store_added added;
        bool verity;
        uint8_t d[CFS_DIGEST_SIZE];
        unsigned objects, temps;
        struct rlimit old, lim;

        snprintf(store, sizeof(store), "%s/store", dir);
        assert_int_equal(cfs_store_open(store, true, &s, NULL), 0);
        uint8_t *c = pattern(200000, 9);
        int fd = make_file(dir, "src", c, 200000);

        signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
        lim = old;
        lim.rlim_cur = 100000;
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
        int r = cfs_store_add_fd_hashing(s, fd, 200000, d, &added, &verity, &err);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        assert_int_equal(r, -EFBIG);
        assert_non_null(strstr(err.message, store));

        count_store(store, &objects, &temps);
        assert_int_equal(objects, 0);
        assert_int_equal(temps, 0);
        close(fd);
        free(c);
        cfs_store_free(s);
        rm_rf(dir);
        free(dir);
}

/* A store made by a tool that creates objects/xx/ lazily. */
static void test_lazy_subdirs(void **state)
{
        (void)state;
        char *dir = make_tmpdir(), store[4200], objs[4300];
        struct cfs_store *s = NULL;
        enum cfs_store_added added;
        bool verity;
        uint8_t d[CFS_DIGEST_SIZE];

        snprintf(store, sizeof(store), "%s/store", dir);
        snprintf(objs, sizeof(objs), "%s/objects", store);
        assert_int_equal(mkdir(store, 0755), 0);
        assert_int_equal(mkdir(objs, 0755), 0);
        assert_int_equal(cfs_store_open(store, false, &s, NULL), 0);
        uint8_t *c = pattern(777, 11);
        ref_digest(c, 777, d);
        int fd = make_file(dir, "src", c, 777);
        assert_int_equal(cfs_store_add_fd(s, fd, 777, d, &added, &verity, NULL), 0);
        assert_int_equal(added, CFS_STORE_ADDED);
        assert_object(store, d, c, 777);
        close(fd);
        free(c);
        cfs_store_free(s);
        rm_rf(dir);
        free(dir);
}

/* Several threads add the same content at once: one adds it, the others find it
 * (before copying, or as EEXIST when linking), all get the same digest. */
#define RACERS 6
struct racer {
        struct cfs_store *s;
        const char *path;
        size_t len;
        pthread_barrier_t *barrier;
        enum cfs_store_added added;
        uint8_t digest[CFS_DIGEST_SIZE];
        int r;
};

static void *race(void *p)
{
        struct racer *x = p;
        bool verity;
        int fd = open(x->path, O_RDONLY | O_CLOEXEC);
        pthread_barrier_wait(x->barrier);
        x->r = cfs_store_add_fd_hashing(x->s, fd, x->len, x->digest, &x->added, &verity, NULL);
        close(fd);
        return NULL;
}

static void test_concurrent_writers(void **state)
{
        (void)state;
        char *dir = make_tmpdir(), store[4200], src[4200];
        struct cfs_store *s = NULL;
        unsigned objects, temps;

        snprintf(store, sizeof(store), "%s/store", dir);
        assert_int_equal(cfs_store_open(store, true, &s, NULL), 0);
        for (unsigned round = 0; round < 20; round++) {
                size_t len = 20000 + round * 1000;
                uint8_t *c = pattern(len, 100 + round), want[CFS_DIGEST_SIZE];
                ref_digest(c, len, want);
                snprintf(src, sizeof(src), "%s/src%u", dir, round);
                close(make_file(dir, strrchr(src, '/') + 1, c, len));
                pthread_barrier_t barrier;
                pthread_barrier_init(&barrier, NULL, RACERS);
                struct racer x[RACERS];
                pthread_t th[RACERS];
                for (unsigned i = 0; i < RACERS; i++) {
                        x[i] = (struct racer){.s = s, .path = src, .len = len, .barrier = &barrier};
                        assert_int_equal(pthread_create(&th[i], NULL, race, &x[i]), 0);
                }
                unsigned n_added = 0;
                for (unsigned i = 0; i < RACERS; i++) {
                        pthread_join(th[i], NULL);
                        assert_int_equal(x[i].r, 0);
                        assert_memory_equal(x[i].digest, want, CFS_DIGEST_SIZE);
                        n_added += x[i].added == CFS_STORE_ADDED;
                }
                assert_int_equal(n_added, 1);
                pthread_barrier_destroy(&barrier);
                assert_object(store, want, c, len);
                free(c);
        }
        count_store(store, &objects, &temps);
        assert_int_equal(objects, 20);
        assert_int_equal(temps, 0);
        cfs_store_free(s);
        rm_rf(dir);
        free(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_object_name),
            cmocka_unit_test(test_open),
            cmocka_unit_test(test_add_and_dedupe),
            cmocka_unit_test(test_add_hashing),
            cmocka_unit_test(test_mismatch_and_short),
            cmocka_unit_test(test_failed_write_leaves_nothing),
            cmocka_unit_test(test_lazy_subdirs),
            cmocka_unit_test(test_concurrent_writers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test-util.h"

#include "store.h"

/* ---- helpers ---- */

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

/* Count the entries inside the staging directory objects/@staging. */
static unsigned count_staged(const char *objects, const char *staging)
{
        char path[4400];
        unsigned n = 0;
        snprintf(path, sizeof(path), "%s/%s", objects, staging);
        DIR *d = opendir(path);
        assert_non_null(d);
        struct dirent *de;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

/* Count regular files under objects/xx/ (objects) and anything temporary: files
 * in objects/.staging-*, names starting with ".cfsroot-tmp" or ".tmp". */
static void count_store(const char *store, unsigned *objects, unsigned *temps)
{
        char path[4096];
        *objects = *temps = 0;
        snprintf(path, sizeof(path), "%s/objects", store);
        DIR *d = opendir(path);
        assert_non_null(d);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strncmp(de->d_name, ".cfsroot-tmp", 12) == 0 ||
                    strncmp(de->d_name, ".tmp", 4) == 0)
                        (*temps)++;
                if (strncmp(de->d_name, ".staging-", 9) == 0)
                        *temps += count_staged(path, de->d_name);
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

/* Number of objects/.staging-* directories. */
static unsigned count_staging_dirs(const char *store)
{
        _cleanup_free_ char *path = NULL;
        unsigned n = 0;
        assert_true(asprintf(&path, "%s/objects", store) > 0);
        DIR *d = opendir(path);
        assert_non_null(d);
        struct dirent *de;
        while ((de = readdir(d)))
                n += strncmp(de->d_name, ".staging-", 9) == 0;
        closedir(d);
        return n;
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

/* One test's scratch directory, with a store in it (store/) that fx_setup()
 * creates and opens; fx_dir_setup() makes only the directory. */
struct fx {
        char *dir;
        char store[4200];
        struct cfs_store *s;
};

static int fx_dir_setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        assert_non_null(f);
        f->dir = test_tmpdir("test-store");
        snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
        *state = f;
        return 0;
}

static int fx_setup(void **state)
{
        fx_dir_setup(state);
        struct fx *f = *state;
        assert_int_equal(cfs_store_open(f->store, true, &f->s, NULL), 0);
        return 0;
}

static int fx_teardown(void **state)
{
        struct fx *f = *state;
        cfs_store_free(f->s);
        test_rm_rf(f->dir);
        free(f->dir);
        free(f);
        return 0;
}

/* cfs_store_add_fd_hashing() that must succeed: the digest in @d, whether it
 * was added returned */
static enum cfs_store_added add_ok(struct cfs_store *s, int fd, size_t len,
                                   uint8_t d[CFS_DIGEST_SIZE])
{
        struct cfs_error err = {};
        enum cfs_store_added added;
        bool verity;
        int r = cfs_store_add_fd_hashing(s, fd, len, NULL, NULL, d, &added, &verity, &err);
        if (r != 0)
                fail_msg("add of %zu bytes: %d %s", len, r, err.message);
        return added;
}

/* cfs_store_add_fd_hashing() that must fail with @r; the error message returned */
static const char *add_fails(struct cfs_store *s, int fd, size_t len, int r)
{
        static struct cfs_error err;
        enum cfs_store_added added;
        uint8_t d[CFS_DIGEST_SIZE];
        bool verity;
        memset(&err, 0, sizeof(err));
        assert_int_equal(cfs_store_add_fd_hashing(s, fd, len, NULL, NULL, d, &added, &verity, &err),
                         r);
        return err.message;
}

static void expect_counts(const char *store, unsigned objects, unsigned temps)
{
        unsigned o, t;
        count_store(store, &o, &t);
        assert_int_equal(o, objects);
        assert_int_equal(t, temps);
}

/* Lower the file size limit to @limit bytes (SIGXFSZ ignored): writes past it
 * fail with EFBIG, as on a full disk. The old limit is returned for
 * fsize_restore(). */
static struct rlimit fsize_limit(rlim_t limit)
{
        struct rlimit old, lim;
        signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
        lim = old;
        lim.rlim_cur = limit;
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
        return old;
}

static void fsize_restore(const struct rlimit *old)
{
        assert_int_equal(setrlimit(RLIMIT_FSIZE, old), 0);
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
        struct fx *f = *state;
        char path[4200];
        struct cfs_error err = {};
        struct cfs_store *s = NULL;
        struct stat st;

        /* not a store: no objects/ */
        assert_int_equal(cfs_store_open(f->dir, false, &s, &err), -ENOENT);
        assert_non_null(strstr(err.message, "not an object store"));
        assert_null(s);

        /* create makes the whole layout up front, and is idempotent */
        for (int i = 0; i < 2; i++) {
                assert_int_equal(cfs_store_open(f->store, true, &s, NULL), 0);
                cfs_store_free(TAKE_PTR(s));
        }
        for (unsigned i = 0; i < 256; i++) {
                char sub[4300];
                snprintf(sub, sizeof(sub), "%s/objects/%02x", f->store, i);
                assert_int_equal(stat(sub, &st), 0);
                assert_true(S_ISDIR(st.st_mode));
        }
        assert_int_equal(cfs_store_open(f->store, false, &s, NULL), 0);
        cfs_store_free(s);

        /* a missing parent directory is an error naming the path */
        snprintf(path, sizeof(path), "%s/no/such", f->dir);
        memset(&err, 0, sizeof(err));
        assert_int_equal(cfs_store_open(path, true, &s, &err), -ENOENT);
        assert_non_null(strstr(err.message, path));
}

static void test_add_and_dedupe(void **state)
{
        struct fx *f = *state;
        struct cfs_error err = {};
        enum cfs_store_added added;
        bool verity = true;
        uint8_t d[CFS_DIGEST_SIZE];

        /* sizes around the block size and the copy buffer */
        const size_t sizes[] = {65, 4095, 4096, 4097, 65536, 65537, 300000};
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                uint8_t *c = pattern(sizes[i], (unsigned)i);
                test_ref_digest(c, sizes[i], d);
                int fd = make_file(f->dir, "src", c, sizes[i]);
                assert_int_equal(cfs_store_add_fd(f->s, fd, sizes[i], d, &added, &verity, &err), 0);
                assert_int_equal(added, CFS_STORE_ADDED);
                assert_false(verity); /* no fs-verity in the host kernel */
                assert_int_equal(cfs_store_commit(f->s, &err), 0);
                assert_object(f->store, d, c, sizes[i]);
                /* the same content again: found, not copied */
                assert_int_equal(cfs_store_add_fd(f->s, fd, sizes[i], d, &added, &verity, &err), 0);
                assert_int_equal(added, CFS_STORE_EXISTED);
                close(fd);
                free(c);
        }
        expect_counts(f->store, ELEMENTSOF(sizes), 0);

        /* an existing object is not read from the source at all */
        uint8_t *c = pattern(5000, 1);
        test_ref_digest(c, 5000, d);
        int fd = make_file(f->dir, "src2", c, 5000);
        assert_int_equal(cfs_store_add_fd(f->s, fd, 5000, d, &added, &verity, &err), 0);
        close(fd);
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_int_equal(cfs_store_add_fd(f->s, devnull, 5000, d, &added, &verity, &err), 0);
        assert_int_equal(added, CFS_STORE_EXISTED);
        close(devnull);
        free(c);
        assert_int_equal(cfs_store_sync(f->s, &err), 0);
}

static void test_add_hashing(void **state)
{
        struct fx *f = *state;
        uint8_t d[CFS_DIGEST_SIZE], want[CFS_DIGEST_SIZE];

        uint8_t *c = pattern(1 << 20, 7);
        test_ref_digest(c, 1 << 20, want);
        int fd = make_file(f->dir, "src", c, 1 << 20);
        assert_int_equal(add_ok(f->s, fd, 1 << 20, d), CFS_STORE_ADDED);
        assert_memory_equal(d, want, CFS_DIGEST_SIZE);
        assert_int_equal(cfs_store_commit(f->s, NULL), 0);
        assert_object(f->store, d, c, 1 << 20);
        memset(d, 0, sizeof(d));
        assert_int_equal(add_ok(f->s, fd, 1 << 20, d), CFS_STORE_EXISTED);
        assert_memory_equal(d, want, CFS_DIGEST_SIZE);
        expect_counts(f->store, 1, 0);
        close(fd);
        free(c);
}

/* A file that is not what its digest says, or not as long as its size: an error
 * that says so, and nothing left in the store. */
static void test_mismatch_and_short(void **state)
{
        struct fx *f = *state;
        char hex[65];
        struct cfs_error err = {};
        enum cfs_store_added added;
        bool verity;
        uint8_t d[CFS_DIGEST_SIZE], other[CFS_DIGEST_SIZE];

        uint8_t *c = pattern(10000, 3);
        test_ref_digest(c, 10000, d);
        c[5000] ^= 1; /* the file "changed" after its digest was computed */
        test_ref_digest(c, 10000, other);
        int fd = make_file(f->dir, "src", c, 10000);
        assert_int_equal(cfs_store_add_fd(f->s, fd, 10000, d, &added, &verity, &err), -EBADMSG);
        for (unsigned i = 0; i < CFS_DIGEST_SIZE; i++)
                snprintf(hex + 2 * i, 3, "%02x", d[i]);
        assert_non_null(strstr(err.message, hex)); /* expected */
        for (unsigned i = 0; i < CFS_DIGEST_SIZE; i++)
                snprintf(hex + 2 * i, 3, "%02x", other[i]);
        assert_non_null(strstr(err.message, hex)); /* found */

        /* shorter and longer than the size given */
        memset(&err, 0, sizeof(err));
        assert_int_equal(cfs_store_add_fd(f->s, fd, 10001, other, &added, &verity, &err), -EIO);
        assert_non_null(strstr(err.message, "shorter"));
        assert_non_null(strstr(add_fails(f->s, fd, 9999, -EIO), "longer"));

        expect_counts(f->store, 0, 0);
        close(fd);
        free(c);
}

/* A write that fails half-way (file size limit: EFBIG, like a full disk):
 * no object, no temp file. */
static void test_failed_write_leaves_nothing(void **state)
{
        struct fx *f = *state;
        struct cfs_error err = {};
        enum cfs_store_added added;
        bool verity;
        uint8_t d[CFS_DIGEST_SIZE];

        uint8_t *c = pattern(200000, 9);
        int fd = make_file(f->dir, "src", c, 200000);
        struct rlimit old = fsize_limit(100000);
        int r = cfs_store_add_fd_hashing(f->s, fd, 200000, NULL, NULL, d, &added, &verity, &err);
        fsize_restore(&old);
        assert_int_equal(r, -EFBIG);
        assert_non_null(strstr(err.message, f->store));

        expect_counts(f->store, 0, 0);
        close(fd);
        free(c);
}

/* A store made by a tool that creates objects/xx/ lazily. */
static void test_lazy_subdirs(void **state)
{
        struct fx *f = *state;
        char objs[4300];
        enum cfs_store_added added;
        bool verity;
        uint8_t d[CFS_DIGEST_SIZE];

        snprintf(objs, sizeof(objs), "%s/objects", f->store);
        assert_int_equal(mkdir(f->store, 0755), 0);
        assert_int_equal(mkdir(objs, 0755), 0);
        assert_int_equal(cfs_store_open(f->store, false, &f->s, NULL), 0);
        uint8_t *c = pattern(777, 11);
        test_ref_digest(c, 777, d);
        int fd = make_file(f->dir, "src", c, 777);
        assert_int_equal(cfs_store_add_fd(f->s, fd, 777, d, &added, &verity, NULL), 0);
        assert_int_equal(added, CFS_STORE_ADDED);
        assert_int_equal(cfs_store_commit(f->s, NULL), 0);
        assert_object(f->store, d, c, 777);
        close(fd);
        free(c);
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
        x->r = cfs_store_add_fd_hashing(x->s, fd, x->len, NULL, NULL, x->digest, &x->added, &verity,
                                        NULL);
        close(fd);
        return NULL;
}

static void test_concurrent_writers(void **state)
{
        struct fx *f = *state;
        char src[4200];

        for (unsigned round = 0; round < 20; round++) {
                size_t len = 20000 + round * 1000;
                uint8_t *c = pattern(len, 100 + round), want[CFS_DIGEST_SIZE];
                test_ref_digest(c, len, want);
                snprintf(src, sizeof(src), "%s/src%u", f->dir, round);
                close(make_file(f->dir, strrchr(src, '/') + 1, c, len));
                pthread_barrier_t barrier;
                pthread_barrier_init(&barrier, NULL, RACERS);
                struct racer x[RACERS];
                pthread_t th[RACERS];
                for (unsigned i = 0; i < RACERS; i++) {
                        x[i] =
                            (struct racer){.s = f->s, .path = src, .len = len, .barrier = &barrier};
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
                assert_int_equal(cfs_store_commit(f->s, NULL), 0);
                assert_object(f->store, want, c, len);
                free(c);
        }
        expect_counts(f->store, 20, 0);
}

static void stat_object(const char *store, const uint8_t digest[CFS_DIGEST_SIZE], struct stat *st)
{
        char name[66], path[4400];
        cfs_store_object_name(digest, name);
        snprintf(path, sizeof(path), "%s/objects/%s", store, name);
        assert_int_equal(stat(path, st), 0);
}

static bool object_visible(const char *store, const uint8_t digest[CFS_DIGEST_SIZE])
{
        char name[66], path[4400];
        struct stat st;
        cfs_store_object_name(digest, name);
        snprintf(path, sizeof(path), "%s/objects/%s", store, name);
        return stat(path, &st) == 0;
}

/* An object that is in the store already costs no write: its inode and times stay,
 * no staging directory is even made; the same goes for a new handle. */
static void test_existing_no_write(void **state)
{
        struct fx *f = *state;
        char sub[4300];
        struct cfs_error err = {};
        enum cfs_store_added a1 = CFS_STORE_ADDED, a2 = CFS_STORE_ADDED;
        bool verity;
        uint8_t d[CFS_DIGEST_SIZE], d2[CFS_DIGEST_SIZE];
        struct stat before, after, sub_before, sub_after;

        uint8_t *c = pattern(100000, 21);
        int fd = make_file(f->dir, "src", c, 100000);
        assert_int_equal(add_ok(f->s, fd, 100000, d), CFS_STORE_ADDED);
        assert_int_equal(cfs_store_commit(f->s, &err), 0);
        cfs_store_free(TAKE_PTR(f->s));
        assert_int_equal(count_staging_dirs(f->store), 0);
        stat_object(f->store, d, &before);
        snprintf(sub, sizeof(sub), "%s/objects/%02x", f->store, d[0]);
        assert_int_equal(stat(sub, &sub_before), 0);

        usleep(20000); /* a write now would show in the times */
        assert_int_equal(cfs_store_open(f->store, true, &f->s, &err), 0);
        /* no file may grow at all now (EFBIG): a copy would fail */
        struct rlimit old = fsize_limit(0);
        int r1 = 0, r2 = 0;
        for (int i = 0; i < 2; i++) {
                r1 |=
                    cfs_store_add_fd_hashing(f->s, fd, 100000, NULL, NULL, d2, &a1, &verity, &err);
                r2 |= cfs_store_add_fd(f->s, fd, 100000, d, &a2, &verity, &err);
        }
        fsize_restore(&old);
        assert_int_equal(r1, 0);
        assert_int_equal(r2, 0);
        assert_int_equal(a1, CFS_STORE_EXISTED);
        assert_int_equal(a2, CFS_STORE_EXISTED);
        assert_memory_equal(d, d2, CFS_DIGEST_SIZE);
        assert_int_equal(count_staging_dirs(f->store), 0);
        assert_int_equal(cfs_store_commit(f->s, &err), 0);
        stat_object(f->store, d, &after);
        assert_int_equal(before.st_ino, after.st_ino);
        assert_int_equal(before.st_nlink, after.st_nlink);
        assert_int_equal(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
        assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
        assert_int_equal(before.st_ctim.tv_nsec, after.st_ctim.tv_nsec);
        assert_int_equal(stat(sub, &sub_after), 0);
        assert_int_equal(sub_before.st_mtim.tv_nsec, sub_after.st_mtim.tv_nsec);
        cfs_store_free(TAKE_PTR(f->s));
        assert_int_equal(count_staging_dirs(f->store), 0);
        close(fd);
        free(c);
}

/* New objects are staged: not under objects/ab/ before cfs_store_commit(); the same
 * content again in the same run is deduplicated against the staged copy; the
 * commit makes them visible and empties the staging directory; a handle freed
 * without a commit leaves nothing. */
static void test_staged_until_commit(void **state)
{
        struct fx *f = *state;
        uint8_t d[CFS_DIGEST_SIZE], d2[CFS_DIGEST_SIZE];

        uint8_t *c = pattern(70000, 22);
        int fd = make_file(f->dir, "a", c, 70000);
        int fd2 = make_file(f->dir, "b", c, 70000); /* same content, other file */
        assert_int_equal(add_ok(f->s, fd, 70000, d), CFS_STORE_ADDED);
        assert_false(object_visible(f->store, d));
        assert_int_equal(count_staging_dirs(f->store), 1);
        expect_counts(f->store, 0, 1); /* the staged copy */
        assert_int_equal(add_ok(f->s, fd2, 70000, d2), CFS_STORE_EXISTED);
        assert_memory_equal(d, d2, CFS_DIGEST_SIZE);
        expect_counts(f->store, 0, 1); /* not copied twice */

        assert_int_equal(cfs_store_commit(f->s, NULL), 0);
        assert_object(f->store, d, c, 70000);
        expect_counts(f->store, 1, 0);
        assert_int_equal(cfs_store_commit(f->s, NULL), 0); /* nothing to do: fine */
        cfs_store_free(TAKE_PTR(f->s));
        assert_int_equal(count_staging_dirs(f->store), 0);

        /* staged, then the handle is freed without a commit: no object, nothing left */
        uint8_t *c2 = pattern(70000, 23), d3[CFS_DIGEST_SIZE];
        int fd3 = make_file(f->dir, "c", c2, 70000);
        assert_int_equal(cfs_store_open(f->store, true, &f->s, NULL), 0);
        assert_int_equal(add_ok(f->s, fd3, 70000, d3), CFS_STORE_ADDED);
        cfs_store_free(TAKE_PTR(f->s));
        assert_false(object_visible(f->store, d3));
        assert_int_equal(count_staging_dirs(f->store), 0);
        expect_counts(f->store, 1, 0);
        close(fd);
        close(fd2);
        close(fd3);
        free(c);
        free(c2);
}

/* Two handles (two runs) stage the same object; the second commit finds it
 * published by the first: deduplicated, not an error, nothing left behind. */
static void test_commit_race(void **state)
{
        struct fx *f = *state;
        struct cfs_store *b = NULL;
        uint8_t d[CFS_DIGEST_SIZE];

        assert_int_equal(cfs_store_open(f->store, true, &b, NULL), 0);
        uint8_t *c = pattern(9000, 24);
        int fd = make_file(f->dir, "src", c, 9000);
        assert_int_equal(add_ok(f->s, fd, 9000, d), CFS_STORE_ADDED);
        assert_int_equal(add_ok(b, fd, 9000, d), CFS_STORE_ADDED);
        assert_int_equal(count_staging_dirs(f->store), 2);
        assert_int_equal(cfs_store_commit(b, NULL), 0);
        assert_int_equal(cfs_store_commit(f->s, NULL), 0);
        assert_object(f->store, d, c, 9000);
        expect_counts(f->store, 1, 0);
        cfs_store_free(TAKE_PTR(f->s));
        cfs_store_free(b);
        assert_int_equal(count_staging_dirs(f->store), 0);
        close(fd);
        free(c);
}

/* A run that dies before its commit leaves its staging directory (with staged
 * copies) but no object; the next cfs_store_open() removes it, and leaves the
 * staging directory of a live handle alone. */
static void test_crashed_staging_removed(void **state)
{
        struct fx *f = *state;
        struct cfs_store *live = NULL, *s = NULL;
        uint8_t d[CFS_DIGEST_SIZE], dl[CFS_DIGEST_SIZE];

        cfs_store_free(TAKE_PTR(f->s)); /* the layout stays */
        uint8_t *c = pattern(50000, 25), *cl = pattern(50000, 26);
        int fd = make_file(f->dir, "src", c, 50000), fdl = make_file(f->dir, "live", cl, 50000);

        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct cfs_store *cs = NULL;
                enum cfs_store_added added;
                bool verity;
                if (cfs_store_open(f->store, false, &cs, NULL) < 0 ||
                    cfs_store_add_fd_hashing(cs, fd, 50000, NULL, NULL, d, &added, &verity, NULL) <
                        0)
                        _exit(1);
                _exit(0); /* "crash": no commit, no free */
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_int_equal(count_staging_dirs(f->store), 1);
        expect_counts(f->store, 0, 1);

        /* a live run's staging directory survives other opens */
        assert_int_equal(cfs_store_open(f->store, false, &live, NULL),
                         0); /* removes the crashed one */
        assert_int_equal(count_staging_dirs(f->store), 0);
        add_ok(live, fdl, 50000, dl);
        assert_int_equal(count_staging_dirs(f->store), 1);
        assert_int_equal(cfs_store_open(f->store, false, &s, NULL), 0);
        assert_int_equal(count_staging_dirs(f->store), 1);
        cfs_store_free(s);
        assert_int_equal(cfs_store_commit(live, NULL), 0);
        assert_object(f->store, dl, cl, 50000);
        cfs_store_free(live);
        expect_counts(f->store, 1, 0);
        assert_int_equal(count_staging_dirs(f->store), 0);
        close(fd);
        close(fdl);
        free(c);
        free(cl);
}

/* The source changes after it was hashed and before it is copied (test hook):
 * an error that says so, no object, nothing staged. */
enum change { CHANGE_CONTENT, CHANGE_TRUNCATE, CHANGE_APPEND, CHANGE_TOUCH };

static void change_source(int fd, void *userdata)
{
        enum change how = *(enum change *)userdata;
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        int w = open(proc, O_WRONLY | O_CLOEXEC);
        assert_true(w >= 0);
        switch (how) {
        case CHANGE_CONTENT: /* same size, other bytes */
                assert_int_equal(pwrite(w, "XYZ", 3, 100), 3);
                break;
        case CHANGE_TRUNCATE:
                assert_int_equal(ftruncate(w, 1000), 0);
                break;
        case CHANGE_APPEND:
                assert_int_equal(pwrite(w, "more", 4, 30000), 4);
                break;
        case CHANGE_TOUCH: { /* content as it was, but written to: refused too */
                struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
                assert_int_equal(futimens(w, ts), 0);
                break;
        }
        }
        close(w);
}

static void test_source_changed_after_hash(void **state)
{
        struct fx *f = *state;
        const struct {
                enum change how;
                const char *msg;
        } cases[] = {
            {CHANGE_CONTENT, "changed between hashing and copying"},
            {CHANGE_TRUNCATE, "shorter than its size 30000"},
            {CHANGE_APPEND, "longer than its size 30000"},
            {CHANGE_TOUCH, "changed between hashing and copying"},
        };

        /* both ways of adding: copy while hashing (hook after the copy) and hash first */
        for (size_t k = 0; k < 2 * ELEMENTSOF(cases); k++) {
                size_t i = k % ELEMENTSOF(cases);
                cfs_store_set_test_mode(f->s, k < ELEMENTSOF(cases) ? 1 : -1);
                uint8_t *c = pattern(30000, 30 + (unsigned)i);
                int fd = make_file(f->dir, "src", c, 30000);
                enum change how = cases[i].how;
                cfs_store_set_test_hook(f->s, change_source, &how);
                const char *msg = add_fails(f->s, fd, 30000, -EIO);
                if (!strstr(msg, cases[i].msg))
                        fail_msg("case %zu: '%s'", k, msg);
                cfs_store_set_test_hook(f->s, NULL, NULL);
                expect_counts(f->store, 0, 0);
                close(fd);
                free(c);
        }
        assert_int_equal(cfs_store_commit(f->s, NULL), 0);
        expect_counts(f->store, 0, 0);
}

/* A name taken by something that is not the object (wrong size, a directory):
 * an error naming it, not a silent reuse. */
static void test_damaged_object(void **state)
{
        struct fx *f = *state;
        char path[4400], name[66];
        uint8_t d[CFS_DIGEST_SIZE];

        uint8_t *c = pattern(8000, 40);
        test_ref_digest(c, 8000, d);
        cfs_store_object_name(d, name);
        snprintf(path, sizeof(path), "%s/objects/%s", f->store, name);
        int bad = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644); /* cut short */
        assert_true(bad >= 0);
        assert_int_equal(write(bad, c, 4000), 4000);
        close(bad);
        int fd = make_file(f->dir, "src", c, 8000);
        const char *msg = add_fails(f->s, fd, 8000, -EEXIST);
        assert_non_null(strstr(msg, "damaged"));
        assert_non_null(strstr(msg, path + strlen(f->store) + 9));
        close(fd);
        free(c);
}

/* A source on another file system (tmpfs /dev/shm -> the store's): copy_file_range
 * says EXDEV and the copy falls back to read/write; the object is the same. */
static void test_copy_from_other_fs(void **state)
{
        struct fx *f = *state;
        char shm[] = "/dev/shm/test-store.XXXXXX";
        uint8_t d[CFS_DIGEST_SIZE], want[CFS_DIGEST_SIZE];

        assert_non_null(mkdtemp(shm));
        const size_t len = 3 * 128 * 1024 + 17; /* several buffers, a partial one */
        uint8_t *c = pattern(len, 50);
        test_ref_digest(c, len, want);
        int fd = make_file(shm, "src", c, len);
        assert_int_equal(add_ok(f->s, fd, len, d), CFS_STORE_ADDED);
        assert_memory_equal(d, want, CFS_DIGEST_SIZE);
        assert_int_equal(cfs_store_commit(f->s, NULL), 0);
        assert_object(f->store, d, c, len);
        close(fd);
        free(c);
        test_rm_rf(shm);
}

/* Copy while hashing (what a run into a mostly empty store uses): the object is
 * the source, a second identical file or an object already in the store drops
 * its copy, a failed write leaves nothing. */
static void test_copy_first(void **state)
{
        struct fx *f = *state;
        uint8_t d[CFS_DIGEST_SIZE], want[CFS_DIGEST_SIZE];

        cfs_store_set_test_mode(f->s, 1);
        const size_t len = 3 * 128 * 1024 + 17; /* several buffers, a partial one */
        uint8_t *c = pattern(len, 61);
        test_ref_digest(c, len, want);
        int fd = make_file(f->dir, "src", c, len);
        assert_int_equal(add_ok(f->s, fd, len, d), CFS_STORE_ADDED);
        assert_memory_equal(d, want, CFS_DIGEST_SIZE);
        memset(d, 0, sizeof(d));
        /* staged already by this handle */
        assert_int_equal(add_ok(f->s, fd, len, d), CFS_STORE_EXISTED);
        assert_memory_equal(d, want, CFS_DIGEST_SIZE);
        expect_counts(f->store, 0, 1); /* the one staged copy, no temp */
        assert_int_equal(cfs_store_commit(f->s, NULL), 0);
        assert_object(f->store, d, c, len);
        /* in the store: copied and dropped */
        assert_int_equal(add_ok(f->s, fd, len, d), CFS_STORE_EXISTED);
        assert_memory_equal(d, want, CFS_DIGEST_SIZE);
        expect_counts(f->store, 1, 0);
        close(fd);

        /* a write that fails half way */
        uint8_t *c2 = pattern(200000, 62);
        int fd2 = make_file(f->dir, "src2", c2, 200000);
        struct rlimit old = fsize_limit(100000);
        struct cfs_error err = {};
        enum cfs_store_added added;
        bool verity;
        int r = cfs_store_add_fd_hashing(f->s, fd2, 200000, NULL, NULL, d, &added, &verity, &err);
        fsize_restore(&old);
        assert_int_equal(r, -EFBIG);
        assert_non_null(strstr(err.message, f->store));
        expect_counts(f->store, 1, 0);
        close(fd2);
        free(c2);
        free(c);
}

/* One run with everything at once, in both ways of adding: new objects, the
 * same content twice in the run (the second finds the first in the staged set,
 * no second copy), content already in the store (nothing kept). Nothing is
 * under objects/ab/ before the commit but what was there; after it every new
 * object is, and nothing is left staged. */
static void test_mixed_run(void **state)
{
        struct fx *f = *state;
        char store[4300];

        for (int mode = -1; mode <= 1; mode += 2) {
                struct cfs_store *s = NULL;
                uint8_t d[CFS_DIGEST_SIZE], want[6][CFS_DIGEST_SIZE];
                uint8_t *c[6];

                snprintf(store, sizeof(store), "%s/store%d", f->dir, mode);
                for (unsigned i = 0; i < 6; i++) {
                        c[i] = pattern(20000 + i * 4096, 70 + i);
                        test_ref_digest(c[i], 20000 + i * 4096, want[i]);
                }
                /* objects 0 and 1 are in the store already */
                assert_int_equal(cfs_store_open(store, true, &s, NULL), 0);
                for (unsigned i = 0; i < 2; i++) {
                        int fd = make_file(f->dir, "pre", c[i], 20000 + i * 4096);
                        add_ok(s, fd, 20000 + i * 4096, d);
                        close(fd);
                }
                assert_int_equal(cfs_store_commit(s, NULL), 0);
                cfs_store_free(s);

                assert_int_equal(cfs_store_open(store, true, &s, NULL), 0);
                cfs_store_set_test_mode(s, mode);
                /* 2, 0, 3, 2, 1, 4, 3, 5, 5: new, existing, duplicates */
                const unsigned order[] = {2, 0, 3, 2, 1, 4, 3, 5, 5};
                const enum cfs_store_added expect[] = {
                    CFS_STORE_ADDED,   CFS_STORE_EXISTED, CFS_STORE_ADDED,
                    CFS_STORE_EXISTED, CFS_STORE_EXISTED, CFS_STORE_ADDED,
                    CFS_STORE_EXISTED, CFS_STORE_ADDED,   CFS_STORE_EXISTED};
                for (size_t k = 0; k < ELEMENTSOF(order); k++) {
                        unsigned i = order[k];
                        int fd = make_file(f->dir, "src", c[i], 20000 + i * 4096);
                        enum cfs_store_added added = add_ok(s, fd, 20000 + i * 4096, d);
                        assert_memory_equal(d, want[i], CFS_DIGEST_SIZE);
                        if (added != expect[k])
                                fail_msg("mode %d, add %zu (content %u): added %d", mode, k, i,
                                         added);
                        close(fd);
                }
                expect_counts(store, 2,
                              4); /* only what was there; one staged copy per new content */
                for (unsigned i = 2; i < 6; i++)
                        assert_false(object_visible(store, want[i]));
                assert_int_equal(cfs_store_commit(s, NULL), 0);
                expect_counts(store, 6, 0);
                for (unsigned i = 0; i < 6; i++)
                        assert_object(store, want[i], c[i], 20000 + i * 4096);
                /* after the commit: found in the store */
                int fd = make_file(f->dir, "src", c[4], 20000 + 4 * 4096);
                assert_int_equal(add_ok(s, fd, 20000 + 4 * 4096, d), CFS_STORE_EXISTED);
                close(fd);
                cfs_store_free(s);
                assert_int_equal(count_staging_dirs(store), 0);
                for (unsigned i = 0; i < 6; i++)
                        free(c[i]);
        }
}

/* A commit that fails half way (an objects/xx/ that is not a directory) names
 * the object; what was not published stays staged (not visible), and the next
 * commit publishes exactly that. */
static void test_commit_fails_half_way(void **state)
{
        struct fx *f = *state;
        char sub[4300], aside[4300], file[4300], name[66];
        struct cfs_error err = {};
        uint8_t d[8][CFS_DIGEST_SIZE];
        unsigned objects, temps;

        for (unsigned i = 0; i < 8; i++) {
                uint8_t *c = pattern(9000, 80 + i);
                int fd = make_file(f->dir, "src", c, 9000);
                assert_int_equal(add_ok(f->s, fd, 9000, d[i]), CFS_STORE_ADDED);
                close(fd);
                free(c);
        }
        /* the subdirectory of object 3 becomes a file */
        snprintf(sub, sizeof(sub), "%s/objects/%02x", f->store, d[3][0]);
        snprintf(aside, sizeof(aside), "%s/aside", f->dir);
        assert_int_equal(rename(sub, aside), 0);
        close(make_file(f->store, "objects/x", "", 0));
        snprintf(file, sizeof(file), "%s/objects/x", f->store);
        assert_int_equal(rename(file, sub), 0);
        assert_int_equal(cfs_store_commit(f->s, &err), -ENOTDIR);
        cfs_store_object_name(d[3], name);
        assert_non_null(strstr(err.message, name));
        assert_false(object_visible(f->store, d[3]));
        count_store(f->store, &objects, &temps);
        assert_true(temps >= 1);
        assert_int_equal(objects + temps, 8); /* each object published or still staged */

        /* repaired: the second commit publishes the rest, nothing twice */
        assert_int_equal(unlink(sub), 0);
        assert_int_equal(rename(aside, sub), 0);
        memset(&err, 0, sizeof(err));
        assert_int_equal(cfs_store_commit(f->s, &err), 0);
        expect_counts(f->store, 8, 0);
        for (unsigned i = 0; i < 8; i++)
                assert_true(object_visible(f->store, d[i]));
        cfs_store_free(TAKE_PTR(f->s));
        assert_int_equal(count_staging_dirs(f->store), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_object_name),
            cmocka_unit_test_setup_teardown(test_open, fx_dir_setup, fx_teardown),
            cmocka_unit_test_setup_teardown(test_add_and_dedupe, fx_setup, fx_teardown),
            cmocka_unit_test_setup_teardown(test_add_hashing, fx_setup, fx_teardown),
            cmocka_unit_test_setup_teardown(test_mismatch_and_short, fx_setup, fx_teardown),
            cmocka_unit_test_setup_teardown(test_failed_write_leaves_nothing, fx_setup,
                                            fx_teardown),
            cmocka_unit_test_setup_teardown(test_lazy_subdirs, fx_dir_setup, fx_teardown),
            cmocka_unit_test_setup_teardown(test_concurrent_writers, fx_setup, fx_teardown),
            cmocka_unit_test_setup_teardown(test_existing_no_write, fx_setup, fx_teardown),
            cmocka_unit_test_setup_teardown(test_staged_until_commit, fx_setup, fx_teardown),
            cmocka_unit_test_setup_teardown(test_commit_race, fx_setup, fx_teardown),
            cmocka_unit_test_setup_teardown(test_crashed_staging_removed, fx_setup, fx_teardown),
            cmocka_unit_test_setup_teardown(test_source_changed_after_hash, fx_setup, fx_teardown),
            cmocka_unit_test_setup_teardown(test_damaged_object, fx_setup, fx_teardown),
            cmocka_unit_test_setup_teardown(test_copy_from_other_fs, fx_setup, fx_teardown),
            cmocka_unit_test_setup_teardown(test_copy_first, fx_setup, fx_teardown),
            cmocka_unit_test_setup_teardown(test_mixed_run, fx_dir_setup, fx_teardown),
            cmocka_unit_test_setup_teardown(test_commit_fails_half_way, fx_setup, fx_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

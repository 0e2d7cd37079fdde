/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-fileio.c - unit tests of lib/fileio.c: temp files that only get a name
 * when committed (no replace: EEXIST; replace: atomic swap), discard leaves
 * nothing, full reads/writes (short files, pipes), cfs_read_file limits. Host.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#include "test-util.h"

#include "fileio.h"
#include "macros.h"

static unsigned count_entries(const char *dir)
{
        unsigned n = 0;
        DIR *d = opendir(dir);
        assert_non_null(d);
        struct dirent *de;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static char *slurp(const char *path, size_t *len)
{
        char *buf = NULL;
        assert_int_equal(cfs_read_file(path, 1 << 20, &buf, len), 0);
        return buf;
}

static void test_basename(void **state)
{
        (void)state;
        assert_string_equal(cfs_path_basename("/a/b/c"), "c");
        assert_string_equal(cfs_path_basename("c"), "c");
        assert_string_equal(cfs_path_basename("/c"), "c");
        assert_string_equal(cfs_path_basename("a/b/"), "");
}

static void test_tmpfile_commit(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = test_tmpdir("test-fileio"), *path = NULL;
        struct cfs_tmpfile t;
        size_t len;

        assert_true(asprintf(&path, "%s/out", dir) > 0);
        assert_int_equal(cfs_tmpfile_open(path, &t), 0);
        assert_true(t.fd >= 0);
        assert_int_equal(cfs_write_all(t.fd, "first", 5), 0);
        /* nothing visible before the commit */
        assert_int_equal(count_entries(dir), t.tmp_name ? 1u : 0u);
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(cfs_tmpfile_commit(&t, path, 0), 0);
        cfs_tmpfile_discard(&t);
        cfs_tmpfile_discard(&t); /* twice is fine */
        _cleanup_free_ char *c = slurp(path, &len);
        assert_int_equal(len, 5);
        assert_string_equal(c, "first");
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        mode_t um = umask(0);
        umask(um);
        assert_int_equal(st.st_mode & 0777, 0644 & ~um);

        /* without replace an existing name is EEXIST and stays as it was */
        assert_int_equal(cfs_tmpfile_open(path, &t), 0);
        assert_int_equal(cfs_write_all(t.fd, "second", 6), 0);
        assert_int_equal(cfs_tmpfile_commit(&t, path, 0), -EEXIST);
        cfs_tmpfile_discard(&t);
        free(c);
        c = slurp(path, &len);
        assert_string_equal(c, "first");

        /* with replace it is swapped in */
        assert_int_equal(cfs_tmpfile_open(path, &t), 0);
        assert_int_equal(cfs_write_all(t.fd, "second", 6), 0);
        assert_int_equal(cfs_tmpfile_commit(&t, path, 1), 0);
        cfs_tmpfile_discard(&t);
        free(c);
        c = slurp(path, &len);
        assert_string_equal(c, "second");
        assert_int_equal(count_entries(dir), 1);
        test_rm_rf(dir);
}

static void test_tmpfile_discard(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = test_tmpdir("test-fileio"), *path = NULL;
        struct cfs_tmpfile t;

        assert_true(asprintf(&path, "%s/never", dir) > 0);
        for (int i = 0; i < 3; i++) {
                assert_int_equal(cfs_tmpfile_open(path, &t), 0);
                assert_int_equal(cfs_write_all(t.fd, "partial", 7), 0);
                cfs_tmpfile_discard(&t);
                assert_int_equal(t.fd, -1);
                assert_null(t.tmp_name);
        }
        assert_int_equal(count_entries(dir), 0);
        assert_int_equal(access(path, F_OK), -1);
        test_rm_rf(dir);
}

static void test_tmpfile_errors(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = test_tmpdir("test-fileio"), *path = NULL;
        struct cfs_tmpfile t;

        assert_true(asprintf(&path, "%s/no/such/dir/file", dir) > 0);
        assert_int_equal(cfs_tmpfile_open(path, &t), -ENOENT);
        assert_int_equal(t.fd, -1);
        free(path);
        assert_true(asprintf(&path, "%s/", dir) > 0);
        assert_int_equal(cfs_tmpfile_open(path, &t), -EISDIR);

        /* a write that fails half-way (file size limit, like a full disk) */
        free(path);
        assert_true(asprintf(&path, "%s/big", dir) > 0);
        assert_int_equal(cfs_tmpfile_open(path, &t), 0);
        struct rlimit old, lim;
        signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
        lim = old;
        lim.rlim_cur = 4096;
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
        char buf[8192] = {0};
        int r = cfs_write_all(t.fd, buf, sizeof(buf));
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        assert_int_equal(r, -EFBIG);
        cfs_tmpfile_discard(&t);
        assert_int_equal(count_entries(dir), 0);
        test_rm_rf(dir);
}

static void test_read_write_all(void **state)
{
        (void)state;
        int p[2];
        char buf[100];
        assert_int_equal(pipe(p), 0);
        assert_int_equal(cfs_write_all(p[1], "0123456789", 10), 0);
        assert_int_equal(cfs_read_all(p[0], buf, 4), 0);
        assert_memory_equal(buf, "0123", 4);
        close(p[1]);
        /* 6 left, asking for 7: a short read is -EIO */
        assert_int_equal(cfs_read_all(p[0], buf, 7), -EIO);
        close(p[0]);
        assert_int_equal(cfs_write_all(-1, "x", 1), -EBADF);

        _cleanup_free_ char *dir = test_tmpdir("test-fileio"), *path = NULL;
        assert_true(asprintf(&path, "%s/f", dir) > 0);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(cfs_pwrite_all(fd, "world", 5, 6), 0);
        assert_int_equal(cfs_pwrite_all(fd, "hello ", 6, 0), 0);
        assert_int_equal(cfs_pread_all(fd, buf, 11, 0), 0);
        assert_memory_equal(buf, "hello world", 11);
        assert_int_equal(cfs_pread_all(fd, buf, 5, 7), -EIO); /* past the end */
        assert_int_equal(cfs_pread_all(fd, buf, 0, 100), 0);
        close(fd);
        test_rm_rf(dir);
}

static void test_read_file(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = test_tmpdir("test-fileio"), *path = NULL, *buf = NULL;
        size_t len;
        assert_true(asprintf(&path, "%s/f", dir) > 0);

        /* a file larger than the first read buffer, with a NUL inside */
        size_t size = 200000;
        char *data = malloc(size);
        for (size_t i = 0; i < size; i++)
                data[i] = (char)(i % 251);
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_int_equal(cfs_write_all(fd, data, size), 0);
        close(fd);
        assert_int_equal(cfs_read_file(path, size, &buf, &len), 0);
        assert_int_equal(len, size);
        assert_memory_equal(buf, data, size);
        assert_int_equal(buf[len], 0);
        free(buf);
        buf = NULL;
        assert_int_equal(cfs_read_file(path, size - 1, &buf, &len), -EFBIG);
        assert_null(buf);
        assert_int_equal(cfs_read_file(path, 1000, &buf, &len), -EFBIG);

        /* empty file */
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        close(fd);
        assert_int_equal(cfs_read_file(path, 0, &buf, &len), 0);
        assert_int_equal(len, 0);
        assert_int_equal(buf[0], 0);
        free(buf);
        buf = NULL;
        free(path);
        assert_true(asprintf(&path, "%s/missing", dir) > 0);
        assert_int_equal(cfs_read_file(path, 10, &buf, &len), -ENOENT);
        free(data);
        test_rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_basename),        cmocka_unit_test(test_tmpfile_commit),
            cmocka_unit_test(test_tmpfile_discard), cmocka_unit_test(test_tmpfile_errors),
            cmocka_unit_test(test_read_write_all),  cmocka_unit_test(test_read_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

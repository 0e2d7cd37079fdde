/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-verity.c - fs-verity digests (lib/verity.c): agreement with
 * fsverity-utils' `fsverity digest` for sizes around block boundaries, files
 * read from an offset, pipes, the hex helpers, and the kernel ioctls failing
 * cleanly where the file system has no fs-verity; the incremental hasher the
 * scanner and store use against libfsverity; the descriptor check that decides
 * whether a kernel measurement is a composefs digest. Host.
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
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libfsverity.h>
#include <linux/fsverity.h>

#include "test-util.h"

#include "fileio.h"
#include "macros.h"
#include "verity.h"

/* fs-verity sha256 digest of the empty file (fsverity-utils, kernel docs). */
#define EMPTY_DIGEST "3d248ca542a24fc62d1c43b916eae5016878e2533c88238480b26128a1f1af95"

static char tmpdir[] = "/tmp/test-verity-XXXXXX";

static int setup(void **state)
{
        (void)state;
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
        (void)state;
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        return system(cmd) == 0 ? 0 : -1;
}

/* Deterministic, non-repeating content so block order matters. */
static uint8_t *make_content(size_t len)
{
        uint8_t *p = malloc(len ? len : 1);
        uint32_t x = 2463534242u;
        for (size_t i = 0; i < len; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                p[i] = (uint8_t)x;
        }
        return p;
}

static void write_file(const char *path, const uint8_t *p, size_t len)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(cfs_write_all(fd, p, len), 0);
        close(fd);
}

/* Hex digest printed by `fsverity digest --compact PATH`. */
static void fsverity_cli_digest(const char *path, char hex[CFS_DIGEST_HEX_SIZE])
{
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "fsverity digest --compact '%s'", path);
        FILE *f = popen(cmd, "r");
        assert_non_null(f);
        assert_non_null(fgets(hex, CFS_DIGEST_HEX_SIZE, f));
        assert_int_equal(pclose(f), 0);
        assert_int_equal(strlen(hex), 64);
}

static void test_matches_fsverity_utils(void **state)
{
        (void)state;
        static const size_t sizes[] = {
            0, 1, 4095, 4096, 4097, 8192, 128 * 4096 - 1, 128 * 4096 + 1, 1048576 + 3};
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                char path[256], want[CFS_DIGEST_HEX_SIZE], got[CFS_DIGEST_HEX_SIZE];
                uint8_t d_fd[CFS_DIGEST_SIZE], d_buf[CFS_DIGEST_SIZE];
                _cleanup_free_ uint8_t *content = make_content(sizes[i]);

                snprintf(path, sizeof(path), "%s/f%zu", tmpdir, i);
                write_file(path, content, sizes[i]);
                fsverity_cli_digest(path, want);

                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                assert_true(fd >= 0);
                assert_int_equal(cfs_verity_digest_fd(fd, d_fd), 0);
                cfs_digest_to_hex(d_fd, got);
                if (strcmp(got, want) != 0)
                        fail_msg("size %zu: got %s, fsverity says %s", sizes[i], got, want);

                assert_int_equal(cfs_verity_digest_buffer(content, sizes[i], d_buf), 0);
                assert_memory_equal(d_fd, d_buf, CFS_DIGEST_SIZE);
        }
}

static void test_empty_vector(void **state)
{
        (void)state;
        uint8_t d[CFS_DIGEST_SIZE];
        char hex[CFS_DIGEST_HEX_SIZE];
        assert_int_equal(cfs_verity_digest_buffer("", 0, d), 0);
        cfs_digest_to_hex(d, hex);
        assert_string_equal(hex, EMPTY_DIGEST);
}

/* The digest covers the bytes from the current offset to EOF. */
static void test_from_offset(void **state)
{
        (void)state;
        const size_t len = 3 * 4096 + 17, skip = 100;
        _cleanup_free_ uint8_t *content = make_content(len);
        char path[256];
        uint8_t want[CFS_DIGEST_SIZE], got[CFS_DIGEST_SIZE];

        snprintf(path, sizeof(path), "%s/offset", tmpdir);
        write_file(path, content, len);
        assert_int_equal(cfs_verity_digest_buffer(content + skip, len - skip, want), 0);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(lseek(fd, (off_t)skip, SEEK_SET), (off_t)skip);
        assert_int_equal(cfs_verity_digest_fd(fd, got), 0);
        assert_memory_equal(want, got, CFS_DIGEST_SIZE);
}

/* A pipe has no size: the content is spooled and digested all the same. */
static void test_pipe(void **state)
{
        (void)state;
        const size_t len = 300000;
        _cleanup_free_ uint8_t *content = make_content(len);
        uint8_t want[CFS_DIGEST_SIZE], got[CFS_DIGEST_SIZE];
        int p[2];

        assert_int_equal(cfs_verity_digest_buffer(content, len, want), 0);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                _exit(cfs_write_all(p[1], content, len) == 0 ? 0 : 1);
        }
        close(p[1]);
        assert_int_equal(cfs_verity_digest_fd(p[0], got), 0);
        close(p[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_memory_equal(want, got, CFS_DIGEST_SIZE);
}

/* The incremental hasher (what the scanner and the store use instead of
 * libfsverity) gives libfsverity's digest for sizes on and around every block
 * and Merkle tree level boundary (one level: 2..128 blocks, two: up to 128^2,
 * three above), whatever the pieces it is fed in; more or fewer bytes than
 * announced are -EIO. */
static void test_hasher_matches_libfsverity(void **state)
{
        (void)state;
        static const size_t sizes[] = {0,
                                       1,
                                       64,
                                       65,
                                       4095,
                                       4096,
                                       4097,
                                       8192,
                                       128 * 4096 - 1,
                                       128 * 4096,
                                       128 * 4096 + 1,
                                       129 * 4096,
                                       3 * 128 * 4096 + 17,
                                       128 * 128 * 4096 - 4096,
                                       128 * 128 * 4096,
                                       128 * 128 * 4096 + 1,
                                       128 * 128 * 4096 + 128 * 4096 + 5};
        static const size_t pieces[] = {0 /* all at once */, 1, 1000, 4096, 7919, 262144};
        const size_t max = 128 * 128 * 4096 + 128 * 4096 + 5;
        _cleanup_free_ uint8_t *content = make_content(max);
        struct cfs_verity_hasher *h = NULL;
        assert_int_equal(cfs_verity_hasher_new(&h), 0);

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                uint8_t want[CFS_DIGEST_SIZE], got[CFS_DIGEST_SIZE];
                size_t len = sizes[i];
                assert_int_equal(cfs_verity_digest_buffer(content, len, want), 0);
                for (size_t k = 0; k < ELEMENTSOF(pieces); k++) {
                        size_t piece = pieces[k] ? pieces[k] : CFS_MAX(len, (size_t)1);
                        if (piece == 1 && len > 20000)
                                continue; /* byte by byte: the small sizes are enough */
                        cfs_verity_hasher_begin(h, len);
                        for (size_t o = 0; o < len; o += piece)
                                assert_int_equal(cfs_verity_hasher_update(h, content + o,
                                                                          CFS_MIN(piece, len - o)),
                                                 0);
                        assert_int_equal(cfs_verity_hasher_final(h, got), 0);
                        if (memcmp(got, want, CFS_DIGEST_SIZE) != 0)
                                fail_msg("size %zu in pieces of %zu: not libfsverity's digest", len,
                                         piece);
                }
        }
        /* the empty file's well-known digest */
        uint8_t d[CFS_DIGEST_SIZE];
        char hex[CFS_DIGEST_HEX_SIZE];
        cfs_verity_hasher_begin(h, 0);
        assert_int_equal(cfs_verity_hasher_final(h, d), 0);
        cfs_digest_to_hex(d, hex);
        assert_string_equal(hex, EMPTY_DIGEST);
        /* more than announced, fewer than announced */
        cfs_verity_hasher_begin(h, 5000);
        assert_int_equal(cfs_verity_hasher_update(h, content, 4096), 0);
        assert_int_equal(cfs_verity_hasher_update(h, content, 905), -EIO);
        cfs_verity_hasher_begin(h, 5000);
        assert_int_equal(cfs_verity_hasher_update(h, content, 4999), 0);
        assert_int_equal(cfs_verity_hasher_final(h, d), -EIO);
        cfs_verity_hasher_free(h);
}

/* cfs_verity_digest_fd_sized: the digest of @size bytes from the offset, with the
 * caller's scratch; a file shorter than the size is -EIO. */
static void test_digest_fd_sized(void **state)
{
        (void)state;
        const size_t len = 5 * 65536 + 4097;
        _cleanup_free_ uint8_t *content = make_content(len);
        char path[256];
        uint8_t want[CFS_DIGEST_SIZE], got[CFS_DIGEST_SIZE];
        struct cfs_verity_scratch sc;

        snprintf(path, sizeof(path), "%s/sized", tmpdir);
        write_file(path, content, len);
        assert_int_equal(cfs_verity_scratch_init(&sc, 65536), 0);
        for (int i = 0; i < 2; i++) { /* the scratch is reused */
                assert_int_equal(cfs_verity_digest_buffer(content, len - (size_t)i, want), 0);
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                assert_true(fd >= 0);
                assert_int_equal(cfs_verity_digest_fd_sized(fd, len - (size_t)i, &sc, got), 0);
                assert_memory_equal(want, got, CFS_DIGEST_SIZE);
        }
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(cfs_verity_digest_fd_sized(fd, len + 1, &sc, got), -EIO);
        cfs_verity_scratch_done(&sc);
        assert_int_equal(cfs_verity_scratch_init(&sc, 100), -EINVAL);
}

static void test_directory_refused(void **state)
{
        (void)state;
        uint8_t d[CFS_DIGEST_SIZE];
        _cleanup_close_ int fd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(cfs_verity_digest_fd(fd, d), -EISDIR);
}

static void test_hex(void **state)
{
        (void)state;
        uint8_t d[CFS_DIGEST_SIZE], d2[CFS_DIGEST_SIZE];
        char hex[CFS_DIGEST_HEX_SIZE];
        const char *upper = "3D248CA542A24FC62D1C43B916EAE5016878E2533C88238480B26128A1F1AF95";

        assert_int_equal(cfs_digest_from_hex(EMPTY_DIGEST, 64, d), 0);
        cfs_digest_to_hex(d, hex);
        assert_string_equal(hex, EMPTY_DIGEST);
        assert_int_equal(cfs_digest_from_hex(upper, 64, d2), 0);
        assert_memory_equal(d, d2, CFS_DIGEST_SIZE);

        /* Wrong lengths and non-hex digits leave the output untouched. */
        memset(d2, 0xaa, sizeof(d2));
        assert_int_equal(cfs_digest_from_hex(EMPTY_DIGEST, 63, d2), -EINVAL);
        assert_int_equal(cfs_digest_from_hex(EMPTY_DIGEST "0", 65, d2), -EINVAL);
        assert_int_equal(cfs_digest_from_hex("g" EMPTY_DIGEST, 64, d2), -EINVAL);
        assert_int_equal(
            cfs_digest_from_hex("3d248ca542a24fc62d1c43b916eae5016878e2533c88238480b26128a1f1af9 ",
                                64, d2),
            -EINVAL);
        for (size_t i = 0; i < sizeof(d2); i++)
                assert_int_equal(d2[i], 0xaa);
}

/*
 * The host kernel has no fs-verity; on a kernel that has it, a fresh temp file
 * has none enabled. Either way measuring must fail with a "no verity" errno,
 * never report a digest.
 */
static void test_measure_without_verity(void **state)
{
        (void)state;
        char path[256];
        uint8_t d[CFS_DIGEST_SIZE];
        snprintf(path, sizeof(path), "%s/plain", tmpdir);
        write_file(path, (const uint8_t *)"x", 1);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        int r = cfs_verity_measure(fd, d);
        if (r != -ENODATA && r != -ENOTTY && r != -EOPNOTSUPP)
                fail_msg("measure on a file without fs-verity returned %d", r);

        _cleanup_close_ int mfd = memfd_create("t", MFD_CLOEXEC);
        assert_true(mfd >= 0);
        r = cfs_verity_measure(mfd, d);
        assert_true(r == -ENOTTY || r == -EOPNOTSUPP || r == -ENODATA);
}

/* ---- the descriptor check of cfs_verity_measure_composefs() ---- */

struct desc_ctx {
        uint8_t desc[512];
        size_t len;
};

static int desc_cb(void *ctx, const void *desc, size_t size)
{
        struct desc_ctx *c = ctx;
        if (size > sizeof(c->desc))
                return -EINVAL;
        memcpy(c->desc, desc, size);
        c->len = size;
        return 0;
}

/* What the kernel has for a file of @data enabled with these parameters: the
 * descriptor (libfsverity's, as FS_IOC_READ_VERITY_METADATA returns it) and
 * the measurement (libfsverity's digest of it). */
static void enabled_as(const uint8_t *data, size_t len, uint32_t alg, uint32_t block_size,
                       const uint8_t *salt, uint32_t salt_size, struct desc_ctx *desc,
                       uint8_t measured[CFS_DIGEST_SIZE])
{
        struct libfsverity_metadata_callbacks cb = {.ctx = desc, .descriptor = desc_cb};
        struct libfsverity_merkle_tree_params params = {
            .version = 1,
            .hash_algorithm = alg,
            .file_size = len,
            .block_size = block_size,
            .salt_size = salt_size,
            .salt = salt,
            .metadata_callbacks = &cb,
        };
        struct test_membuf rd = {data, len};
        struct libfsverity_digest *d = NULL;
        assert_int_equal(libfsverity_compute_digest(&rd, test_mem_read, &params, &d), 0);
        memset(measured, 0, CFS_DIGEST_SIZE);
        memcpy(measured, d->digest, CFS_MIN((size_t)d->digest_size, (size_t)CFS_DIGEST_SIZE));
        free(d);
}

/* Only a descriptor of sha256, 4096-byte blocks, no salt and the expected size
 * that hashes to the measurement is accepted, and the measurement is then the
 * composefs digest (the one the scanner computes by reading); salt, 1 KiB
 * blocks, sha512, another size, a mismatching measurement or a short read are
 * refused (the scanner then hashes the file). */
static void test_descriptor_check(void **state)
{
        (void)state;
        static const size_t sizes[] = {65, 4096, 4097, 128 * 4096 + 1};
        static const uint8_t salt[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        _cleanup_free_ uint8_t *data = make_content(128 * 4096 + 1);
        struct desc_ctx desc;
        uint8_t measured[CFS_DIGEST_SIZE], want[CFS_DIGEST_SIZE];

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                size_t len = sizes[i];
                assert_int_equal(cfs_verity_digest_buffer(data, len, want), 0);
                enabled_as(data, len, FS_VERITY_HASH_ALG_SHA256, 4096, NULL, 0, &desc, measured);
                assert_int_equal(desc.len, 256);
                assert_memory_equal(measured, want, CFS_DIGEST_SIZE);
                assert_int_equal(cfs_verity_check_descriptor(desc.desc, desc.len, len, measured),
                                 0);
                /* the size the walker saw differs */
                assert_int_equal(
                    cfs_verity_check_descriptor(desc.desc, desc.len, len + 1, measured), -EIO);
                /* a measurement that is not this descriptor's digest */
                measured[7] ^= 1;
                assert_int_equal(cfs_verity_check_descriptor(desc.desc, desc.len, len, measured),
                                 -EBADMSG);
                measured[7] ^= 1;
                assert_int_equal(
                    cfs_verity_check_descriptor(desc.desc, desc.len - 1, len, measured), -EBADMSG);

                enabled_as(data, len, FS_VERITY_HASH_ALG_SHA256, 4096, salt, sizeof(salt), &desc,
                           measured);
                assert_memory_not_equal(measured, want, CFS_DIGEST_SIZE);
                assert_int_equal(cfs_verity_check_descriptor(desc.desc, desc.len, len, measured),
                                 -EINVAL);
                enabled_as(data, len, FS_VERITY_HASH_ALG_SHA256, 1024, NULL, 0, &desc, measured);
                assert_memory_not_equal(measured, want, CFS_DIGEST_SIZE);
                assert_int_equal(cfs_verity_check_descriptor(desc.desc, desc.len, len, measured),
                                 -EINVAL);
                enabled_as(data, len, FS_VERITY_HASH_ALG_SHA512, 4096, NULL, 0, &desc, measured);
                assert_int_equal(cfs_verity_check_descriptor(desc.desc, desc.len, len, measured),
                                 -EINVAL);
        }
}

/* Without fs-verity (the host kernel, or a file that has none) the fast path
 * reports "hash it yourself", never a digest. */
static void test_measure_composefs_without_verity(void **state)
{
        (void)state;
        char path[256];
        uint8_t d[CFS_DIGEST_SIZE] = {0};
        snprintf(path, sizeof(path), "%s/plain2", tmpdir);
        write_file(path, (const uint8_t *)"0123456789", 10);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        int r = cfs_verity_measure_composefs(fd, 10, d);
        if (r != -ENODATA && r != -ENOTTY && r != -EOPNOTSUPP)
                fail_msg("measure_composefs on a file without fs-verity returned %d", r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_matches_fsverity_utils),
            cmocka_unit_test(test_empty_vector),
            cmocka_unit_test(test_from_offset),
            cmocka_unit_test(test_pipe),
            cmocka_unit_test(test_hasher_matches_libfsverity),
            cmocka_unit_test(test_digest_fd_sized),
            cmocka_unit_test(test_directory_refused),
            cmocka_unit_test(test_hex),
            cmocka_unit_test(test_measure_without_verity),
            cmocka_unit_test(test_descriptor_check),
            cmocka_unit_test(test_measure_composefs_without_verity),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

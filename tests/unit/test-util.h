/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-util.h - helpers shared by the cmocka unit tests (host): temporary
 * directories, and a reference fs-verity digest computed with libfsverity
 * directly, independent of lib/verity.c. Include after <cmocka.h>.
 */
#pragma once

#include <errno.h>
#include <libfsverity.h>
#include <linux/fsverity.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tree.h"

/* A fresh directory $TMPDIR/NAME.XXXXXX (default /var/tmp), mode 0755; free() it. */
static inline char *test_tmpdir(const char *name)
{
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
        char *p = NULL;
        assert_true(asprintf(&p, "%s/%s.XXXXXX", base, name) > 0);
        assert_non_null(mkdtemp(p));
        assert_int_equal(chmod(p, 0755), 0);
        return p;
}

static inline void test_rm_rf(const char *path)
{
        char *cmd = NULL;
        assert_true(asprintf(&cmd, "rm -rf '%s'", path) > 0);
        assert_int_equal(system(cmd), 0);
        free(cmd);
}

struct test_membuf {
        const uint8_t *p;
        size_t left;
};

static inline int test_mem_read(void *fd, void *buf, size_t count)
{
        struct test_membuf *m = fd;
        if (count > m->left)
                return -EIO;
        memcpy(buf, m->p, count);
        m->p += count;
        m->left -= count;
        return 0;
}

/* The reference fs-verity digest (sha256, 4096-byte blocks) of @len bytes at @buf. */
static inline void test_ref_digest(const void *buf, size_t len, uint8_t out[CFS_DIGEST_SIZE])
{
        struct libfsverity_merkle_tree_params params = {.version = 1,
                                                        .hash_algorithm = FS_VERITY_HASH_ALG_SHA256,
                                                        .file_size = len,
                                                        .block_size = 4096};
        struct test_membuf m = {buf, len};
        struct libfsverity_digest *d = NULL;
        assert_int_equal(libfsverity_compute_digest(&m, test_mem_read, &params, &d), 0);
        assert_int_equal(d->digest_size, CFS_DIGEST_SIZE);
        memcpy(out, d->digest, CFS_DIGEST_SIZE);
        free(d);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * verity.c - fs-verity digests (sha256, 4096-byte Merkle tree blocks, no salt:
 * the parameters composefs, ostree and `fsverity digest` use).
 *
 * Userspace digests go through libfsverity (the library behind fsverity-utils),
 * so they agree with `fsverity digest` by construction; kernel digests come from
 * FS_IOC_MEASURE_VERITY. Runs on the host (mkimage, digest) and in the initrd
 * (setup-root measures or computes the image digest).
 */
#include <errno.h>
#include <fcntl.h>
#include <libfsverity.h>
#include <linux/fsverity.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macros.h"
#include "verity.h"

#define VERITY_BLOCK_SIZE 4096u
/* Large reads: libfsverity asks for one block at a time, the kernel likes more. */
#define READ_BUFFER_SIZE (256u * 1024u)

struct fd_reader {
        int fd;
        uint8_t *buf;
        size_t buf_size, fill, pos;
        uint64_t left; /* bytes still to read (UINT64_MAX: until EOF) */
};

static int fd_reader_read(void *opaque, void *dst, size_t count)
{
        struct fd_reader *rd = opaque;
        uint8_t *out = dst;

        while (count > 0) {
                if (rd->pos == rd->fill) {
                        /* never read past a known size: nothing to read twice */
                        size_t want = (size_t)CFS_MIN((uint64_t)rd->buf_size, rd->left);
                        if (want == 0)
                                return -EIO;
                        ssize_t n = read(rd->fd, rd->buf, want);
                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                return -errno;
                        }
                        if (n == 0)
                                return -EIO; /* file shrank under us */
                        rd->fill = (size_t)n;
                        rd->pos = 0;
                        if (rd->left != UINT64_MAX)
                                rd->left -= (uint64_t)n;
                }
                size_t k = CFS_MIN(count, rd->fill - rd->pos);
                memcpy(out, rd->buf + rd->pos, k);
                rd->pos += k;
                out += k;
                count -= k;
        }
        return 0;
}

struct mem_reader {
        const uint8_t *p;
        size_t left;
};

static int mem_reader_read(void *opaque, void *dst, size_t count)
{
        struct mem_reader *rd = opaque;
        if (count > rd->left)
                return -EIO;
        memcpy(dst, rd->p, count);
        rd->p += count;
        rd->left -= count;
        return 0;
}

static int compute(void *ctx, libfsverity_read_fn_t fn, uint64_t size,
                   uint8_t digest[CFS_DIGEST_SIZE])
{
        struct libfsverity_merkle_tree_params params = {
            .version = 1,
            .hash_algorithm = FS_VERITY_HASH_ALG_SHA256,
            .file_size = size,
            .block_size = VERITY_BLOCK_SIZE,
        };
        struct libfsverity_digest *d = NULL;

        int r = libfsverity_compute_digest(ctx, fn, &params, &d);
        if (r < 0)
                return r;
        if (d->digest_algorithm != FS_VERITY_HASH_ALG_SHA256 || d->digest_size != CFS_DIGEST_SIZE) {
                free(d);
                return -EINVAL;
        }
        memcpy(digest, d->digest, CFS_DIGEST_SIZE);
        free(d);
        return 0;
}

int cfs_verity_digest_buffer(const void *buf, size_t len, uint8_t digest[CFS_DIGEST_SIZE])
{
        struct mem_reader rd = {.p = buf, .left = len};
        return compute(&rd, mem_reader_read, len, digest);
}

/* Pipes and other unsized inputs: spool into an anonymous file first. */
static int digest_unsized(int fd, uint8_t digest[CFS_DIGEST_SIZE])
{
        _cleanup_close_ int mfd = memfd_create("cfsroot-digest", MFD_CLOEXEC);
        if (mfd < 0)
                return -errno;
        _cleanup_free_ uint8_t *buf = malloc(READ_BUFFER_SIZE);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf, READ_BUFFER_SIZE);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                int r = cfs_write_all(mfd, buf, (size_t)n);
                if (r < 0)
                        return r;
        }
        if (lseek(mfd, 0, SEEK_SET) < 0)
                return -errno;
        return cfs_verity_digest_fd(mfd, digest);
}

int cfs_verity_digest_fd(int fd, uint8_t digest[CFS_DIGEST_SIZE])
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
                return digest_unsized(fd, digest);

        off_t start = lseek(fd, 0, SEEK_CUR);
        off_t end = lseek(fd, 0, SEEK_END);
        if (start < 0 || end < 0)
                return -errno;
        if (lseek(fd, start, SEEK_SET) < 0)
                return -errno;
        if (end < start)
                return -EINVAL;

        _cleanup_free_ uint8_t *buf = malloc(READ_BUFFER_SIZE);
        if (!buf)
                return -ENOMEM;
        (void)posix_fadvise(fd, start, 0, POSIX_FADV_SEQUENTIAL);
        struct fd_reader rd = {
            .fd = fd, .buf = buf, .buf_size = READ_BUFFER_SIZE, .left = UINT64_MAX};
        int r = compute(&rd, fd_reader_read, (uint64_t)(end - start), digest);
        if (r < 0)
                return r;
        /* A file that grew while we read it has no single digest. */
        if (rd.pos != rd.fill)
                return -EIO;
        return 0;
}

int cfs_verity_digest_fd_sized(int fd, uint64_t size, void *buf, size_t buf_size,
                               uint8_t digest[CFS_DIGEST_SIZE])
{
        if (!buf || buf_size < VERITY_BLOCK_SIZE)
                return -EINVAL;
        struct fd_reader rd = {.fd = fd, .buf = buf, .buf_size = buf_size, .left = size};
        return compute(&rd, fd_reader_read, size, digest);
}

int cfs_verity_measure(int fd, uint8_t digest[CFS_DIGEST_SIZE])
{
        union {
                struct fsverity_digest d;
                uint8_t raw[sizeof(struct fsverity_digest) + 64];
        } u = {};
        u.d.digest_size = 64;

        if (ioctl(fd, FS_IOC_MEASURE_VERITY, &u.d) < 0)
                return -errno;
        if (u.d.digest_algorithm != FS_VERITY_HASH_ALG_SHA256 || u.d.digest_size != CFS_DIGEST_SIZE)
                return -EINVAL;
        memcpy(digest, u.d.digest, CFS_DIGEST_SIZE);
        return 0;
}

int cfs_verity_enable(int fd)
{
        struct fsverity_enable_arg arg = {
            .version = 1,
            .hash_algorithm = FS_VERITY_HASH_ALG_SHA256,
            .block_size = VERITY_BLOCK_SIZE,
        };
        if (ioctl(fd, FS_IOC_ENABLE_VERITY, &arg) < 0)
                return -errno;
        return 0;
}

void cfs_digest_to_hex(const uint8_t digest[CFS_DIGEST_SIZE], char hex[CFS_DIGEST_HEX_SIZE])
{
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < CFS_DIGEST_SIZE; i++) {
                hex[2 * i] = digits[digest[i] >> 4];
                hex[2 * i + 1] = digits[digest[i] & 0xf];
        }
        hex[2 * CFS_DIGEST_SIZE] = '\0';
}

int cfs_digest_from_hex(const char *hex, size_t len, uint8_t digest[CFS_DIGEST_SIZE])
{
        uint8_t out[CFS_DIGEST_SIZE];
        if (len != 2 * CFS_DIGEST_SIZE)
                return -EINVAL;
        for (size_t i = 0; i < CFS_DIGEST_SIZE; i++) {
                int hi = cfs_hexval((unsigned char)hex[2 * i]),
                    lo = cfs_hexval((unsigned char)hex[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        memcpy(digest, out, CFS_DIGEST_SIZE);
        return 0;
}

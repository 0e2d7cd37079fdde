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
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libfsverity.h>
#include <linux/fsverity.h>
#include <openssl/evp.h>
#include <pthread.h>
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

/* ---- incremental digest without libfsverity (see verity.h) ---- */

#define HASHES_PER_BLOCK (VERITY_BLOCK_SIZE / CFS_DIGEST_SIZE)
/* levels above the data: 4096 * 128^8 bytes is far beyond CFS_FILE_SIZE_MAX */
#define MAX_LEVELS 8

struct cfs_verity_hasher {
        EVP_MD_CTX *md_ctx;
        uint64_t size, fed;
        unsigned levels;               /* tree levels above the data blocks */
        size_t partial_len;            /* bytes of a data block not hashed yet */
        size_t fill[MAX_LEVELS];       /* bytes in each level's pending block */
        uint8_t root[CFS_DIGEST_SIZE]; /* the hash that the top level produced */
        uint8_t partial[VERITY_BLOCK_SIZE];
        uint8_t level[MAX_LEVELS][VERITY_BLOCK_SIZE];
};

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
        sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int cfs_verity_hasher_new(struct cfs_verity_hasher **ret)
{
        pthread_once(&sha256_once, sha256_fetch);
        if (!sha256_md)
                return -ENOSYS;
        struct cfs_verity_hasher *h = malloc(sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->md_ctx = EVP_MD_CTX_new();
        if (!h->md_ctx) {
                free(h);
                return -ENOMEM;
        }
        cfs_verity_hasher_begin(h, 0);
        *ret = h;
        return 0;
}

void cfs_verity_hasher_free(struct cfs_verity_hasher *h)
{
        if (!h)
                return;
        EVP_MD_CTX_free(h->md_ctx);
        free(h);
}

void cfs_verity_hasher_begin(struct cfs_verity_hasher *h, uint64_t size)
{
        uint64_t blocks = (size + VERITY_BLOCK_SIZE - 1) / VERITY_BLOCK_SIZE;
        h->size = size;
        h->fed = 0;
        h->partial_len = 0;
        h->levels = 0;
        for (; blocks > 1; blocks = (blocks + HASHES_PER_BLOCK - 1) / HASHES_PER_BLOCK)
                h->levels++;
        memset(h->fill, 0, sizeof(h->fill));
        memset(h->root, 0, sizeof(h->root)); /* the root hash of an empty file */
}

static int sha256(struct cfs_verity_hasher *h, const void *data, size_t len,
                  uint8_t out[CFS_DIGEST_SIZE])
{
        unsigned int n = 0;
        if (EVP_DigestInit_ex2(h->md_ctx, sha256_md, NULL) != 1 ||
            EVP_DigestUpdate(h->md_ctx, data, len) != 1 ||
            EVP_DigestFinal_ex(h->md_ctx, out, &n) != 1 || n != CFS_DIGEST_SIZE)
                return -EIO;
        return 0;
}

/* A hash of a block of level @lvl (-1 = data) goes into level @lvl + 1; a full
 * block there is hashed on up, except at the top level, which final() hashes
 * into the root. */
static int add_hash(struct cfs_verity_hasher *h, unsigned lvl, const uint8_t hash[CFS_DIGEST_SIZE])
{
        uint8_t up[CFS_DIGEST_SIZE];
        memcpy(up, hash, CFS_DIGEST_SIZE);
        for (;; lvl++) {
                if (lvl == h->levels) { /* no tree (one data block): this is the root */
                        memcpy(h->root, up, CFS_DIGEST_SIZE);
                        return 0;
                }
                memcpy(h->level[lvl] + h->fill[lvl], up, CFS_DIGEST_SIZE);
                h->fill[lvl] += CFS_DIGEST_SIZE;
                if (h->fill[lvl] < VERITY_BLOCK_SIZE || lvl + 1 == h->levels)
                        return 0;
                int r = sha256(h, h->level[lvl], VERITY_BLOCK_SIZE, up);
                if (r < 0)
                        return r;
                h->fill[lvl] = 0;
        }
}

static int add_data_block(struct cfs_verity_hasher *h, const uint8_t *block)
{
        uint8_t hash[CFS_DIGEST_SIZE];
        int r = sha256(h, block, VERITY_BLOCK_SIZE, hash);
        return r < 0 ? r : add_hash(h, 0, hash);
}

int cfs_verity_hasher_update(struct cfs_verity_hasher *h, const void *data, size_t len)
{
        const uint8_t *p = data;
        int r;

        if (len > h->size - h->fed)
                return -EIO;
        h->fed += len;
        if (h->partial_len > 0) {
                size_t k = CFS_MIN(len, VERITY_BLOCK_SIZE - h->partial_len);
                memcpy(h->partial + h->partial_len, p, k);
                h->partial_len += k;
                p += k;
                len -= k;
                if (h->partial_len < VERITY_BLOCK_SIZE)
                        return 0;
                h->partial_len = 0;
                r = add_data_block(h, h->partial);
                if (r < 0)
                        return r;
        }
        for (; len >= VERITY_BLOCK_SIZE; p += VERITY_BLOCK_SIZE, len -= VERITY_BLOCK_SIZE) {
                r = add_data_block(h, p);
                if (r < 0)
                        return r;
        }
        if (len > 0) {
                memcpy(h->partial, p, len);
                h->partial_len = len;
        }
        return 0;
}

int cfs_verity_hasher_final(struct cfs_verity_hasher *h, uint8_t digest[CFS_DIGEST_SIZE])
{
        int r;

        if (h->fed != h->size)
                return -EIO;
        if (h->partial_len > 0) { /* the last data block, zero-padded */
                memset(h->partial + h->partial_len, 0, VERITY_BLOCK_SIZE - h->partial_len);
                h->partial_len = 0;
                r = add_data_block(h, h->partial);
                if (r < 0)
                        return r;
        }
        /* pending blocks, bottom up, zero-padded; the top one gives the root */
        for (unsigned lvl = 0; lvl < h->levels; lvl++) {
                if (h->fill[lvl] == 0)
                        continue;
                memset(h->level[lvl] + h->fill[lvl], 0, VERITY_BLOCK_SIZE - h->fill[lvl]);
                uint8_t up[CFS_DIGEST_SIZE];
                r = sha256(h, h->level[lvl], VERITY_BLOCK_SIZE, up);
                if (r < 0)
                        return r;
                h->fill[lvl] = 0;
                if (lvl + 1 == h->levels)
                        memcpy(h->root, up, CFS_DIGEST_SIZE);
                else {
                        r = add_hash(h, lvl + 1, up);
                        if (r < 0)
                                return r;
                }
        }
        /* the digest is the hash of the descriptor (struct fsverity_descriptor) */
        uint8_t desc[256] = {1 /* version */, FS_VERITY_HASH_ALG_SHA256, 12 /* log2 4096 */,
                             0 /* salt size */};
        for (unsigned i = 0; i < 8; i++)
                desc[8 + i] = (uint8_t)(h->size >> (8 * i)); /* data_size, little endian */
        memcpy(desc + 16, h->root, CFS_DIGEST_SIZE);         /* root_hash[64] */
        return sha256(h, desc, sizeof(desc), digest);        /* salt[32], reserved[144]: 0 */
}

int cfs_verity_scratch_init(struct cfs_verity_scratch *s, size_t buf_size)
{
        *s = (struct cfs_verity_scratch){.buf_size = buf_size ? buf_size : READ_BUFFER_SIZE};
        if (s->buf_size < VERITY_BLOCK_SIZE)
                return -EINVAL;
        s->buf = malloc(s->buf_size);
        if (!s->buf)
                return -ENOMEM;
        int r = cfs_verity_hasher_new(&s->hasher);
        if (r < 0) {
                free(s->buf);
                s->buf = NULL;
        }
        return r;
}

void cfs_verity_scratch_done(struct cfs_verity_scratch *s)
{
        cfs_verity_hasher_free(s->hasher);
        free(s->buf);
        *s = (struct cfs_verity_scratch){};
}

int cfs_verity_digest_fd_sized(int fd, uint64_t size, struct cfs_verity_scratch *scratch,
                               uint8_t digest[CFS_DIGEST_SIZE])
{
        struct cfs_verity_hasher *h = scratch->hasher;
        int r;

        cfs_verity_hasher_begin(h, size);
        for (uint64_t left = size; left > 0;) {
                size_t want = (size_t)CFS_MIN((uint64_t)scratch->buf_size, left);
                ssize_t n = read(fd, scratch->buf, want);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO; /* file shrank under us */
                r = cfs_verity_hasher_update(h, scratch->buf, (size_t)n);
                if (r < 0)
                        return r;
                left -= (uint64_t)n;
        }
        return cfs_verity_hasher_final(h, digest);
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

int cfs_verity_check_descriptor(const void *desc, size_t len, uint64_t size,
                                const uint8_t measured[CFS_DIGEST_SIZE])
{
        struct fsverity_descriptor d;
        uint8_t hash[CFS_DIGEST_SIZE];
        unsigned int n = 0;

        if (len != sizeof(d))
                return -EBADMSG;
        memcpy(&d, desc, sizeof(d));
        /* what composefs names objects by; anything else measures differently */
        if (d.version != 1 || d.hash_algorithm != FS_VERITY_HASH_ALG_SHA256 ||
            d.log_blocksize != 12 || d.salt_size != 0)
                return -EINVAL;
        if (le64toh(d.data_size) != size)
                return -EIO;
        /* The file digest is the hash of exactly this descriptor (sig_size 0):
         * the measurement then names these parameters, not a descriptor that
         * was misread. pthread_once: EVP_MD fetched once, as for the hasher. */
        pthread_once(&sha256_once, sha256_fetch);
        if (!sha256_md)
                return -ENOSYS;
        if (EVP_Digest(desc, len, hash, &n, sha256_md, NULL) != 1 || n != CFS_DIGEST_SIZE)
                return -EIO;
        if (memcmp(hash, measured, CFS_DIGEST_SIZE) != 0)
                return -EBADMSG;
        return 0;
}

int cfs_verity_measure_composefs(int fd, uint64_t size, uint8_t digest[CFS_DIGEST_SIZE])
{
        uint8_t measured[CFS_DIGEST_SIZE];
        struct fsverity_descriptor desc;

        int r = cfs_verity_measure(fd, measured);
        if (r < 0)
                return r;
        struct fsverity_read_metadata_arg arg = {
            .metadata_type = FS_VERITY_METADATA_TYPE_DESCRIPTOR,
            .offset = 0,
            .length = sizeof(desc),
            .buf_ptr = (uint64_t)(uintptr_t)&desc,
        };
        int got = ioctl(fd, FS_IOC_READ_VERITY_METADATA, &arg);
        if (got < 0)
                return -errno;
        r = cfs_verity_check_descriptor(&desc, (size_t)got, size, measured);
        if (r < 0)
                return r;
        memcpy(digest, measured, CFS_DIGEST_SIZE);
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * verity.h - fs-verity digests: computed in userspace (libfsverity, sha256,
 * 4096-byte blocks, no salt), measured by the kernel (FS_IOC_MEASURE_VERITY),
 * enabled (FS_IOC_ENABLE_VERITY). Host and initrd.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tree.h"

#define CFS_DIGEST_HEX_SIZE (2 * CFS_DIGEST_SIZE + 1)

/*
 * Incremental fs-verity digest (sha256, 4096-byte blocks, no salt) of content
 * whose size is known up front, fed in pieces of any length: whole blocks are
 * hashed where they lie (no copy), the Merkle tree is kept one 4 KiB block per
 * level, and sha256 goes through one EVP_MD fetched once. Gives the digests
 * libfsverity gives (unit-tested against it on block and level boundaries); it
 * exists because libfsverity copies every block once more and OpenSSL 3 looks
 * the digest up by name for every 4 KiB block it hashes (~15 % of the hashing
 * cost). One thread at a time per hasher.
 */
struct cfs_verity_hasher;
int cfs_verity_hasher_new(struct cfs_verity_hasher **ret);
void cfs_verity_hasher_free(struct cfs_verity_hasher *h);
/* Start a digest of @size bytes. */
void cfs_verity_hasher_begin(struct cfs_verity_hasher *h, uint64_t size);
/* The next @len bytes; -EIO if that is more than the size given. */
int cfs_verity_hasher_update(struct cfs_verity_hasher *h, const void *data, size_t len);
/* -EIO if fewer bytes than the size were given. */
int cfs_verity_hasher_final(struct cfs_verity_hasher *h, uint8_t digest[CFS_DIGEST_SIZE]);

/* A read buffer and a hasher, for one thread at a time, reused across files. */
struct cfs_verity_scratch {
        struct cfs_verity_hasher *hasher;
        uint8_t *buf;
        size_t buf_size;
};
/* @buf_size: at least 4096, larger reads are faster; 0 = 256 KiB. */
int cfs_verity_scratch_init(struct cfs_verity_scratch *s, size_t buf_size);
void cfs_verity_scratch_done(struct cfs_verity_scratch *s);

/* Digest of everything readable from @fd from its current offset to EOF. */
int cfs_verity_digest_fd(int fd, uint8_t digest[CFS_DIGEST_SIZE]);
/* Digest of the next @size bytes of @fd (a regular file whose size the caller
 * knows: no fstat, lseek or fadvise, nothing read past @size), with the
 * caller's @scratch (a cfs_verity_hasher). -EIO if the file ends early; bytes
 * past @size are not looked at: a caller that must notice a file that grew
 * compares fstat() before and after. */
int cfs_verity_digest_fd_sized(int fd, uint64_t size, struct cfs_verity_scratch *scratch,
                               uint8_t digest[CFS_DIGEST_SIZE]);
/* Digest of @len bytes at @buf. */
int cfs_verity_digest_buffer(const void *buf, size_t len, uint8_t digest[CFS_DIGEST_SIZE]);

/* Kernel-measured digest. -ENODATA: file has no fs-verity; -ENOTTY/-EOPNOTSUPP:
 * the file system or kernel has no fs-verity; -EINVAL: not sha256. */
int cfs_verity_measure(int fd, uint8_t digest[CFS_DIGEST_SIZE]);
/*
 * The composefs digest of @fd (sha256, 4096-byte blocks, no salt) taken from
 * the kernel instead of reading the file, for a file that has fs-verity
 * already: FS_IOC_MEASURE_VERITY plus the descriptor (FS_IOC_READ_VERITY_METADATA,
 * Linux 5.12+), because the measurement also covers the block size and salt the
 * file was enabled with. 0 and @digest set only if the descriptor says sha256,
 * 4096-byte blocks, no salt and @size bytes, and hashes to the measurement.
 * Otherwise a negative errno and the caller must hash the file itself: the
 * ioctls' errors (-ENODATA no fs-verity, -ENOTTY/-EOPNOTSUPP none here, ...),
 * -EINVAL other parameters, -EIO another size, -EBADMSG descriptor and
 * measurement disagree. Nothing is read from the file's data.
 */
int cfs_verity_measure_composefs(int fd, uint64_t size, uint8_t digest[CFS_DIGEST_SIZE]);
/* The checks of cfs_verity_measure_composefs() on a descriptor @desc (@len bytes,
 * as FS_IOC_READ_VERITY_METADATA returns it: sig_size zeroed) and the kernel's
 * sha256 measurement @measured; the same return values. Exposed for tests. */
int cfs_verity_check_descriptor(const void *desc, size_t len, uint64_t size,
                                const uint8_t measured[CFS_DIGEST_SIZE]);
/* Enable fs-verity (sha256, 4096). -EEXIST if already enabled (not an error for
 * callers that only want it on), -EOPNOTSUPP/-ENOTTY where unsupported. */
int cfs_verity_enable(int fd);

void cfs_digest_to_hex(const uint8_t digest[CFS_DIGEST_SIZE], char hex[CFS_DIGEST_HEX_SIZE]);
/* Exactly 64 hex digits (either case); -EINVAL otherwise. */
int cfs_digest_from_hex(const char *hex, size_t len, uint8_t digest[CFS_DIGEST_SIZE]);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * verity.h - fs-verity digests: computed in userspace (libfsverity, sha256,
 * 4096-byte blocks, no salt), measured by the kernel (FS_IOC_MEASURE_VERITY),
 * enabled (FS_IOC_ENABLE_VERITY). Host and initrd.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tree.h"

#define CFS_DIGEST_HEX_SIZE (2 * CFS_DIGEST_SIZE + 1)

/* Digest of everything readable from @fd from its current offset to EOF. */
int cfs_verity_digest_fd(int fd, uint8_t digest[CFS_DIGEST_SIZE]);
/* Digest of the next @size bytes of @fd (a regular file whose size the caller
 * knows: no fstat, lseek or fadvise, nothing read past @size). @buf (at least
 * 4096 bytes, larger reads are faster) is the caller's scratch space. -EIO if
 * the file ends early; bytes past @size are not looked at: a caller that must
 * notice a file that grew compares fstat() before and after. */
int cfs_verity_digest_fd_sized(int fd, uint64_t size, void *buf, size_t buf_size,
                               uint8_t digest[CFS_DIGEST_SIZE]);
/* Digest of @len bytes at @buf. */
int cfs_verity_digest_buffer(const void *buf, size_t len, uint8_t digest[CFS_DIGEST_SIZE]);

/* Kernel-measured digest. -ENODATA: file has no fs-verity; -ENOTTY/-EOPNOTSUPP:
 * the file system or kernel has no fs-verity; -EINVAL: not sha256. */
int cfs_verity_measure(int fd, uint8_t digest[CFS_DIGEST_SIZE]);
/* Enable fs-verity (sha256, 4096). -EEXIST if already enabled (not an error for
 * callers that only want it on), -EOPNOTSUPP/-ENOTTY where unsupported. */
int cfs_verity_enable(int fd);

void cfs_digest_to_hex(const uint8_t digest[CFS_DIGEST_SIZE], char hex[CFS_DIGEST_HEX_SIZE]);
/* Exactly 64 hex digits (either case); -EINVAL otherwise. */
int cfs_digest_from_hex(const char *hex, size_t len, uint8_t digest[CFS_DIGEST_SIZE]);

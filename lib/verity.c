/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* verity.c - TEMPORARY stub so the tool links; being written (issue 3). */
#include <errno.h>
#include "verity.h"
int cfs_verity_digest_fd(int fd, uint8_t digest[CFS_DIGEST_SIZE]) { (void)fd; (void)digest; return -ENOSYS; }
int cfs_verity_digest_buffer(const void *buf, size_t len, uint8_t digest[CFS_DIGEST_SIZE]) { (void)buf; (void)len; (void)digest; return -ENOSYS; }
int cfs_verity_measure(int fd, uint8_t digest[CFS_DIGEST_SIZE]) { (void)fd; (void)digest; return -ENOSYS; }
int cfs_verity_enable(int fd) { (void)fd; return -ENOSYS; }
void cfs_digest_to_hex(const uint8_t digest[CFS_DIGEST_SIZE], char hex[CFS_DIGEST_HEX_SIZE]) { (void)digest; hex[0] = 0; }
int cfs_digest_from_hex(const char *hex, size_t len, uint8_t digest[CFS_DIGEST_SIZE]) { (void)hex; (void)len; (void)digest; return -ENOSYS; }

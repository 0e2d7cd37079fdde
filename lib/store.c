/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store.c - TEMPORARY stub so the tool links; being written (issue 3). */
#include <errno.h>
#include "store.h"
int cfs_store_open(const char *path, bool create, struct cfs_store **ret, struct cfs_error *err) { (void)path; (void)create; (void)ret; (void)err; return -ENOSYS; }
void cfs_store_free(struct cfs_store *s) { (void)s; }
void cfs_store_object_name(const uint8_t digest[CFS_DIGEST_SIZE], char name[66]) { (void)digest; name[0] = 0; }
int cfs_store_add_fd(struct cfs_store *s, int fd, uint64_t size, const uint8_t digest[CFS_DIGEST_SIZE], enum cfs_store_added *ret_added, bool *ret_verity, struct cfs_error *err) { (void)s; (void)fd; (void)size; (void)digest; (void)ret_added; (void)ret_verity; (void)err; return -ENOSYS; }

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image-reader.c - TEMPORARY stub so the tool links; being written (issue 3). */
#include <errno.h>
#include "image-reader.h"
int cfs_image_open_fd(int fd, struct cfs_image **ret, struct cfs_error *err) { (void)fd; (void)ret; (void)err; return -ENOSYS; }
int cfs_image_open_buffer(const void *buf, size_t len, struct cfs_image **ret, struct cfs_error *err) { (void)buf; (void)len; (void)ret; (void)err; return -ENOSYS; }
void cfs_image_close(struct cfs_image *img) { (void)img; }
void cfs_image_get_info(const struct cfs_image *img, struct cfs_image_info *ret) { (void)img; (void)ret; }

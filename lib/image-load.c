/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image-load.c - TEMPORARY stub so the tool links; being written (issue 3). */
#include <errno.h>
#include "image-reader.h"
int cfs_image_load(const struct cfs_image *img, struct cfs_tree **ret, struct cfs_error *err) { (void)img; (void)ret; (void)err; return -ENOSYS; }

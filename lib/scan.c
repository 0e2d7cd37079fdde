/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* scan.c - TEMPORARY stub so the tool links; being written (issue 3). */
#include <errno.h>
#include "scan.h"
int cfs_scan_dir(const char *path, const struct cfs_scan_options *opts, struct cfs_tree **ret, struct cfs_scan_result *result, struct cfs_error *err) { (void)path; (void)opts; (void)ret; (void)result; (void)err; return -ENOSYS; }

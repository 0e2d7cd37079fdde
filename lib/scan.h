/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * scan.h - build a tree from a directory on disk (what `mkcomposefs DIR IMAGE`
 * does): lstat, xattrs, symlink targets, small files inline (<= 64 bytes),
 * larger files as external files with their fs-verity digest and the object
 * store path as payload; hard links kept as hard links. Hashing runs on all
 * cores. Host.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "store.h"
#include "tree.h"

#define CFS_SCAN_INLINE_MAX 64u

struct cfs_scan_progress {
        uint64_t entries, files_hashed, bytes_hashed, bytes_total;
};

struct cfs_scan_options {
        struct cfs_store *store; /* copy file contents here; may be NULL */
        unsigned threads;        /* hashing threads; 0 = number of online CPUs */
        /* called from the scanning thread now and then; may be NULL */
        void (*progress)(const struct cfs_scan_progress *p, void *userdata);
        void *userdata;
};

struct cfs_scan_result {
        uint64_t objects_added, objects_existed, objects_without_verity;
        /* files with fs-verity (sha256, 4096, no salt) whose digest was the
         * kernel's measurement: not read (with a store: unless copied in) */
        uint64_t digests_from_verity;
};

int cfs_scan_dir(const char *path, const struct cfs_scan_options *opts, struct cfs_tree **ret,
                 struct cfs_scan_result *result, struct cfs_error *err);

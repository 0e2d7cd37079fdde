/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mount.h - mounting a composefs image with the new mount API (initrd:
 * setup-root, before switch_root; host: tests).
 *
 * EROFS is mounted file-backed (kernel >= 6.12) straight from the image fd,
 * or, where the kernel answers ENOTBLK, from a read-only, autoclear loop device
 * set up with LOOP_CONFIGURE. overlayfs gets the EROFS mount as its metadata
 * layer and the object store as a data-only layer (lowerdir+= / datadir+=,
 * kernel >= 6.8; on 6.6-6.7 the same mount is spelled lowerdir=META::DATA),
 * with metacopy=on, redirect_dir=on and, unless the caller explicitly asks for
 * the insecure mode, verity=require. All mounts are returned detached (fsmount)
 * and only attached by the caller with cfs_mount_attach(), so a failure never
 * leaves anything mounted (layers are attached below CFS_MOUNT_SCRATCH_DIR only
 * while the overlay is created, see cfs_mount_scratch_attach()).
 */
#pragma once

#include <stdbool.h>

#include "error.h"

struct cfs_mount_options {
        /* Do NOT pass verity=require. Only for tests on kernels without
         * fs-verity; setup-root refuses it unless the policy allows unverified
         * objects. */
        bool insecure_no_verity;
};

/*
 * Mount the EROFS image open at @image_fd read-only (nodev, nosuid) and
 * return the detached mount as an fd (O_CLOEXEC). *ret_loop is set when a loop
 * device had to be used (autoclear: it goes away with the last mount).
 */
int cfs_mount_erofs(int image_fd, int *ret_mnt_fd, bool *ret_loop, struct cfs_error *err);

/*
 * Mount overlayfs over the detached EROFS mount @meta_mnt_fd and the object
 * store directory @store_fd (the directory holding ab/cdef… objects), read-only.
 * Returns the detached overlay mount as an fd.
 */
int cfs_mount_overlay(int meta_mnt_fd, int store_fd, const struct cfs_mount_options *opts,
                      int *ret_mnt_fd, struct cfs_error *err);

/* Attach the detached mount @mnt_fd at @target (move_mount). */
int cfs_mount_attach(int mnt_fd, const char *target, struct cfs_error *err);

/*
 * Linux 6.12 (and other kernels before 6.15) refuse overlay layers that are
 * detached mounts ("failed to clone lowerpath"). Such a layer is attached for
 * the moment the overlay is created at a fresh private directory below
 * CFS_MOUNT_SCRATCH_DIR (written to @path), and taken away again afterwards
 * with cfs_mount_scratch_release() (lazy unmount, rmdir; the overlay keeps
 * its own reference to the layer).
 */
#define CFS_MOUNT_SCRATCH_DIR "/run/cfsroot"
int cfs_mount_scratch_attach(int mnt_fd, char path[64], struct cfs_error *err);
void cfs_mount_scratch_release(const char *path);

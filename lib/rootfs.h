/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rootfs.h - finishing the new root after the composefs overlay is mounted
 * (initrd: setup-root, physical root at /sysroot, before switch_root):
 * /etc and /var as the policy says, then the move onto /sysroot with the
 * physical root kept reachable at /sysroot/sysroot.
 */
#pragma once

#include "error.h"
#include "policy.h"

struct cfs_rootfs_options {
        enum cfs_etc_mode etc;
        enum cfs_var_mode var;
        int sysroot_fd;         /* physical root (O_PATH|O_DIRECTORY) */
        const char *state_dir;  /* below the physical root, e.g. "/composefs/state" */
        const char *deployment; /* name of this deployment's state (the image digest, hex) */
};

/*
 * Mount /etc and /var of the new root attached at @newroot:
 *   Etc=overlay   overlay over the image's /etc, upper+work in STATE/DEPLOYMENT/etc
 *   Etc=transient the same with upper+work on a tmpfs
 *   Var=bind      bind mount of STATE/var (shared by all deployments, as ostree does)
 *   Var=transient tmpfs
 *   readonly      nothing
 * Directories in the state area are created as needed (mode 0755, work 0700).
 */
int cfs_rootfs_setup_state(const char *newroot, const struct cfs_rootfs_options *o,
                           struct cfs_error *err);

/*
 * Move the physical root mounted at @sysroot below @newroot (to
 * NEWROOT/sysroot, which must exist in the image), then move @newroot onto
 * @sysroot. On failure nothing has been moved. Makes all mounts of the mount
 * namespace private first (MS_MOVE does not work below shared mounts).
 */
int cfs_rootfs_switch(const char *sysroot, const char *newroot, struct cfs_error *err);

/* Unmount everything below and at @path (lazy), best effort: the failure path. */
void cfs_rootfs_unmount_all(const char *path);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rootfs.c - /etc, /var and the move onto /sysroot (see rootfs.h). Initrd. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macros.h"
#include "mount.h"
#include "rootfs.h"

/* mkdir -p of @path (relative, no leading '/') below @dir_fd; returns an O_PATH fd of it. */
static int mkdir_below(int dir_fd, const char *path, mode_t mode, struct cfs_error *err)
{
        char buf[CFS_POLICY_PATH_MAX + 128];
        _cleanup_close_ int fd = openat(dir_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        char *save = NULL;
        snprintf(buf, sizeof(buf), "%s", path);
        if (fd < 0)
                return cfs_error_set(err, errno, "cannot open the directory for %s: %m", path);
        for (char *comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
                if (mkdirat(fd, comp, mode) < 0 && errno != EEXIST)
                        return cfs_error_set(err, errno, "cannot create %s (at %s): %m", path,
                                             comp);
                int next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0)
                        return cfs_error_set(err, errno, "cannot open %s (at %s): %m", path, comp);
                close(fd);
                fd = next;
        }
        return TAKE_FD(fd);
}

static void fdpath(int fd, const char *sub, char buf[96])
{
        snprintf(buf, 96, "/proc/self/fd/%d%s%s", fd, sub[0] ? "/" : "", sub);
}

/* overlay of @lower (a path) with upper/work dirs below @state_fd, attached at @target. */
static int mount_etc_overlay(const char *lower, int state_fd, const char *target,
                             struct cfs_error *err)
{
        char upper[96], work[96];
        int r;
        _cleanup_close_ int up = mkdir_below(state_fd, "upper", 0755, err);
        if (up < 0)
                return up;
        _cleanup_close_ int wk = mkdir_below(state_fd, "work", 0700, err);
        if (wk < 0)
                return wk;
        fdpath(up, "", upper);
        fdpath(wk, "", work);
        _cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fs < 0)
                return cfs_error_set(err, errno, "/etc overlay: fsopen: %m");
        if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return cfs_error_set(err, errno,
                                     "/etc overlay (upper and work in the state directory) "
                                     "failed: %m; is the physical root mounted read-write?");
        _cleanup_close_ int mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV);
        if (mnt < 0)
                return cfs_error_set(err, errno, "/etc overlay: fsmount: %m");
        r = move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
        if (r < 0)
                return cfs_error_set(err, errno, "cannot mount the /etc overlay on %s: %m", target);
        return 0;
}

/* A fresh detached tmpfs; returns its mount fd. */
static int detached_tmpfs(const char *what, struct cfs_error *err)
{
        _cleanup_close_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return cfs_error_set(err, errno, "tmpfs for %s: %m", what);
        int mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
        if (mnt < 0)
                return cfs_error_set(err, errno, "tmpfs for %s: fsmount: %m", what);
        return mnt;
}

static int setup_etc(const char *newroot, const struct cfs_rootfs_options *o, struct cfs_error *err)
{
        char target[4096], path[CFS_POLICY_PATH_MAX + 128];
        snprintf(target, sizeof(target), "%s/etc", newroot);
        if (o->etc == CFS_ETC_READONLY)
                return 0;
        if (o->etc == CFS_ETC_TRANSIENT) {
                _cleanup_close_ int tmp = detached_tmpfs("/etc", err);
                if (tmp < 0)
                        return tmp;
                /* overlay layers must not be detached mounts (Linux < 6.15) */
                char where[64];
                int r = cfs_mount_scratch_attach(tmp, where, err);
                if (r < 0)
                        return r;
                _cleanup_close_ int state = open(where, O_PATH | O_DIRECTORY | O_CLOEXEC);
                r = state < 0 ? cfs_error_set(err, errno, "cannot open %s: %m", where)
                              : mount_etc_overlay(target, state, target, err);
                cfs_mount_scratch_release(where);
                return r;
        }
        snprintf(path, sizeof(path), "%s/%s/etc", o->state_dir + (o->state_dir[0] == '/'),
                 o->deployment);
        _cleanup_close_ int state = mkdir_below(o->sysroot_fd, path, 0755, err);
        if (state < 0)
                return state;
        return mount_etc_overlay(target, state, target, err);
}

static int setup_var(const char *newroot, const struct cfs_rootfs_options *o, struct cfs_error *err)
{
        char target[4096], path[CFS_POLICY_PATH_MAX + 16];
        _cleanup_close_ int mnt = -1;
        snprintf(target, sizeof(target), "%s/var", newroot);
        if (o->var == CFS_VAR_READONLY)
                return 0;
        if (o->var == CFS_VAR_TRANSIENT) {
                mnt = detached_tmpfs("/var", err);
                if (mnt < 0)
                        return mnt;
        } else {
                snprintf(path, sizeof(path), "%s/var", o->state_dir + (o->state_dir[0] == '/'));
                _cleanup_close_ int state = mkdir_below(o->sysroot_fd, path, 0755, err);
                if (state < 0)
                        return state;
                mnt = open_tree(state, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
                if (mnt < 0)
                        return cfs_error_set(err, errno, "cannot bind %s: %m", path);
        }
        if (move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return cfs_error_set(err, errno, "cannot mount /var on %s: %m", target);
        return 0;
}

int cfs_rootfs_setup_state(const char *newroot, const struct cfs_rootfs_options *o,
                           struct cfs_error *err)
{
        int r = setup_etc(newroot, o, err);
        if (r < 0)
                return r;
        return setup_var(newroot, o, err);
}

int cfs_rootfs_switch(const char *sysroot, const char *newroot, struct cfs_error *err)
{
        char below[4096];
        struct stat st;
        snprintf(below, sizeof(below), "%s/sysroot", newroot);
        if (stat(below, &st) < 0 || !S_ISDIR(st.st_mode))
                return cfs_error_set(err, ENOENT,
                                     "the image has no /sysroot directory to keep the physical "
                                     "root reachable under");
        /*
         * The kernel refuses MS_MOVE of a mount whose parent is shared, and a
         * systemd initrd mounts everything shared. Make the initrd's mounts
         * private first, as systemd's own switch_root() does moments later.
         */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return cfs_error_set(err, errno, "cannot make the initrd's mounts private: %m");
        if (mount(sysroot, below, NULL, MS_MOVE, NULL) < 0)
                return cfs_error_set(err, errno, "cannot move the physical root %s to %s: %m",
                                     sysroot, below);
        if (mount(newroot, sysroot, NULL, MS_MOVE, NULL) < 0) {
                int e = errno;
                /* put the physical root back where it was */
                (void)mount(below, sysroot, NULL, MS_MOVE, NULL);
                return cfs_error_set(err, e, "cannot move the new root onto %s: %s", sysroot,
                                     strerror(e));
        }
        return 0;
}

void cfs_rootfs_unmount_all(const char *path)
{
        /* MNT_DETACH takes the whole subtree away at once */
        (void)umount2(path, MNT_DETACH);
}

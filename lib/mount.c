/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mount.c - EROFS + overlayfs mounts of a composefs image with the new mount
 * API (see mount.h). Initrd (setup-root) and host tests.
 *
 * Why not libmount: libmount's context API drives mount(2)/the new API for
 * mounts named by paths and fstab-like options; here every layer is an fd
 * (a memfd copy of the image, a detached EROFS mount, an O_PATH store fd) that
 * is handed on as /proc/self/fd/N, and a loop device must be configured from
 * that same fd. Doing this with five syscalls keeps the initrd small and the
 * failure points explicit.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include "macros.h"
#include "mount.h"

static void fd_path(int fd, char buf[64])
{
        snprintf(buf, 64, "/proc/self/fd/%d", fd);
}

/* fsconfig() with a string value; records which parameter the kernel refused. */
static int set_string(int fs_fd, const char *fs, const char *key, const char *value,
                      struct cfs_error *err)
{
        if (fsconfig(fs_fd, FSCONFIG_SET_STRING, key, value, 0) < 0)
                return cfs_error_set(err, errno, "%s: the kernel refuses %s=%s: %m", fs, key,
                                     value);
        return 0;
}

static int set_flag(int fs_fd, const char *fs, const char *key, struct cfs_error *err)
{
        if (fsconfig(fs_fd, FSCONFIG_SET_FLAG, key, NULL, 0) < 0)
                return cfs_error_set(err, errno, "%s: the kernel refuses option %s: %m", fs, key);
        return 0;
}

/* The kernel's own explanation of a failed fsconfig(), if it left one ("e ..."). */
static void kernel_message(int fs_fd, char *buf, size_t size)
{
        buf[0] = 0;
        for (unsigned i = 0; i < 8; i++) {
                char line[256];
                ssize_t n = read(fs_fd, line, sizeof(line) - 1);
                if (n <= 0)
                        return;
                line[n] = 0;
                if (n > 2 && line[0] == 'e' && line[1] == ' ')
                        snprintf(buf, size, " (kernel: %s)", line + 2);
        }
}

/*
 * Create the superblock and a detached, read-only mount of it. On failure the
 * message is "@what: <errno text> (kernel: <its reason>)"; ENOTBLK is returned
 * silently (the EROFS caller falls back to a loop device).
 */
static int create_and_mount(int fs_fd, const char *what, int *ret_mnt_fd, struct cfs_error *err)
{
        if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
                int e = errno;
                char msg[300];
                if (e == ENOTBLK)
                        return -e;
                kernel_message(fs_fd, msg, sizeof(msg));
                return cfs_error_set(err, e, "%s: %s%s", what, strerror(e), msg);
        }
        int mnt = fsmount(fs_fd, FSMOUNT_CLOEXEC,
                          MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
        if (mnt < 0)
                return cfs_error_set(err, errno, "%s: fsmount: %m", what);
        *ret_mnt_fd = mnt;
        return 0;
}

static int erofs_from_source(const char *source, int *ret_mnt_fd, struct cfs_error *err)
{
        _cleanup_close_ int fs_fd = fsopen("erofs", FSOPEN_CLOEXEC);
        if (fs_fd < 0)
                return cfs_error_set(err, errno,
                                     "the kernel has no EROFS support (fsopen erofs: %m); load "
                                     "the erofs module");
        int r = set_string(fs_fd, "erofs", "source", source, err);
        if (r < 0)
                return r;
        r = set_flag(fs_fd, "erofs", "ro", err);
        if (r < 0)
                return r;
        char what[128];
        snprintf(what, sizeof(what), "EROFS mount of %s failed", source);
        return create_and_mount(fs_fd, what, ret_mnt_fd, err);
}

/* A read-only, autoclear loop device over @image_fd; returns its open fd. */
static int loop_attach(int image_fd, char dev[64], struct cfs_error *err)
{
        _cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (ctl < 0)
                return cfs_error_set(err, errno,
                                     "file-backed EROFS mounts are unsupported and "
                                     "/dev/loop-control is unavailable: %m (load the loop module)");
        for (unsigned attempt = 0; attempt < 16; attempt++) {
                int nr = ioctl(ctl, LOOP_CTL_GET_FREE);
                if (nr < 0)
                        return cfs_error_set(err, errno, "no free loop device: %m");
                snprintf(dev, 64, "/dev/loop%d", nr);
                int fd = open(dev, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return cfs_error_set(err, errno, "%s: cannot open: %m", dev);
                struct loop_config cfg = {
                    .fd = (uint32_t)image_fd,
                    .block_size = 4096,
                    .info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR,
                };
                if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0)
                        return fd;
                int e = errno;
                close(fd);
                if (e != EBUSY) /* EBUSY: another process took it first; try the next */
                        return cfs_error_set(err, e, "%s: LOOP_CONFIGURE failed: %s", dev,
                                             strerror(e));
        }
        return cfs_error_set(err, EBUSY, "no free loop device after 16 attempts");
}

int cfs_mount_erofs(int image_fd, int *ret_mnt_fd, bool *ret_loop, struct cfs_error *err)
{
        char source[64];
        fd_path(image_fd, source);
        int r = erofs_from_source(source, ret_mnt_fd, err);
        if (r == 0) {
                *ret_loop = false;
                return 0;
        }
        if (r != -ENOTBLK)
                return r == -EINVAL || r == -EUCLEAN
                           ? cfs_error_set(err, -r,
                                           "the kernel rejects the EROFS image "
                                           "(file-backed mount): %s",
                                           strerror(-r))
                           : cfs_error_set(err, -r, "EROFS mount failed: %s", strerror(-r));
        /* Kernel without file-backed EROFS (< 6.12) or a source it cannot use that
         * way (e.g. a file on the initramfs): go through a loop device. */
        char dev[64];
        _cleanup_close_ int loop_fd = loop_attach(image_fd, dev, err);
        if (loop_fd < 0)
                return loop_fd;
        r = erofs_from_source(dev, ret_mnt_fd, err);
        if (r < 0)
                return r;
        /* autoclear: closing loop_fd is fine, the mount keeps the device */
        *ret_loop = true;
        return 0;
}

static int overlay_layers(int fs_fd, const char *meta, const char *data, bool *legacy,
                          struct cfs_error *err)
{
        if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "lowerdir+", meta, 0) == 0) {
                *legacy = false;
                return set_string(fs_fd, "overlay", "datadir+", data, err);
        }
        if (errno != EINVAL)
                return cfs_error_set(err, errno, "overlay: the kernel refuses lowerdir+=%s: %m",
                                     meta);
        /* Linux 6.6/6.7: no lowerdir+/datadir+, the same layers as one string */
        char both[160];
        snprintf(both, sizeof(both), "%s::%s", meta, data);
        *legacy = true;
        return set_string(fs_fd, "overlay", "lowerdir", both, err);
}

int cfs_mount_scratch_attach(int mnt_fd, char path[64], struct cfs_error *err)
{
        if (mkdir(CFS_MOUNT_SCRATCH_DIR, 0700) < 0 && errno != EEXIST)
                return cfs_error_set(err, errno, "cannot create %s: %m", CFS_MOUNT_SCRATCH_DIR);
        snprintf(path, 64, "%s/layer.XXXXXX", CFS_MOUNT_SCRATCH_DIR);
        if (!mkdtemp(path)) {
                path[0] = '\0';
                return cfs_error_set(err, errno, "cannot create a directory in %s: %m",
                                     CFS_MOUNT_SCRATCH_DIR);
        }
        if (move_mount(mnt_fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
                int e = errno;
                (void)rmdir(path);
                path[0] = '\0';
                return cfs_error_set(err, e, "cannot attach a layer at %s: %s", path, strerror(e));
        }
        return 0;
}

void cfs_mount_scratch_release(const char *path)
{
        if (!path || !path[0])
                return;
        (void)umount2(path, MNT_DETACH);
        (void)rmdir(path);
}

static void scratch_releasep(char (*path)[64])
{
        cfs_mount_scratch_release(*path);
}

int cfs_mount_overlay(int meta_mnt_fd, int store_fd, const struct cfs_mount_options *opts,
                      int *ret_mnt_fd, struct cfs_error *err)
{
        char data[64];
        _cleanup_(scratch_releasep) char meta[64] = "";
        bool legacy = false;
        int r;

        _cleanup_close_ int fs_fd = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fs_fd < 0)
                return cfs_error_set(err, errno,
                                     "the kernel has no overlayfs (fsopen overlay: %m); load the "
                                     "overlay module");
        /* the EROFS layer must be attached somewhere while the overlay is made */
        if ((r = cfs_mount_scratch_attach(meta_mnt_fd, meta, err)) < 0)
                return r;
        fd_path(store_fd, data);
        if ((r = overlay_layers(fs_fd, meta, data, &legacy, err)) < 0 ||
            (r = set_string(fs_fd, "overlay", "metacopy", "on", err)) < 0 ||
            (r = set_string(fs_fd, "overlay", "redirect_dir", "on", err)) < 0)
                return r;
        if (!opts || !opts->insecure_no_verity) {
                if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "verity", "require", 0) < 0)
                        return cfs_error_set(err, errno,
                                             "overlay: the kernel refuses verity=require (%m): "
                                             "composefs needs Linux >= 6.6 with fs-verity");
        }
        return create_and_mount(fs_fd,
                                legacy ? "overlay mount failed (data-only lower layers need "
                                         "Linux >= 6.6)"
                                       : "overlay mount failed",
                                ret_mnt_fd, err);
}

int cfs_mount_attach(int mnt_fd, const char *target, struct cfs_error *err)
{
        if (move_mount(mnt_fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return cfs_error_set(err, errno, "cannot attach the mount at %s: %m", target);
        return 0;
}

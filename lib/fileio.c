/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fileio.c - atomic file creation and full reads/writes (see fileio.h). Host and initrd. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macros.h"

const char *cfs_path_basename(const char *path)
{
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

static int open_parent_dir(const char *path)
{
        const char *base = cfs_path_basename(path);
        if (base == path)
                return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        size_t len = (size_t)(base - path);
        _cleanup_free_ char *dir = strndup(path, len);
        if (!dir)
                return -ENOMEM;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int cfs_tmpfile_open(const char *path, struct cfs_tmpfile *ret)
{
        *ret = CFS_TMPFILE_INIT;
        if (!*cfs_path_basename(path))
                return -EISDIR;
        int dir_fd = open_parent_dir(path);
        if (dir_fd < 0)
                return dir_fd == -1 ? -errno : dir_fd;

        int fd = openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
        if (fd >= 0) {
                ret->fd = fd;
                ret->dir_fd = dir_fd;
                return 0;
        }
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != ENOENT) {
                int r = -errno;
                close(dir_fd);
                return r;
        }
        /* File system without O_TMPFILE: a visible, unique name we unlink on failure. */
        for (unsigned attempt = 0; attempt < 100; attempt++) {
                char name[64];
                snprintf(name, sizeof(name), ".cfsroot-tmp-%d-%u-%lx", (int)getpid(), attempt,
                         (unsigned long)random());
                fd = openat(dir_fd, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
                if (fd >= 0) {
                        ret->tmp_name = strdup(name);
                        if (!ret->tmp_name) {
                                unlinkat(dir_fd, name, 0);
                                close(fd);
                                close(dir_fd);
                                return -ENOMEM;
                        }
                        ret->fd = fd;
                        ret->dir_fd = dir_fd;
                        return 0;
                }
                if (errno != EEXIST)
                        break;
        }
        int r = -errno;
        close(dir_fd);
        return r;
}

int cfs_tmpfile_commit(struct cfs_tmpfile *t, const char *path, int replace)
{
        const char *name = cfs_path_basename(path);
        char proc[64];

        if (fsync(t->fd) < 0)
                return -errno;
        if (t->tmp_name) {
                if (replace) {
                        if (renameat(t->dir_fd, t->tmp_name, t->dir_fd, name) < 0)
                                return -errno;
                } else {
                        /* link() refuses to overwrite, rename() would not */
                        if (linkat(t->dir_fd, t->tmp_name, t->dir_fd, name, 0) < 0)
                                return -errno;
                        unlinkat(t->dir_fd, t->tmp_name, 0);
                }
                free(t->tmp_name);
                t->tmp_name = NULL;
        } else {
                snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
                if (!replace) {
                        if (linkat(AT_FDCWD, proc, t->dir_fd, name, AT_SYMLINK_FOLLOW) < 0)
                                return -errno;
                } else {
                        /* Link under a unique temp name, then rename over the target. */
                        char tmp[64];
                        int r = -EEXIST;
                        for (unsigned attempt = 0; attempt < 100 && r == -EEXIST; attempt++) {
                                snprintf(tmp, sizeof(tmp), ".cfsroot-tmp-%d-%u-%lx", (int)getpid(),
                                         attempt, (unsigned long)random());
                                r = linkat(AT_FDCWD, proc, t->dir_fd, tmp, AT_SYMLINK_FOLLOW) < 0
                                        ? -errno
                                        : 0;
                        }
                        if (r < 0)
                                return r;
                        if (renameat(t->dir_fd, tmp, t->dir_fd, name) < 0) {
                                r = -errno;
                                unlinkat(t->dir_fd, tmp, 0);
                                return r;
                        }
                }
        }
        if (fsync(t->dir_fd) < 0)
                return -errno;
        return 0;
}

void cfs_tmpfile_discard(struct cfs_tmpfile *t)
{
        if (t->tmp_name && t->dir_fd >= 0)
                unlinkat(t->dir_fd, t->tmp_name, 0);
        free(t->tmp_name);
        t->tmp_name = NULL;
        if (t->fd >= 0)
                close(t->fd);
        if (t->dir_fd >= 0)
                close(t->dir_fd);
        t->fd = t->dir_fd = -1;
}

/* Transfer exactly @len bytes: read or write, at @off or (off < 0) the file offset. */
static int transfer_all(int fd, uint8_t *p, size_t len, off_t off, bool writing)
{
        while (len > 0) {
                ssize_t n = writing ? (off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off))
                                    : (off < 0 ? read(fd, p, len) : pread(fd, p, len, off));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO; /* no space (write) or end of file (read) */
                p += n;
                if (off >= 0)
                        off += n;
                len -= (size_t)n;
        }
        return 0;
}

int cfs_write_all(int fd, const void *buf, size_t len)
{
        return transfer_all(fd, (uint8_t *)buf, len, -1, true);
}

int cfs_pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
        return off < 0 ? -EINVAL : transfer_all(fd, (uint8_t *)buf, len, off, true);
}

int cfs_read_all(int fd, void *buf, size_t len)
{
        return transfer_all(fd, buf, len, -1, false);
}

int cfs_pread_all(int fd, void *buf, size_t len, off_t off)
{
        return off < 0 ? -EINVAL : transfer_all(fd, buf, len, off, false);
}

int cfs_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = -1;
        int in = STDIN_FILENO;

        if (strcmp(path, "-") != 0) {
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return -errno;
                in = fd;
        }
        size_t len = 0, alloc = 65536;
        _cleanup_free_ char *buf = malloc(alloc + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == alloc) {
                        if (alloc > max)
                                return -EFBIG;
                        alloc = alloc * 2;
                        char *b = realloc(buf, alloc + 1);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                ssize_t n = read(in, buf + len, alloc - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > max)
                        return -EFBIG;
        }
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

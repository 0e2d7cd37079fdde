/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image-open.c - measured or sealed-copy opening of an image (see image-open.h). Initrd and host.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "image-open.h"
#include "verity.h"

const char *cfs_image_source_to_string(enum cfs_image_source s)
{
        return s == CFS_IMAGE_VERITY ? "fs-verity (measured by the kernel)"
                                     : "private sealed copy (digest computed in userspace)";
}

/* Copy @size bytes of @fd into a new sealed memfd. */
static int copy_to_memfd(int fd, uint64_t size, const char *path, int *ret, struct cfs_error *err)
{
        _cleanup_close_ int mfd = memfd_create("cfsroot-image", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0)
                return cfs_error_set(err, errno, "cannot create a private copy of %s: %m", path);
        if (ftruncate(mfd, (off_t)size) < 0)
                return cfs_error_set(err, errno, "cannot size the private copy of %s: %m", path);
        const size_t chunk = 256 * 1024;
        _cleanup_free_ uint8_t *buf = malloc(chunk);
        if (!buf)
                return -ENOMEM;
        for (uint64_t off = 0; off < size;) {
                size_t n = (size_t)CFS_MIN((uint64_t)chunk, size - off);
                int r = cfs_pread_all(fd, buf, n, (off_t)off);
                if (r == -EIO)
                        return cfs_error_set(err, EIO,
                                             "%s: shorter than its size (%llu bytes) while "
                                             "copying: changed under us or I/O error",
                                             path, (unsigned long long)size);
                if (r < 0)
                        return cfs_error_set(err, -r, "%s: read error: %s", path, strerror(-r));
                r = cfs_pwrite_all(mfd, buf, n, (off_t)off);
                if (r < 0)
                        return cfs_error_set(err, -r, "cannot copy %s into memory: %s", path,
                                             strerror(-r));
                off += n;
        }
        if (fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
                return cfs_error_set(err, errno, "cannot seal the private copy of %s: %m", path);
        *ret = TAKE_FD(mfd);
        return 0;
}

int cfs_image_open_verified(int dir_fd, const char *path, struct cfs_opened_image *ret,
                            struct cfs_error *err)
{
        struct stat st;
        int r;

        _cleanup_close_ int fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return cfs_error_set(err, errno, "image %s: cannot open: %m", path);
        if (fstat(fd, &st) < 0)
                return cfs_error_set(err, errno, "image %s: cannot stat: %m", path);
        if (!S_ISREG(st.st_mode))
                return cfs_error_set(err, EINVAL, "image %s: not a regular file", path);
        if ((uint64_t)st.st_size > CFS_IMAGE_SIZE_MAX)
                return cfs_error_set(err, EFBIG, "image %s: %lld bytes, more than the %llu allowed",
                                     path, (long long)st.st_size,
                                     (unsigned long long)CFS_IMAGE_SIZE_MAX);

        struct cfs_opened_image img = {.fd = -1, .size = (uint64_t)st.st_size};
        r = cfs_verity_measure(fd, img.digest);
        if (r == 0) {
                img.source = CFS_IMAGE_VERITY;
                img.fd = TAKE_FD(fd);
                *ret = img;
                return 0;
        }
        if (r != -ENODATA && r != -ENOTTY && r != -EOPNOTSUPP)
                return cfs_error_set(err, -r, "image %s: cannot measure its fs-verity digest: %s",
                                     path, strerror(-r));
        /* No fs-verity: check and mount a copy nobody else can change. */
        _cleanup_close_ int mfd = -1;
        r = copy_to_memfd(fd, img.size, path, &mfd, err);
        if (r < 0)
                return r;
        if (lseek(mfd, 0, SEEK_SET) < 0)
                return cfs_error_set(err, errno, "cannot rewind the copy of %s: %m", path);
        r = cfs_verity_digest_fd(mfd, img.digest);
        if (r < 0)
                return cfs_error_set(err, -r, "image %s: cannot compute its digest: %s", path,
                                     strerror(-r));
        img.source = CFS_IMAGE_COPY;
        img.fd = TAKE_FD(mfd);
        *ret = img;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* digest-arg.c - see digest-arg.h. Host and initrd. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "digest-arg.h"
#include "tool-util.h"

int digest_from_arg(const char *hex, const char *path, uint8_t digest[CFS_DIGEST_SIZE])
{
        if (hex) {
                if (cfs_digest_from_hex(hex, strlen(hex), digest) < 0) {
                        log_error("invalid digest '%s': expected 64 hex digits", hex);
                        return -EINVAL;
                }
                return 0;
        }
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                int r = -errno;
                log_error_errno(r, "cannot open %s", path);
                return r;
        }
        int r = cfs_verity_digest_fd(fd, digest);
        if (r < 0)
                log_error_errno(r, "cannot compute the fs-verity digest of %s", path);
        return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * verity-enable.c - test helper of the Tier B VM tests, runs in the
 * provisioning guest (tests/vm-system/provision.guest.sh, busybox initramfs):
 * enable fs-verity (sha256, 4096-byte blocks, what composefs expects) on every
 * regular file below DIR. Built statically by build-guest.sh, never installed.
 *
 *   vmsys-verity-enable [-j N] DIR
 *
 * Why not `fsverity enable` per file: under TCG each exec of the dynamically
 * linked tool (libcrypto) costs ~70 ms, which for the ~5000 objects of a
 * Debian system is most of the provisioning time. N worker processes (default
 * 2) split the files; the kernel hashes in the calling thread. Files that
 * already have fs-verity are counted, not an error. Exit 0 only if every file
 * has fs-verity.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fsverity.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned worker, workers = 2;
static unsigned long index_, enabled, failed;

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        (void)st;
        (void)ftw;
        if (type != FTW_F)
                return 0;
        if (index_++ % workers != worker)
                return 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                fprintf(stderr, "verity-enable: %s: %s\n", path, strerror(errno));
                failed++;
                return 0;
        }
        struct fsverity_enable_arg arg = {
            .version = 1,
            .hash_algorithm = FS_VERITY_HASH_ALG_SHA256,
            .block_size = 4096,
        };
        if (ioctl(fd, FS_IOC_ENABLE_VERITY, &arg) < 0 && errno != EEXIST) {
                fprintf(stderr, "verity-enable: %s: FS_IOC_ENABLE_VERITY: %s\n", path,
                        strerror(errno));
                failed++;
        } else {
                enabled++;
        }
        close(fd);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 4 && strcmp(argv[1], "-j") == 0) {
                workers = (unsigned)strtoul(argv[2], NULL, 10);
                argv += 2;
                argc -= 2;
        }
        if (argc != 2 || workers < 1 || workers > 64) {
                fprintf(stderr, "usage: vmsys-verity-enable [-j N] DIR\n");
                return 2;
        }
        for (unsigned w = 0; w < workers; w++) {
                pid_t pid = fork();
                if (pid < 0) {
                        perror("fork");
                        return 1;
                }
                if (pid == 0) {
                        worker = w;
                        if (nftw(argv[1], visit, 64, FTW_PHYS) != 0) {
                                fprintf(stderr, "verity-enable: cannot walk %s: %s\n", argv[1],
                                        strerror(errno));
                                _exit(1);
                        }
                        printf("note: fs-verity enabled on %lu files below %s (worker %u)\n",
                               enabled, argv[1], w);
                        _exit(failed ? 1 : 0);
                }
        }
        int ok = 1, status;
        while (wait(&status) > 0)
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        ok = 0;
        return ok ? 0 : 1;
}

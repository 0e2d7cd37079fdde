/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * standalone.c - runs a libFuzzer target over files without libFuzzer, so the
 * fuzz corpora (tests/fuzz/corpus-*) are regression tests with any compiler and
 * under ASan/UBSan. Usage: fuzz-NAME FILE|DIR... Host only.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
        char *buf = NULL;
        size_t len = 0;
        int r = cfs_read_file(path, 64u << 20, &buf, &len);
        if (r < 0) {
                fprintf(stderr, "%s: cannot read: %s\n", path, strerror(-r));
                return 1;
        }
        /* exact-size heap copy so ASan catches any read past the end */
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy) {
                free(buf);
                return 1;
        }
        memcpy(copy, buf, len);
        free(buf);
        LLVMFuzzerTestOneInput(copy, len);
        free(copy);
        return 0;
}

int main(int argc, char **argv)
{
        unsigned n = 0;
        int failed = 0;
        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        perror(argv[i]);
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        failed |= run_file(argv[i]);
                        n++;
                        continue;
                }
                DIR *d = opendir(argv[i]);
                if (!d) {
                        perror(argv[i]);
                        return 1;
                }
                struct dirent *de;
                while ((de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        char path[4096];
                        snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
                        failed |= run_file(path);
                        n++;
                }
                closedir(d);
        }
        if (n == 0) {
                fprintf(stderr, "no inputs given: a fuzz regression run needs a corpus\n");
                return 1;
        }
        printf("%u inputs ran without a crash\n", n);
        return failed;
}

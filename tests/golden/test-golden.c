/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-golden.c - golden vectors for the image writer (suite "golden", host):
 * every dump in tests/golden/upstream (composefs v1.0.8's own test assets) and
 * tests/golden/synthetic is parsed with the dump parser and written with
 * cfs_image_write(); the image's sha256 (and for synthetic vectors its
 * fs-verity digest and size) must equal what upstream mkcomposefs produced, and
 * fsck.erofs must accept the image. Output is TAP, one test point per check.
 *
 * Usage: test-golden UPSTREAM_DIR SYNTHETIC_DIR [FILTER]
 * (FILTER: only vectors whose file name contains it, e.g. for benchmarks).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libfsverity.h>
#include <openssl/evp.h>

#include "dump.h"
#include "image.h"
#include "tree.h"

extern char **environ;

static void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

static unsigned n_tests, n_failed;

static void tap(bool ok, const char *fmt, ...) _printf_(2, 3);
static void tap(bool ok, const char *fmt, ...)
{
        va_list ap;
        printf("%s %u - ", ok ? "ok" : "not ok", ++n_tests);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        fflush(stdout);
        if (!ok)
                n_failed++;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* First line of a small text file, trailing whitespace stripped; NULL if absent. */
static char *read_line(const char *path)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char buf[256];
        if (!f || !fgets(buf, sizeof(buf), f))
                return NULL;
        buf[strcspn(buf, " \t\r\n")] = 0;
        return strdup(buf);
}

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parse a dump (gzip-compressed if it ends in .gz). */
static int parse_dump(const char *path, bool strict, struct cfs_tree **ret, struct cfs_error *err)
{
        struct cfs_dump_options opts = {.strict = strict};
        int r;

        if (!ends_with(path, ".gz")) {
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                return cfs_dump_parse_fd(fd, path, &opts, ret, err);
        }
        char cmd[4200];
        snprintf(cmd, sizeof(cmd), "gzip -dc < '%s'", path);
        FILE *p = popen(cmd, "re");
        if (!p)
                return -errno;
        r = cfs_dump_parse_fd(fileno(p), path, &opts, ret, err);
        int status = pclose(p);
        if (r == 0 && status != 0)
                r = -EIO;
        return r;
}

static int sha256_fd(int fd, char hex[65])
{
        uint8_t buf[65536], md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        off_t off = 0;
        ssize_t n;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();

        if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
                EVP_MD_CTX_free(ctx);
                return -ENOMEM;
        }
        while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
                EVP_DigestUpdate(ctx, buf, (size_t)n);
                off += n;
        }
        EVP_DigestFinal_ex(ctx, md, &md_len);
        EVP_MD_CTX_free(ctx);
        if (n < 0)
                return -errno;
        for (unsigned i = 0; i < md_len && i < 32; i++)
                sprintf(hex + 2 * i, "%02x", md[i]);
        return 0;
}

struct fd_reader {
        int fd;
        off_t off;
};

static int fd_read(void *p, void *buf, size_t count)
{
        struct fd_reader *r = p;
        ssize_t n = pread(r->fd, buf, count, r->off);
        if (n != (ssize_t)count)
                return n < 0 ? -errno : -EIO;
        r->off += n;
        return 0;
}

static int verity_fd(int fd, uint64_t size, char hex[65])
{
        struct fd_reader rd = {fd, 0};
        struct libfsverity_merkle_tree_params params = {
            .version = 1,
            .hash_algorithm = FS_VERITY_HASH_ALG_SHA256,
            .file_size = size,
            .block_size = 4096,
        };
        struct libfsverity_digest *d = NULL;
        int r = libfsverity_compute_digest(&rd, fd_read, &params, &d);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < d->digest_size && i < 32; i++)
                sprintf(hex + 2 * i, "%02x", d->digest[i]);
        free(d);
        return 0;
}

/* Run fsck.erofs on @path; 1 accepted, 0 rejected (output shown), -1 not runnable. */
static int fsck_erofs(const char *path)
{
        char log[] = "/tmp/cfs-golden-fsck-XXXXXX";
        int lfd = mkostemp(log, O_CLOEXEC);
        if (lfd < 0)
                return -1;
        unlink(log);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, lfd, STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, lfd, STDERR_FILENO);
        char *argv[] = {"fsck.erofs", (char *)path, NULL};
        pid_t pid;
        int r = posix_spawnp(&pid, "fsck.erofs", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        int status = 0;
        if (r != 0 || waitpid(pid, &status, 0) < 0 ||
            (WIFEXITED(status) && WEXITSTATUS(status) == 127)) {
                close(lfd);
                return -1;
        }
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok) {
                char buf[2048];
                ssize_t n = pread(lfd, buf, sizeof(buf) - 1, 0);
                buf[n > 0 ? n : 0] = 0;
                printf("# fsck.erofs output:\n");
                for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
                        printf("#   %s\n", l);
        }
        close(lfd);
        return ok;
}

struct expect {
        const char *sha256;
        const char *verity; /* NULL: not checked */
        uint64_t size;      /* 0: not checked */
        size_t entries;     /* 0: not checked */
        unsigned version;   /* min = max = version when has_version */
        bool has_version;
        bool strict;
};

static void check_image(const char *name, const char *path, int fd, const struct expect *e)
{
        char hex[65] = "", vhex[65] = "";
        struct stat st;

        bool ok = fstat(fd, &st) == 0 && sha256_fd(fd, hex) == 0;
        tap(ok && strcmp(hex, e->sha256) == 0, "%s: image sha256 %s (expected %s)", name, hex,
            e->sha256);
        if (e->size)
                tap(ok && (uint64_t)st.st_size == e->size, "%s: image size %lld (expected %llu)",
                    name, (long long)st.st_size, (unsigned long long)e->size);
        if (e->verity) {
                ok = ok && verity_fd(fd, (uint64_t)st.st_size, vhex) == 0;
                tap(ok && strcmp(vhex, e->verity) == 0, "%s: fs-verity digest %s (expected %s)",
                    name, vhex, e->verity);
        }
        int f = fsck_erofs(path);
        if (f < 0)
                printf("ok %u - %s: fsck.erofs # SKIP fsck.erofs not runnable\n", ++n_tests, name);
        else
                tap(f == 1, "%s: fsck.erofs accepts the image", name);
}

static void run_vector(const char *dir, const char *name, const struct expect *e)
{
        char path[4096];
        struct cfs_error err = {0};
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = NULL;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        double t0 = now();
        int r = parse_dump(path, e->strict, &t, &err);
        if (r < 0) {
                tap(false, "%s: parse: %s", name, cfs_error_text(&err, -r));
                return;
        }
        /* expected.tsv counts the entries below the root */
        if (e->entries)
                tap(cfs_tree_n_nodes(t) == e->entries + 1, "%s: %zu entries (expected %zu)", name,
                    cfs_tree_n_nodes(t) - 1, e->entries);
        char tmp[] = "/tmp/cfs-golden-img-XXXXXX";
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                tap(false, "%s: cannot create temp file: %m", name);
                return;
        }
        struct cfs_image_options o = CFS_IMAGE_OPTIONS_DEFAULT;
        if (e->has_version)
                o.min_version = o.max_version = e->version;
        double t1 = now();
        r = cfs_image_write(t, &o, fd, &err);
        double t2 = now();
        printf("# %s: %zu nodes, parse %.3f s, write %.3f s\n", name, cfs_tree_n_nodes(t), t1 - t0,
               t2 - t1);
        if (r < 0)
                tap(false, "%s: write: %s", name, cfs_error_text(&err, -r));
        else
                check_image(name, tmp, fd, e);
        unlink(tmp);
}

static bool lax_vector(const char *name)
{
        return strcmp(name, "no-newline.dump") == 0 || strcmp(name, "longlink.dump") == 0 ||
               strcmp(name, "honggfuzz-longlink-unterminated.dump") == 0;
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_upstream(const char *dir, const char *filter)
{
        _cleanup_(closedirp) DIR *d = opendir(dir);
        char *names[512];
        size_t n = 0;
        struct dirent *de;

        if (!d) {
                tap(false, "cannot open %s: %m", dir);
                return;
        }
        while ((de = readdir(d)) && n < ELEMENTSOF(names)) {
                const char *s = de->d_name;
                if (s[0] == '.' || strncmp(s, "should-fail", 11) == 0 || ends_with(s, ".sha256") ||
                    ends_with(s, ".version") ||
                    (!ends_with(s, ".dump") && !ends_with(s, ".dump.gz")))
                        continue;
                if (filter && !strstr(s, filter))
                        continue;
                names[n++] = strdup(s);
        }
        qsort(names, n, sizeof(names[0]), name_cmp); /* stable output order */
        for (size_t i = 0; i < n; i++) {
                char p[4096];
                snprintf(p, sizeof(p), "%s/%s.sha256", dir, names[i]);
                _cleanup_free_ char *sha = read_line(p);
                snprintf(p, sizeof(p), "%s/%s.version", dir, names[i]);
                _cleanup_free_ char *ver = read_line(p);
                if (!sha) {
                        tap(false, "%s: no .sha256 file", names[i]);
                        free(names[i]);
                        continue;
                }
                struct expect e = {.sha256 = sha, .strict = !lax_vector(names[i])};
                if (ver) {
                        e.has_version = true;
                        e.version = (unsigned)strtoul(ver, NULL, 10);
                }
                run_vector(dir, names[i], &e);
                free(names[i]);
        }
}

static void run_synthetic(const char *dir, const char *filter)
{
        char p[4096];
        snprintf(p, sizeof(p), "%s/expected.tsv", dir);
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        char line[1024];

        if (!f) {
                tap(false, "cannot open %s: %m", p);
                return;
        }
        while (fgets(line, sizeof(line), f)) {
                char name[256], sha[65], ver[65];
                unsigned long long entries, size;
                if (line[0] == '#')
                        continue;
                if (sscanf(line, "%255s %llu %64s %64s %llu", name, &entries, sha, ver, &size) !=
                    5) {
                        tap(false, "bad line in expected.tsv: %s", line);
                        continue;
                }
                if (filter && !strstr(name, filter))
                        continue;
                struct expect e = {.sha256 = sha,
                                   .verity = ver,
                                   .size = size,
                                   .entries = (size_t)entries,
                                   .strict = true};
                run_vector(dir, name, &e);
        }
}

int main(int argc, char **argv)
{
        if (argc < 3) {
                fprintf(stderr, "usage: %s UPSTREAM_DIR SYNTHETIC_DIR [FILTER]\n", argv[0]);
                return 2;
        }
        const char *filter = argc > 3 ? argv[3] : NULL;
        printf("TAP version 13\n");
        run_upstream(argv[1], filter);
        run_synthetic(argv[2], filter);
        printf("1..%u\n", n_tests);
        if (n_tests == 0)
                printf("# no vectors found\n");
        return n_failed > 0 || n_tests == 0 ? 1 : 0;
}

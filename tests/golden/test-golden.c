/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-golden.c - golden vectors for the image writer (suite "golden", host):
 * every dump in tests/golden/upstream (composefs v1.0.8's own test assets) and
 * tests/golden/synthetic is parsed with the dump parser and written with
 * cfs_image_write(); the image's sha256 (and for synthetic vectors its
 * fs-verity digest and size) must equal what upstream mkcomposefs produced, and
 * fsck.erofs must accept the image. Output is TAP, one test point per check.
 *
 * The reader is checked on the same images: cfs_image_check() accepts each,
 * cfs_image_load() + cfs_dump_write() give what `composefs-info dump` prints
 * (the upstream dumps are composefs-info output, so they are the reference;
 * vectors whose input differs from composefs-info's view in a §15 way have the
 * expected output in EXPECTED_DUMP_DIR/NAME; synthetic dumps, written in
 * generator order with placeholder directory sizes, are compared as sorted
 * lines with directory SIZE and NLINK masked), and dump -> image -> dump is
 * lossless: the printed dump builds the very same image bytes again.
 *
 * Usage: test-golden UPSTREAM_DIR SYNTHETIC_DIR [FILTER [EXPECTED_DUMP_DIR]]
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
#include "image-reader.h"
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

static const char *expected_dump_dir;

/* Whole file (gunzipped if it ends in .gz) into a malloc()ed buffer. */
static char *read_text(const char *path, size_t *ret_len)
{
        char cmd[4200];
        snprintf(cmd, sizeof(cmd), ends_with(path, ".gz") ? "gzip -dc < '%s'" : "cat '%s'", path);
        FILE *p = popen(cmd, "re");
        if (!p)
                return NULL;
        char *buf = NULL;
        size_t len = 0, alloc = 0, n;
        do {
                if (alloc - len < 65536) {
                        alloc = alloc ? 2 * alloc : 1 << 20;
                        char *b = realloc(buf, alloc + 1);
                        if (!b)
                                break;
                        buf = b;
                }
                n = fread(buf + len, 1, alloc - len, p);
                len += n;
        } while (n > 0);
        if (pclose(p) != 0 || !buf) {
                free(buf);
                return NULL;
        }
        buf[len] = 0;
        *ret_len = len;
        return buf;
}

/* Load an image file with the reader and print it as a dump. */
static char *image_to_dump(const char *path, uint32_t *ret_version, struct cfs_error *err,
                           int *ret_r)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_(cfs_image_closep) struct cfs_image *img = NULL;
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = NULL;
        char *text = NULL;
        size_t len = 0;

        *ret_r = fd < 0 ? -errno : cfs_image_open_fd(fd, &img, err);
        if (*ret_r < 0)
                return NULL;
        struct cfs_image_info info;
        cfs_image_get_info(img, &info);
        *ret_version = info.composefs_version;
        *ret_r = cfs_image_check(img, err);
        if (*ret_r < 0)
                return NULL;
        *ret_r = cfs_image_load(img, &t, err);
        if (*ret_r < 0)
                return NULL;
        FILE *f = open_memstream(&text, &len);
        if (!f) {
                *ret_r = -ENOMEM;
                return NULL;
        }
        *ret_r = cfs_dump_write(t, f);
        fclose(f);
        if (*ret_r < 0) {
                free(text);
                return NULL;
        }
        return text;
}

/* Synthetic dumps: compare as sorted lines with directory SIZE and NLINK masked. */
static int line_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Generators may spell \n, \t, \r, \\ as \x0a etc.; composefs-info uses the
 * short forms (§14.2). Rewrites @s in place. */
static void short_escapes(char *s)
{
        static const char from[] = {0x0a, 0x09, 0x0d, 0x5c}, to[] = {'n', 't', 'r', '\\'};
        if (!s)
                return;
        char *w = s;
        for (const char *r = s; *r;) {
                if (r[0] != '\\' || !r[1]) {
                        *w++ = *r++;
                        continue;
                }
                unsigned v;
                if (r[1] == 'x' && r[2] && r[3] && sscanf(r + 2, "%2x", &v) == 1) {
                        const char *hit = memchr(from, (int)v, sizeof(from));
                        if (hit) {
                                *w++ = '\\';
                                *w++ = to[hit - from];
                                r += 4;
                                continue;
                        }
                }
                *w++ = *r++;
                *w++ = *r++;
        }
        *w = 0;
}

static char **normalized_lines(const char *text, size_t *ret_n)
{
        size_t n = 0, alloc = 1024;
        char **v = malloc(alloc * sizeof(*v));
        for (const char *p = text; v && *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                char *line = strndup(p, len);
                /* fields: PATH SIZE MODE NLINK ... */
                char *f[4] = {line, NULL, NULL, NULL};
                for (int i = 1; i < 4 && f[i - 1]; i++) {
                        char *sp = strchr(f[i - 1], ' ');
                        f[i] = sp ? sp + 1 : NULL;
                }
                if (f[3] && f[2][0] == '4') {
                        char *rest = strchr(f[3], ' ');
                        char *mode = strndup(f[2], (size_t)(f[3] - f[2]));
                        char *masked = NULL;
                        if (asprintf(&masked, "%.*s D %sN%s", (int)(f[1] - 1 - line), line, mode,
                                     rest ? rest : "") > 0) {
                                free(line);
                                line = masked;
                        }
                        free(mode);
                }
                short_escapes(line);
                if (n == alloc) {
                        alloc *= 2;
                        v = realloc(v, alloc * sizeof(*v));
                        if (!v)
                                break;
                }
                v[n++] = line;
                p = nl ? nl + 1 : p + len;
        }
        if (v)
                qsort(v, n, sizeof(*v), line_cmp);
        *ret_n = n;
        return v;
}

static bool same_normalized(const char *a, const char *b, char *why, size_t why_size)
{
        size_t na = 0, nb = 0;
        char **va = normalized_lines(a, &na), **vb = normalized_lines(b, &nb);
        bool same = va && vb && na == nb;
        snprintf(why, why_size, "%zu lines vs %zu", na, nb);
        for (size_t i = 0; same && i < na; i++)
                if (strcmp(va[i], vb[i]) != 0) {
                        snprintf(why, why_size, "first difference: expected '%.150s', got '%.150s'",
                                 va[i], vb[i]);
                        same = false;
                }
        for (size_t i = 0; va && i < na; i++)
                free(va[i]);
        for (size_t i = 0; vb && i < nb; i++)
                free(vb[i]);
        free(va);
        free(vb);
        return same;
}

/* First differing line of two texts, for the TAP diagnostics. */
static void first_diff(const char *a, const char *b, char *why, size_t why_size)
{
        size_t line = 1, i = 0;
        while (a[i] && a[i] == b[i]) {
                if (a[i] == '\n')
                        line++;
                i++;
        }
        size_t s = i;
        while (s > 0 && a[s - 1] != '\n')
                s--;
        snprintf(why, why_size, "line %zu: expected '%.120s' got '%.120s'", line, a + s, b + s);
        for (char *p = why; *p; p++)
                if (*p == '\n')
                        *p = '|';
}

/* Reader checks on the image @img_path built from the dump @dump_path. */
static void check_reader(const char *name, const char *dump_path, const char *img_path,
                         bool synthetic)
{
        struct cfs_error err = {0};
        uint32_t version = 0;
        char why[512];
        int r;

        _cleanup_free_ char *out = image_to_dump(img_path, &version, &err, &r);
        tap(out != NULL, "%s: reader accepts and loads the image%s%s", name, out ? "" : ": ",
            out ? "" : cfs_error_text(&err, r));
        if (!out)
                return;
        char exp_path[4096];
        size_t exp_len = 0;
        bool from_expected = false;
        _cleanup_free_ char *exp = NULL;
        if (expected_dump_dir) {
                snprintf(exp_path, sizeof(exp_path), "%s/%s", expected_dump_dir, name);
                if (access(exp_path, F_OK) == 0) {
                        exp = read_text(exp_path, &exp_len);
                        from_expected = true;
                }
        }
        if (!exp)
                exp = read_text(dump_path, &exp_len);
        if (!exp) {
                tap(false, "%s: cannot read the expected dump", name);
                return;
        }
        if (synthetic && !from_expected) {
                bool ok = same_normalized(exp, out, why, sizeof(why));
                tap(ok,
                    "%s: image -> dump matches the input (sorted, directory size/nlink "
                    "masked)%s%s",
                    name, ok ? "" : ": ", ok ? "" : why);
        } else {
                /* the upstream no-newline vector lacks the final newline */
                bool ok = strcmp(exp, out) == 0 ||
                          (exp_len > 0 && exp[exp_len - 1] != '\n' && strlen(out) == exp_len + 1 &&
                           strncmp(exp, out, exp_len) == 0);
                if (!ok)
                        first_diff(exp, out, why, sizeof(why));
                tap(ok, "%s: image -> dump is what composefs-info dump prints (%s)%s%s", name,
                    from_expected ? "expected-dump file" : "the input dump", ok ? "" : ": ",
                    ok ? "" : why);
        }

        /* dump -> image -> dump: the printed dump rebuilds the same bytes */
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = NULL;
        struct cfs_dump_options opts = {.strict = true};
        r = cfs_dump_parse_buffer(out, strlen(out), "printed dump", &opts, &t, &err);
        if (r < 0) {
                tap(false, "%s: printed dump parses: %s", name, cfs_error_text(&err, r));
                return;
        }
        char tmp[] = "/tmp/cfs-golden-rt-XXXXXX";
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                tap(false, "%s: cannot create temp file: %m", name);
                return;
        }
        struct cfs_image_options o = {.min_version = version, .max_version = version};
        r = cfs_image_write(t, &o, fd, &err);
        char h1[65] = "", h2[65] = "";
        _cleanup_close_ int fd1 = open(img_path, O_RDONLY | O_CLOEXEC);
        bool ok = r == 0 && fd1 >= 0 && sha256_fd(fd1, h1) == 0 && sha256_fd(fd, h2) == 0 &&
                  strcmp(h1, h2) == 0;
        tap(ok, "%s: image -> dump -> image gives the same bytes (%s vs %s)%s%s", name, h1, h2,
            r < 0 ? ": " : "", r < 0 ? cfs_error_text(&err, r) : "");
        _cleanup_free_ char *out2 = ok ? image_to_dump(tmp, &version, &err, &r) : NULL;
        if (ok)
                tap(out2 && strcmp(out, out2) == 0, "%s: dump -> image -> dump is lossless", name);
        unlink(tmp);
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
        if (r < 0) {
                tap(false, "%s: write: %s", name, cfs_error_text(&err, -r));
        } else {
                check_image(name, tmp, fd, e);
                check_reader(name, path, tmp, e->entries != 0);
        }
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
                fprintf(stderr,
                        "usage: %s UPSTREAM_DIR SYNTHETIC_DIR [FILTER [EXPECTED_DUMP_DIR]]\n",
                        argv[0]);
                return 2;
        }
        const char *filter = argc > 3 && argv[3][0] ? argv[3] : NULL;
        expected_dump_dir = argc > 4 ? argv[4] : NULL;
        printf("TAP version 13\n");
        run_upstream(argv[1], filter);
        run_synthetic(argv[2], filter);
        printf("1..%u\n", n_tests);
        if (n_tests == 0)
                printf("# no vectors found\n");
        return n_failed > 0 || n_tests == 0 ? 1 : 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store.c - the content-addressed object store (see store.h). Host.
 *
 * Adding an object:
 *   1. an anonymous temp file in STORE/objects (O_TMPFILE; a visible
 *      ".cfsroot-tmp-*" name, unlinked on every failure, where the file system
 *      has no O_TMPFILE),
 *   2. copy the content with read/write through one buffer while libfsverity
 *      hashes the same bytes: the digest is the digest of what was written,
 *      at the cost of one sha256 pass (copy_file_range would save a memcpy but
 *      then the copy must be read back and hashed a second time),
 *   3. compare with the expected digest, fsync,
 *   4. reopen read-only, close the writable fd, FS_IOC_ENABLE_VERITY and compare
 *      the kernel's measurement (where supported: ENOTTY/EOPNOTSUPP only mean
 *      "no fs-verity here" and are remembered for the store),
 *   5. link into objects/ab/<62 hex>; EEXIST means another writer was first.
 * A failure at any step closes (and for the visible name, unlinks) the temp
 * file: nothing partial ever gets a name.
 */
#include <errno.h>
#include <fcntl.h>
#include <libfsverity.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macros.h"
#include "store.h"
#include "verity.h"

#define COPY_BUF_SIZE (64u * 1024u)

struct cfs_store {
        int objects_fd; /* STORE/objects */
        char *path;     /* STORE, for messages */
        atomic_bool no_verity;
        atomic_bool no_tmpfile;
        atomic_uint tmp_counter;
};

static const char hexdigits[] = "0123456789abcdef";

void cfs_store_object_name(const uint8_t digest[CFS_DIGEST_SIZE], char name[66])
{
        size_t j = 0;
        for (size_t i = 0; i < CFS_DIGEST_SIZE; i++) {
                if (i == 1)
                        name[j++] = '/';
                name[j++] = hexdigits[digest[i] >> 4];
                name[j++] = hexdigits[digest[i] & 15];
        }
        name[j] = 0;
}

static void digest_hex(const uint8_t digest[CFS_DIGEST_SIZE], char hex[2 * CFS_DIGEST_SIZE + 1])
{
        for (size_t i = 0; i < CFS_DIGEST_SIZE; i++) {
                hex[2 * i] = hexdigits[digest[i] >> 4];
                hex[2 * i + 1] = hexdigits[digest[i] & 15];
        }
        hex[2 * CFS_DIGEST_SIZE] = 0;
}

static int mkdirat_ok(int dir_fd, const char *name)
{
        if (mkdirat(dir_fd, name, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int store_make_subdirs(struct cfs_store *s, struct cfs_error *err)
{
        for (unsigned i = 0; i < 256; i++) {
                char sub[3] = {hexdigits[i >> 4], hexdigits[i & 15], 0};
                int r = mkdirat_ok(s->objects_fd, sub);
                if (r < 0)
                        return cfs_error_set(err, r, "%s/objects/%s: %s", s->path, sub,
                                             strerror(-r));
        }
        return 0;
}

int cfs_store_open(const char *path, bool create, struct cfs_store **ret, struct cfs_error *err)
{
        _cleanup_close_ int dir_fd = -1;
        struct stat st;
        int r;

        if (create && mkdir(path, 0755) < 0 && errno != EEXIST)
                return cfs_error_set(err, errno, "%s: %s", path, strerror(errno));
        dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return cfs_error_set(err, errno, "%s: %s", path, strerror(errno));
        if (create) {
                r = mkdirat_ok(dir_fd, "objects");
                if (r < 0)
                        return cfs_error_set(err, r, "%s/objects: %s", path, strerror(-r));
        }

        _cleanup_free_ struct cfs_store *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->objects_fd = openat(dir_fd, "objects", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->objects_fd < 0) {
                r = -errno;
                if (r == -ENOENT)
                        return cfs_error_set(
                            err, ENOENT, "%s: not an object store (no objects/ directory)", path);
                return cfs_error_set(err, r, "%s/objects: %s", path, strerror(-r));
        }
        s->path = strdup(path);
        if (!s->path || fstat(s->objects_fd, &st) < 0) {
                r = s->path ? -errno : -ENOMEM;
                cfs_store_free(TAKE_PTR(s));
                return r;
        }
        if (create) {
                r = store_make_subdirs(s, err);
                if (r < 0) {
                        cfs_store_free(TAKE_PTR(s));
                        return r;
                }
        }
        *ret = TAKE_PTR(s);
        return 0;
}

void cfs_store_free(struct cfs_store *s)
{
        if (!s)
                return;
        if (s->objects_fd >= 0)
                close(s->objects_fd);
        free(s->path);
        free(s);
}

int cfs_store_sync(struct cfs_store *s, struct cfs_error *err)
{
        if (syncfs(s->objects_fd) < 0)
                return cfs_error_set(err, errno, "%s: cannot sync the object store: %s", s->path,
                                     strerror(errno));
        return 0;
}

/* ---- temp objects ---- */

struct tmpobj {
        int fd;
        char name[64]; /* visible temp name in objects/, or "" for O_TMPFILE */
};

static void tmpobj_discard(struct cfs_store *s, struct tmpobj *t)
{
        if (t->fd >= 0)
                close(t->fd);
        t->fd = -1;
        if (t->name[0])
                unlinkat(s->objects_fd, t->name, 0);
        t->name[0] = 0;
}

static int tmpobj_open(struct cfs_store *s, struct tmpobj *t, struct cfs_error *err)
{
        t->fd = -1;
        t->name[0] = 0;
        if (!atomic_load_explicit(&s->no_tmpfile, memory_order_relaxed)) {
                t->fd = openat(s->objects_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
                if (t->fd >= 0)
                        goto opened;
                if (errno != EOPNOTSUPP && errno != EISDIR && errno != ENOENT)
                        return cfs_error_set(err, errno, "%s/objects: cannot create a file: %s",
                                             s->path, strerror(errno));
                atomic_store(&s->no_tmpfile, true);
        }
        for (unsigned attempt = 0; attempt < 100; attempt++) {
                snprintf(t->name, sizeof(t->name), ".cfsroot-tmp-%d-%u", (int)getpid(),
                         atomic_fetch_add(&s->tmp_counter, 1));
                t->fd = openat(s->objects_fd, t->name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
                if (t->fd >= 0)
                        goto opened;
                if (errno != EEXIST)
                        break;
        }
        t->name[0] = 0;
        return cfs_error_set(err, errno, "%s/objects: cannot create a file: %s", s->path,
                             strerror(errno));
opened:
        /* the mode objects have, whatever the umask */
        if (fchmod(t->fd, 0644) < 0) {
                int r = -errno;
                tmpobj_discard(s, t);
                return cfs_error_set(err, r, "%s/objects: %s", s->path, strerror(-r));
        }
        return 0;
}

/* ---- copy + hash in one pass ---- */

struct copy_ctx {
        int src, dst;       /* dst -1: hash only */
        uint64_t off, size; /* next source offset, expected size */
        size_t pos, len;    /* unconsumed bytes buf[pos, len) */
        int read_err, write_err;
        uint8_t buf[COPY_BUF_SIZE];
};

/* libfsverity asks for the file's bytes in order, in small pieces: serve them from
 * buf, refilling it with one pread + one write of up to COPY_BUF_SIZE. */
static int copy_read_fn(void *p, void *out, size_t count)
{
        struct copy_ctx *c = p;
        uint8_t *o = out;

        while (count > 0) {
                if (c->pos == c->len) {
                        size_t want = (size_t)CFS_MIN((uint64_t)COPY_BUF_SIZE, c->size - c->off);
                        if (want == 0)
                                return c->read_err = -EIO;
                        ssize_t n;
                        do
                                n = pread(c->src, c->buf, want, (off_t)c->off);
                        while (n < 0 && errno == EINTR);
                        if (n < 0)
                                return c->read_err = -errno;
                        if (n == 0)
                                return c->read_err = -EIO; /* shorter than its size */
                        if (c->dst >= 0) {
                                int r = cfs_write_all(c->dst, c->buf, (size_t)n);
                                if (r < 0)
                                        return c->write_err = r;
                        }
                        c->off += (uint64_t)n;
                        c->pos = 0;
                        c->len = (size_t)n;
                }
                size_t k = CFS_MIN(count, c->len - c->pos);
                memcpy(o, c->buf + c->pos, k);
                o += k;
                c->pos += k;
                count -= k;
        }
        return 0;
}

/* fs-verity digest of exactly @size bytes of @src from offset 0, also written to
 * @dst unless it is -1. Messages name @what. */
static int copy_and_hash(int src, int dst, uint64_t size, uint8_t digest[CFS_DIGEST_SIZE],
                         const char *what, struct cfs_error *err)
{
        struct libfsverity_merkle_tree_params params = {
            .version = 1,
            .hash_algorithm = FS_VERITY_HASH_ALG_SHA256,
            .file_size = size,
            .block_size = 4096,
        };
        struct libfsverity_digest *d = NULL;
        _cleanup_free_ struct copy_ctx *c = malloc(sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (struct copy_ctx){.src = src, .dst = dst, .size = size};

        int r = libfsverity_compute_digest(c, copy_read_fn, &params, &d);
        if (r < 0) {
                if (c->write_err)
                        return cfs_error_set(err, c->write_err, "cannot write to %s: %s", what,
                                             strerror(-c->write_err));
                if (c->read_err == -EIO)
                        return cfs_error_set(err, EIO,
                                             "file is shorter than its size %llu: it changed "
                                             "while it was read",
                                             (unsigned long long)size);
                if (c->read_err)
                        return cfs_error_set(err, c->read_err, "%s", strerror(-c->read_err));
                return cfs_error_set(err, r, "cannot compute the fs-verity digest: %s",
                                     strerror(-r));
        }
        bool ok =
            d->digest_algorithm == FS_VERITY_HASH_ALG_SHA256 && d->digest_size == CFS_DIGEST_SIZE;
        if (ok)
                memcpy(digest, d->digest, CFS_DIGEST_SIZE);
        free(d);
        if (!ok)
                return cfs_error_set(err, EINVAL, "libfsverity returned an unexpected digest");

        /* the file must end where its size says */
        uint8_t extra;
        ssize_t n;
        do
                n = pread(src, &extra, 1, (off_t)size);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return cfs_error_set(err, errno, "%s", strerror(errno));
        if (n > 0)
                return cfs_error_set(err, EIO,
                                     "file is longer than its size %llu: it changed while it "
                                     "was read",
                                     (unsigned long long)size);
        return 0;
}

/* ---- commit ---- */

/* Does the object exist? Its fs-verity state in *ret_verity. */
static int object_exists(struct cfs_store *s, const char *name, bool *ret_verity)
{
        struct stat st;
        if (fstatat(s->objects_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISREG(st.st_mode))
                return -EEXIST; /* something else took the name: not ours to fix */
        if (ret_verity) {
                *ret_verity = false;
                if (!atomic_load_explicit(&s->no_verity, memory_order_relaxed)) {
                        uint8_t d[CFS_DIGEST_SIZE];
                        _cleanup_close_ int fd =
                            openat(s->objects_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                        *ret_verity = fd >= 0 && cfs_verity_measure(fd, d) == 0;
                }
        }
        return 1;
}

/* Replace the writable fd by a read-only one (fs-verity refuses files open for writing). */
static int tmpobj_reopen_ro(struct cfs_store *s, struct tmpobj *t)
{
        int fd;
        if (t->name[0]) {
                fd = openat(s->objects_fd, t->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        } else {
                char proc[64];
                snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
                fd = open(proc, O_RDONLY | O_CLOEXEC);
        }
        if (fd < 0)
                return -errno;
        close(t->fd);
        t->fd = fd;
        return 0;
}

static int enable_verity(struct cfs_store *s, struct tmpobj *t,
                         const uint8_t digest[CFS_DIGEST_SIZE], bool *ret_verity,
                         struct cfs_error *err)
{
        *ret_verity = false;
        if (atomic_load_explicit(&s->no_verity, memory_order_relaxed))
                return 0;
        int r = tmpobj_reopen_ro(s, t);
        if (r < 0)
                return cfs_error_set(err, r, "%s/objects: cannot reopen a new object: %s", s->path,
                                     strerror(-r));
        r = cfs_verity_enable(t->fd);
        if (r == -ENOTTY || r == -EOPNOTSUPP) {
                atomic_store(&s->no_verity, true);
                return 0;
        }
        if (r < 0 && r != -EEXIST)
                return cfs_error_set(err, r, "%s/objects: cannot enable fs-verity: %s", s->path,
                                     strerror(-r));
        uint8_t measured[CFS_DIGEST_SIZE];
        r = cfs_verity_measure(t->fd, measured);
        if (r < 0)
                return cfs_error_set(err, r, "%s/objects: cannot measure fs-verity: %s", s->path,
                                     strerror(-r));
        if (memcmp(measured, digest, CFS_DIGEST_SIZE) != 0) {
                char a[2 * CFS_DIGEST_SIZE + 1], b[2 * CFS_DIGEST_SIZE + 1];
                digest_hex(digest, a);
                digest_hex(measured, b);
                return cfs_error_set(err, EBADMSG,
                                     "%s/objects: the kernel measured the new object as %s, "
                                     "expected %s",
                                     s->path, b, a);
        }
        *ret_verity = true;
        return 0;
}

static int link_object(struct cfs_store *s, struct tmpobj *t, const char *name)
{
        char proc[64];
        for (unsigned attempt = 0;; attempt++) {
                int r;
                if (t->name[0])
                        r = linkat(s->objects_fd, t->name, s->objects_fd, name, 0);
                else {
                        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
                        r = linkat(AT_FDCWD, proc, s->objects_fd, name, AT_SYMLINK_FOLLOW);
                }
                if (r == 0)
                        return 0;
                if (errno != ENOENT || attempt > 0)
                        return -errno;
                /* a store whose subdirectories are made lazily */
                char sub[3] = {name[0], name[1], 0};
                r = mkdirat_ok(s->objects_fd, sub);
                if (r < 0)
                        return r;
        }
}

/* Steps 3-5 for a temp object holding content with @digest. */
static int tmpobj_commit(struct cfs_store *s, struct tmpobj *t,
                         const uint8_t digest[CFS_DIGEST_SIZE], enum cfs_store_added *ret_added,
                         bool *ret_verity, struct cfs_error *err)
{
        char name[66];
        bool verity;
        int r;

        cfs_store_object_name(digest, name);
        if (fsync(t->fd) < 0)
                return cfs_error_set(err, errno, "%s/objects: cannot write a new object: %s",
                                     s->path, strerror(errno));
        r = enable_verity(s, t, digest, &verity, err);
        if (r < 0)
                return r;
        r = link_object(s, t, name);
        if (r == -EEXIST) {
                /* another writer linked the same object first: deduplicated */
                r = object_exists(s, name, &verity);
                if (r < 0)
                        return cfs_error_set(err, r, "%s/objects/%s: %s", s->path, name,
                                             strerror(-r));
                *ret_added = CFS_STORE_EXISTED;
                *ret_verity = verity;
                return 0;
        }
        if (r < 0)
                return cfs_error_set(err, r, "%s/objects/%s: %s", s->path, name, strerror(-r));
        *ret_added = CFS_STORE_ADDED;
        *ret_verity = verity;
        return 0;
}

/* ---- public ---- */

int cfs_store_add_fd(struct cfs_store *s, int fd, uint64_t size,
                     const uint8_t digest[CFS_DIGEST_SIZE], enum cfs_store_added *ret_added,
                     bool *ret_verity, struct cfs_error *err)
{
        char name[66], what[128];
        uint8_t found[CFS_DIGEST_SIZE];
        bool verity = false;
        struct tmpobj t;

        cfs_store_object_name(digest, name);
        int r = object_exists(s, name, &verity);
        if (r < 0)
                return cfs_error_set(err, r, "%s/objects/%s: %s", s->path, name, strerror(-r));
        if (r > 0) {
                *ret_added = CFS_STORE_EXISTED;
                *ret_verity = verity;
                return 0;
        }
        r = tmpobj_open(s, &t, err);
        if (r < 0)
                return r;
        snprintf(what, sizeof(what), "object store %s", s->path);
        r = copy_and_hash(fd, t.fd, size, found, what, err);
        if (r >= 0 && memcmp(found, digest, CFS_DIGEST_SIZE) != 0) {
                char a[2 * CFS_DIGEST_SIZE + 1], b[2 * CFS_DIGEST_SIZE + 1];
                digest_hex(digest, a);
                digest_hex(found, b);
                r = cfs_error_set(err, EBADMSG,
                                  "content changed since its digest was computed: expected "
                                  "digest %s, found %s",
                                  a, b);
        }
        if (r >= 0)
                r = tmpobj_commit(s, &t, digest, ret_added, ret_verity, err);
        tmpobj_discard(s, &t);
        return r;
}

int cfs_store_add_fd_hashing(struct cfs_store *s, int fd, uint64_t size,
                             uint8_t ret_digest[CFS_DIGEST_SIZE], enum cfs_store_added *ret_added,
                             bool *ret_verity, struct cfs_error *err)
{
        char name[66], what[128];
        uint8_t digest[CFS_DIGEST_SIZE];
        bool verity = false;
        struct tmpobj t;

        int r = tmpobj_open(s, &t, err);
        if (r < 0)
                return r;
        snprintf(what, sizeof(what), "object store %s", s->path);
        r = copy_and_hash(fd, t.fd, size, digest, what, err);
        if (r < 0)
                goto out;
        cfs_store_object_name(digest, name);
        r = object_exists(s, name, &verity);
        if (r < 0) {
                r = cfs_error_set(err, r, "%s/objects/%s: %s", s->path, name, strerror(-r));
                goto out;
        }
        if (r > 0) {
                *ret_added = CFS_STORE_EXISTED;
                *ret_verity = verity;
                r = 0;
        } else
                r = tmpobj_commit(s, &t, digest, ret_added, ret_verity, err);
        if (r >= 0)
                memcpy(ret_digest, digest, CFS_DIGEST_SIZE);
out:
        tmpobj_discard(s, &t);
        return r;
}

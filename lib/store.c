/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store.c - the content-addressed object store (see store.h and
 * docs/ARCHITECTURE.md "Object store and directory scan"). Host.
 *
 * Adding an object (cfs_store_add_fd_hashing, what the scanner uses), "hash
 * first" (while most objects of the run exist already; add_copy_first() is the
 * other way, while most are new: hash and write each buffer in one pass, then
 * look the name up and drop the copy if the object exists):
 *   1. hash the source (read only) -> name; the caller's fstat of it;
 *   2. objects/ab/<62 hex> is a regular file of the right size, or the digest
 *      is in this handle's staged set: deduplicated, nothing written;
 *   3. copy into a temp file .tmp-<n> in the staging directory
 *      (copy_file_range, read/write where the kernel refuses), start its
 *      writeback, check the source is unchanged (fstat identical, exactly
 *      @size bytes);
 *   4. verify the copy: reopen read-only, enable fs-verity and compare the
 *      kernel's measurement; where there is no fs-verity, hash the copy again
 *      (it is in the page cache: CPU only, for new objects only);
 *   5. put digest -> <n> into the staged set (in memory; already there:
 *      another thread staged the same content first: deduplicated). The copy
 *      keeps its temp name.
 * cfs_store_commit(): syncfs, rename staging/.tmp-<n> -> ab/<62 hex> for each
 * entry of the set (RENAME_NOREPLACE; an existing object wins), fsync the ab/
 * directories.
 *
 * cfs_store_add_fd() and cfs_store_add_fd_digest() (the scanner, for a source
 * with fs-verity whose measurement is the digest) start at step 2 with the
 * digest they are given: step 4 is what checks that the content is what it
 * says, so it is never skipped for them (digest_of_written is false).
 *
 * The staging directory is made on the first new object and flock()ed for the
 * life of the handle: cfs_store_open() removes only staging directories it can
 * lock, i.e. those of processes that are gone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macros.h"
#include "store.h"
#include "verity.h"

#define HASH_BUF_SIZE (64u * 1024u) /* as the scanner's READ_BUFFER_SIZE: see there */
#define COPY_CHUNK (1u << 30)
#define STAGING_PREFIX ".staging-"
#define HEX_LEN (2 * CFS_DIGEST_SIZE)
#define NOVELTY_MAX 32

struct cfs_store {
        int objects_fd; /* STORE/objects */
        char *path;     /* STORE, for messages */
        atomic_bool no_verity;
        atomic_uint tmp_counter;
        /* recent new (+1) vs existing (-2) objects, in [-NOVELTY_MAX, NOVELTY_MAX]:
         * >= 0 = copy while hashing (most objects are new), else hash first */
        atomic_int novelty;
        int force_mode; /* tests: 0 adaptive, 1 copy first, -1 hash first */

        bool chmod_needed;            /* the umask takes bits of 0644 away */
        pthread_mutex_t staging_lock; /* making the staging directory */
        pthread_rwlock_t commit_lock; /* staging (read) vs commit (write) */
        int staging_fd;               /* -1 until the first new object */
        char staging_name[32];

        /* the staged set: digest -> temp file .tmp-<id> in the staging
         * directory, for every object staged since the last commit */
        pthread_mutex_t set_lock;
        struct staged *set;
        size_t set_size, set_used; /* slots (a power of 2 or 0), entries */
        uint64_t set_seed;

        void (*after_hash)(int fd, void *userdata);
        void *hook_userdata;
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

static void digest_hex(const uint8_t digest[CFS_DIGEST_SIZE], char hex[HEX_LEN + 1])
{
        for (size_t i = 0; i < CFS_DIGEST_SIZE; i++) {
                hex[2 * i] = hexdigits[digest[i] >> 4];
                hex[2 * i + 1] = hexdigits[digest[i] & 15];
        }
        hex[HEX_LEN] = 0;
}

static int mkdirat_ok(int dir_fd, const char *name)
{
        if (mkdirat(dir_fd, name, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* ---- the staged set ---- */

struct staged {
        uint8_t digest[CFS_DIGEST_SIZE];
        uint32_t id; /* the copy is staging/.tmp-<id> */
        bool used, verity;
};

static void tmp_name(uint32_t id, char name[32])
{
        snprintf(name, 32, ".tmp-%" PRIu32, id);
}

/* The slot of @digest, or the empty slot where it would go. The digest's bits
 * are mixed with a per-handle random seed: a tree cannot be made to collide. */
static size_t set_slot(const struct cfs_store *s, const uint8_t digest[CFS_DIGEST_SIZE])
{
        uint64_t h;
        memcpy(&h, digest, sizeof(h));
        h = (h ^ s->set_seed) * 0x9e3779b97f4a7c15ull;
        size_t mask = s->set_size - 1, i = (size_t)(h >> 32) & mask;
        while (s->set[i].used && memcmp(s->set[i].digest, digest, CFS_DIGEST_SIZE) != 0)
                i = (i + 1) & mask;
        return i;
}

/* Under set_lock: is @digest staged? (its fs-verity state in *ret_verity) */
static bool set_find(const struct cfs_store *s, const uint8_t digest[CFS_DIGEST_SIZE],
                     bool *ret_verity)
{
        if (s->set_used == 0)
                return false;
        const struct staged *e = &s->set[set_slot(s, digest)];
        if (!e->used)
                return false;
        *ret_verity = e->verity;
        return true;
}

/* Under set_lock: add @e unless its digest is there. 1 added, 0 there already
 * (that entry's fs-verity state in *ret_verity), -ENOMEM. */
static int set_add(struct cfs_store *s, const struct staged *e, bool *ret_verity)
{
        if (set_find(s, e->digest, ret_verity))
                return 0;
        if ((s->set_used + 1) * 4 > s->set_size * 3) { /* load <= 3/4 */
                size_t size = s->set_size ? 2 * s->set_size : 1024;
                struct staged *old = s->set, *slots = calloc(size, sizeof(*slots));
                if (!slots)
                        return -ENOMEM;
                size_t old_size = s->set_size;
                s->set = slots;
                s->set_size = size;
                for (size_t i = 0; i < old_size; i++)
                        if (old[i].used)
                                s->set[set_slot(s, old[i].digest)] = old[i];
                free(old);
        }
        size_t i = set_slot(s, e->digest);
        s->set[i] = *e;
        s->set[i].used = true;
        s->set_used++;
        return 1;
}

/* ---- staging directories ---- */

/* A directory stream over a copy of @fd, from its first entry. */
static int opendir_dup(int fd, DIR **ret)
{
        int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dfd < 0)
                return -errno;
        DIR *d = fdopendir(dfd);
        if (!d) {
                int r = -errno;
                close(dfd);
                return r;
        }
        rewinddir(d);
        *ret = d;
        return 0;
}

/* Unlink every entry of directory @fd (flat: files only). */
static int empty_dir(int fd)
{
        DIR *d = NULL;
        int r = opendir_dup(fd, &d);
        if (r < 0)
                return r;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT && r == 0)
                        r = -errno;
        }
        closedir(d);
        return r;
}

/* Remove objects/.staging-* directories nobody holds the lock of (crashed runs).
 * Best effort: a read-only store or a foreign entry is left alone. */
static void remove_stale_staging(int objects_fd)
{
        int dfd = openat(objects_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return;
        DIR *d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strncmp(de->d_name, STAGING_PREFIX, strlen(STAGING_PREFIX)) != 0)
                        continue;
                _cleanup_close_ int fd =
                    openat(objects_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
                        continue; /* in use by a live run */
                if (empty_dir(fd) == 0)
                        (void)unlinkat(objects_fd, de->d_name, AT_REMOVEDIR);
        }
        closedir(d);
}

/* The staging directory of this handle, made and locked on first use. */
static int staging_get(struct cfs_store *s, struct cfs_error *err)
{
        int r = 0;
        pthread_mutex_lock(&s->staging_lock);
        for (unsigned attempt = 0; s->staging_fd < 0; attempt++) {
                uint64_t rnd;
                if (attempt >= 100) {
                        r = cfs_error_set(err, EEXIST,
                                          "%s/objects: cannot make a staging directory", s->path);
                        break;
                }
                if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd)) {
                        r = cfs_error_set(err, errno, "getrandom: %s", strerror(errno));
                        break;
                }
                snprintf(s->staging_name, sizeof(s->staging_name), STAGING_PREFIX "%016llx",
                         (unsigned long long)rnd);
                if (mkdirat(s->objects_fd, s->staging_name, 0700) < 0) {
                        if (errno == EEXIST)
                                continue;
                        r = cfs_error_set(err, errno, "%s/objects: cannot make a directory: %s",
                                          s->path, strerror(errno));
                        break;
                }
                int fd = openat(s->objects_fd, s->staging_name,
                                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        if (errno == ENOENT)
                                continue; /* removed by a concurrent cfs_store_open() */
                        r = cfs_error_set(err, errno, "%s/objects/%s: %s", s->path, s->staging_name,
                                          strerror(errno));
                        break;
                }
                /* A concurrent cfs_store_open() may have locked and removed it
                 * before we locked it: make sure it is still ours and linked. */
                struct stat a, b;
                if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, &a) < 0 ||
                    fstatat(s->objects_fd, s->staging_name, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
                    a.st_ino != b.st_ino || a.st_dev != b.st_dev || a.st_nlink == 0) {
                        close(fd);
                        continue;
                }
                s->staging_fd = fd;
        }
        pthread_mutex_unlock(&s->staging_lock);
        return r;
}

/* Drop everything staged and the staging directory itself. */
static void staging_discard(struct cfs_store *s)
{
        if (s->staging_fd < 0)
                return;
        if (empty_dir(s->staging_fd) == 0)
                (void)unlinkat(s->objects_fd, s->staging_name, AT_REMOVEDIR);
        close(s->staging_fd);
        s->staging_fd = -1;
}

/* ---- open / close ---- */

/* Does the umask clear any bit of 0644? (Read from /proc, as umask() cannot be
 * read without setting it; if it cannot be read: assume so.) */
static bool umask_takes_from_0644(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        unsigned mask;
        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "Umask: %o", &mask) == 1)
                        return (mask & 0644) != 0;
        return true;
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
        s->staging_fd = -1;
        /* hash first until new objects show up: a store that has everything is
         * never written to */
        atomic_init(&s->novelty, -1);
        s->objects_fd = openat(dir_fd, "objects", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->objects_fd < 0) {
                r = -errno;
                if (r == -ENOENT)
                        return cfs_error_set(
                            err, ENOENT, "%s: not an object store (no objects/ directory)", path);
                return cfs_error_set(err, r, "%s/objects: %s", path, strerror(-r));
        }
        s->path = strdup(path);
        if (!s->path) {
                close(s->objects_fd);
                return -ENOMEM;
        }
        pthread_mutex_init(&s->staging_lock, NULL);
        pthread_mutex_init(&s->set_lock, NULL);
        pthread_rwlock_init(&s->commit_lock, NULL);
        if (getrandom(&s->set_seed, sizeof(s->set_seed), GRND_NONBLOCK) != sizeof(s->set_seed))
                s->set_seed = (uint64_t)(uintptr_t)s ^ (uint64_t)getpid() << 32;
        s->chmod_needed = umask_takes_from_0644();
        if (create) {
                r = store_make_subdirs(s, err);
                if (r < 0) {
                        cfs_store_free(TAKE_PTR(s));
                        return r;
                }
        }
        remove_stale_staging(s->objects_fd);
        *ret = TAKE_PTR(s);
        return 0;
}

void cfs_store_free(struct cfs_store *s)
{
        if (!s)
                return;
        staging_discard(s);
        if (s->objects_fd >= 0)
                close(s->objects_fd);
        free(s->set);
        pthread_mutex_destroy(&s->staging_lock);
        pthread_mutex_destroy(&s->set_lock);
        pthread_rwlock_destroy(&s->commit_lock);
        free(s->path);
        free(s);
}

void cfs_store_set_test_hook(struct cfs_store *s, void (*after_hash)(int fd, void *userdata),
                             void *userdata)
{
        s->after_hash = after_hash;
        s->hook_userdata = userdata;
}

int cfs_store_sync(struct cfs_store *s, struct cfs_error *err)
{
        if (syncfs(s->objects_fd) < 0)
                return cfs_error_set(err, errno, "%s: cannot sync the object store: %s", s->path,
                                     strerror(errno));
        return 0;
}

/* ---- hashing ---- */

/* fs-verity digest of exactly @size bytes of @fd from offset 0, read into
 * @scratch (NULL: one made for this call); with @out_fd >= 0 the same bytes are
 * written to @out_fd as they are hashed, from the same buffer (a write error is
 * -errno with *ret_write_err set). */
static int hash_fd(int fd, int out_fd, uint64_t size, struct cfs_verity_scratch *scratch,
                   uint8_t digest[CFS_DIGEST_SIZE], bool *ret_write_err, struct cfs_error *err)
{
        struct cfs_verity_scratch own = {};
        int r;

        if (!scratch) {
                r = cfs_verity_scratch_init(&own, HASH_BUF_SIZE);
                if (r < 0)
                        return cfs_error_set(err, r, "%s", strerror(-r));
                scratch = &own;
        }
        cfs_verity_hasher_begin(scratch->hasher, size);
        for (uint64_t off = 0; off < size;) {
                size_t want = (size_t)CFS_MIN((uint64_t)scratch->buf_size, size - off);
                ssize_t n = pread(fd, scratch->buf, want, (off_t)off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = cfs_error_set(err, errno, "%s", strerror(errno));
                        goto out;
                }
                if (n == 0) {
                        r = cfs_error_set(err, EIO,
                                          "file is shorter than its size %llu: it changed "
                                          "while it was read",
                                          (unsigned long long)size);
                        goto out;
                }
                if (out_fd >= 0) {
                        /* the bytes hashed are the bytes written */
                        r = cfs_write_all(out_fd, scratch->buf, (size_t)n);
                        if (r < 0) {
                                *ret_write_err = true;
                                r = cfs_error_set(err, r, "%s", strerror(-r));
                                goto out;
                        }
                }
                r = cfs_verity_hasher_update(scratch->hasher, scratch->buf, (size_t)n);
                if (r < 0)
                        goto fail;
                off += (uint64_t)n;
        }
        r = cfs_verity_hasher_final(scratch->hasher, digest);
fail:
        if (r < 0)
                r = cfs_error_set(err, r, "cannot compute the fs-verity digest: %s", strerror(-r));
out:
        if (scratch == &own)
                cfs_verity_scratch_done(&own);
        return r;
}

static bool same_file_state(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
               a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The source after it was read: exactly @size bytes long and otherwise as @before
 * (inode, size, mtime, ctime), else -EIO "changed @when". One fstat: a file that
 * grew shows a larger st_size, one written to in place a new mtime/ctime. */
static int check_source(int fd, const struct stat *before, uint64_t size, const char *when,
                        struct cfs_error *err)
{
        struct stat after;
        if (fstat(fd, &after) < 0)
                return cfs_error_set(err, errno, "%s", strerror(errno));
        if ((uint64_t)after.st_size < size)
                return cfs_error_set(err, EIO, "file is shorter than its size %llu: it changed %s",
                                     (unsigned long long)size, when);
        if ((uint64_t)after.st_size > size)
                return cfs_error_set(err, EIO, "file is longer than its size %llu: it changed %s",
                                     (unsigned long long)size, when);
        if (!same_file_state(before, &after))
                return cfs_error_set(err, EIO, "file changed %s", when);
        return 0;
}

#define WHEN_COPYING "between hashing and copying it into the object store"
#define WHEN_READING "while it was read"

/* ---- lookup ---- */

/* Is there a regular file objects/@name of @size bytes? 1 yes, 0 no; a wrong
 * type or size is an error (a damaged store is not silently reused). Its
 * fs-verity state in *ret_verity. */
static int lookup(struct cfs_store *s, const char *name, uint64_t size, bool *ret_verity,
                  struct cfs_error *err)
{
        int dir_fd = s->objects_fd;
        struct statx stx;
        if (statx(dir_fd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT,
                  STATX_TYPE | STATX_SIZE, &stx) < 0) {
                if (errno == ENOENT)
                        return 0;
                return cfs_error_set(err, errno, "%s/objects/%s: %s", s->path, name,
                                     strerror(errno));
        }
        if (!S_ISREG(stx.stx_mode) || stx.stx_size != size)
                return cfs_error_set(err, EEXIST,
                                     "%s/objects/%s exists but is not a regular file of %llu "
                                     "bytes: the object store is damaged",
                                     s->path, name, (unsigned long long)size);
        *ret_verity = false;
        if (stx.stx_attributes_mask & STATX_ATTR_VERITY)
                *ret_verity = stx.stx_attributes & STATX_ATTR_VERITY;
        else if (!atomic_load_explicit(&s->no_verity, memory_order_relaxed)) {
                uint8_t d[CFS_DIGEST_SIZE];
                _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                *ret_verity = fd >= 0 && cfs_verity_measure(fd, d) == 0;
        }
        return 1;
}

/* Object in the store, or staged by this handle? */
static int find_object(struct cfs_store *s, const uint8_t digest[CFS_DIGEST_SIZE], uint64_t size,
                       bool *ret_verity, struct cfs_error *err)
{
        char name[66];
        cfs_store_object_name(digest, name);
        int r = lookup(s, name, size, ret_verity, err);
        if (r != 0)
                return r;
        pthread_mutex_lock(&s->set_lock);
        bool staged = set_find(s, digest, ret_verity);
        pthread_mutex_unlock(&s->set_lock);
        return staged;
}

/* ---- temp objects (in the staging directory) ---- */

/* A copy being made: a visible ".tmp-<n>" name in this handle's staging
 * directory (no O_TMPFILE: on ext4 every O_TMPFILE inode goes through the
 * orphan list under a file-system-wide lock, and linking it needs /proc; a
 * crash leaves the name in the staging directory, which is removed anyway). */
struct tmpobj {
        int fd;
        uint32_t id;
        char name[32]; /* .tmp-<id>; "" once staged or unlinked */
};

static void tmpobj_discard(struct cfs_store *s, struct tmpobj *t)
{
        if (t->fd >= 0)
                close(t->fd);
        t->fd = -1;
        if (t->name[0])
                unlinkat(s->staging_fd, t->name, 0);
        t->name[0] = 0;
}

static int tmpobj_open(struct cfs_store *s, struct tmpobj *t, struct cfs_error *err)
{
        t->fd = -1;
        for (unsigned attempt = 0; attempt < 100; attempt++) {
                t->id = atomic_fetch_add(&s->tmp_counter, 1);
                tmp_name(t->id, t->name);
                t->fd = openat(s->staging_fd, t->name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
                if (t->fd >= 0)
                        break;
                if (errno != EEXIST)
                        break;
        }
        if (t->fd < 0) {
                int r = -errno;
                t->name[0] = 0;
                return cfs_error_set(err, r, "%s/objects: cannot create a file: %s", s->path,
                                     strerror(-r));
        }
        /* the mode objects have, whatever the umask (a umask of 022 or 002
         * leaves 0644 as it is: no fchmod, one inode change less per object) */
        if (s->chmod_needed && fchmod(t->fd, 0644) < 0) {
                int r = -errno;
                tmpobj_discard(s, t);
                return cfs_error_set(err, r, "%s/objects: %s", s->path, strerror(-r));
        }
        return 0;
}

/* Copy @size bytes of @src from offset 0 to @dst: copy_file_range (a kernel copy,
 * or a reflink), read/write where the kernel refuses. Returns bytes copied
 * (less than @size: the source is shorter) or -errno; a write error is in
 * *ret_write_err. */
static int64_t copy_data(int src, int dst, uint64_t size, int *ret_write_err)
{
        loff_t in = 0, out = 0;
        bool plain = false;
        _cleanup_free_ uint8_t *buf = NULL;

        *ret_write_err = 0;
        while ((uint64_t)in < size) {
                size_t want = (size_t)CFS_MIN((uint64_t)COPY_CHUNK, size - (uint64_t)in);
                ssize_t n;
                if (!plain) {
                        n = copy_file_range(src, &in, dst, &out, want, 0);
                        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                                      errno == EOPNOTSUPP || errno == ETXTBSY)) {
                                plain = true;
                                continue;
                        }
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0 && (errno == ENOSPC || errno == EFBIG || errno == EDQUOT))
                                return *ret_write_err = -errno;
                        if (n < 0)
                                return -errno;
                        if (n == 0)
                                break;
                        continue;
                }
                if (!buf && !(buf = malloc(HASH_BUF_SIZE)))
                        return -ENOMEM;
                want = CFS_MIN(want, (size_t)HASH_BUF_SIZE);
                n = pread(src, buf, want, in);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                int r = cfs_write_all(dst, buf, (size_t)n);
                if (r < 0)
                        return *ret_write_err = r;
                in += n;
                out += n;
        }
        return in;
}

/* Copy the source into @t; the source must still be as @before says. */
static int copy_source(struct cfs_store *s, struct tmpobj *t, int src, uint64_t size,
                       const struct stat *before, struct cfs_error *err)
{
        int write_err;
        int64_t n = copy_data(src, t->fd, size, &write_err);
        if (write_err)
                return cfs_error_set(err, write_err, "cannot write to object store %s: %s", s->path,
                                     strerror(-write_err));
        if (n < 0)
                return cfs_error_set(err, (int)-n, "cannot copy into object store %s: %s", s->path,
                                     strerror((int)-n));
        if ((uint64_t)n < size)
                return cfs_error_set(err, EIO, "file is shorter than its size %llu: it changed %s",
                                     (unsigned long long)size, WHEN_COPYING);
        int r = check_source(src, before, size, WHEN_COPYING, err);
        if (r < 0)
                return r;
        /* start writing it back now: the disk works while we hash the next files,
         * and the syncfs() of the commit has less left to do */
        (void)sync_file_range(t->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        return 0;
}

/* Replace the writable fd by a read-only one (fs-verity refuses files open for writing). */
static int tmpobj_reopen_ro(struct cfs_store *s, struct tmpobj *t)
{
        int fd = openat(s->staging_fd, t->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        close(t->fd);
        t->fd = fd;
        return 0;
}

static int digest_mismatch(struct cfs_error *err, const char *what,
                           const uint8_t want[CFS_DIGEST_SIZE], const uint8_t got[CFS_DIGEST_SIZE])
{
        char a[HEX_LEN + 1], b[HEX_LEN + 1];
        digest_hex(want, a);
        digest_hex(got, b);
        return cfs_error_set(err, EBADMSG, "%s: expected digest %s, found %s", what, a, b);
}

/* Make sure the copy in @t is the content @digest names: the kernel's fs-verity
 * measurement, or (no fs-verity here) a second userspace hash of the copy -
 * unless @digest_of_written is set: @digest was computed over exactly the bytes
 * written to @t, from the same buffer (copy_hashing()). */
static int verify_copy(struct cfs_store *s, struct tmpobj *t, uint64_t size,
                       const uint8_t digest[CFS_DIGEST_SIZE], bool digest_of_written,
                       struct cfs_verity_scratch *scratch, bool *ret_verity, struct cfs_error *err)
{
        uint8_t found[CFS_DIGEST_SIZE];
        int r;

        *ret_verity = false;
        if (!atomic_load_explicit(&s->no_verity, memory_order_relaxed)) {
                r = tmpobj_reopen_ro(s, t);
                if (r < 0)
                        return cfs_error_set(err, r, "%s/objects: cannot reopen a new object: %s",
                                             s->path, strerror(-r));
                r = cfs_verity_enable(t->fd);
                if (r == -ENOTTY || r == -EOPNOTSUPP)
                        atomic_store(&s->no_verity, true);
                else if (r < 0 && r != -EEXIST)
                        return cfs_error_set(err, r, "%s/objects: cannot enable fs-verity: %s",
                                             s->path, strerror(-r));
                else {
                        r = cfs_verity_measure(t->fd, found);
                        if (r < 0)
                                return cfs_error_set(err, r,
                                                     "%s/objects: cannot measure fs-verity: %s",
                                                     s->path, strerror(-r));
                        if (memcmp(found, digest, CFS_DIGEST_SIZE) != 0)
                                return digest_mismatch(
                                    err, "content changed since its digest was computed", digest,
                                    found);
                        *ret_verity = true;
                        return 0;
                }
        }
        if (digest_of_written)
                return 0;
        struct cfs_error e = {};
        bool write_err = false;
        r = hash_fd(t->fd, -1, size, scratch, found, &write_err, &e);
        if (r < 0)
                return cfs_error_set(err, r, "cannot read back a new object in %s: %s", s->path,
                                     cfs_error_text(&e, r));
        if (memcmp(found, digest, CFS_DIGEST_SIZE) != 0)
                return digest_mismatch(err, "content changed since its digest was computed", digest,
                                       found);
        return 0;
}

/* Rename @from to @to in @dir_fd / @to_dir_fd unless @to exists: 0 done, -EEXIST
 * exists (@from is left alone), -errno. Link + unlink where the file system has
 * no RENAME_NOREPLACE. */
static int rename_noreplace(int dir_fd, const char *from, int to_dir_fd, const char *to)
{
        if (renameat2(dir_fd, from, to_dir_fd, to, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL)
                return -errno;
        if (linkat(dir_fd, from, to_dir_fd, to, 0) < 0)
                return -errno;
        (void)unlinkat(dir_fd, from, 0);
        return 0;
}

/* Put the verified @t into the staged set under @digest; it keeps its temp name
 * until the commit renames it. 1 = staged, 0 = staged by another add first
 * (ours is dropped by the caller; that copy's fs-verity state in *ret_verity).
 * The read lock: a commit running now waits, so every add that returned
 * before a commit started is committed by it. */
static int stage(struct cfs_store *s, struct tmpobj *t, const uint8_t digest[CFS_DIGEST_SIZE],
                 bool verity, bool *ret_verity, struct cfs_error *err)
{
        struct staged e = {.id = t->id, .verity = verity};
        memcpy(e.digest, digest, CFS_DIGEST_SIZE);
        pthread_rwlock_rdlock(&s->commit_lock);
        pthread_mutex_lock(&s->set_lock);
        int r = set_add(s, &e, ret_verity);
        pthread_mutex_unlock(&s->set_lock);
        pthread_rwlock_unlock(&s->commit_lock);
        if (r < 0)
                return cfs_error_set(err, r, "%s", strerror(-r));
        if (r > 0) {
                t->name[0] = 0; /* staged: not removed when @t is closed */
                *ret_verity = verity;
        }
        return r;
}

/* Steps 2-5 for content of @fd with @digest; @before is @fd's state when the digest
 * was computed (or when we started, if the caller brought the digest). With
 * @read_source (the digest came from reading @fd) an existing object is only
 * reported if @fd did not change while it was read. */
static int add_object(struct cfs_store *s, int fd, uint64_t size, const struct stat *before,
                      bool read_source, struct cfs_verity_scratch *scratch,
                      const uint8_t digest[CFS_DIGEST_SIZE], enum cfs_store_added *ret_added,
                      bool *ret_verity, struct cfs_error *err)
{
        bool verity = false;
        struct tmpobj t = {.fd = -1};

        int r = find_object(s, digest, size, &verity, err);
        if (r < 0)
                return r;
        if (r > 0) {
                if (read_source) {
                        r = check_source(fd, before, size, WHEN_READING, err);
                        if (r < 0)
                                return r;
                }
                *ret_added = CFS_STORE_EXISTED;
                *ret_verity = verity;
                return 0;
        }
        r = staging_get(s, err);
        if (r < 0)
                return r;
        r = tmpobj_open(s, &t, err);
        if (r < 0)
                return r;
        r = copy_source(s, &t, fd, size, before, err);
        if (r >= 0)
                r = verify_copy(s, &t, size, digest, false, scratch, &verity, err);
        if (r >= 0) /* 0: another thread staged it first: that copy's state counts */
                r = stage(s, &t, digest, verity, ret_verity, err);
        tmpobj_discard(s, &t);
        if (r < 0)
                return r;
        *ret_added = r > 0 ? CFS_STORE_ADDED : CFS_STORE_EXISTED;
        return 0;
}

/* ---- public ---- */

/* @before, or (NULL) an fstat() of @fd made now into *@buf */
static int stat_before(int fd, const struct stat *before, struct stat *buf, const struct stat **ret,
                       struct cfs_error *err)
{
        if (!before) {
                if (fstat(fd, buf) < 0)
                        return cfs_error_set(err, errno, "%s", strerror(errno));
                before = buf;
        }
        *ret = before;
        return 0;
}

static void note_novelty(struct cfs_store *s, bool added)
{
        int v = atomic_load_explicit(&s->novelty, memory_order_relaxed);
        v = added ? CFS_MIN(v + 1, NOVELTY_MAX) : CFS_MAX(v - 2, -NOVELTY_MAX);
        atomic_store_explicit(&s->novelty, v, memory_order_relaxed); /* racy by design: a hint */
}

int cfs_store_add_fd_digest(struct cfs_store *s, int fd, uint64_t size, const struct stat *before,
                            struct cfs_verity_scratch *scratch,
                            const uint8_t digest[CFS_DIGEST_SIZE], enum cfs_store_added *ret_added,
                            bool *ret_verity, struct cfs_error *err)
{
        struct stat st;
        int r = stat_before(fd, before, &st, &before, err);
        if (r < 0)
                return r;
        /* steps 2-5 of "hash first" without step 1: the digest is known */
        r = add_object(s, fd, size, before, false, scratch, digest, ret_added, ret_verity, err);
        if (r < 0)
                return r;
        note_novelty(s, *ret_added == CFS_STORE_ADDED);
        return 0;
}

int cfs_store_add_fd(struct cfs_store *s, int fd, uint64_t size,
                     const uint8_t digest[CFS_DIGEST_SIZE], enum cfs_store_added *ret_added,
                     bool *ret_verity, struct cfs_error *err)
{
        return cfs_store_add_fd_digest(s, fd, size, NULL, NULL, digest, ret_added, ret_verity, err);
}

static bool use_copy_first(struct cfs_store *s)
{
        if (s->force_mode)
                return s->force_mode > 0;
        return atomic_load_explicit(&s->novelty, memory_order_relaxed) >= 0;
}

/* Copy first (most objects are new): read the source once, hash each buffer and
 * write the same buffer into a temp file; then look the digest up and drop the
 * copy if the object exists, else stage it. One sha256 pass and one read of the
 * source per new object instead of two of each; an existing object costs a
 * file written and removed, which is why this is only used while most objects
 * of the run turn out to be new. */
static int add_copy_first(struct cfs_store *s, int fd, uint64_t size, const struct stat *before,
                          struct cfs_verity_scratch *scratch, uint8_t digest[CFS_DIGEST_SIZE],
                          enum cfs_store_added *ret_added, bool *ret_verity, struct cfs_error *err)
{
        struct tmpobj t = {.fd = -1};
        bool verity = false, write_err = false;
        struct cfs_error e = {};

        int r = staging_get(s, err);
        if (r < 0)
                return r;
        r = tmpobj_open(s, &t, err);
        if (r < 0)
                return r;
        r = hash_fd(fd, t.fd, size, scratch, digest, &write_err, &e);
        if (r < 0) {
                if (write_err)
                        r = cfs_error_set(err, r, "cannot write to object store %s: %s", s->path,
                                          cfs_error_text(&e, r));
                else
                        r = cfs_error_set(err, r, "%s", cfs_error_text(&e, r));
                goto out;
        }
        if (s->after_hash)
                s->after_hash(fd, s->hook_userdata);
        /* the image describes the source: it must not have changed meanwhile */
        r = check_source(fd, before, size, WHEN_COPYING, err);
        if (r < 0)
                goto out;
        char name[66];
        cfs_store_object_name(digest, name);
        r = lookup(s, name, size, &verity, err);
        if (r < 0)
                goto out;
        if (r > 0) { /* exists: the copy was for nothing */
                *ret_added = CFS_STORE_EXISTED;
                *ret_verity = verity;
                r = 0;
                goto out;
        }
        (void)sync_file_range(t.fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        r = verify_copy(s, &t, size, digest, true, scratch, &verity, err);
        if (r >= 0) /* 0: staged already by this handle (in-run dedupe) */
                r = stage(s, &t, digest, verity, ret_verity, err);
        if (r < 0)
                goto out;
        *ret_added = r > 0 ? CFS_STORE_ADDED : CFS_STORE_EXISTED;
        r = 0;
out:
        tmpobj_discard(s, &t);
        return r;
}

int cfs_store_add_fd_hashing(struct cfs_store *s, int fd, uint64_t size, const struct stat *before,
                             struct cfs_verity_scratch *scratch,
                             uint8_t ret_digest[CFS_DIGEST_SIZE], enum cfs_store_added *ret_added,
                             bool *ret_verity, struct cfs_error *err)
{
        uint8_t digest[CFS_DIGEST_SIZE];
        struct stat st;
        bool write_err = false;
        int r;

        r = stat_before(fd, before, &st, &before, err);
        if (r < 0)
                return r;
        if (use_copy_first(s))
                r = add_copy_first(s, fd, size, before, scratch, digest, ret_added, ret_verity,
                                   err);
        else {
                r = hash_fd(fd, -1, size, scratch, digest, &write_err, err);
                if (r < 0)
                        return r;
                if (s->after_hash)
                        s->after_hash(fd, s->hook_userdata);
                r = add_object(s, fd, size, before, true, scratch, digest, ret_added, ret_verity,
                               err);
        }
        if (r < 0)
                return r;
        note_novelty(s, *ret_added == CFS_STORE_ADDED);
        memcpy(ret_digest, digest, CFS_DIGEST_SIZE);
        return 0;
}

void cfs_store_set_test_mode(struct cfs_store *s, int mode)
{
        s->force_mode = mode;
}

/* rename staging/@from -> ab/<62 hex>; an existing object wins. */
static int publish(struct cfs_store *s, const char *from, const char *name, bool *made_subdir)
{
        for (unsigned attempt = 0;; attempt++) {
                int r = rename_noreplace(s->staging_fd, from, s->objects_fd, name);
                if (r == -EEXIST) {
                        (void)unlinkat(s->staging_fd, from, 0);
                        return 0;
                }
                if (r != -ENOENT || attempt > 0)
                        return r;
                /* a store whose subdirectories are made lazily */
                char sub[3] = {name[0], name[1], 0};
                r = mkdirat_ok(s->objects_fd, sub);
                if (r < 0)
                        return r;
                *made_subdir = true;
        }
}

static int fsync_dir(int dir_fd, const char *name)
{
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

int cfs_store_commit(struct cfs_store *s, struct cfs_error *err)
{
        _cleanup_free_ struct staged *list = NULL;
        bool touched[256] = {}, made_subdir = false;
        size_t n = 0, done = 0;
        int r = 0;

        /* adds stage under the read lock: the set now holds every add that returned */
        pthread_rwlock_wrlock(&s->commit_lock);
        pthread_mutex_lock(&s->set_lock);
        n = s->set_used;
        if (n > 0 && (list = malloc(n * sizeof(*list)))) {
                size_t k = 0;
                for (size_t i = 0; i < s->set_size; i++)
                        if (s->set[i].used)
                                list[k++] = s->set[i];
        }
        pthread_mutex_unlock(&s->set_lock);
        if (n == 0)
                goto out;
        if (!list) {
                r = cfs_error_set(err, ENOMEM, "%s", strerror(ENOMEM));
                goto out;
        }
        /* the data and inodes of every staged object are durable before any gets its name */
        if (syncfs(s->staging_fd) < 0) {
                r = cfs_error_set(err, errno, "%s: cannot sync the object store: %s", s->path,
                                  strerror(errno));
                goto out;
        }
        for (; done < n; done++) {
                char from[32], name[66];
                tmp_name(list[done].id, from);
                cfs_store_object_name(list[done].digest, name);
                r = publish(s, from, name, &made_subdir);
                if (r < 0) {
                        r = cfs_error_set(err, r, "%s/objects/%s: %s", s->path, name, strerror(-r));
                        break;
                }
                touched[list[done].digest[0]] = true;
        }
        /* what was published leaves the set; the rest stays staged */
        pthread_mutex_lock(&s->set_lock);
        free(s->set);
        s->set = NULL;
        s->set_size = s->set_used = 0;
        for (size_t i = done; i < n; i++) {
                bool v;
                if (set_add(s, &list[i], &v) < 0)
                        break; /* out of memory: not committed, removed with the staging dir */
        }
        pthread_mutex_unlock(&s->set_lock);
        if (r < 0)
                goto out;
        /* the renames are durable: fsync each directory that got a name (on
         * ext4/xfs the first one commits the journal, the others find nothing) */
        for (unsigned i = 0; i < 256; i++) {
                if (!touched[i])
                        continue;
                char sub[3] = {hexdigits[i >> 4], hexdigits[i & 15], 0};
                r = fsync_dir(s->objects_fd, sub);
                if (r < 0) {
                        r = cfs_error_set(err, r, "%s/objects/%s: cannot sync: %s", s->path, sub,
                                          strerror(-r));
                        goto out;
                }
        }
        if (made_subdir && fsync(s->objects_fd) < 0)
                r = cfs_error_set(err, errno, "%s/objects: cannot sync: %s", s->path,
                                  strerror(errno));
out:
        pthread_rwlock_unlock(&s->commit_lock);
        return r;
}

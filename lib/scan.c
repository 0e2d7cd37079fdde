/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * scan.c - build a tree from a directory on disk, like `mkcomposefs DIR IMAGE`
 * (see scan.h and docs/ARCHITECTURE.md "Object store and directory scan"). Host.
 *
 * The calling thread walks the tree depth-first, parents before children, each
 * directory's entries in bytewise name order, so the tree (and which path of a
 * hard-link group is the real node: the first one in that order, as in a dump
 * file) does not depend on readdir order. It opens and fstat()s every entry
 * getdents64 calls a regular file or a directory (lstat()s the others), reads
 * xattrs, symlink targets and small files itself, and hands the fd of every
 * larger regular file to a pool of hashing threads through a bounded queue
 * (which bounds the open fds; jobs move in batches, see pool_worker()). Xattrs of a
 * file it opens are read through that fd, of anything else through
 * /proc/self/fd/DIR/NAME. A hashing thread only writes the digest[] of its node;
 * has_digest and the payload are set by the calling thread after the pool has
 * drained, so the tree (arena, tables) is only ever changed by one thread.
 * The "fstat" is a statx(), which also says whether a file has fs-verity: for
 * such a file a hashing thread takes the kernel's measurement as the digest if
 * it was enabled with the composefs parameters (hash_one()), instead of
 * reading the file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "macros.h"
#include "scan.h"
#include "verity.h"

#define QUEUE_PER_THREAD 32u
#define POP_BATCH 8u      /* jobs a worker takes per lock */
#define WAKE_BATCH 8u     /* queued jobs that wake a sleeping worker */
#define WAKE_SIZE 1048576 /* ... or one file at least this large */
/* per hashing thread: small enough that the bytes the kernel copies in are still
 * in L2 when they are hashed (this machine: 512 KiB L2 per core, 2-3 threads per
 * core); 256 KiB cost ~1 CPU-s more sys time than 64 KiB for 3.2 GB (copy
 * misses), 32 KiB more syscalls */
#define READ_BUFFER_SIZE (64u * 1024u)
#define XATTR_SMALL 256u /* first try at a value; most are labels */
#define MAX_THREADS 1024u
#define STORE_THREADS_PER_CPU 2u
#define XATTR_VALUE_BUF (CFS_XATTR_VALUE_MAX + 1u)
#define PROGRESS_INTERVAL_NS 200000000ll
#define DENTS_BUFFER_SIZE (64u * 1024u)

/* ---- the hashing pool ---- */

struct job {
        struct cfs_node *node;
        int fd;
        struct stat st; /* as fstat()ed when opened */
        bool verity;    /* STATX_ATTR_VERITY: try the kernel's measurement first */
};

struct pool {
        pthread_mutex_t lock;
        pthread_cond_t not_empty, not_full, idle;
        struct job *ring;
        size_t cap, head, count;
        unsigned busy, n_threads;
        unsigned sleepers; /* workers waiting for jobs */
        bool submit_waits; /* the walker waits for the queue to get half empty */
        bool stop;
        pthread_t *threads;
        struct worker {
                struct pool *pool;
                struct cfs_verity_scratch scratch; /* read buffer and hasher */
        } * workers;

        struct cfs_store *store;
        atomic_bool failed;   /* a job failed: skip the rest */
        atomic_bool canceled; /* the walk failed: skip the rest */
        /* first failure (under lock) */
        struct cfs_node *err_node;
        struct cfs_error err;
        int err_code;

        atomic_uint_fast64_t files_hashed, bytes_hashed;
        atomic_uint_fast64_t added, existed, no_verity;
        atomic_uint_fast64_t from_verity; /* digests measured by the kernel, not read */
};

static bool ts_eq(const struct timespec *a, const struct timespec *b)
{
        return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static void pool_fail(struct pool *p, struct cfs_node *n, int r, const struct cfs_error *e)
{
        pthread_mutex_lock(&p->lock);
        if (!p->err_code) {
                p->err_code = r;
                p->err_node = n;
                if (e)
                        p->err = *e;
        }
        pthread_mutex_unlock(&p->lock);
        atomic_store(&p->failed, true);
}

static int hash_one(struct pool *p, const struct job *j, struct cfs_verity_scratch *scratch,
                    struct cfs_error *e)
{
        struct cfs_node *n = j->node;
        enum cfs_store_added added;
        bool verity;
        struct stat st;
        int r;

        /* A source file with fs-verity: its digest from the kernel, without
         * reading it, if it was enabled with the composefs parameters (else it
         * is hashed as any other file). No torn-read check for it (no fstat
         * after): the content of a file with fs-verity cannot change, and the
         * measurement is of that content. */
        bool measured = j->verity && cfs_verity_measure_composefs(j->fd, n->size, n->digest) == 0;
        if (p->store) {
                /* measured: the object is looked up by this digest; a new one is
                 * copied, the source checked against j->st and the copy verified
                 * as for any other file (store.c step 4). Hashed: checks that the
                 * file did not change while it was read, too. */
                if (measured)
                        r = cfs_store_add_fd_digest(p->store, j->fd, n->size, &j->st, scratch,
                                                    n->digest, &added, &verity, e);
                else
                        r = cfs_store_add_fd_hashing(p->store, j->fd, n->size, &j->st, scratch,
                                                     n->digest, &added, &verity, e);
                if (r < 0)
                        return r;
                atomic_fetch_add(added == CFS_STORE_ADDED ? &p->added : &p->existed, 1);
                if (!verity)
                        atomic_fetch_add(&p->no_verity, 1);
        } else if (!measured) {
                r = cfs_verity_digest_fd_sized(j->fd, n->size, scratch, n->digest);
                if (r < 0)
                        return cfs_error_set(e, r, "cannot compute the fs-verity digest: %s",
                                             strerror(-r));
                /* a file written to while we read it gives a torn snapshot: refuse it */
                if (fstat(j->fd, &st) < 0)
                        return cfs_error_set(e, errno, "%s", strerror(errno));
                if ((uint64_t)st.st_size != n->size || !ts_eq(&st.st_mtim, &j->st.st_mtim) ||
                    !ts_eq(&st.st_ctim, &j->st.st_ctim))
                        return cfs_error_set(e, EIO, "file changed while it was read");
        }
        if (measured)
                atomic_fetch_add(&p->from_verity, 1);
        atomic_fetch_add(&p->files_hashed, 1);
        atomic_fetch_add(&p->bytes_hashed, n->size);
        return 0;
}

/* Workers take up to POP_BATCH jobs per lock and sleep only on an empty queue;
 * the walker wakes them only when there is a batch (or a large file) queued,
 * or on pool_kick()/pool_drain(), and is woken itself only when the queue is
 * half empty again: a few futex calls per batch, not three per file. */
static void *pool_worker(void *userdata)
{
        struct worker *w = userdata;
        struct pool *p = w->pool;
        struct job batch[POP_BATCH];

        for (;;) {
                pthread_mutex_lock(&p->lock);
                while (p->count == 0 && !p->stop) {
                        p->sleepers++;
                        pthread_cond_wait(&p->not_empty, &p->lock);
                        p->sleepers--;
                }
                if (p->count == 0) {
                        pthread_mutex_unlock(&p->lock);
                        return NULL;
                }
                /* share what is queued with the other workers */
                size_t k = CFS_MAX(p->count / p->n_threads, (size_t)1);
                k = CFS_MIN(k, (size_t)POP_BATCH);
                for (size_t i = 0; i < k; i++) {
                        batch[i] = p->ring[p->head];
                        p->head = (p->head + 1) % p->cap;
                }
                p->count -= k;
                p->busy++;
                if (p->submit_waits && p->count <= p->cap / 2)
                        pthread_cond_signal(&p->not_full);
                pthread_mutex_unlock(&p->lock);

                for (size_t i = 0; i < k; i++) {
                        if (!atomic_load(&p->failed) && !atomic_load(&p->canceled)) {
                                struct cfs_error e = {};
                                int r = hash_one(p, &batch[i], &w->scratch, &e);
                                if (r < 0)
                                        pool_fail(p, batch[i].node, r, &e);
                        }
                        close(batch[i].fd);
                }

                pthread_mutex_lock(&p->lock);
                p->busy--;
                if (p->count == 0 && p->busy == 0)
                        pthread_cond_broadcast(&p->idle);
                pthread_mutex_unlock(&p->lock);
        }
}

static unsigned online_cpus(void)
{
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n < 1 ? 1u : (unsigned)CFS_MIN(n, (long)MAX_THREADS);
}

static int pool_start(struct pool *p, unsigned threads, struct cfs_store *store)
{
        p->store = store;
        /* With a store, a new object's copy can block on the disk (writeback
         * throttling, directory locks): a second thread per core keeps the cores
         * hashing meanwhile. There is no per-object fsync any more (the store
         * syncs once, in cfs_store_commit()), so more than 2 buys nothing. */
        p->n_threads =
            threads ? CFS_MIN(threads, MAX_THREADS)
                    : CFS_MIN(online_cpus() * (store ? STORE_THREADS_PER_CPU : 1), MAX_THREADS);
        p->cap = (size_t)p->n_threads * QUEUE_PER_THREAD;
        p->ring = calloc(p->cap, sizeof(*p->ring));
        p->threads = calloc(p->n_threads, sizeof(*p->threads));
        p->workers = calloc(p->n_threads, sizeof(*p->workers));
        if (!p->ring || !p->threads || !p->workers) {
                free(p->ring);
                free(p->threads);
                free(p->workers);
                p->ring = NULL;
                p->threads = NULL;
                p->workers = NULL;
                return -ENOMEM;
        }
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->not_empty, NULL);
        pthread_cond_init(&p->not_full, NULL);
        pthread_cond_init(&p->idle, NULL);
        for (unsigned i = 0; i < p->n_threads; i++) {
                p->workers[i].pool = p;
                int r = -cfs_verity_scratch_init(&p->workers[i].scratch, READ_BUFFER_SIZE);
                if (r == 0)
                        r = pthread_create(&p->threads[i], NULL, pool_worker, &p->workers[i]);
                if (r != 0) {
                        cfs_verity_scratch_done(&p->workers[i].scratch);
                        p->n_threads = i; /* the ones started are joined by pool_stop() */
                        return -r;
                }
        }
        return 0;
}

/* Queue a job; takes ownership of j->fd (closed on failure too). */
static int pool_submit(struct pool *p, const struct job *j)
{
        pthread_mutex_lock(&p->lock);
        if (p->count == p->cap) {
                p->submit_waits = true;
                while (p->count > p->cap / 2 && !atomic_load(&p->failed))
                        pthread_cond_wait(&p->not_full, &p->lock);
                p->submit_waits = false;
        }
        if (atomic_load(&p->failed)) {
                pthread_mutex_unlock(&p->lock);
                close(j->fd);
                return -ECANCELED;
        }
        p->ring[(p->head + p->count) % p->cap] = *j;
        p->count++;
        if (p->sleepers > 0 && (p->count >= WAKE_BATCH || j->node->size >= WAKE_SIZE))
                pthread_cond_signal(&p->not_empty);
        pthread_mutex_unlock(&p->lock);
        return 0;
}

/* Wake a sleeping worker for jobs queued below WAKE_BATCH (the walker calls this
 * every few entries, so a short queue does not wait for the end of the walk). */
static void pool_kick(struct pool *p)
{
        pthread_mutex_lock(&p->lock);
        if (p->sleepers > 0 && p->count > 0)
                pthread_cond_signal(&p->not_empty);
        pthread_mutex_unlock(&p->lock);
}

/* Wait until every queued job is done, calling @tick now and then. */
static void pool_drain(struct pool *p, void (*tick)(void *), void *userdata)
{
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->not_empty); /* the rest, however few */
        while (p->count > 0 || p->busy > 0) {
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += PROGRESS_INTERVAL_NS;
                if (until.tv_nsec >= 1000000000) {
                        until.tv_sec++;
                        until.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&p->idle, &p->lock, &until);
                if (tick) {
                        pthread_mutex_unlock(&p->lock);
                        tick(userdata);
                        pthread_mutex_lock(&p->lock);
                }
        }
        pthread_mutex_unlock(&p->lock);
}

/* Stop and join the threads, close the fds of jobs never run. */
static void pool_stop(struct pool *p)
{
        if (!p->threads)
                return;
        if (p->ring) {
                pthread_mutex_lock(&p->lock);
                p->stop = true;
                pthread_cond_broadcast(&p->not_empty);
                pthread_cond_broadcast(&p->not_full);
                pthread_mutex_unlock(&p->lock);
                for (unsigned i = 0; i < p->n_threads; i++)
                        pthread_join(p->threads[i], NULL);
                for (; p->count > 0; p->count--, p->head = (p->head + 1) % p->cap)
                        close(p->ring[p->head].fd);
                pthread_mutex_destroy(&p->lock);
                pthread_cond_destroy(&p->not_empty);
                pthread_cond_destroy(&p->not_full);
                pthread_cond_destroy(&p->idle);
        }
        free(p->ring);
        free(p->threads);
        if (p->workers)
                for (unsigned i = 0; i < p->n_threads; i++)
                        cfs_verity_scratch_done(&p->workers[i].scratch);
        free(p->workers);
        p->ring = NULL;
        p->threads = NULL;
        p->workers = NULL;
}

/* ---- hard links: (st_dev, st_ino) -> first node, for entries with st_nlink > 1 ---- */

struct inode_ref {
        dev_t dev;
        ino_t ino;
        struct cfs_node *node; /* NULL: empty slot */
};

struct inode_map {
        struct inode_ref *slots;
        size_t size, used;
};

static size_t inode_slot(const struct inode_map *m, dev_t dev, ino_t ino)
{
        uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4full;
        size_t i = (size_t)(h ^ (h >> 29)) & (m->size - 1);
        while (m->slots[i].node && (m->slots[i].dev != dev || m->slots[i].ino != ino))
                i = (i + 1) & (m->size - 1);
        return i;
}

static struct cfs_node *inode_find(const struct inode_map *m, dev_t dev, ino_t ino)
{
        return m->size ? m->slots[inode_slot(m, dev, ino)].node : NULL;
}

static int inode_add(struct inode_map *m, dev_t dev, ino_t ino, struct cfs_node *n)
{
        if ((m->used + 1) * 2 > m->size) {
                struct inode_map g = {.size = m->size ? m->size * 2 : 256, .used = m->used};
                g.slots = calloc(g.size, sizeof(*g.slots));
                if (!g.slots)
                        return -ENOMEM;
                for (size_t i = 0; i < m->size; i++)
                        if (m->slots[i].node)
                                g.slots[inode_slot(&g, m->slots[i].dev, m->slots[i].ino)] =
                                    m->slots[i];
                free(m->slots);
                *m = g;
        }
        m->slots[inode_slot(m, dev, ino)] = (struct inode_ref){dev, ino, n};
        m->used++;
        return 0;
}

/* ---- the walk ---- */

struct frame {
        int fd; /* the directory */
        struct cfs_node *node;
        char *names;     /* per entry its d_type byte, then its NUL-terminated name */
        size_t *offs;    /* sorted offsets of the names (not the type bytes) */
        size_t n, i;     /* entries, next one */
        size_t path_len; /* length of this directory's path in scan->path */
};

struct scan {
        struct cfs_tree *tree;
        const struct cfs_scan_options *opts;
        struct cfs_error *err;
        struct pool pool;
        struct inode_map inodes;

        struct frame *stack;
        size_t depth, alloc_stack;

        char *path; /* relative path of the current entry, for messages */
        size_t path_len, path_alloc;

        char *xattr_list;
        size_t xattr_list_alloc;
        uint8_t *xattr_value;
        void *dents; /* getdents64() buffer */

        struct cfs_scan_progress progress;
        struct timespec last_progress;
};

/* The current path for a message: printable bytes as they are, others as \xNN. */
static const char *msg_path(struct scan *s, char *buf, size_t size)
{
        size_t o = 0;
        for (size_t i = 0; i < s->path_len && o + 5 < size; i++) {
                unsigned char c = (unsigned char)s->path[i];
                if (c >= 0x20 && c < 0x7f && c != '\\')
                        buf[o++] = (char)c;
                else
                        o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
        }
        buf[o] = 0;
        return o ? buf : ".";
}

_printf_(3, 4) static int scan_fail(struct scan *s, int code, const char *fmt, ...)
{
        char where[CFS_ERROR_MAX], what[CFS_ERROR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        return cfs_error_set(s->err, code, "%s: %s", msg_path(s, where, sizeof(where)), what);
}

static int scan_errno(struct scan *s, int r)
{
        return scan_fail(s, r, "%s", strerror(r < 0 ? -r : r));
}

static int path_set(struct scan *s, size_t dir_len, const char *name, size_t name_len)
{
        if (cfs_reserve(&s->path, &s->path_alloc, dir_len + 1 + name_len + 1, 1, 0) < 0)
                return -ENOMEM;
        size_t o = dir_len;
        if (dir_len > 0)
                s->path[o++] = '/';
        memcpy(s->path + o, name, name_len);
        s->path_len = o + name_len;
        s->path[s->path_len] = 0;
        return 0;
}

static void report_progress(struct scan *s, bool force)
{
        const struct cfs_scan_options *o = s->opts;
        struct timespec now;

        if (!o || !o->progress)
                return;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long el = (now.tv_sec - s->last_progress.tv_sec) * 1000000000ll +
                       (now.tv_nsec - s->last_progress.tv_nsec);
        if (!force && el < PROGRESS_INTERVAL_NS)
                return;
        s->last_progress = now;
        s->progress.files_hashed = atomic_load(&s->pool.files_hashed);
        s->progress.bytes_hashed = atomic_load(&s->pool.bytes_hashed);
        o->progress(&s->progress, o->userdata);
}

static void progress_tick(void *userdata)
{
        report_progress(userdata, false);
}

/* Kernel (new_encode_dev) encoding of a device number, as EROFS and dumps store it. */
static int encode_rdev(dev_t rdev, uint32_t *ret)
{
        unsigned ma = major(rdev), mi = minor(rdev);
        if (ma > 0xfffu || mi > 0xfffffu)
                return -EOVERFLOW;
        *ret = (mi & 0xffu) | (ma << 8) | ((mi & ~0xffu) << 12);
        return 0;
}

static int fill_stat(struct scan *s, struct cfs_node *n, const struct stat *st)
{
        n->mode = st->st_mode;
        n->uid = st->st_uid;
        n->gid = st->st_gid;
        n->nlink = 1;
        n->mtime_sec = st->st_mtim.tv_sec;
        n->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
        if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
                if (encode_rdev(st->st_rdev, &n->rdev) < 0)
                        return scan_fail(s, EOVERFLOW, "device number %u:%u does not fit",
                                         major(st->st_rdev), minor(st->st_rdev));
        }
        if (S_ISREG(st->st_mode)) {
                if ((uint64_t)st->st_size > CFS_FILE_SIZE_MAX)
                        return scan_fail(s, EFBIG, "file of %lld bytes is too large",
                                         (long long)st->st_size);
                n->size = (uint64_t)st->st_size;
        }
        return 0;
}

static int name_cmp_sort(const void *a, const void *b, void *names)
{
        return strcmp((const char *)names + *(const size_t *)a,
                      (const char *)names + *(const size_t *)b);
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* xattrs of the entry at @path (l* calls: a symlink's own xattrs). */
static int read_xattrs(struct scan *s, struct cfs_node *n, const char *path, int fd)
{
        ssize_t len;
        for (;;) {
                len = fd >= 0 ? flistxattr(fd, s->xattr_list, s->xattr_list_alloc)
                              : llistxattr(path, s->xattr_list, s->xattr_list_alloc);
                if (len >= 0)
                        break;
                if (errno == ENOTSUP)
                        return 0; /* file system without xattrs */
                if (errno != ERANGE)
                        return scan_fail(s, errno, "cannot list xattrs: %s", strerror(errno));
                ssize_t need = fd >= 0 ? flistxattr(fd, NULL, 0) : llistxattr(path, NULL, 0);
                if (need < 0)
                        return scan_fail(s, errno, "cannot list xattrs: %s", strerror(errno));
                size_t a = (size_t)need + 256;
                char *l = realloc(s->xattr_list, a);
                if (!l)
                        return -ENOMEM;
                s->xattr_list = l;
                s->xattr_list_alloc = a;
        }
        if (len == 0)
                return 0;

        /* deterministic order whatever the file system lists first */
        size_t count = 0;
        for (ssize_t i = 0; i < len; i += (ssize_t)strlen(s->xattr_list + i) + 1)
                count++;
        _cleanup_free_ const char **names = malloc(count * sizeof(*names));
        if (!names)
                return -ENOMEM;
        count = 0;
        for (ssize_t i = 0; i < len; i += (ssize_t)strlen(s->xattr_list + i) + 1)
                names[count++] = s->xattr_list + i;
        qsort(names, count, sizeof(*names), compare_names);

        uint64_t budget = 12;
        for (size_t i = 0; i < count; i++) {
                const char *name = names[i];
                size_t name_len = strlen(name);
                /* a small buffer first: the kernel zeroes a buffer of the size asked */
                ssize_t vlen = fd >= 0 ? fgetxattr(fd, name, s->xattr_value, XATTR_SMALL)
                                       : lgetxattr(path, name, s->xattr_value, XATTR_SMALL);
                if (vlen < 0 && errno == ERANGE)
                        vlen = fd >= 0 ? fgetxattr(fd, name, s->xattr_value, XATTR_VALUE_BUF)
                                       : lgetxattr(path, name, s->xattr_value, XATTR_VALUE_BUF);
                if (vlen < 0 && errno == ENODATA)
                        continue; /* removed since it was listed */
                if (vlen < 0)
                        return scan_fail(s, errno, "cannot read xattr %s: %s", name,
                                         strerror(errno));
                if (name_len == 0 || name_len > CFS_XATTR_NAME_MAX)
                        return scan_fail(s, EINVAL, "xattr name of %zu bytes", name_len);
                if ((size_t)vlen > CFS_XATTR_VALUE_MAX)
                        return scan_fail(s, E2BIG, "xattr %s: value longer than %u bytes", name,
                                         CFS_XATTR_VALUE_MAX);
                budget += 7u + name_len + (size_t)vlen;
                if (budget > CFS_XATTR_BUDGET)
                        return scan_fail(s, E2BIG, "the xattrs of a file exceed %u bytes",
                                         CFS_XATTR_BUDGET);
                int r =
                    cfs_node_set_xattr(s->tree, n, name, name_len, s->xattr_value, (size_t)vlen);
                if (r < 0)
                        return scan_fail(s, r, "cannot set xattr %s: %s", name, strerror(-r));
        }
        return 0;
}

static int read_symlink(struct scan *s, struct cfs_node *n, int dir_fd, const char *name)
{
        char target[CFS_SYMLINK_MAX + 2];
        ssize_t len = readlinkat(dir_fd, name, target, sizeof(target));
        if (len < 0)
                return scan_errno(s, -errno);
        if (len == 0 || (size_t)len > CFS_SYMLINK_MAX)
                return scan_fail(s, ENAMETOOLONG, "symlink target longer than %u bytes",
                                 CFS_SYMLINK_MAX);
        n->payload = cfs_tree_strndup(s->tree, target, (size_t)len);
        if (!n->payload)
                return -ENOMEM;
        n->size = (uint64_t)len;
        return 0;
}

/* fstat() of @fd by statx(), which also tells whether the file has fs-verity
 * (STATX_ATTR_VERITY) at no extra syscall; *ret_verity is false where the
 * file system does not report the attribute. -errno. */
static int fstat_verity(int fd, struct stat *st, bool *ret_verity)
{
        struct statx x;
        if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, &x) < 0)
                return -errno;
        *st = (struct stat){
            .st_dev = makedev(x.stx_dev_major, x.stx_dev_minor),
            .st_ino = x.stx_ino,
            .st_mode = x.stx_mode,
            .st_nlink = x.stx_nlink,
            .st_uid = x.stx_uid,
            .st_gid = x.stx_gid,
            .st_rdev = makedev(x.stx_rdev_major, x.stx_rdev_minor),
            .st_size = (off_t)x.stx_size,
            .st_blksize = (blksize_t)x.stx_blksize,
            .st_blocks = (blkcnt_t)x.stx_blocks,
            .st_atim = {x.stx_atime.tv_sec, x.stx_atime.tv_nsec},
            .st_mtim = {x.stx_mtime.tv_sec, x.stx_mtime.tv_nsec},
            .st_ctim = {x.stx_ctime.tv_sec, x.stx_ctime.tv_nsec},
        };
        *ret_verity =
            (x.stx_attributes_mask & STATX_ATTR_VERITY) && (x.stx_attributes & STATX_ATTR_VERITY);
        return 0;
}

/* Open a regular file found by lstat @st, making sure it is still that file. */
static int open_regular(struct scan *s, int dir_fd, const char *name, const struct stat *st,
                        struct stat *ret_st, bool *ret_verity)
{
        int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return scan_errno(s, -errno);
        int r = fstat_verity(fd, ret_st, ret_verity);
        if (r < 0) {
                close(fd);
                return scan_errno(s, r);
        }
        if (!S_ISREG(ret_st->st_mode) || ret_st->st_dev != st->st_dev ||
            ret_st->st_ino != st->st_ino || ret_st->st_size != st->st_size) {
                close(fd);
                return scan_fail(s, EIO, "file changed while the tree was scanned");
        }
        return fd;
}

static int read_inline(struct scan *s, struct cfs_node *n, int fd)
{
        uint8_t buf[CFS_SCAN_INLINE_MAX + 1];
        size_t got = 0;
        for (;;) {
                ssize_t k = pread(fd, buf + got, sizeof(buf) - got, (off_t)got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return scan_errno(s, -errno);
                if (k == 0)
                        break;
                got += (size_t)k;
                if (got == sizeof(buf))
                        break;
        }
        if (got != n->size)
                return scan_fail(s, EIO, "file changed while it was read (%zu bytes, size %llu)",
                                 got, (unsigned long long)n->size);
        n->content = cfs_tree_memdup(s->tree, buf, got);
        return n->content ? 0 : -ENOMEM;
}

/* Content and xattrs of a regular file (xattrs through the fd where one is open).
 * @fd >= 0: the file, open already (taken over), @st its fstat() and @verity
 * whether it has fs-verity; else @st is its lstat() and it is opened here
 * unless it is empty. */
static int regular_content(struct scan *s, struct cfs_node *n, int dir_fd, const char *name,
                           const struct stat *st, bool verity, const char *xpath, int fd)
{
        struct stat fst;
        if (fd >= 0)
                fst = *st;
        else if (n->size == 0) /* no content, no digest, no payload (like mkcomposefs) */
                return read_xattrs(s, n, xpath, -1);
        else {
                fd = open_regular(s, dir_fd, name, st, &fst, &verity);
                if (fd < 0)
                        return fd;
        }
        int r = read_xattrs(s, n, NULL, fd);
        if (r >= 0 && n->size == 0) {
                close(fd);
                return 0;
        }
        if (r < 0 || n->size <= CFS_SCAN_INLINE_MAX) {
                if (r >= 0)
                        r = read_inline(s, n, fd);
                close(fd);
                return r;
        }
        s->progress.bytes_total += n->size;
        struct job j = {.node = n, .fd = fd, .st = fst, .verity = verity};
        return pool_submit(&s->pool, &j);
}

static int push_dir(struct scan *s, struct cfs_node *n, int fd);

/* Open entry @name of @dir_fd that getdents says is a regular file or a
 * directory, and fstat() it (by statx: *ret_verity = it has fs-verity): openat
 * + fstat instead of lstat + openat + fstat.
 * -1 if that does not work out (another type, no such type hint, cannot be
 * opened: an unreadable empty file is fine, a directory that cannot be read is
 * an error): the caller then takes the lstat() way, which decides and names the
 * error as before. The lstat() way had the same window between looking and
 * opening, so nothing is opened here that it would not have opened. */
static int open_by_type(int dir_fd, const char *name, unsigned char type, struct stat *st,
                        bool *ret_verity)
{
        int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
        mode_t want;
        if (type == DT_REG) {
                flags |= O_NONBLOCK;
                want = S_IFREG;
        } else if (type == DT_DIR) {
                flags |= O_DIRECTORY;
                want = S_IFDIR;
        } else
                return -1;
        int fd = openat(dir_fd, name, flags);
        if (fd < 0)
                return -1;
        if (fstat_verity(fd, st, ret_verity) < 0 || (st->st_mode & S_IFMT) != want) {
                close(fd);
                return -1;
        }
        return fd;
}

/* One directory entry of the top frame; @type is its d_type. */
static int scan_entry(struct scan *s, struct frame *f, const char *name, unsigned char type)
{
        size_t name_len = strlen(name);
        int dir_fd = f->fd;
        struct cfs_node *n, *target;
        struct stat st;
        bool verity = false;
        int r;

        r = path_set(s, f->path_len, name, name_len);
        if (r < 0)
                return r;
        if (name_len > CFS_NAME_MAX)
                return scan_fail(s, ENAMETOOLONG, "name longer than %u bytes", CFS_NAME_MAX);
        _cleanup_close_ int fd = open_by_type(dir_fd, name, type, &st, &verity);
        if (fd < 0 && fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return scan_errno(s, -errno);
        r = cfs_tree_add_child(s->tree, f->node, name, name_len, &n);
        if (r < 0)
                return scan_errno(s, r);
        s->progress.entries++;

        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
                target = inode_find(&s->inodes, st.st_dev, st.st_ino);
                if (target) {
                        n->link = target;
                        n->mode = target->mode;
                        target->nlink++;
                        return 0;
                }
                r = inode_add(&s->inodes, st.st_dev, st.st_ino, n);
                if (r < 0)
                        return r;
        }
        r = fill_stat(s, n, &st);
        if (r < 0)
                return r;
        char xpath[64 + CFS_NAME_MAX];
        snprintf(xpath, sizeof(xpath), "/proc/self/fd/%d/%s", dir_fd, name);

        switch (st.st_mode & S_IFMT) {
        case S_IFDIR:
                if (fd < 0) {
                        fd = openat(dir_fd, name,
                                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
                        if (fd < 0)
                                return scan_errno(s, -errno);
                }
                r = read_xattrs(s, n, NULL, fd);
                if (r < 0)
                        return r;
                return push_dir(s, n, TAKE_FD(fd));
        case S_IFREG:
                return regular_content(s, n, dir_fd, name, &st, verity, xpath, TAKE_FD(fd));
        case S_IFLNK:
                r = read_symlink(s, n, dir_fd, name);
                break;
        case S_IFCHR:
        case S_IFBLK:
        case S_IFIFO:
        case S_IFSOCK:
                break;
        default:
                return scan_fail(s, EINVAL, "unknown file type %o", st.st_mode & S_IFMT);
        }
        if (r < 0)
                return r;
        return read_xattrs(s, n, xpath, -1);
}

/* Read and sort the names of directory @fd (taken over) and push a frame for it.
 * getdents64() directly: no DIR (fdopendir costs an fstat and an fcntl per
 * directory), and the d_type of each entry comes along. */
static int push_dir(struct scan *s, struct cfs_node *n, int fd)
{
        if (s->depth == s->alloc_stack) {
                size_t a = s->alloc_stack ? 2 * s->alloc_stack : 16;
                struct frame *st = realloc(s->stack, a * sizeof(*st));
                if (!st) {
                        close(fd);
                        return -ENOMEM;
                }
                s->stack = st;
                s->alloc_stack = a;
        }
        struct frame *f = &s->stack[s->depth++];
        *f = (struct frame){.fd = fd, .node = n, .path_len = s->path_len};

        size_t used = 0, alloc = 0, n_alloc = 0;
        for (;;) {
                ssize_t got = getdents64(fd, s->dents, DENTS_BUFFER_SIZE);
                if (got < 0) {
                        if (errno == EINTR)
                                continue;
                        return scan_errno(s, -errno);
                }
                if (got == 0)
                        break;
                for (ssize_t o = 0; o < got;) {
                        const struct dirent64 *de =
                            (const struct dirent64 *)((const char *)s->dents + o);
                        o += de->d_reclen;
                        const char *nm = de->d_name;
                        if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0)))
                                continue;
                        size_t len = strlen(nm) + 1;
                        if (used + 1 + len > alloc) {
                                size_t a = CFS_MAX(used + 1 + len, alloc ? 2 * alloc : 4096);
                                char *p = realloc(f->names, a);
                                if (!p)
                                        return -ENOMEM;
                                f->names = p;
                                alloc = a;
                        }
                        if (f->n == n_alloc) {
                                size_t a = n_alloc ? 2 * n_alloc : 64;
                                size_t *ofs = realloc(f->offs, a * sizeof(*ofs));
                                if (!ofs)
                                        return -ENOMEM;
                                f->offs = ofs;
                                n_alloc = a;
                        }
                        f->names[used++] = (char)de->d_type;
                        memcpy(f->names + used, nm, len);
                        f->offs[f->n++] = used;
                        used += len;
                }
        }
        if (f->n > 1)
                qsort_r(f->offs, f->n, sizeof(*f->offs), name_cmp_sort, f->names);
        return 0;
}

static void pop_dir(struct scan *s)
{
        struct frame *f = &s->stack[--s->depth];
        /* nlink of a directory: 2 + subdirectories, as the image will have it */
        uint32_t subdirs = 0;
        for (uint32_t i = 0; i < f->node->n_children; i++) {
                const struct cfs_node *c = f->node->children[i];
                if (!c->link && S_ISDIR(c->mode))
                        subdirs++;
        }
        f->node->nlink = 2 + subdirs;
        close(f->fd);
        free(f->names);
        free(f->offs);
}

static int walk(struct scan *s)
{
        unsigned since_progress = 0;
        while (s->depth > 0) {
                struct frame *f = &s->stack[s->depth - 1];
                if (f->i == f->n) {
                        pop_dir(s);
                        continue;
                }
                const char *name = f->names + f->offs[f->i++];
                int r = scan_entry(s, f, name, (unsigned char)name[-1]);
                if (r < 0)
                        return r;
                if (atomic_load(&s->pool.failed))
                        return -ECANCELED;
                if (++since_progress % 64 == 0)
                        pool_kick(&s->pool);
                if (since_progress == 256) {
                        since_progress = 0;
                        report_progress(s, false);
                }
        }
        return 0;
}

/* After the pool drained: the digests are in; name the objects. */
static int set_payload(struct cfs_node *n, void *userdata)
{
        struct scan *s = userdata;
        if (n->link || !S_ISREG(n->mode) || n->size <= CFS_SCAN_INLINE_MAX)
                return 0;
        char name[66];
        cfs_store_object_name(n->digest, name);
        n->payload = cfs_tree_strndup(s->tree, name, strlen(name));
        if (!n->payload)
                return -ENOMEM;
        n->has_digest = true;
        return 0;
}

static int scan_root(struct scan *s, const char *path)
{
        struct cfs_node *root;
        struct stat st;
        int r;

        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return cfs_error_set(s->err, errno, "%s: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return cfs_error_set(s->err, r, "%s: %s", path, strerror(-r));
        }
        r = cfs_tree_add_root(s->tree, &root);
        if (r >= 0)
                r = fill_stat(s, root, &st);
        if (r >= 0)
                r = read_xattrs(s, root, NULL, fd);
        if (r < 0) {
                close(fd);
                return r;
        }
        s->progress.entries = 1;
        return push_dir(s, root, fd);
}

static void scan_cleanup(struct scan *s)
{
        atomic_store(&s->pool.canceled, true);
        pool_stop(&s->pool);
        while (s->depth > 0)
                pop_dir(s);
        free(s->stack);
        free(s->inodes.slots);
        free(s->path);
        free(s->xattr_list);
        free(s->xattr_value);
        free(s->dents);
        cfs_tree_free(s->tree);
}

/* The first failure of a hashing thread, with the path of its file. */
static int pool_error(struct scan *s)
{
        struct pool *p = &s->pool;
        _cleanup_free_ char *path = p->err_node ? cfs_node_path(p->err_node) : NULL;
        if (!path)
                return cfs_error_set(s->err, p->err_code, "%s",
                                     cfs_error_text(&p->err, p->err_code));
        /* reuse the message escaping: make it the current path */
        int r = path_set(s, 0, path + 1, strlen(path + 1));
        if (r < 0)
                return r;
        return scan_fail(s, p->err_code, "%s", cfs_error_text(&p->err, p->err_code));
}

int cfs_scan_dir(const char *path, const struct cfs_scan_options *opts, struct cfs_tree **ret,
                 struct cfs_scan_result *result, struct cfs_error *err)
{
        struct scan s = {.opts = opts, .err = err};
        int r;

        if (result)
                *result = (struct cfs_scan_result){};
        clock_gettime(CLOCK_MONOTONIC, &s.last_progress);
        r = cfs_tree_new(&s.tree);
        if (r < 0)
                return r;
        s.xattr_value = malloc(XATTR_VALUE_BUF);
        s.xattr_list_alloc = 4096; /* never 0: a 0-sized list call returns the size */
        s.xattr_list = malloc(s.xattr_list_alloc);
        s.dents = malloc(DENTS_BUFFER_SIZE);
        if (!s.xattr_value || !s.xattr_list || !s.dents) {
                r = -ENOMEM;
                goto out;
        }
        r = pool_start(&s.pool, opts ? opts->threads : 0, opts ? opts->store : NULL);
        if (r < 0) {
                r = cfs_error_set(err, r, "cannot start hashing threads: %s", strerror(-r));
                goto out;
        }
        r = scan_root(&s, path);
        if (r >= 0)
                r = walk(&s);
        if (r >= 0)
                pool_drain(&s.pool, progress_tick, &s);
        if (atomic_load(&s.pool.failed)) {
                pool_drain(&s.pool, NULL, NULL);
                r = pool_error(&s);
                goto out;
        }
        if (r < 0)
                goto out;
        report_progress(&s, true);
        r = cfs_tree_walk(s.tree, set_payload, &s);
        if (r < 0)
                goto out;
        if (opts && opts->store) {
                /* the objects the tree names are durable before it is returned */
                r = cfs_store_commit(opts->store, err);
                if (r < 0)
                        goto out;
        }
        cfs_tree_sort(s.tree);
        if (result) {
                result->objects_added = atomic_load(&s.pool.added);
                result->objects_existed = atomic_load(&s.pool.existed);
                result->objects_without_verity = atomic_load(&s.pool.no_verity);
                result->digests_from_verity = atomic_load(&s.pool.from_verity);
        }
        *ret = TAKE_PTR(s.tree);
out:
        if (r < 0 && err && err->code == 0)
                cfs_error_set(err, r, "%s", strerror(-r));
        scan_cleanup(&s);
        return r;
}

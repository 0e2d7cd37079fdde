/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fileio.h - file helpers that never leave half-written files behind: an
 * anonymous temp file in the target directory (O_TMPFILE, or a unique name that
 * is unlinked on failure) that only gets its final name after fsync. Also full
 * reads/writes that retry on EINTR and short transfers. Host and initrd.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cfs_tmpfile {
        int fd;         /* open for read+write */
        int dir_fd;     /* directory the file will be linked into */
        char *tmp_name; /* name of a visible temp file (fallback path), else NULL */
};

#define CFS_TMPFILE_INIT ((struct cfs_tmpfile){.fd = -1, .dir_fd = -1, .tmp_name = NULL})

/*
 * Create an unnamed temp file in the directory of @path (@path names the file
 * that cfs_tmpfile_commit() will create). Mode 0644 before umask.
 */
int cfs_tmpfile_open(const char *path, struct cfs_tmpfile *ret);

/*
 * fsync the file, give it its final name (the last component of @path, inside
 * the directory given at open), fsync the directory. With @replace an existing
 * file is atomically replaced; without it, -EEXIST if the name exists.
 */
int cfs_tmpfile_commit(struct cfs_tmpfile *t, const char *path, int replace);

/* Close and discard (unlink the visible temp name, if any). Safe to call twice. */
void cfs_tmpfile_discard(struct cfs_tmpfile *t);

/* Last path component of @path (points into @path). */
const char *cfs_path_basename(const char *path);

/* write()/pwrite() all of @buf; -errno on failure (ENOSPC included). */
int cfs_write_all(int fd, const void *buf, size_t len);
int cfs_pwrite_all(int fd, const void *buf, size_t len, off_t off);
/* read()/pread() exactly @len bytes; -EIO on a short file. */
int cfs_read_all(int fd, void *buf, size_t len);
int cfs_pread_all(int fd, void *buf, size_t len, off_t off);

/*
 * Read a whole file (or stdin for "-") into memory, at most @max bytes
 * (-EFBIG if larger). *ret is malloc()ed and NUL-terminated (not counted).
 */
int cfs_read_file(const char *path, size_t max, char **ret, size_t *ret_len);

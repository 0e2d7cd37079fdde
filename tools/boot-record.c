/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * boot-record.c - the /run/cfsroot/booted record (see boot-record.h): written
 * by setup-root in the initrd, read by status on the booted system.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "boot-record.h"
#include "fileio.h"
#include "macros.h"

enum field_type { F_TEXT, F_U64 };

static const struct field {
        const char *key;
        enum field_type type;
        size_t offset, size;
} fields[] = {
#define TEXT(k)                                                                                    \
        {                                                                                          \
#k, F_TEXT, offsetof(struct cfs_boot_record, k),                                   \
                    sizeof(((struct cfs_boot_record *)0)->k)                                       \
        }
    TEXT(digest),      TEXT(image),
    TEXT(mode),        TEXT(signer),
    TEXT(key_id),      TEXT(name),
    TEXT(version),     {"generation", F_U64, offsetof(struct cfs_boot_record, generation), 8},
    TEXT(source),      TEXT(verity),
    TEXT(etc),         TEXT(var),
    TEXT(tpm_policy),  TEXT(measured_pcr),
    TEXT(measurement),
#undef TEXT
};

/* Append "key=value\n" with the value escaped; false if it does not fit. */
static bool put(char *buf, size_t size, size_t *pos, const char *key, const char *v)
{
        int n = snprintf(buf + *pos, size - *pos, "%s=", key);
        if (n < 0 || (size_t)n >= size - *pos)
                return false;
        *pos += (size_t)n;
        for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
                n = *p < 0x20 || *p == 0x7f || *p == '\\'
                        ? snprintf(buf + *pos, size - *pos, "\\x%02x", *p)
                        : snprintf(buf + *pos, size - *pos, "%c", *p);
                if (n < 0 || (size_t)n >= size - *pos)
                        return false;
                *pos += (size_t)n;
        }
        if (*pos + 1 >= size)
                return false;
        buf[(*pos)++] = '\n';
        buf[*pos] = 0;
        return true;
}

int cfs_boot_record_write(const char *path, const struct cfs_boot_record *r)
{
        char buf[CFS_BOOT_RECORD_MAX];
        size_t pos = 0;
        int n = snprintf(buf, sizeof(buf), "# what cfsroot setup-root verified and mounted as /\n");
        pos = (size_t)n;
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const void *f = (const uint8_t *)r + fields[i].offset;
                char num[24];
                const char *v = f;
                if (fields[i].type == F_U64) {
                        snprintf(num, sizeof(num), "%" PRIu64, *(const uint64_t *)f);
                        v = num;
                }
                if (!put(buf, sizeof(buf), &pos, fields[i].key, v))
                        return -E2BIG;
        }

        char dir[1024];
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = 0;
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        return -errno;
        }
        struct cfs_tmpfile t = CFS_TMPFILE_INIT;
        int rc = cfs_tmpfile_open(path, &t);
        if (rc < 0)
                return rc;
        rc = cfs_write_all(t.fd, buf, pos);
        if (rc >= 0)
                rc = cfs_tmpfile_commit(&t, path, 1);
        cfs_tmpfile_discard(&t);
        return rc;
}

/* Undo put()'s escaping into @dst (@size bytes); false on a bad escape or overflow. */
static bool unescape(const char *v, char *dst, size_t size)
{
        size_t o = 0;
        for (const char *p = v; *p; p++) {
                char c = *p;
                if (c == '\\') {
                        unsigned x;
                        if (p[1] != 'x' || sscanf(p + 2, "%2x", &x) != 1 || !p[2] || !p[3])
                                return false;
                        c = (char)x;
                        p += 3;
                }
                if (o + 1 >= size)
                        return false;
                dst[o++] = c;
        }
        dst[o] = 0;
        return true;
}

static int parse_line(char *line, unsigned no, const char *path, struct cfs_boot_record *r,
                      struct cfs_error *err)
{
        if (!line[0] || line[0] == '#')
                return 0;
        char *eq = strchr(line, '=');
        if (!eq)
                return cfs_error_set(err, EINVAL, "%s:%u: expected key=value", path, no);
        *eq = 0;
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                if (strcmp(fields[i].key, line))
                        continue;
                void *f = (uint8_t *)r + fields[i].offset;
                if (fields[i].type == F_U64) {
                        char *end;
                        errno = 0;
                        unsigned long long x = strtoull(eq + 1, &end, 10);
                        if (errno || end == eq + 1 || *end)
                                return cfs_error_set(err, EINVAL, "%s:%u: %s: expected a number",
                                                     path, no, line);
                        *(uint64_t *)f = x;
                } else if (!unescape(eq + 1, f, fields[i].size)) {
                        return cfs_error_set(err, EINVAL, "%s:%u: %s: value malformed or too long",
                                             path, no, line);
                }
                return 0;
        }
        return 0; /* a newer cfsroot's key */
}

int cfs_boot_record_read(const char *path, struct cfs_boot_record *r, struct cfs_error *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int rc = cfs_read_file(path, CFS_BOOT_RECORD_MAX, &text, &len);
        if (rc == -ENOENT)
                return rc;
        if (rc < 0)
                return cfs_error_set(err, -rc, "%s: cannot read: %s", path, strerror(-rc));
        if (memchr(text, 0, len))
                return cfs_error_set(err, EINVAL, "%s: contains a NUL byte", path);
        memset(r, 0, sizeof(*r));
        unsigned no = 0;
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                rc = parse_line(line, ++no, path, r, err);
                if (rc < 0)
                        return rc;
        }
        if (strlen(r->digest) != 64)
                return cfs_error_set(err, EINVAL, "%s: no valid digest= line", path);
        return 0;
}

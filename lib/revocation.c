/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* revocation.c - revoked keys and image digests (see revocation.h). Initrd and host. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "revocation.h"

enum entry_kind { ENTRY_KEY, ENTRY_IMAGE };

struct entry {
        uint8_t kind;
        uint8_t hash[32];
};

struct cfs_revocation {
        struct entry *entries;
        size_t n, alloc;
};

void cfs_revocation_free(struct cfs_revocation *r)
{
        if (r) {
                free(r->entries);
                free(r);
        }
}

size_t cfs_revocation_count(const struct cfs_revocation *r)
{
        return r->n;
}

static bool has(const struct cfs_revocation *r, enum entry_kind kind, const uint8_t hash[32])
{
        for (size_t i = 0; i < r->n; i++)
                if (r->entries[i].kind == kind && memcmp(r->entries[i].hash, hash, 32) == 0)
                        return true;
        return false;
}

bool cfs_revocation_has_key(const struct cfs_revocation *r, const uint8_t key_id[CFS_KEY_ID_SIZE])
{
        return has(r, ENTRY_KEY, key_id);
}

bool cfs_revocation_has_image(const struct cfs_revocation *r, const uint8_t digest[CFS_DIGEST_SIZE])
{
        return has(r, ENTRY_IMAGE, digest);
}

/* Exactly 64 lowercase or uppercase hex digits. */
static int parse_hash(const char *s, size_t len, uint8_t out[32])
{
        if (len != 64)
                return -EINVAL;
        for (size_t i = 0; i < 64; i++) {
                char c = s[i];
                int x = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
                if (x < 0)
                        return -EINVAL;
                if (i % 2 == 0)
                        out[i / 2] = (uint8_t)(x << 4);
                else
                        out[i / 2] |= (uint8_t)x;
        }
        return 0;
}

static int add(struct cfs_revocation *r, enum entry_kind kind, const uint8_t hash[32])
{
        if (cfs_reserve(&r->entries, &r->alloc, r->n + 1, sizeof(*r->entries), 16) < 0)
                return -ENOMEM;
        r->entries[r->n].kind = (uint8_t)kind;
        memcpy(r->entries[r->n].hash, hash, 32);
        r->n++;
        return 0;
}

static int parse_line(struct cfs_revocation *r, const char *s, size_t len, const char *name,
                      unsigned line, struct cfs_error *err)
{
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
                len--;
        while (len > 0 && (*s == ' ' || *s == '\t')) {
                s++;
                len--;
        }
        if (len == 0 || s[0] == '#')
                return 0;
        uint8_t hash[32];
        if (len > 4 && !memcmp(s, "key ", 4)) {
                const char *v = s + 4;
                size_t vlen = len - 4;
                if (vlen > 7 && !memcmp(v, "sha256:", 7) && parse_hash(v + 7, vlen - 7, hash) == 0)
                        return add(r, ENTRY_KEY, hash);
                return cfs_error_set(err, EINVAL, "%s:%u: expected 'key sha256:<64 hex digits>'",
                                     name, line);
        }
        if (len > 6 && !memcmp(s, "image ", 6)) {
                if (parse_hash(s + 6, len - 6, hash) == 0)
                        return add(r, ENTRY_IMAGE, hash);
                return cfs_error_set(err, EINVAL, "%s:%u: expected 'image <64 hex digits>'", name,
                                     line);
        }
        return cfs_error_set(err, EINVAL,
                             "%s:%u: expected 'key sha256:<hex>' or 'image <hex>', found '%.*s'",
                             name, line, (int)CFS_MIN(len, 80u), s);
}

int cfs_revocation_parse(const char *text, size_t len, const char *name,
                         struct cfs_revocation **ret, struct cfs_error *err)
{
        _cleanup_(cfs_revocation_freep) struct cfs_revocation *r = calloc(1, sizeof(*r));
        unsigned line = 0;
        if (!r)
                return -ENOMEM;
        if (len > CFS_REVOCATION_FILE_MAX)
                return cfs_error_set(err, EFBIG, "%s: larger than %u bytes", name,
                                     CFS_REVOCATION_FILE_MAX);
        if (memchr(text, 0, len))
                return cfs_error_set(err, EINVAL, "%s: contains a NUL byte", name);
        for (size_t pos = 0; pos < len;) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
                int e = parse_line(r, text + pos, n, name, ++line, err);
                if (e < 0)
                        return e;
                pos += n + 1;
        }
        *ret = TAKE_PTR(r);
        return 0;
}

int cfs_revocation_load(const char *path, struct cfs_revocation **ret, struct cfs_error *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = cfs_read_file(path, CFS_REVOCATION_FILE_MAX, &text, &len);
        if (r < 0)
                return cfs_error_set(err, -r, "%s: cannot read the revocation list: %s", path,
                                     strerror(-r));
        return cfs_revocation_parse(text, len, path, ret, err);
}

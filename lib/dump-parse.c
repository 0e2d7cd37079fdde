/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dump-parse.c - parse a composefs dump (COMPOSEFS-FORMAT.md §14) into a tree,
 * the way `mkcomposefs --from-file` interprets it: same checks, in the same
 * order, with upstream's messages prefixed by "NAME:LINE: ". Streams its input
 * line by line. Host (cfsroot mkimage) and initrd tools.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump.h"

#define N_FIELDS 11
enum {
        F_PATH,
        F_SIZE,
        F_MODE,
        F_NLINK,
        F_UID,
        F_GID,
        F_RDEV,
        F_MTIME,
        F_PAYLOAD,
        F_CONTENT,
        F_DIGEST
};

#define READ_CHUNK (1u << 20)

struct field {
        const char *p;
        size_t len;
};

struct fixup {
        struct cfs_node *node; /* the hard-link node; ->payload is the target path */
        size_t line;
};

struct parser {
        struct cfs_tree *t;
        const char *name;
        bool strict;
        struct cfs_error *err;
        size_t line; /* 1-based number of the line being parsed */

        char *scratch; /* unescaped fields of the current line */
        size_t scratch_size;

        struct fixup *fixups;
        size_t n_fixups, alloc_fixups;

        /* the last directory looked up or created, by its path as written */
        char *cache;
        size_t cache_len, cache_alloc;
        struct cfs_node *cache_node;

        char show[256]; /* bytes quoted for the current error message */
};

static int perr(struct parser *p, int code, const char *fmt, ...) _printf_(3, 4);
static int perr(struct parser *p, int code, const char *fmt, ...)
{
        char msg[CFS_ERROR_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (p->line > 0)
                return cfs_error_set(p->err, code, "%s:%zu: %s", p->name, p->line, msg);
        return cfs_error_set(p->err, code, "%s: %s", p->name, msg);
}

/* @data made printable for an error message (valid until the next call). */
static const char *show(struct parser *p, const void *data, size_t len)
{
        cfs_escape_message(p->show, sizeof(p->show), data, len);
        return p->show;
}

static int invalid_integer(struct parser *p, struct field f)
{
        return perr(p, EINVAL, "Invalid integer %s", show(p, f.p, f.len));
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/*
 * A number the way strtoull() reads it, but the whole field must be used:
 * leading white space, an optional sign ("-1" wraps), at least one digit; too
 * large values saturate to UINT64_MAX.
 */
static bool parse_number(struct field f, unsigned base, uint64_t *ret)
{
        size_t i = 0;
        bool neg = false, overflow = false;
        uint64_t v = 0;

        while (i < f.len && is_space(f.p[i]))
                i++;
        if (i < f.len && (f.p[i] == '+' || f.p[i] == '-'))
                neg = f.p[i++] == '-';
        if (i == f.len)
                return false;
        for (; i < f.len; i++) {
                unsigned d = (unsigned)(unsigned char)f.p[i] - '0';
                if (d >= base)
                        return false;
                if (!overflow &&
                    (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v)))
                        overflow = true;
        }
        *ret = overflow ? UINT64_MAX : neg ? -v : v;
        return true;
}

static bool is_dash(struct field f)
{
        return f.len == 1 && f.p[0] == '-';
}

/* Split a line at single spaces: 11 fields (missing ones empty), then the xattr text. */
static void split_line(const char *line, size_t len, struct field f[N_FIELDS], struct field *xattrs)
{
        size_t pos = 0;
        bool more = true;

        for (int i = 0; i < N_FIELDS; i++) {
                if (!more) {
                        f[i] = (struct field){line + len, 0};
                        continue;
                }
                const char *sp = memchr(line + pos, ' ', len - pos);
                size_t end = sp ? (size_t)(sp - line) : len;
                f[i] = (struct field){line + pos, end - pos};
                if (sp)
                        pos = end + 1;
                else
                        more = false;
        }
        *xattrs = more ? (struct field){line + pos, len - pos} : (struct field){line + len, 0};
}

/* Unescape @f into @out; errors get the line prefix. */
static int unescape(struct parser *p, struct field f, char *out, size_t *ret_len)
{
        struct cfs_error e = {};
        int r = cfs_unescape(f.p, f.len, out, ret_len, &e);
        if (r < 0)
                return perr(p, -r, "%s", e.message);
        return 0;
}

static int ensure_scratch(struct parser *p, size_t len)
{
        return cfs_reserve(&p->scratch, &p->scratch_size, len + 64, 1, 0);
}

static int cache_set(struct parser *p, const char *path, size_t len, struct cfs_node *n)
{
        if (cfs_reserve(&p->cache, &p->cache_alloc, len, 1, 0) < 0)
                return -ENOMEM;
        if (len)
                memcpy(p->cache, path, len);
        p->cache_len = len;
        p->cache_node = n;
        return 0;
}

/* The node at @path (parent directories of dump lines are mostly the same as
 * on the line before, so remember the last one). */
static struct cfs_node *lookup_dir(struct parser *p, const char *path, size_t len)
{
        if (p->cache_node && len == p->cache_len && (len == 0 || memcmp(path, p->cache, len) == 0))
                return p->cache_node;
        struct cfs_node *n = cfs_tree_lookup_path(p->t, path, len);
        if (n && cache_set(p, path, len, n) < 0)
                p->cache_node = NULL;
        return n;
}

static bool valid_type(uint32_t mode)
{
        switch (mode & S_IFMT) {
        case S_IFDIR:
        case S_IFREG:
        case S_IFLNK:
        case S_IFCHR:
        case S_IFBLK:
        case S_IFIFO:
        case S_IFSOCK:
                return true;
        default:
                return false;
        }
}

static int add_root(struct parser *p, uint32_t mode, struct cfs_node **ret)
{
        if (!S_ISDIR(mode))
                return perr(p, EINVAL, "Root must be a directory");
        if (cfs_tree_root(p->t))
                return perr(p, EINVAL, "Can't have multiple roots");
        int r = cfs_tree_add_root(p->t, ret);
        if (r < 0)
                return perr(p, -r, "Can't add root: %s", strerror(-r));
        (*ret)->mode = mode;
        return cache_set(p, "/", 1, *ret);
}

/* Create the node of @path (unescaped, NUL-free) with @mode ("tree insertion"). */
static int insert_node(struct parser *p, const char *path, size_t len, uint32_t mode,
                       struct cfs_node **ret)
{
        if (len == 1 && path[0] == '/')
                return add_root(p, mode, ret);
        if (!cfs_tree_root(p->t))
                return perr(p, EINVAL, "Root node not present");

        const char *slash = memrchr(path, '/', len);
        size_t dir_len = slash ? (size_t)(slash - path) : 0;
        const char *name = slash ? slash + 1 : path;
        size_t name_len = len - (size_t)(name - path);

        struct cfs_node *dir = lookup_dir(p, path, dir_len);
        if (!dir)
                return perr(p, EINVAL, "Parent directory missing for %s", show(p, path, len));
        if (!S_ISDIR(dir->mode))
                return perr(p, EINVAL, "Parent must be a directory for %s", show(p, path, len));
        if ((name_len == 1 && name[0] == '.') ||
            (name_len == 2 && name[0] == '.' && name[1] == '.'))
                return perr(p, EINVAL, "Invalid . or .. in path: %s", show(p, path, len));
        if (name_len == 0)
                return perr(p, EINVAL, "Can't add child %s: empty name", show(p, path, len));
        if (name_len > CFS_NAME_MAX)
                return perr(p, EINVAL, "Can't add child %s: name longer than %u bytes",
                            show(p, path, len), CFS_NAME_MAX);
        int r = cfs_tree_add_child(p->t, dir, name, name_len, ret);
        if (r == -EEXIST)
                return perr(p, EINVAL, "Can't add child %s: path already exists",
                            show(p, path, len));
        if (r < 0)
                return perr(p, -r, "Can't add child %s: %s", show(p, path, len), strerror(-r));
        (*ret)->mode = mode;
        if (S_ISDIR(mode))
                return cache_set(p, path, len, *ret);
        return 0;
}

static int add_fixup(struct parser *p, struct cfs_node *n)
{
        if (cfs_reserve(&p->fixups, &p->alloc_fixups, p->n_fixups + 1, sizeof(*p->fixups), 64) < 0)
                return -ENOMEM;
        p->fixups[p->n_fixups++] = (struct fixup){n, p->line};
        return 0;
}

/* "@MODE" lines: only PATH, MODE and PAYLOAD matter; the target is found later. */
static int parse_hardlink(struct parser *p, struct cfs_node *n, struct field payload, char *out)
{
        size_t len;

        if (S_ISDIR(n->mode))
                return perr(p, EINVAL, "Directories can't be hardlinked");
        if (is_dash(payload))
                return perr(p, EINVAL, "No target path for the hardlink");
        int r = unescape(p, payload, out, &len);
        if (r < 0)
                return r;
        n->payload = cfs_tree_strndup(p->t, out, strnlen(out, len));
        if (!n->payload)
                return -ENOMEM;
        return add_fixup(p, n);
}

/* Leading hex pairs give the first bytes, the rest stays zero (§14.1). */
static void decode_digest(const char *s, size_t len, uint8_t out[CFS_DIGEST_SIZE])
{
        memset(out, 0, CFS_DIGEST_SIZE);
        for (size_t i = 0; i < CFS_DIGEST_SIZE && 2 * i + 1 < len; i++) {
                int hi = cfs_hexval((unsigned char)s[2 * i]),
                    lo = cfs_hexval((unsigned char)s[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        break;
                out[i] = (uint8_t)(hi << 4 | lo);
        }
}

/* One xattr, with the per-line budget of §14.7 (@budget starts at 0 per line). */
static int set_xattr(struct parser *p, struct cfs_node *n, const char *name, size_t name_len,
                     const char *value, size_t value_len, uint64_t *budget)
{
        if (name_len == 0)
                return perr(p, EINVAL, "Can't set xattr: empty name");
        if (name_len > CFS_XATTR_NAME_MAX)
                return perr(p, EINVAL, "Can't set xattr %s: name longer than %u bytes",
                            show(p, name, name_len), CFS_XATTR_NAME_MAX);
        if (value_len > CFS_XATTR_VALUE_MAX)
                return perr(p, EINVAL, "Can't set xattr %s: value longer than %u bytes",
                            show(p, name, name_len), CFS_XATTR_VALUE_MAX);
        const struct cfs_xattr *old = cfs_node_get_xattr(p->t, n, name, name_len);
        uint32_t count = n->n_xattrs;
        if (old) {
                count--;
                *budget = count > 0 ? *budget - (7u + name_len + old->value_len) : 0;
        }
        uint64_t cost = 7u + name_len + value_len + (count == 0 ? 12u : 0u);
        if (*budget + cost > CFS_XATTR_BUDGET)
                return perr(p, EINVAL, "Can't set xattr %s: the xattrs of a node exceed %u bytes",
                            show(p, name, name_len), CFS_XATTR_BUDGET);
        *budget += cost;
        int r = cfs_node_set_xattr(p->t, n, name, name_len, value, value_len);
        if (r < 0)
                return perr(p, -r, "Can't set xattr %s: %s", show(p, name, name_len), strerror(-r));
        return 0;
}

static int parse_xattrs(struct parser *p, struct cfs_node *n, struct field x, char *out)
{
        const char *s = x.p, *end = x.p + x.len;
        uint64_t budget = 0;
        int r;

        if (x.len > CFS_XATTR_VALUE_MAX)
                return perr(p, EINVAL, "Too many xattrs");
        while (s < end) {
                const char *sp = memchr(s, ' ', (size_t)(end - s));
                const char *tok_end = sp ? sp : end;
                const char *eq = memchr(s, '=', (size_t)(tok_end - s));
                size_t name_len, value_len;
                if (!eq)
                        return perr(p, EINVAL, "Missing = in xattr");
                struct field name = {s, (size_t)(eq - s)};
                struct field value = {eq + 1, (size_t)(tok_end - eq - 1)};
                char *vout = out + name.len;
                r = unescape(p, name, out, &name_len);
                if (r < 0)
                        return r;
                r = unescape(p, value, vout, &value_len);
                if (r < 0)
                        return r;
                r = set_xattr(p, n, out, strnlen(out, name_len), vout, value_len, &budget);
                if (r < 0)
                        return r;
                s = sp ? sp + 1 : end;
        }
        return 0;
}

struct numbers {
        uint64_t size, nlink, uid, gid, rdev, sec, nsec;
};

static int parse_numbers(struct parser *p, const struct field f[N_FIELDS], struct numbers *v)
{
        if (!parse_number(f[F_SIZE], 10, &v->size))
                return invalid_integer(p, f[F_SIZE]);
        if (!parse_number(f[F_NLINK], 10, &v->nlink))
                return invalid_integer(p, f[F_NLINK]);
        if (!parse_number(f[F_UID], 10, &v->uid))
                return invalid_integer(p, f[F_UID]);
        /* upstream quirk: GID and RDEV errors only count when UID is 0 */
        if (!parse_number(f[F_GID], 10, &v->gid)) {
                if (v->uid == 0)
                        return invalid_integer(p, f[F_GID]);
                v->gid = 0;
        }
        if (!parse_number(f[F_RDEV], 10, &v->rdev)) {
                if (v->uid == 0)
                        return invalid_integer(p, f[F_RDEV]);
                v->rdev = 0;
        }
        struct field m = f[F_MTIME];
        const char *dot = memchr(m.p, '.', m.len);
        struct field sec = {m.p, dot ? (size_t)(dot - m.p) : m.len};
        struct field nsec =
            dot ? (struct field){dot + 1, m.len - sec.len - 1} : (struct field){m.p + m.len, 0};
        if (!parse_number(sec, 10, &v->sec))
                return invalid_integer(p, sec);
        if (!parse_number(nsec, 10, &v->nsec))
                return invalid_integer(p, nsec);
        return 0;
}

/* An unescaped optional field: absent ("-"), or @len bytes at @s. */
struct opt {
        const char *s;
        size_t len;
        bool present;
};

static int unescape_opt(struct parser *p, struct field f, char **out, struct opt *o)
{
        *o = (struct opt){};
        if (is_dash(f))
                return 0;
        int r = unescape(p, f, *out, &o->len);
        if (r < 0)
                return r;
        o->s = *out;
        o->present = true;
        *out += o->len;
        return 0;
}

/* Type-specific checks of §14.3/§14.4, in upstream's order. */
static int check_node(struct parser *p, uint32_t mode, const struct numbers *v,
                      const struct opt *payload, const struct opt *content)
{
        if (p->strict && !S_ISCHR(mode) && !S_ISBLK(mode) && v->rdev != 0)
                return perr(p, EINVAL, "Non-zero devnum on non-device");
        if (S_ISLNK(mode)) {
                if (!payload->present || payload->len == 0 || payload->len > CFS_SYMLINK_MAX)
                        return perr(p, EINVAL, "Invalid symlink");
                if (p->strict && payload->len != v->size)
                        return perr(p, EINVAL, "Invalid symlink size %zu, must match size %lld",
                                    payload->len, (long long)v->size);
                if (p->strict && content->present && content->len > 0)
                        return perr(p, EINVAL, "Symlink cannot have content");
                return 0;
        }
        if (payload->present && payload->len > CFS_PAYLOAD_MAX)
                return perr(p, EINVAL, "Invalid payload");
        if (content->present && content->len > CFS_INLINE_MAX)
                return perr(p, EINVAL, "Inline content size %zu exceeds maximum %u", content->len,
                            CFS_INLINE_MAX);
        return 0;
}

/* Everything after tree insertion for a non-hard-link line. */
static int parse_fields(struct parser *p, struct cfs_node *n, const struct field f[N_FIELDS],
                        struct field xattrs, char *out)
{
        struct numbers v;
        struct opt payload, content, digest;
        int r;

        r = parse_numbers(p, f, &v);
        if (r < 0)
                return r;
        r = unescape_opt(p, f[F_PAYLOAD], &out, &payload);
        if (r >= 0)
                r = unescape_opt(p, f[F_CONTENT], &out, &content);
        if (r >= 0)
                r = unescape_opt(p, f[F_DIGEST], &out, &digest);
        if (r < 0)
                return r;
        payload.len = strnlen(payload.s ? payload.s : "", payload.len);
        digest.len = strnlen(digest.s ? digest.s : "", digest.len);
        if (content.present && content.len != v.size)
                return perr(p, EINVAL, "Invalid content size %zu, must match size %" PRIu64,
                            content.len, v.size);
        r = check_node(p, n->mode, &v, &payload, &content);
        if (r < 0)
                return r;
        if (S_ISLNK(n->mode)) {
                v.size = payload.len;
                content.present = false;
        }
        n->size = v.size;
        n->nlink = (uint32_t)v.nlink;
        n->uid = (uint32_t)v.uid;
        n->gid = (uint32_t)v.gid;
        n->rdev = (uint32_t)v.rdev;
        n->mtime_sec = (int64_t)v.sec;
        n->mtime_nsec = (uint32_t)v.nsec;
        if (payload.present && !(n->payload = cfs_tree_strndup(p->t, payload.s, payload.len)))
                return -ENOMEM;
        if (content.present && content.len > 0 &&
            !(n->content = cfs_tree_memdup(p->t, content.s, content.len)))
                return -ENOMEM;
        if (digest.present) {
                n->has_digest = true;
                decode_digest(digest.s, digest.len, n->digest);
        }
        return parse_xattrs(p, n, xattrs, out);
}

static int parse_line(struct parser *p, const char *line, size_t len)
{
        struct field f[N_FIELDS], xattrs;
        struct cfs_node *n;
        size_t path_len;
        uint64_t mode;
        int r;

        const char *nul = memchr(line, 0, len);
        if (nul)
                return perr(p, EINVAL, "Invalid embedded NUL character at position %zu",
                            (size_t)(nul - line));
        if (len > CFS_DUMP_LINE_MAX)
                return perr(p, EINVAL, "Line too long (more than %u bytes)", CFS_DUMP_LINE_MAX);
        r = ensure_scratch(p, len);
        if (r < 0)
                return r;
        split_line(line, len, f, &xattrs);

        char *path = p->scratch;
        r = unescape(p, f[F_PATH], path, &path_len);
        if (r < 0)
                return r;
        path_len = strnlen(path, path_len);
        if (path_len == 0)
                return perr(p, EINVAL, "Invalid empty path");
        char *out = path + path_len;

        struct field m = f[F_MODE];
        bool hardlink = m.len > 0 && m.p[0] == '@';
        if (hardlink)
                m.p++, m.len--;
        if (!parse_number(m, 8, &mode))
                return invalid_integer(p, m);
        if (!valid_type((uint32_t)mode))
                return perr(p, EINVAL, "Invalid mode %o", (unsigned)mode);
        r = insert_node(p, path, path_len, (uint32_t)mode, &n);
        if (r < 0)
                return r;
        if (hardlink)
                return parse_hardlink(p, n, f[F_PAYLOAD], out);
        return parse_fields(p, n, f, xattrs, out);
}

/* After the last line: find every hard link's target, collapse chains. */
static int resolve_hardlinks(struct parser *p)
{
        /* reverse file order, like upstream (decides which error is reported) */
        for (size_t i = p->n_fixups; i-- > 0;) {
                struct cfs_node *n = p->fixups[i].node;
                size_t len = strlen(n->payload);
                p->line = p->fixups[i].line;
                struct cfs_node *target = cfs_tree_lookup_path(p->t, n->payload, len);
                if (!target)
                        return perr(p, EINVAL, "No target at %s for hardlink",
                                    show(p, n->payload, len));
                if (target == n)
                        return perr(p, EINVAL, "Self-referential hardlink %s",
                                    show(p, n->payload, len));
                n->link = target;
        }
        for (size_t i = p->n_fixups; i-- > 0;) {
                struct cfs_node *n = p->fixups[i].node, *end = n;
                size_t steps = 0;
                while (end->link) {
                        end = end->link;
                        if (++steps > p->n_fixups) {
                                _cleanup_free_ char *path = cfs_node_path(n);
                                p->line = p->fixups[i].line;
                                return perr(p, ELOOP,
                                            "Too many levels of symbolic links: hardlink %s is "
                                            "part of a cycle",
                                            path ? show(p, path, strlen(path)) : "?");
                        }
                }
                for (struct cfs_node *m = n, *next; m != end; m = next) {
                        next = m->link;
                        m->link = end;
                }
        }
        return 0;
}

static int parser_finish(struct parser *p, struct cfs_tree **ret)
{
        if (!cfs_tree_root(p->t)) {
                p->line = 0;
                return perr(p, EINVAL, "No files in dump file");
        }
        int r = resolve_hardlinks(p);
        if (r < 0)
                return r;
        cfs_tree_sort(p->t);
        *ret = TAKE_PTR(p->t);
        return 0;
}

static void parser_free(struct parser *p)
{
        cfs_tree_free(p->t);
        free(p->scratch);
        free(p->fixups);
        free(p->cache);
}

static int parser_init(struct parser *p, const char *name, const struct cfs_dump_options *opts,
                       struct cfs_error *err)
{
        *p = (struct parser){
            .name = name ? name : "<input>",
            .strict = opts && opts->strict,
            .err = err,
        };
        return cfs_tree_new(&p->t);
}

/* The last line of the input has no newline. */
static int parse_last_line(struct parser *p, const char *line, size_t len)
{
        p->line++;
        if (p->strict)
                return perr(p, EINVAL, "Missing trailing newline");
        return parse_line(p, line, len);
}

/* Parse every complete line in [s, end); returns the number of bytes used or -errno. */
static ssize_t parse_lines(struct parser *p, const char *s, size_t len)
{
        const char *start = s, *end = s + len;

        while (s < end) {
                const char *nl = memchr(s, '\n', (size_t)(end - s));
                if (!nl)
                        break;
                p->line++;
                int r = parse_line(p, s, (size_t)(nl - s));
                if (r < 0)
                        return r;
                s = nl + 1;
        }
        return s - start;
}

int cfs_dump_parse_buffer(const void *buf, size_t len, const char *name,
                          const struct cfs_dump_options *opts, struct cfs_tree **ret,
                          struct cfs_error *err)
{
        _cleanup_(parser_free) struct parser p;
        int r = parser_init(&p, name, opts, err);
        if (r < 0)
                return r;
        ssize_t used = parse_lines(&p, buf, len);
        if (used < 0)
                return (int)used;
        if ((size_t)used < len) {
                r = parse_last_line(&p, (const char *)buf + used, len - (size_t)used);
                if (r < 0)
                        return r;
        }
        return parser_finish(&p, ret);
}

static int read_more(struct parser *p, int fd, char **buf, size_t *size, size_t *fill)
{
        if (*fill == *size) {
                /* a single line fills the buffer: grow it, up to the line limit */
                if (*size > CFS_DUMP_LINE_MAX) {
                        p->line++;
                        return perr(p, EINVAL, "Line too long (more than %u bytes)",
                                    CFS_DUMP_LINE_MAX);
                }
                size_t n = CFS_MIN(2 * *size, (size_t)CFS_DUMP_LINE_MAX + 1);
                char *b = realloc(*buf, n);
                if (!b)
                        return -ENOMEM;
                *buf = b;
                *size = n;
        }
        for (;;) {
                ssize_t n = read(fd, *buf + *fill, *size - *fill);
                if (n >= 0) {
                        *fill += (size_t)n;
                        return n > 0;
                }
                if (errno != EINTR)
                        return perr(p, errno, "read error: %s", strerror(errno));
        }
}

int cfs_dump_parse_fd(int fd, const char *name, const struct cfs_dump_options *opts,
                      struct cfs_tree **ret, struct cfs_error *err)
{
        _cleanup_(parser_free) struct parser p;
        int r = parser_init(&p, name, opts, err);
        if (r < 0)
                return r;
        size_t size = READ_CHUNK, fill = 0;
        _cleanup_free_ char *buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        /* buf[0, no_newline) is the start of a line already searched for its end */
        size_t no_newline = 0;
        for (;;) {
                r = read_more(&p, fd, &buf, &size, &fill);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (!memchr(buf + no_newline, '\n', fill - no_newline)) {
                        no_newline = fill;
                        continue;
                }
                ssize_t used = parse_lines(&p, buf, fill);
                if (used < 0)
                        return (int)used;
                memmove(buf, buf + used, fill - (size_t)used);
                fill -= (size_t)used;
                no_newline = fill;
        }
        if (fill > 0) {
                r = parse_last_line(&p, buf, fill);
                if (r < 0)
                        return r;
        }
        return parser_finish(&p, ret);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmdline.c - kernel command line parsing (see cmdline.h). Initrd (generator, setup-root) and host
 * tests. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "fileio.h"

static const char *const failure_names[] = {
    [CFS_FAILURE_POWEROFF] = "poweroff",
    [CFS_FAILURE_REBOOT] = "reboot",
    [CFS_FAILURE_HALT] = "halt",
    [CFS_FAILURE_EMERGENCY] = "emergency",
};

const char *cfs_failure_action_to_string(enum cfs_failure_action a)
{
        if (a <= CFS_FAILURE_UNSET || (size_t)a >= ELEMENTSOF(failure_names))
                return "unset";
        return failure_names[a];
}

int cfs_failure_action_from_string(const char *s, enum cfs_failure_action *ret)
{
        for (size_t i = CFS_FAILURE_POWEROFF; i < ELEMENTSOF(failure_names); i++)
                if (strcmp(s, failure_names[i]) == 0) {
                        *ret = (enum cfs_failure_action)i;
                        return 0;
                }
        return -EINVAL;
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Copy the next word of @s into @word (quotes removed); returns the index after it. */
static int next_word(const char *s, size_t len, size_t *pos, char *word, size_t *word_len)
{
        size_t i = *pos, n = 0;
        bool quoted = false;
        for (; i < len && (quoted || !is_space(s[i])); i++) {
                if (s[i] == 0)
                        return -EINVAL;
                if (s[i] == '"') {
                        quoted = !quoted;
                        continue;
                }
                word[n++] = s[i];
        }
        if (quoted)
                return -EINVAL;
        word[n] = 0;
        *word_len = n;
        *pos = i;
        return 0;
}

int cfs_cmdline_split(const char *s, size_t len,
                      int (*fn)(const char *key, const char *value, void *userdata), void *userdata)
{
        if (len > CFS_CMDLINE_MAX)
                return -E2BIG;
        _cleanup_free_ char *word = malloc(len + 1);
        if (!word)
                return -ENOMEM;
        size_t pos = 0;
        while (pos < len) {
                while (pos < len && is_space(s[pos]))
                        pos++;
                if (pos == len)
                        break;
                size_t wlen;
                int r = next_word(s, len, &pos, word, &wlen);
                if (r < 0)
                        return r;
                if (wlen == 0)
                        continue; /* "" */
                char *eq = strchr(word, '=');
                if (eq)
                        *eq = 0;
                r = fn(word, eq ? eq + 1 : NULL, userdata);
                if (r != 0)
                        return r;
        }
        return 0;
}

/* ---- cfsroot arguments ---- */

struct parse_state {
        struct cfs_cmdline *c;
        struct cfs_error *err;
};

static int parse_bool(const char *v, enum cfs_tristate *ret)
{
        static const char *const yes[] = {"1", "yes", "y", "true", "on"};
        static const char *const no[] = {"0", "no", "n", "false", "off"};
        if (!v) {
                *ret = CFS_YES; /* a bare flag means yes, as in systemd */
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (!strcmp(v, yes[i])) {
                        *ret = CFS_YES;
                        return 0;
                }
                if (!strcmp(v, no[i])) {
                        *ret = CFS_NO;
                        return 0;
                }
        }
        return -EINVAL;
}

bool cfs_path_is_safe(const char *v, size_t max)
{
        if (!v || v[0] != '/' || strlen(v) >= max)
                return false;
        for (const char *p = v; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return false;
        for (const char *p = v; (p = strstr(p, "..")); p += 2)
                if ((p == v || p[-1] == '/') && (p[2] == 0 || p[2] == '/'))
                        return false;
        return true;
}

static int set_path(struct parse_state *st, char *dst, const char *key, const char *v)
{
        if (!cfs_path_is_safe(v, CFS_CMDLINE_PATH_MAX))
                return cfs_error_set(st->err, EINVAL,
                                     "kernel command line: %s=%s: expected an absolute path "
                                     "without '..' components",
                                     key, v ? v : "(no value)");
        if (dst[0] && strcmp(dst, v) != 0)
                return cfs_error_set(st->err, EINVAL,
                                     "kernel command line: %s given twice with different "
                                     "values ('%s' and '%s')",
                                     key, dst, v);
        strcpy(dst, v);
        return 0;
}

static int set_tristate(struct parse_state *st, enum cfs_tristate *dst, const char *key,
                        const char *v)
{
        enum cfs_tristate t;
        if (parse_bool(v, &t) < 0)
                return cfs_error_set(st->err, EINVAL,
                                     "kernel command line: %s=%s: expected a boolean (1/0, "
                                     "yes/no)",
                                     key, v);
        if (*dst != CFS_UNSET && *dst != t)
                return cfs_error_set(st->err, EINVAL,
                                     "kernel command line: %s given twice with different values",
                                     key);
        *dst = t;
        return 0;
}

static int set_digest(struct parse_state *st, const char *v)
{
        uint8_t d[CFS_DIGEST_SIZE];
        size_t n = v ? strlen(v) : 0;
        bool ok = n == 2 * CFS_DIGEST_SIZE;
        for (size_t i = 0; ok && i < n; i++) {
                char c = v[i];
                int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
                if (x < 0)
                        ok = false;
                else if (i % 2 == 0)
                        d[i / 2] = (uint8_t)(x << 4);
                else
                        d[i / 2] |= (uint8_t)x;
        }
        if (!ok)
                return cfs_error_set(st->err, EINVAL,
                                     "kernel command line: composefs=%s: expected 64 lowercase "
                                     "hex digits (the image's fs-verity sha256 digest)",
                                     v ? v : "(no value)");
        if (st->c->has_digest && memcmp(st->c->digest, d, sizeof(d)) != 0)
                return cfs_error_set(st->err, EINVAL,
                                     "kernel command line: composefs= given twice with different "
                                     "digests");
        memcpy(st->c->digest, d, sizeof(d));
        st->c->has_digest = true;
        return 0;
}

static int set_failure(struct parse_state *st, const char *v)
{
        enum cfs_failure_action a;
        if (!v || cfs_failure_action_from_string(v, &a) < 0)
                return cfs_error_set(st->err, EINVAL,
                                     "kernel command line: cfsroot.failure=%s: expected "
                                     "poweroff, reboot, halt or emergency",
                                     v ? v : "(no value)");
        if (st->c->failure != CFS_FAILURE_UNSET && st->c->failure != a)
                return cfs_error_set(st->err, EINVAL,
                                     "kernel command line: cfsroot.failure given twice with "
                                     "different values");
        st->c->failure = a;
        return 0;
}

static int on_arg(const char *key, const char *v, void *userdata)
{
        struct parse_state *st = userdata;
        struct cfs_cmdline *c = st->c;

        if (!strcmp(key, "composefs"))
                return set_digest(st, v);
        if (strncmp(key, "cfsroot.", 8) != 0)
                return 0; /* not ours */
        if (!strcmp(key, "cfsroot.image"))
                return set_path(st, c->image, key, v);
        if (!strcmp(key, "cfsroot.signature"))
                return set_path(st, c->signature, key, v);
        if (!strcmp(key, "cfsroot.store"))
                return set_path(st, c->store, key, v);
        if (!strcmp(key, "cfsroot.failure"))
                return set_failure(st, v);
        if (!strcmp(key, "cfsroot.require-signature"))
                return set_tristate(st, &c->require_signature, key, v);
        if (!strcmp(key, "cfsroot.require-tpm"))
                return set_tristate(st, &c->require_tpm, key, v);
        if (!strcmp(key, "cfsroot.allow-unverified-objects"))
                return set_tristate(st, &c->allow_unverified, key, v);
        return cfs_error_set(st->err, EINVAL,
                             "kernel command line: unknown argument '%s' (see cfsroot(1))", key);
}

int cfs_cmdline_parse(const char *s, size_t len, struct cfs_cmdline *ret, struct cfs_error *err)
{
        struct cfs_cmdline c = {
            .require_signature = CFS_UNSET,
            .require_tpm = CFS_UNSET,
            .allow_unverified = CFS_UNSET,
        };
        struct parse_state st = {.c = &c, .err = err};
        int r = cfs_cmdline_split(s, len, on_arg, &st);
        if (r == -E2BIG)
                return cfs_error_set(err, E2BIG, "kernel command line longer than %u bytes",
                                     CFS_CMDLINE_MAX);
        if (r < 0)
                return cfs_error_set(err, -r, "kernel command line: unterminated quote or NUL");
        *ret = c;
        return 0;
}

int cfs_cmdline_load(struct cfs_cmdline *ret, struct cfs_error *err)
{
        const char *path = "/proc/cmdline";
        const char *env = getenv("SYSTEMD_PROC_CMDLINE");
        if (env)
                return cfs_cmdline_parse(env, strlen(env), ret, err);
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = cfs_read_file(path, CFS_CMDLINE_MAX, &buf, &len);
        if (r < 0)
                return cfs_error_set(err, -r, "%s: cannot read: %s", path, strerror(-r));
        return cfs_cmdline_parse(buf, len, ret, err);
}

bool cfs_cmdline_wants_composefs(const struct cfs_cmdline *c)
{
        return c->has_digest || c->image[0] || c->signature[0] || c->store[0] ||
               c->require_signature == CFS_YES || c->require_tpm == CFS_YES;
}

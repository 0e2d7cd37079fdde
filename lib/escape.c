/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * escape.c - the escaping of the composefs dump format (COMPOSEFS-FORMAT.md
 * §14.2): decoding for the dump parser, encoding for the dump writer and for
 * error messages. Host and initrd.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dump.h"

static const char hexdigits[] = "0123456789abcdef";

int cfs_unescape(const char *in, size_t len, char *out, size_t *ret_len, struct cfs_error *err)
{
        size_t o = 0, i = 0;

        while (i < len) {
                const char *bs = memchr(in + i, '\\', len - i);
                size_t run = bs ? (size_t)(bs - (in + i)) : len - i;
                /* in and out may be the same buffer: out never runs ahead of in */
                if (run > 0 && out + o != in + i)
                        memmove(out + o, in + i, run);
                o += run;
                i += run;
                if (!bs)
                        break;
                i++; /* the backslash */
                if (i >= len)
                        return cfs_error_set(err, EINVAL, "No character after escape");
                unsigned char c = (unsigned char)in[i++];
                switch (c) {
                case '\\':
                        out[o++] = '\\';
                        break;
                case 'n':
                        out[o++] = '\n';
                        break;
                case 'r':
                        out[o++] = '\r';
                        break;
                case 't':
                        out[o++] = '\t';
                        break;
                case 'x': {
                        if (len - i < 2)
                                return cfs_error_set(err, EINVAL,
                                                     "No hex characters after hex escape");
                        int hi = cfs_hexval((unsigned char)in[i]),
                            lo = cfs_hexval((unsigned char)in[i + 1]);
                        if (hi < 0 || lo < 0)
                                return cfs_error_set(err, EINVAL,
                                                     "Invalid hex characters after hex escape");
                        out[o++] = (char)(hi << 4 | lo);
                        i += 2;
                        break;
                }
                default:
                        if (c >= 0x20 && c < 0x7f)
                                return cfs_error_set(err, EINVAL, "Unsupported escape type %c", c);
                        return cfs_error_set(err, EINVAL, "Unsupported escape type \\x%02x", c);
                }
        }
        *ret_len = o;
        return 0;
}

/* Does byte @c need escaping in @mode? */
static inline bool needs_escape(unsigned char c, enum cfs_escape_mode mode)
{
        if (c < 0x21 || c > 0x7e || c == '\\')
                return true;
        return c == '=' && mode == CFS_ESCAPE_XATTR;
}

/* The escaped form of @c into @out (at most 4 bytes); returns its length. */
static inline size_t escape_byte(unsigned char c, char *out)
{
        out[0] = '\\';
        switch (c) {
        case '\\':
                out[1] = '\\';
                return 2;
        case '\n':
                out[1] = 'n';
                return 2;
        case '\r':
                out[1] = 'r';
                return 2;
        case '\t':
                out[1] = 't';
                return 2;
        default:
                out[1] = 'x';
                out[2] = hexdigits[c >> 4];
                out[3] = hexdigits[c & 0xf];
                return 4;
        }
}

size_t cfs_escape_mem(char *out, const void *data, size_t len, enum cfs_escape_mode mode)
{
        const unsigned char *p = data;
        size_t o = 0;

        if (mode == CFS_ESCAPE_FIELD && len == 1 && p[0] == '-') {
                memcpy(out, "\\x2d", 4);
                return 4;
        }
        for (size_t i = 0; i < len; i++) {
                if (needs_escape(p[i], mode))
                        o += escape_byte(p[i], out + o);
                else
                        out[o++] = (char)p[i];
        }
        return o;
}

int cfs_escape(FILE *out, const void *data, size_t len, enum cfs_escape_mode mode)
{
        const unsigned char *p = data;
        char buf[1024];

        if (mode == CFS_ESCAPE_FIELD) {
                /* a lone '-' is only special as the whole field */
                if (len == 1 && p[0] == '-')
                        return fwrite("\\x2d", 1, 4, out) == 4 ? 0 : -EIO;
                mode = CFS_ESCAPE_PATH;
        }
        /* the worst case is 4 output bytes per input byte */
        while (len > 0) {
                size_t n = CFS_MIN(len, sizeof(buf) / 4);
                size_t o = cfs_escape_mem(buf, p, n, mode);
                if (fwrite(buf, 1, o, out) != o)
                        return -EIO;
                p += n;
                len -= n;
        }
        return 0;
}

size_t cfs_escape_message(char *out, size_t size, const void *data, size_t len)
{
        const unsigned char *p = data;
        size_t o = 0;

        if (size == 0)
                return 0;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = p[i];
                char tmp[4];
                size_t n = 1;
                if (c < 0x20 || c >= 0x7f || c == '\\')
                        n = escape_byte(c, tmp);
                else
                        tmp[0] = (char)c;
                if (o + n + 4 > size) { /* room for "..." and NUL */
                        memcpy(out + o, "...", 3);
                        o += 3;
                        break;
                }
                memcpy(out + o, tmp, n);
                o += n;
        }
        out[o] = 0;
        return o;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * macros.h - small helpers used everywhere in cfsroot (host, initrd, real root):
 * cleanup attributes that make ownership visible, TAKE_PTR()/TAKE_FD(),
 * ELEMENTSOF() and overflow-checked arithmetic.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define CFS_PUBLIC __attribute__((visibility("default")))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_ __attribute__((warn_unused_result))

#define CFS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CFS_MAX(a, b) ((a) > (b) ? (a) : (b))
#define CFS_ROUND_UP(x, a) ((((x) + (a)-1) / (a)) * (a))

/* Take ownership: return the value and reset the variable so cleanup skips it. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _p = (p);                                                            \
                (p) = NULL;                                                                        \
                _p;                                                                                \
        })
#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _fd = (fd);                                                                    \
                (fd) = -EBADF;                                                                     \
                _fd;                                                                               \
        })

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Define a cleanup helper "namep(type **)" that calls "name(type *)" when non-NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
        static inline void func##p(type *p)                                                        \
        {                                                                                          \
                if (*p)                                                                            \
                        func(*p);                                                                  \
        }

/* a + b and a * b without silent wrap-around: return false on overflow. */
/*
 * Make room for @need elements of @size bytes in the array *@p holding *@alloc:
 * grows to max(@need, 2 * *@alloc, @min). 0, or -ENOMEM with *@p untouched.
 */
static inline int cfs_reserve(void *p, size_t *alloc, size_t need, size_t size, size_t min)
{
        if (need <= *alloc)
                return 0;
        size_t a = CFS_MAX(need, CFS_MAX(min, 2 * *alloc));
        void *n = reallocarray(*(void **)p, a, size);
        if (!n)
                return -ENOMEM;
        *(void **)p = n;
        *alloc = a;
        return 0;
}

/* Value of one hex digit (either case), or -1. */
static inline int cfs_hexval(unsigned char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static inline bool cfs_add_u64(uint64_t a, uint64_t b, uint64_t *ret)
{
        return !__builtin_add_overflow(a, b, ret);
}

static inline bool cfs_mul_u64(uint64_t a, uint64_t b, uint64_t *ret)
{
        return !__builtin_mul_overflow(a, b, ret);
}

/* Little-endian stores and loads for on-disk structures (x86 and arm64 are LE,
 * but the format is defined LE, so be explicit). */
static inline void cfs_put_le16(uint8_t *p, uint16_t v)
{
        p[0] = v;
        p[1] = v >> 8;
}
static inline void cfs_put_le32(uint8_t *p, uint32_t v)
{
        cfs_put_le16(p, v);
        cfs_put_le16(p + 2, v >> 16);
}
static inline void cfs_put_le64(uint8_t *p, uint64_t v)
{
        cfs_put_le32(p, v);
        cfs_put_le32(p + 4, v >> 32);
}
static inline uint16_t cfs_get_le16(const uint8_t *p)
{
        return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t cfs_get_le32(const uint8_t *p)
{
        return cfs_get_le16(p) | ((uint32_t)cfs_get_le16(p + 2) << 16);
}
static inline uint64_t cfs_get_le64(const uint8_t *p)
{
        return cfs_get_le32(p) | ((uint64_t)cfs_get_le32(p + 4) << 32);
}

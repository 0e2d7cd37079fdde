/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * erofs.c - small format helpers shared by the image writer and reader: xattr
 * name prefixes, the xattr name bloom filter, file types. Host and initrd.
 *
 * XXH32 comes from libxxhash's header (inlined, so no runtime library is needed
 * in the initrd): the filter is defined as XXH32, so we use the reference code.
 */
#include <string.h>
#include <sys/stat.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "erofs.h"

static const struct {
        const char *prefix;
        uint8_t len;
        uint8_t index;
} xattr_prefixes[] = {
    /* order matters: first match wins (§11.1) */
    {"user.", 5, CFS_XATTR_INDEX_USER},
    {"system.posix_acl_access", 23, CFS_XATTR_INDEX_POSIX_ACL_ACCESS},
    {"system.posix_acl_default", 24, CFS_XATTR_INDEX_POSIX_ACL_DEFAULT},
    {"trusted.", 8, CFS_XATTR_INDEX_TRUSTED},
    {"security.", 9, CFS_XATTR_INDEX_SECURITY},
};

uint8_t cfs_xattr_split_name(const char *name, size_t name_len, size_t *suffix_off)
{
        for (size_t i = 0; i < sizeof(xattr_prefixes) / sizeof(xattr_prefixes[0]); i++) {
                size_t l = xattr_prefixes[i].len;
                if (name_len >= l && memcmp(name, xattr_prefixes[i].prefix, l) == 0) {
                        *suffix_off = l;
                        return xattr_prefixes[i].index;
                }
        }
        *suffix_off = 0;
        return CFS_XATTR_INDEX_NONE;
}

const char *cfs_xattr_index_prefix(uint8_t index)
{
        if (index == CFS_XATTR_INDEX_NONE)
                return "";
        if (index == CFS_XATTR_INDEX_LUSTRE)
                return "lustre.";
        for (size_t i = 0; i < sizeof(xattr_prefixes) / sizeof(xattr_prefixes[0]); i++)
                if (xattr_prefixes[i].index == index)
                        return xattr_prefixes[i].prefix;
        return NULL;
}

unsigned cfs_xattr_filter_bit(uint8_t index, const char *suffix, size_t suffix_len)
{
        return XXH32(suffix, suffix_len, CFS_XATTR_FILTER_SEED + index) & 31u;
}

uint8_t cfs_mode_to_ftype(uint32_t mode)
{
        switch (mode & S_IFMT) {
        case S_IFREG:
                return CFS_FT_REG_FILE;
        case S_IFDIR:
                return CFS_FT_DIR;
        case S_IFCHR:
                return CFS_FT_CHRDEV;
        case S_IFBLK:
                return CFS_FT_BLKDEV;
        case S_IFIFO:
                return CFS_FT_FIFO;
        case S_IFSOCK:
                return CFS_FT_SOCK;
        case S_IFLNK:
                return CFS_FT_SYMLINK;
        default:
                return CFS_FT_UNKNOWN;
        }
}

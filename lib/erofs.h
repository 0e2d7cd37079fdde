/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * erofs.h - on-disk constants of the composefs 1.0 image (composefs header +
 * EROFS), shared by the image writer (host) and the reader/validator (host and
 * initrd). Offsets are byte offsets inside the structure; all integers are
 * little-endian. The layout is specified in docs/COMPOSEFS-FORMAT.md (a copy of
 * the shared format notes); section numbers (§) refer to it.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define CFS_BLOCK_SIZE 4096u
#define CFS_BLOCK_BITS 12u
#define CFS_SLOT_SIZE 32u /* an EROFS inode slot; nid = offset / 32 */

/* §3 composefs header at offset 0 */
#define CFS_HEADER_MAGIC 0xD078629Au
#define CFS_HEADER_VERSION 1u
#define CFS_HEADER_SIZE 32u
#define CFS_HEADER_FLAG_HAS_ACL 0x1u
#define CFS_HDR_OFF_MAGIC 0
#define CFS_HDR_OFF_VERSION 4
#define CFS_HDR_OFF_FLAGS 8
#define CFS_HDR_OFF_CFS_VERSION 12
#define CFS_FORMAT_VERSION_MAX 1u

/* §4 EROFS superblock at offset 1024 */
#define CFS_SB_OFFSET 1024u
#define CFS_SB_SIZE 128u
#define CFS_SB_MAGIC 0xE0F5E1E2u
#define CFS_SB_FEATURE_COMPAT_MTIME 0x2u
#define CFS_SB_FEATURE_COMPAT_XATTR_FILTER 0x4u
#define CFS_SB_OFF_MAGIC 0
#define CFS_SB_OFF_CHECKSUM 4
#define CFS_SB_OFF_FEATURE_COMPAT 8
#define CFS_SB_OFF_BLKSZBITS 12
#define CFS_SB_OFF_EXTSLOTS 13
#define CFS_SB_OFF_ROOT_NID 14
#define CFS_SB_OFF_INOS 16
#define CFS_SB_OFF_BUILD_TIME 24
#define CFS_SB_OFF_BUILD_TIME_NSEC 32
#define CFS_SB_OFF_BLOCKS 36
#define CFS_SB_OFF_META_BLKADDR 40
#define CFS_SB_OFF_XATTR_BLKADDR 44
#define CFS_SB_OFF_FEATURE_INCOMPAT 80
#define CFS_SB_OFF_AVAILABLE_COMPR 84
#define CFS_SB_OFF_EXTRA_DEVICES 86
#define CFS_SB_OFF_DIRBLKBITS 90
#define CFS_SB_OFF_XATTR_PREFIX_COUNT 91
#define CFS_SB_OFF_XATTR_PREFIX_START 92
#define CFS_SB_OFF_PACKED_NID 96

/* The inode table starts right after the superblock (nid 36). */
#define CFS_INODES_START (CFS_SB_OFFSET + CFS_SB_SIZE)

/* §6.5 inodes */
#define CFS_INODE_COMPACT_SIZE 32u
#define CFS_INODE_EXTENDED_SIZE 64u
#define CFS_INODE_FORMAT_EXTENDED 0x1u
#define CFS_LAYOUT_FLAT_PLAIN 0u
#define CFS_LAYOUT_FLAT_INLINE 2u
#define CFS_LAYOUT_CHUNK_BASED 4u
#define CFS_I_FORMAT(layout, extended) ((uint16_t)(((layout) << 1) | ((extended) ? 1 : 0)))
#define CFS_I_LAYOUT(format) (((format) >> 1) & 0x7u)

/* compact inode field offsets */
#define CFS_IC_OFF_FORMAT 0
#define CFS_IC_OFF_XATTR_ICOUNT 2
#define CFS_IC_OFF_MODE 4
#define CFS_IC_OFF_NLINK 6
#define CFS_IC_OFF_SIZE 8
#define CFS_IC_OFF_U 16
#define CFS_IC_OFF_INO 20
#define CFS_IC_OFF_UID 24
#define CFS_IC_OFF_GID 26
/* extended inode field offsets */
#define CFS_IE_OFF_FORMAT 0
#define CFS_IE_OFF_XATTR_ICOUNT 2
#define CFS_IE_OFF_MODE 4
#define CFS_IE_OFF_SIZE 8
#define CFS_IE_OFF_U 16
#define CFS_IE_OFF_INO 20
#define CFS_IE_OFF_UID 24
#define CFS_IE_OFF_GID 28
#define CFS_IE_OFF_MTIME 32
#define CFS_IE_OFF_MTIME_NSEC 40
#define CFS_IE_OFF_NLINK 44

/* §9.2 chunk-based files */
#define CFS_CHUNK_FORMAT_BLKBITS_MASK 0x001Fu
#define CFS_CHUNK_FORMAT_INDEXES 0x0020u
#define CFS_CHUNK_NULL_ADDR 0xFFFFFFFFu
#define CFS_CHUNK_MAX 1024u

/* §7 directories */
#define CFS_DIRENT_SIZE 12u
#define CFS_DIRENT_OFF_NID 0
#define CFS_DIRENT_OFF_NAMEOFF 8
#define CFS_DIRENT_OFF_TYPE 10
enum {
        CFS_FT_UNKNOWN = 0,
        CFS_FT_REG_FILE = 1,
        CFS_FT_DIR = 2,
        CFS_FT_CHRDEV = 3,
        CFS_FT_BLKDEV = 4,
        CFS_FT_FIFO = 5,
        CFS_FT_SOCK = 6,
        CFS_FT_SYMLINK = 7,
};

/* §11 xattrs */
#define CFS_XATTR_IBODY_HEADER_SIZE 12u
#define CFS_XATTR_ENTRY_HEADER_SIZE 4u
#define CFS_XATTR_FILTER_SEED 0x25BBE08Fu
#define CFS_XATTR_SHARED_MAX_PER_INODE 128u
enum {
        CFS_XATTR_INDEX_NONE = 0,
        CFS_XATTR_INDEX_USER = 1,
        CFS_XATTR_INDEX_POSIX_ACL_ACCESS = 2,
        CFS_XATTR_INDEX_POSIX_ACL_DEFAULT = 3,
        CFS_XATTR_INDEX_TRUSTED = 4,
        CFS_XATTR_INDEX_LUSTRE = 5,
        CFS_XATTR_INDEX_SECURITY = 6,
};

/* Overlay xattr names composefs uses (§11.6). */
#define CFS_XATTR_OVERLAY_PREFIX "trusted.overlay."
#define CFS_XATTR_OVERLAY_ESCAPED_PREFIX "trusted.overlay.overlay."
#define CFS_XATTR_METACOPY "trusted.overlay.metacopy"
#define CFS_XATTR_REDIRECT "trusted.overlay.redirect"
#define CFS_XATTR_OPAQUE "trusted.overlay.opaque"
#define CFS_XATTR_ESC_WHITEOUT "trusted.overlay.overlay.whiteout"
#define CFS_XATTR_ESC_WHITEOUTS "trusted.overlay.overlay.whiteouts"
#define CFS_XATTR_ESC_OPAQUE "trusted.overlay.overlay.opaque"
#define CFS_XATTR_USER_WHITEOUT "user.overlay.whiteout"
#define CFS_XATTR_USER_WHITEOUTS "user.overlay.whiteouts"
#define CFS_XATTR_USER_OPAQUE "user.overlay.opaque"
#define CFS_METACOPY_SIZE 36u /* 00 24 00 01 + 32-byte sha256 digest */

/* File type of a mode for dirents (CFS_FT_UNKNOWN if not a valid type). */
uint8_t cfs_mode_to_ftype(uint32_t mode);

/*
 * Split a full xattr name into the EROFS prefix index and the suffix (§11.1).
 * Returns the index; *suffix_off is where the suffix starts in @name.
 */
uint8_t cfs_xattr_split_name(const char *name, size_t name_len, size_t *suffix_off);
/* Prefix string of an index ("" for 0, NULL for an invalid index). */
const char *cfs_xattr_index_prefix(uint8_t index);

/* Bloom filter bit (0..31) of an xattr (§11.5). */
unsigned cfs_xattr_filter_bit(uint8_t index, const char *suffix, size_t suffix_len);

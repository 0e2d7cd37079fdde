/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpm-rollback.h - the anti-rollback floor in TPM NV: the lowest security
 * generation (signed image metadata, lib/signature.h) that may boot. Host
 * (`cfsroot rollback init|status|raise`, run by cfsroot-mark-good.service on
 * the booted system) and initrd (setup-root: cfs_tpm_rollback_check()). Part of
 * libcfsroot-tpm (tpm2-tss ESAPI).
 *
 * The index (docs/ARCHITECTURE.md, "Anti-rollback counter"):
 *   handle     CFS_TPM_ROLLBACK_INDEX_DEFAULT (owner range 0x01800000-0x01bfffff)
 *   type       TPM_NT_BITS: TPM2_NV_SetBits can only OR bits in, so the value
 *              never decreases; it starts at 0 (a TPM_NT_COUNTER would start at
 *              the highest value any counter of this TPM ever had)
 *   attributes exactly CFS_TPM_ROLLBACK_ATTRIBUTES (+ TPMA_NV_WRITTEN once written):
 *              only owner authorization writes, anyone reads with the empty
 *              authValue, no policy (authPolicy empty: no PolicyNV / ChangeAuth path)
 *   size       8 bytes, nameAlg sha256
 * Floor = index of the highest set bit + 1 (0 when no bit is set), so the
 * index holds generations 0..CFS_TPM_ROLLBACK_MAX. Raising to G sets bits
 * 0..G-1. An index at the handle whose public area differs in any of these
 * (attributes, nameAlg, authPolicy, size) is "squatted" and refused: nothing
 * it says is trusted.
 *
 * Returns 0 / -errno, never logs. Error codes:
 *   -ENODEV       no TPM (TCTI cannot be loaded, the TPM does not answer)
 *   -ENOENT       no index at the handle (not enrolled, or the TPM was cleared)
 *   -EKEYREJECTED an index exists at the handle, but not as cfsroot defines it
 *                 (squatted), or it cannot be read with the empty authValue
 *   -ESTALE       (check) the image's generation is below the floor
 *   -ERANGE       (raise) the generation is above CFS_TPM_ROLLBACK_MAX
 *   -EACCES       (init, raise) the TPM refuses the owner authorization
 *   -EINVAL       bad handle (not in the owner NV range)
 *   -EIO          any other TPM error (message has Tss2_RC_Decode()'s text)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tpm.h"

#define CFS_TPM_ROLLBACK_INDEX_DEFAULT 0x01800cf5u
#define CFS_TPM_ROLLBACK_INDEX_FIRST 0x01800000u /* TCG handle registry: owner NV range */
#define CFS_TPM_ROLLBACK_INDEX_LAST 0x01bfffffu
#define CFS_TPM_ROLLBACK_MAX 64u /* one bit per generation in 8 bytes */
/* TPM_NT_BITS | OWNERWRITE | AUTHREAD | NO_DA (TPMA_NV bits, TPM 2.0 part 2) */
#define CFS_TPM_ROLLBACK_ATTRIBUTES 0x02040022u
#define CFS_TPM_NV_WRITTEN 0x20000000u
/* Bound of a marshalled TPM2B_NV_PUBLIC (2 + 4 + 2 + 4 + 2 + 64 + 2). */
#define CFS_TPM_NV_PUBLIC_MAX 96u

struct cfs_tpm_rollback_state {
        uint32_t index;
        bool written;     /* TPMA_NV_WRITTEN (init writes 0 bits at once) */
        uint64_t bits;    /* the raw value (0 if not written) */
        uint64_t minimum; /* the floor: highest set bit + 1 */
};

/* The floor that @bits mean (0..64), and the bits that mean floor @generation (<= 64). */
unsigned cfs_tpm_rollback_floor(uint64_t bits);
uint64_t cfs_tpm_rollback_bits(unsigned generation);

/* Is @index a handle cfsroot accepts (owner NV range)? -EINVAL with a message if not. */
int cfs_tpm_rollback_index_check(uint32_t index, struct cfs_error *err);

/*
 * The marshalled TPM2B_NV_PUBLIC that cfsroot defines at @index (not written),
 * into @buf (at least CFS_TPM_NV_PUBLIC_MAX bytes).
 */
int cfs_tpm_rollback_public(uint32_t index, uint8_t *buf, size_t size, size_t *ret_len);

/*
 * Judge a marshalled TPM2B_NV_PUBLIC (as TPM2_NV_ReadPublic returns it): it
 * must unmarshal exactly (@len bytes, no more, no less) and equal what
 * cfsroot defines at @index, apart from TPMA_NV_WRITTEN, which goes to
 * *ret_written. -EKEYREJECTED ("squatted") naming the first difference, or
 * -EBADMSG if it is not a TPM2B_NV_PUBLIC at all. Pure: no TPM.
 */
int cfs_tpm_rollback_check_public(const uint8_t *buf, size_t len, uint32_t index, bool *ret_written,
                                  struct cfs_error *err);

/*
 * Read the index at @index: public area first (checked as above), then the
 * value with the empty authValue. -ENOENT if no index is defined there.
 */
int cfs_tpm_rollback_read(struct cfs_tpm *t, uint32_t index, struct cfs_tpm_rollback_state *ret,
                          struct cfs_error *err);

/*
 * Define the index with owner authorization @owner_auth (NUL-terminated, NULL
 * or "" = empty) and write it once (0 bits, so that it reads as floor 0).
 * Idempotent: an index cfsroot defined earlier is kept (written if it was
 * not); a squatted one is -EKEYREJECTED. Returns 1 if it was defined now, 0 if
 * it existed. *ret (may be NULL) gets the state afterwards.
 */
int cfs_tpm_rollback_define(struct cfs_tpm *t, uint32_t index, const char *owner_auth,
                            struct cfs_tpm_rollback_state *ret, struct cfs_error *err);

/*
 * Raise the floor to @generation with owner authorization: never lowers (a
 * @generation at or below the floor changes nothing and returns 0), -ERANGE
 * above CFS_TPM_ROLLBACK_MAX. The value is read back afterwards. Returns 1 if
 * the floor rose, 0 if unchanged. *ret (may be NULL) gets the state afterwards.
 * The rules about which generation is safe (kept deployments, booted image)
 * are the caller's (tools/cmd-rollback.c).
 */
int cfs_tpm_rollback_raise(struct cfs_tpm *t, uint32_t index, uint64_t generation,
                           const char *owner_auth, struct cfs_tpm_rollback_state *ret,
                           struct cfs_error *err);

/*
 * What setup-root calls: connect to the TPM at @tcti (NULL: $TPM2TSS_TCTI or
 * the default), read the default index and refuse @image_generation below its
 * floor: -ESTALE, "image generation 3 is below the TPM's minimum 4 (...)".
 * *ret_minimum (may be NULL) gets the floor on success and on -ESTALE.
 * -ENODEV (no TPM) and -ENOENT (no index) are for the caller's policy to
 * decide; -EKEYREJECTED (squatted) and -EIO must refuse.
 */
int cfs_tpm_rollback_check(const char *tcti, uint64_t image_generation, uint64_t *ret_minimum,
                           struct cfs_error *err);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpm-rollback.c - the anti-rollback floor in a TPM_NT_BITS NV index (see
 * tpm-rollback.h): define, read, raise, and the check setup-root makes. Host
 * and initrd. The index's public area is judged before its value is believed:
 * whoever defined an index at our handle with other attributes, a policy or
 * another size could lower, freeze or fake the floor.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include "tpm-internal.h"
#include "tpm-rollback.h"

_Static_assert(CFS_TPM_ROLLBACK_ATTRIBUTES ==
                   ((TPM2_NT_BITS << TPMA_NV_TPM2_NT_SHIFT) | TPMA_NV_OWNERWRITE |
                    TPMA_NV_AUTHREAD | TPMA_NV_NO_DA),
               "rollback index attributes");
_Static_assert(CFS_TPM_NV_WRITTEN == TPMA_NV_WRITTEN, "TPMA_NV_WRITTEN");

static void esys_freep(void *p)
{
        Esys_Free(*(void **)p);
}
#define _cleanup_esys_ _cleanup_(esys_freep)

unsigned cfs_tpm_rollback_floor(uint64_t bits)
{
        return bits ? 64u - (unsigned)__builtin_clzll(bits) : 0u;
}

uint64_t cfs_tpm_rollback_bits(unsigned generation)
{
        if (generation >= 64)
                return UINT64_MAX;
        return (UINT64_C(1) << generation) - 1;
}

int cfs_tpm_rollback_index_check(uint32_t index, struct cfs_error *err)
{
        if (index < CFS_TPM_ROLLBACK_INDEX_FIRST || index > CFS_TPM_ROLLBACK_INDEX_LAST)
                return cfs_error_set(
                    err, EINVAL,
                    "NV index 0x%08" PRIx32 " is outside the owner range 0x%08x-0x%08x", index,
                    CFS_TPM_ROLLBACK_INDEX_FIRST, CFS_TPM_ROLLBACK_INDEX_LAST);
        return 0;
}

static void expected_public(uint32_t index, TPM2B_NV_PUBLIC *p)
{
        memset(p, 0, sizeof(*p));
        p->nvPublic.nvIndex = index;
        p->nvPublic.nameAlg = TPM2_ALG_SHA256;
        p->nvPublic.attributes = CFS_TPM_ROLLBACK_ATTRIBUTES;
        p->nvPublic.authPolicy.size = 0;
        p->nvPublic.dataSize = 8;
}

int cfs_tpm_rollback_public(uint32_t index, uint8_t *buf, size_t size, size_t *ret_len)
{
        TPM2B_NV_PUBLIC p;
        size_t off = 0;
        expected_public(index, &p);
        if (Tss2_MU_TPM2B_NV_PUBLIC_Marshal(&p, buf, size, &off) != TSS2_RC_SUCCESS)
                return -ENOBUFS;
        *ret_len = off;
        return 0;
}

static int check_public(const TPM2B_NV_PUBLIC *pub, uint32_t index, bool *ret_written,
                        struct cfs_error *err)
{
        const TPMS_NV_PUBLIC *p = &pub->nvPublic;
        const char *what = "squatted: not the index cfsroot defines";
        if (p->nvIndex != index)
                return cfs_error_set(err, EKEYREJECTED,
                                     "NV index 0x%08" PRIx32
                                     ": the TPM describes index 0x%08" PRIx32 " instead",
                                     index, p->nvIndex);
        if ((p->attributes & ~TPMA_NV_WRITTEN) != CFS_TPM_ROLLBACK_ATTRIBUTES)
                return cfs_error_set(err, EKEYREJECTED,
                                     "NV index 0x%08" PRIx32 " is %s: attributes 0x%08" PRIx32
                                     ", expected 0x%08x (bits, owner write, auth read, no DA)",
                                     index, what, (uint32_t)(p->attributes & ~TPMA_NV_WRITTEN),
                                     CFS_TPM_ROLLBACK_ATTRIBUTES);
        if (p->nameAlg != TPM2_ALG_SHA256)
                return cfs_error_set(err, EKEYREJECTED,
                                     "NV index 0x%08" PRIx32 " is %s: name algorithm 0x%04x, "
                                     "expected sha256",
                                     index, what, p->nameAlg);
        if (p->authPolicy.size != 0)
                return cfs_error_set(err, EKEYREJECTED,
                                     "NV index 0x%08" PRIx32 " is %s: it has an authorization "
                                     "policy (%u bytes), expected none",
                                     index, what, p->authPolicy.size);
        if (p->dataSize != 8)
                return cfs_error_set(err, EKEYREJECTED,
                                     "NV index 0x%08" PRIx32 " is %s: %u bytes, expected 8", index,
                                     what, p->dataSize);
        if (ret_written)
                *ret_written = (p->attributes & TPMA_NV_WRITTEN) != 0;
        return 0;
}

int cfs_tpm_rollback_check_public(const uint8_t *buf, size_t len, uint32_t index, bool *ret_written,
                                  struct cfs_error *err)
{
        TPM2B_NV_PUBLIC pub;
        size_t off = 0;
        memset(&pub, 0, sizeof(pub));
        if (!buf || len > CFS_TPM_NV_PUBLIC_MAX ||
            Tss2_MU_TPM2B_NV_PUBLIC_Unmarshal(buf, len, &off, &pub) != TSS2_RC_SUCCESS ||
            off != len)
                return cfs_error_set(err, EBADMSG,
                                     "NV index 0x%08" PRIx32
                                     ": the TPM's public area is not a valid TPM2B_NV_PUBLIC",
                                     index);
        /* the size prefix must describe exactly what follows */
        if (pub.size != len - 2)
                return cfs_error_set(err, EBADMSG,
                                     "NV index 0x%08" PRIx32 ": public area size %u, but %zu "
                                     "bytes follow",
                                     index, pub.size, len - 2);
        return check_public(&pub, index, ret_written, err);
}

/* ESYS_TR of the index; -ENOENT if none is defined at @index. */
static int nv_handle(struct cfs_tpm *t, uint32_t index, ESYS_TR *ret, struct cfs_error *err)
{
        TSS2_RC rc =
            Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ret);
        if (rc == TSS2_RC_SUCCESS)
                return 0;
        if (cfs_tpm_rc_base(rc) == TPM2_RC_HANDLE)
                return cfs_error_set(err, ENOENT,
                                     "no anti-rollback index 0x%08" PRIx32
                                     " in the TPM (not enrolled with `cfsroot rollback init`, or "
                                     "the TPM was cleared)",
                                     index);
        char what[64];
        snprintf(what, sizeof(what), "reading NV index 0x%08" PRIx32, index);
        return cfs_tpm_rc_error(err, rc, -cfs_tpm_rc_errno(rc, EIO), what);
}

static void tr_close(struct cfs_tpm *t, ESYS_TR *h)
{
        if (*h != ESYS_TR_NONE)
                (void)Esys_TR_Close(t->esys, h);
        *h = ESYS_TR_NONE;
}

/* Public area of @nv, marshalled and judged with cfs_tpm_rollback_check_public(). */
static int read_public(struct cfs_tpm *t, ESYS_TR nv, uint32_t index, bool *ret_written,
                       struct cfs_error *err)
{
        _cleanup_esys_ TPM2B_NV_PUBLIC *pub = NULL;
        uint8_t buf[CFS_TPM_NV_PUBLIC_MAX];
        size_t off = 0;
        TSS2_RC rc =
            Esys_NV_ReadPublic(t->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
        if (rc != TSS2_RC_SUCCESS)
                return cfs_tpm_rc_error(err, rc, -cfs_tpm_rc_errno(rc, EIO),
                                        "reading the NV index's public area");
        if (!pub || Tss2_MU_TPM2B_NV_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
                return cfs_error_set(err, EKEYREJECTED,
                                     "NV index 0x%08" PRIx32 ": the TPM's public area is too "
                                     "large for the index cfsroot defines (squatted)",
                                     index);
        return cfs_tpm_rollback_check_public(buf, off, index, ret_written, err);
}

static int read_state(struct cfs_tpm *t, ESYS_TR nv, uint32_t index,
                      struct cfs_tpm_rollback_state *ret, struct cfs_error *err)
{
        struct cfs_tpm_rollback_state s = {.index = index};
        int r = read_public(t, nv, index, &s.written, err);
        if (r < 0)
                return r;
        if (s.written) {
                _cleanup_esys_ TPM2B_MAX_NV_BUFFER *data = NULL;
                TPM2B_AUTH empty = {};
                (void)Esys_TR_SetAuth(t->esys, nv, &empty);
                TSS2_RC rc = Esys_NV_Read(t->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                          ESYS_TR_NONE, 8, 0, &data);
                TSS2_RC base = cfs_tpm_rc_base(rc);
                if (base == TPM2_RC_AUTH_FAIL || base == TPM2_RC_BAD_AUTH)
                        return cfs_tpm_rc_error(err, rc, EKEYREJECTED,
                                                "NV index cannot be read with the empty "
                                                "authorization cfsroot defines (squatted with a "
                                                "password?)");
                if (rc != TSS2_RC_SUCCESS)
                        return cfs_tpm_rc_error(err, rc, -cfs_tpm_rc_errno(rc, EIO),
                                                "reading the anti-rollback index");
                if (!data || data->size != 8)
                        return cfs_error_set(err, EIO,
                                             "NV index 0x%08" PRIx32 ": the TPM returned %u bytes, "
                                             "not 8",
                                             index, data ? data->size : 0);
                for (unsigned i = 0; i < 8; i++) /* TPM byte order: big-endian */
                        s.bits = s.bits << 8 | data->buffer[i];
        }
        s.minimum = cfs_tpm_rollback_floor(s.bits);
        *ret = s;
        return 0;
}

int cfs_tpm_rollback_read(struct cfs_tpm *t, uint32_t index, struct cfs_tpm_rollback_state *ret,
                          struct cfs_error *err)
{
        ESYS_TR nv = ESYS_TR_NONE;
        int r = cfs_tpm_rollback_index_check(index, err);
        if (r < 0)
                return r;
        r = nv_handle(t, index, &nv, err);
        if (r < 0)
                return r;
        r = read_state(t, nv, index, ret, err);
        tr_close(t, &nv);
        return r;
}

static int set_owner_auth(struct cfs_tpm *t, const char *owner_auth, struct cfs_error *err)
{
        TPM2B_AUTH auth = {};
        size_t n = owner_auth ? strlen(owner_auth) : 0;
        if (n > sizeof(auth.buffer))
                return cfs_error_set(err, EINVAL, "owner authorization longer than %zu bytes",
                                     sizeof(auth.buffer));
        auth.size = (UINT16)n;
        if (n)
                memcpy(auth.buffer, owner_auth, n);
        TSS2_RC rc = Esys_TR_SetAuth(t->esys, ESYS_TR_RH_OWNER, &auth);
        explicit_bzero(&auth, sizeof(auth));
        if (rc != TSS2_RC_SUCCESS)
                return cfs_tpm_rc_error(err, rc, EIO, "setting the owner authorization");
        return 0;
}

static int owner_error(struct cfs_error *err, TSS2_RC rc, const char *what)
{
        TSS2_RC base = cfs_tpm_rc_base(rc);
        if (base == TPM2_RC_AUTH_FAIL || base == TPM2_RC_BAD_AUTH || base == TPM2_RC_LOCKOUT ||
            base == TPM2_RC_HIERARCHY)
                return cfs_tpm_rc_error(err, rc, EACCES,
                                        what); /* caller's text names the owner password */
        return cfs_tpm_rc_error(err, rc, -cfs_tpm_rc_errno(rc, EIO), what);
}

/* SetBits with owner authorization. */
static int set_bits(struct cfs_tpm *t, ESYS_TR nv, uint64_t bits, const char *owner_auth,
                    struct cfs_error *err)
{
        int r = set_owner_auth(t, owner_auth, err);
        if (r < 0)
                return r;
        TSS2_RC rc = Esys_NV_SetBits(t->esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                     ESYS_TR_NONE, bits);
        if (rc != TSS2_RC_SUCCESS)
                return owner_error(err, rc,
                                   "writing the anti-rollback index (owner authorization: wrong "
                                   "or missing owner password?)");
        return 0;
}

int cfs_tpm_rollback_define(struct cfs_tpm *t, uint32_t index, const char *owner_auth,
                            struct cfs_tpm_rollback_state *ret, struct cfs_error *err)
{
        ESYS_TR nv = ESYS_TR_NONE;
        struct cfs_tpm_rollback_state s;
        bool defined_now = false;
        int r = cfs_tpm_rollback_index_check(index, err);
        if (r < 0)
                return r;
        r = nv_handle(t, index, &nv, err);
        if (r == -ENOENT) {
                if (err) /* not an error here: define it */
                        *err = (struct cfs_error){};
                TPM2B_NV_PUBLIC pub;
                TPM2B_AUTH empty = {};
                expected_public(index, &pub);
                r = set_owner_auth(t, owner_auth, err);
                if (r < 0)
                        return r;
                TSS2_RC rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
                                                 ESYS_TR_NONE, ESYS_TR_NONE, &empty, &pub, &nv);
                if (rc != TSS2_RC_SUCCESS)
                        return owner_error(err, rc,
                                           "defining the anti-rollback index (owner "
                                           "authorization: wrong or missing owner password?)");
                defined_now = true;
        } else if (r < 0) {
                return r;
        }
        r = read_public(t, nv, index, &s.written, err);
        if (r >= 0 && !s.written)
                r = set_bits(t, nv, 0, owner_auth, err); /* floor 0, and readable from now on */
        if (r >= 0)
                r = read_state(t, nv, index, &s, err);
        tr_close(t, &nv);
        if (r < 0)
                return r;
        if (!s.written)
                return cfs_error_set(err, EIO,
                                     "NV index 0x%08" PRIx32 " was written but does "
                                     "not say so",
                                     index);
        if (ret)
                *ret = s;
        return defined_now ? 1 : 0;
}

int cfs_tpm_rollback_raise(struct cfs_tpm *t, uint32_t index, uint64_t generation,
                           const char *owner_auth, struct cfs_tpm_rollback_state *ret,
                           struct cfs_error *err)
{
        ESYS_TR nv = ESYS_TR_NONE;
        struct cfs_tpm_rollback_state before, after;
        if (generation > CFS_TPM_ROLLBACK_MAX)
                return cfs_error_set(err, ERANGE,
                                     "generation %" PRIu64 " is above %u, the highest the "
                                     "anti-rollback index can hold",
                                     generation, CFS_TPM_ROLLBACK_MAX);
        int r = cfs_tpm_rollback_index_check(index, err);
        if (r < 0)
                return r;
        r = nv_handle(t, index, &nv, err);
        if (r < 0)
                return r;
        r = read_state(t, nv, index, &before, err);
        if (r < 0)
                goto out;
        if (generation <= before.minimum) {
                after = before;
                goto out; /* never lower; r = 0: unchanged */
        }
        r = set_bits(t, nv, cfs_tpm_rollback_bits((unsigned)generation), owner_auth, err);
        if (r < 0)
                goto out;
        r = read_state(t, nv, index, &after, err);
        if (r < 0)
                goto out;
        if (after.minimum < generation) {
                r = cfs_error_set(err, EIO,
                                  "NV index 0x%08" PRIx32 " reads as minimum %" PRIu64
                                  " after raising it to %" PRIu64,
                                  index, after.minimum, generation);
                goto out;
        }
        r = 1;
out:
        tr_close(t, &nv);
        if (r >= 0 && ret)
                *ret = after;
        return r;
}

int cfs_tpm_rollback_check(const char *tcti, uint64_t image_generation, uint64_t *ret_minimum,
                           struct cfs_error *err)
{
        _cleanup_(cfs_tpm_closep) struct cfs_tpm *t = NULL;
        struct cfs_tpm_rollback_state s;
        int r = cfs_tpm_open(tcti, &t, err);
        if (r < 0)
                return r;
        r = cfs_tpm_rollback_read(t, CFS_TPM_ROLLBACK_INDEX_DEFAULT, &s, err);
        if (r < 0)
                return r;
        if (ret_minimum)
                *ret_minimum = s.minimum;
        if (image_generation < s.minimum)
                return cfs_error_set(err, ESTALE,
                                     "image generation %" PRIu64
                                     " is below the TPM's minimum %" PRIu64
                                     " (anti-rollback index 0x%08x)",
                                     image_generation, s.minimum, CFS_TPM_ROLLBACK_INDEX_DEFAULT);
        return 0;
}

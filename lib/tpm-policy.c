/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpm-policy.c - serialise and strictly parse the TPM-sealed boot policy and the
 * sealed blob's framing (formats in tpm-policy.h). Untrusted input: every
 * length is checked against the remaining bytes and a fixed bound before use.
 * Host and initrd; no TPM access here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpm-policy.h"
#include "verity.h"

static const uint8_t policy_magic[6] = {'C', 'F', 'S', 'P', 'O', 'L'};
static const uint8_t blob_magic[6] = {'C', 'F', 'S', 'T', 'P', 'M'};
#define FORMAT_VERSION 1u
#define BLOB_HEADER_SIZE 16u
#define BLOB_FIELDS 6u /* at most: 4, plus 2 with CFS_TPM_BLOB_CREATION */

int cfs_tpm_policy_add_digest(struct cfs_tpm_policy *p, const uint8_t digest[CFS_DIGEST_SIZE],
                              struct cfs_error *err)
{
        unsigned i = 0;
        while (i < p->n_digests && memcmp(p->digests[i], digest, CFS_DIGEST_SIZE) < 0)
                i++;
        if (i < p->n_digests && !memcmp(p->digests[i], digest, CFS_DIGEST_SIZE))
                return 0;
        if (p->n_digests >= CFS_TPM_POLICY_MAX_DIGESTS)
                return cfs_error_set(err, E2BIG, "a TPM policy holds at most %u image digests",
                                     CFS_TPM_POLICY_MAX_DIGESTS);
        memmove(p->digests[i + 1], p->digests[i], (p->n_digests - i) * CFS_DIGEST_SIZE);
        memcpy(p->digests[i], digest, CFS_DIGEST_SIZE);
        p->n_digests++;
        return 0;
}

int cfs_tpm_policy_serialize(const struct cfs_tpm_policy *p, uint8_t *buf, size_t size,
                             size_t *ret_len, struct cfs_error *err)
{
        size_t len;
        if (p->kind == CFS_TPM_POLICY_DIGESTS) {
                if (p->n_digests < 1 || p->n_digests > CFS_TPM_POLICY_MAX_DIGESTS)
                        return cfs_error_set(err, EINVAL,
                                             "a TPM policy needs 1 to %u image digests, not %u",
                                             CFS_TPM_POLICY_MAX_DIGESTS, p->n_digests);
                for (unsigned i = 1; i < p->n_digests; i++)
                        if (memcmp(p->digests[i - 1], p->digests[i], CFS_DIGEST_SIZE) >= 0)
                                return cfs_error_set(err, EINVAL,
                                                     "TPM policy digests are not sorted/unique");
                len = CFS_TPM_POLICY_HEADER_SIZE + (size_t)p->n_digests * CFS_DIGEST_SIZE;
        } else if (p->kind == CFS_TPM_POLICY_KEY) {
                len = CFS_TPM_POLICY_HEADER_SIZE + CFS_TPM_KEY_ID_SIZE + 8;
        } else {
                return cfs_error_set(err, EINVAL, "unknown TPM policy kind %d", (int)p->kind);
        }
        if (size < len)
                return cfs_error_set(err, ENOBUFS, "TPM policy buffer too small");
        memset(buf, 0, CFS_TPM_POLICY_HEADER_SIZE);
        memcpy(buf, policy_magic, sizeof(policy_magic));
        cfs_put_le16(buf + 6, FORMAT_VERSION);
        cfs_put_le16(buf + 8, (uint16_t)p->kind);
        cfs_put_le16(buf + 10, p->kind == CFS_TPM_POLICY_DIGESTS ? (uint16_t)p->n_digests : 1);
        uint8_t *q = buf + CFS_TPM_POLICY_HEADER_SIZE;
        if (p->kind == CFS_TPM_POLICY_DIGESTS) {
                memcpy(q, p->digests, (size_t)p->n_digests * CFS_DIGEST_SIZE);
        } else {
                memcpy(q, p->key_id, CFS_TPM_KEY_ID_SIZE);
                cfs_put_le64(q + CFS_TPM_KEY_ID_SIZE, p->min_generation);
        }
        *ret_len = len;
        return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

int cfs_tpm_policy_parse(const uint8_t *buf, size_t len, struct cfs_tpm_policy *ret,
                         struct cfs_error *err)
{
        memset(ret, 0, sizeof(*ret));
        if (len < CFS_TPM_POLICY_HEADER_SIZE)
                return cfs_error_set(err, EBADMSG, "TPM policy: %zu bytes, shorter than its header",
                                     len);
        if (memcmp(buf, policy_magic, sizeof(policy_magic)))
                return cfs_error_set(err, EBADMSG, "TPM policy: bad magic (not a cfsroot policy)");
        unsigned version = cfs_get_le16(buf + 6), kind = cfs_get_le16(buf + 8),
                 count = cfs_get_le16(buf + 10);
        if (version != FORMAT_VERSION)
                return cfs_error_set(err, EBADMSG,
                                     "TPM policy: version %u, this cfsroot reads version %u",
                                     version, FORMAT_VERSION);
        if (!all_zero(buf + 12, 4))
                return cfs_error_set(err, EBADMSG, "TPM policy: reserved bytes are not zero");
        const uint8_t *q = buf + CFS_TPM_POLICY_HEADER_SIZE;
        size_t body = len - CFS_TPM_POLICY_HEADER_SIZE;
        if (kind == CFS_TPM_POLICY_DIGESTS) {
                if (count < 1 || count > CFS_TPM_POLICY_MAX_DIGESTS)
                        return cfs_error_set(err, EBADMSG,
                                             "TPM policy: %u digests (allowed: 1 to %u)", count,
                                             CFS_TPM_POLICY_MAX_DIGESTS);
                if (body != (size_t)count * CFS_DIGEST_SIZE)
                        return cfs_error_set(err, EBADMSG,
                                             "TPM policy: %zu bytes of digests, expected %u x %u",
                                             body, count, CFS_DIGEST_SIZE);
                for (unsigned i = 1; i < count; i++)
                        if (memcmp(q + (i - 1) * CFS_DIGEST_SIZE, q + i * CFS_DIGEST_SIZE,
                                   CFS_DIGEST_SIZE) >= 0)
                                return cfs_error_set(
                                    err, EBADMSG,
                                    "TPM policy: digest %u is not above digest %u (the list "
                                    "must be sorted, without repeats)",
                                    i, i - 1);
                ret->kind = CFS_TPM_POLICY_DIGESTS;
                ret->n_digests = count;
                memcpy(ret->digests, q, body);
                return 0;
        }
        if (kind == CFS_TPM_POLICY_KEY) {
                if (count != 1)
                        return cfs_error_set(err, EBADMSG,
                                             "TPM policy: key policy with count %u (must be 1)",
                                             count);
                if (body != CFS_TPM_KEY_ID_SIZE + 8)
                        return cfs_error_set(
                            err, EBADMSG, "TPM policy: key policy body of %zu bytes, expected %u",
                            body, CFS_TPM_KEY_ID_SIZE + 8);
                ret->kind = CFS_TPM_POLICY_KEY;
                memcpy(ret->key_id, q, CFS_TPM_KEY_ID_SIZE);
                ret->min_generation = cfs_get_le64(q + CFS_TPM_KEY_ID_SIZE);
                return 0;
        }
        return cfs_error_set(err, EBADMSG, "TPM policy: unknown kind %u", kind);
}

int cfs_tpm_policy_check(const struct cfs_tpm_policy *p, const uint8_t digest[CFS_DIGEST_SIZE],
                         const uint8_t *signed_by, uint64_t generation, struct cfs_error *err)
{
        char hex[CFS_DIGEST_HEX_SIZE], want[CFS_DIGEST_HEX_SIZE];
        cfs_digest_to_hex(digest, hex);
        if (p->kind == CFS_TPM_POLICY_DIGESTS) {
                for (unsigned i = 0; i < p->n_digests; i++)
                        if (!memcmp(p->digests[i], digest, CFS_DIGEST_SIZE))
                                return 0;
                return cfs_error_set(err, EPERM,
                                     "digest %s is not one of the %u image digests the "
                                     "TPM-sealed policy allows",
                                     hex, p->n_digests);
        }
        if (p->kind != CFS_TPM_POLICY_KEY)
                return cfs_error_set(err, EPERM, "TPM-sealed policy of unknown kind");
        cfs_digest_to_hex(p->key_id, want);
        if (!signed_by)
                return cfs_error_set(err, EPERM,
                                     "digest %s is not signed, but the TPM-sealed policy requires "
                                     "a signature by key sha256:%s",
                                     hex, want);
        if (memcmp(signed_by, p->key_id, CFS_TPM_KEY_ID_SIZE)) {
                char got[CFS_DIGEST_HEX_SIZE];
                cfs_digest_to_hex(signed_by, got);
                return cfs_error_set(err, EPERM,
                                     "digest %s is signed by key sha256:%s, but the TPM-sealed "
                                     "policy trusts only key sha256:%s",
                                     hex, got, want);
        }
        if (generation < p->min_generation)
                return cfs_error_set(err, EPERM,
                                     "digest %s has security generation %" PRIu64
                                     ", below the minimum %" PRIu64 " of the TPM-sealed policy",
                                     hex, generation, p->min_generation);
        return 0;
}

static unsigned popcount24(uint32_t mask)
{
        return (unsigned)__builtin_popcount(mask & ((1u << CFS_TPM_PCR_COUNT) - 1));
}

int cfs_tpm_blob_parse(const uint8_t *buf, size_t len, struct cfs_tpm_blob *ret,
                       struct cfs_error *err)
{
        memset(ret, 0, sizeof(*ret));
        if (len > CFS_TPM_BLOB_MAX)
                return cfs_error_set(err, EBADMSG, "sealed blob: %zu bytes, larger than %u", len,
                                     CFS_TPM_BLOB_MAX);
        if (len < BLOB_HEADER_SIZE)
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: %zu bytes, shorter than its header", len);
        if (memcmp(buf, blob_magic, sizeof(blob_magic)))
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: bad magic (not made by cfsroot seal)");
        unsigned version = cfs_get_le16(buf + 6), bank = cfs_get_le16(buf + 8);
        if (version != CFS_TPM_BLOB_V1 && version != CFS_TPM_BLOB_V2)
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: version %u, this cfsroot reads versions 1 and 2",
                                     version);
        if (bank != CFS_TPM_ALG_SHA256)
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: PCR bank 0x%04x (only sha256, 0x000b, is used)",
                                     bank);
        unsigned flags = cfs_get_le16(buf + 10);
        if (flags & ~CFS_TPM_BLOB_CREATION)
                return cfs_error_set(err, EBADMSG, "sealed blob: unknown flags 0x%04x", flags);
        unsigned n_fields = flags & CFS_TPM_BLOB_CREATION ? 6 : 4;
        uint32_t mask = cfs_get_le32(buf + 12);
        if (mask == 0 || (mask >> CFS_TPM_PCR_COUNT))
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: PCR mask 0x%08" PRIx32
                                     " (needs at least one of PCRs 0-23, nothing above)",
                                     mask);
        size_t off = BLOB_HEADER_SIZE;
        size_t values =
            version == CFS_TPM_BLOB_V1 ? (size_t)popcount24(mask) * CFS_TPM_PCR_SIZE : 0;
        if (len - off < values)
                return cfs_error_set(err, EBADMSG, "sealed blob: truncated in the PCR values");
        if (version == CFS_TPM_BLOB_V1)
                for (unsigned pcr = 0; pcr < CFS_TPM_PCR_COUNT; pcr++)
                        if (mask & (1u << pcr)) {
                                memcpy(ret->pcr_values[pcr], buf + off, CFS_TPM_PCR_SIZE);
                                off += CFS_TPM_PCR_SIZE;
                        }
        const char *const names[BLOB_FIELDS] = {
            "policy",        "public area",
            "private area",  version == CFS_TPM_BLOB_V1 ? "reserved field" : "signing key",
            "creation data", "creation ticket"};
        const uint8_t *field[BLOB_FIELDS] = {};
        size_t flen[BLOB_FIELDS] = {};
        for (unsigned i = 0; i < n_fields; i++) {
                if (len - off < 4)
                        return cfs_error_set(
                            err, EBADMSG, "sealed blob: truncated before the %s length", names[i]);
                uint32_t n = cfs_get_le32(buf + off);
                off += 4;
                if (n > CFS_TPM_BLOB_FIELD_MAX || n > len - off)
                        return cfs_error_set(err, EBADMSG,
                                             "sealed blob: %s of %" PRIu32
                                             " bytes at offset %zu runs past the end (%zu bytes)",
                                             names[i], n, off, len);
                field[i] = buf + off;
                flen[i] = n;
                off += n;
        }
        if (off != len)
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: %zu trailing bytes after the last "
                                     "field",
                                     len - off);
        if (flen[0] < CFS_TPM_POLICY_HEADER_SIZE || flen[0] > CFS_TPM_POLICY_MAX_SIZE)
                return cfs_error_set(err, EBADMSG, "sealed blob: policy field of %zu bytes",
                                     flen[0]);
        if (flen[1] < 2 || flen[2] < 2)
                return cfs_error_set(err, EBADMSG, "sealed blob: empty TPM object");
        if (version == CFS_TPM_BLOB_V1 && flen[3] != 0)
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: reserved field is not empty (version 1)");
        if (version == CFS_TPM_BLOB_V2 && flen[3] < 2)
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: version 2 without the signing key");
        if (n_fields == 6 && (flen[4] < 2 || flen[5] < 2))
                return cfs_error_set(err, EBADMSG, "sealed blob: empty creation record");
        ret->version = version;
        ret->pcr_bank = (uint16_t)bank;
        ret->pcr_mask = mask;
        ret->policy = field[0];
        ret->policy_len = flen[0];
        ret->public_area = field[1];
        ret->public_len = flen[1];
        ret->private_area = field[2];
        ret->private_len = flen[2];
        if (version == CFS_TPM_BLOB_V2) {
                ret->auth_key = field[3];
                ret->auth_key_len = flen[3];
        }
        ret->flags = (uint16_t)flags;
        if (n_fields == 6) {
                ret->creation_data = field[4];
                ret->creation_data_len = flen[4];
                ret->creation_ticket = field[5];
                ret->creation_ticket_len = flen[5];
        }
        return 0;
}

int cfs_tpm_blob_serialize(const struct cfs_tpm_blob *b, uint8_t **ret, size_t *ret_len,
                           struct cfs_error *err)
{
        unsigned version = b->version ? b->version : CFS_TPM_BLOB_V1;
        bool v1 = version == CFS_TPM_BLOB_V1;
        if (b->pcr_mask == 0 || (b->pcr_mask >> CFS_TPM_PCR_COUNT) ||
            b->pcr_bank != CFS_TPM_ALG_SHA256)
                return cfs_error_set(err, EINVAL, "sealed blob: bad PCR selection");
        if (version != CFS_TPM_BLOB_V1 && version != CFS_TPM_BLOB_V2)
                return cfs_error_set(err, EINVAL, "sealed blob: version %u", version);
        size_t key_len = v1 ? 0 : b->auth_key_len;
        bool creation = b->flags & CFS_TPM_BLOB_CREATION;
        unsigned n_fields = creation ? 6 : 4;
        if (b->flags & ~CFS_TPM_BLOB_CREATION)
                return cfs_error_set(err, EINVAL, "sealed blob: unknown flags");
        size_t cd_len = creation ? b->creation_data_len : 0,
               ct_len = creation ? b->creation_ticket_len : 0;
        if (creation &&
            (!b->creation_data || !b->creation_ticket || cd_len < 2 ||
             cd_len > CFS_TPM_BLOB_FIELD_MAX || ct_len < 2 || ct_len > CFS_TPM_BLOB_FIELD_MAX))
                return cfs_error_set(err, EINVAL, "sealed blob: creation record out of bounds");
        if (b->policy_len < CFS_TPM_POLICY_HEADER_SIZE || b->policy_len > CFS_TPM_POLICY_MAX_SIZE ||
            b->public_len < 2 || b->public_len > CFS_TPM_BLOB_FIELD_MAX || b->private_len < 2 ||
            b->private_len > CFS_TPM_BLOB_FIELD_MAX ||
            (!v1 && (key_len < 2 || key_len > CFS_TPM_BLOB_FIELD_MAX || !b->auth_key)))
                return cfs_error_set(err, EINVAL, "sealed blob: field out of bounds");
        size_t len = BLOB_HEADER_SIZE +
                     (v1 ? (size_t)popcount24(b->pcr_mask) * CFS_TPM_PCR_SIZE : 0) + 4 * n_fields +
                     b->policy_len + b->public_len + b->private_len + key_len + cd_len + ct_len;
        uint8_t *buf = calloc(1, len);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, blob_magic, sizeof(blob_magic));
        cfs_put_le16(buf + 6, (uint16_t)version);
        cfs_put_le16(buf + 8, b->pcr_bank);
        cfs_put_le16(buf + 10, creation ? CFS_TPM_BLOB_CREATION : 0);
        cfs_put_le32(buf + 12, b->pcr_mask);
        size_t off = BLOB_HEADER_SIZE;
        for (unsigned pcr = 0; v1 && pcr < CFS_TPM_PCR_COUNT; pcr++)
                if (b->pcr_mask & (1u << pcr)) {
                        memcpy(buf + off, b->pcr_values[pcr], CFS_TPM_PCR_SIZE);
                        off += CFS_TPM_PCR_SIZE;
                }
        const uint8_t *field[BLOB_FIELDS] = {b->policy,        b->public_area,
                                             b->private_area,  v1 ? NULL : b->auth_key,
                                             b->creation_data, b->creation_ticket};
        size_t flen[BLOB_FIELDS] = {b->policy_len, b->public_len, b->private_len,
                                    key_len,       cd_len,        ct_len};
        for (unsigned i = 0; i < n_fields; i++) {
                cfs_put_le32(buf + off, (uint32_t)flen[i]);
                off += 4;
                if (flen[i])
                        memcpy(buf + off, field[i], flen[i]);
                off += flen[i];
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

static const uint8_t approval_magic[CFS_TPM_APPROVAL_MAGIC_SIZE] = {'C', 'F', 'S', 'A', 'P', 'R'};
#define APPROVAL_VERSION 1u

static size_t approval_sig_len(unsigned alg)
{
        return alg == CFS_TPM_ALG_RSASSA ? 256u : alg == CFS_TPM_ALG_ECDSA ? 64u : 0u;
}

/* Parse one record at @buf (@len bytes left); *used = its size. */
static int approval_parse_one(const uint8_t *buf, size_t len, unsigned no,
                              struct cfs_tpm_approval *a, size_t *used, struct cfs_error *err)
{
        memset(a, 0, sizeof(*a));
        if (len < CFS_TPM_APPROVAL_HEADER_SIZE)
                return cfs_error_set(err, EBADMSG, "approval %u: truncated in its header", no);
        if (memcmp(buf, approval_magic, sizeof(approval_magic)))
                return cfs_error_set(
                    err, EBADMSG, "approval %u: bad magic (not made by cfsroot seal-approve)", no);
        unsigned version = cfs_get_le16(buf + 6), bank = cfs_get_le16(buf + 8),
                 alg = cfs_get_le16(buf + 10), sig_len = cfs_get_le16(buf + 48);
        uint32_t mask = cfs_get_le32(buf + 12);
        if (version != APPROVAL_VERSION)
                return cfs_error_set(err, EBADMSG,
                                     "approval %u: version %u, this cfsroot reads version %u", no,
                                     version, APPROVAL_VERSION);
        if (bank != CFS_TPM_ALG_SHA256)
                return cfs_error_set(
                    err, EBADMSG, "approval %u: PCR bank 0x%04x (only sha256, 0x000b)", no, bank);
        if (!approval_sig_len(alg))
                return cfs_error_set(err, EBADMSG,
                                     "approval %u: signature scheme 0x%04x (RSASSA 0x0014 or "
                                     "ECDSA 0x0018)",
                                     no, alg);
        if (mask == 0 || (mask >> CFS_TPM_PCR_COUNT))
                return cfs_error_set(err, EBADMSG,
                                     "approval %u: PCR mask 0x%08" PRIx32
                                     " (needs at least one of PCRs 0-23, nothing above)",
                                     no, mask);
        if (sig_len != approval_sig_len(alg))
                return cfs_error_set(err, EBADMSG,
                                     "approval %u: signature of %u bytes, scheme 0x%04x has %zu",
                                     no, sig_len, alg, approval_sig_len(alg));
        if (!all_zero(buf + 50, 2))
                return cfs_error_set(err, EBADMSG, "approval %u: reserved bytes are not zero", no);
        size_t need =
            CFS_TPM_APPROVAL_HEADER_SIZE + (size_t)popcount24(mask) * CFS_TPM_PCR_SIZE + sig_len;
        if (len < need)
                return cfs_error_set(err, EBADMSG,
                                     "approval %u: truncated (%zu bytes left, the record has %zu)",
                                     no, len, need);
        size_t off = CFS_TPM_APPROVAL_HEADER_SIZE;
        for (unsigned pcr = 0; pcr < CFS_TPM_PCR_COUNT; pcr++)
                if (mask & (1u << pcr)) {
                        memcpy(a->pcr_values[pcr], buf + off, CFS_TPM_PCR_SIZE);
                        off += CFS_TPM_PCR_SIZE;
                }
        a->sig_alg = (uint16_t)alg;
        a->pcr_mask = mask;
        memcpy(a->key_name, buf + 16, 32);
        a->sig_len = (uint16_t)sig_len;
        memcpy(a->sig, buf + off, sig_len);
        *used = need;
        return 0;
}

int cfs_tpm_approvals_parse(const uint8_t *buf, size_t len, struct cfs_tpm_approval **ret,
                            size_t *ret_n, struct cfs_error *err)
{
        *ret = NULL;
        *ret_n = 0;
        if (len > CFS_TPM_APPROVALS_FILE_MAX)
                return cfs_error_set(err, EBADMSG, "approvals: %zu bytes, larger than %u", len,
                                     CFS_TPM_APPROVALS_FILE_MAX);
        if (len == 0)
                return cfs_error_set(err, EBADMSG, "approvals: empty (no approval)");
        struct cfs_tpm_approval *a = calloc(CFS_TPM_APPROVALS_MAX, sizeof(*a));
        if (!a)
                return -ENOMEM;
        size_t off = 0, n = 0;
        while (off < len) {
                size_t used = 0;
                if (n == CFS_TPM_APPROVALS_MAX) {
                        free(a);
                        return cfs_error_set(err, EBADMSG, "approvals: more than %u records",
                                             CFS_TPM_APPROVALS_MAX);
                }
                int r =
                    approval_parse_one(buf + off, len - off, (unsigned)n + 1, &a[n], &used, err);
                if (r < 0) {
                        free(a);
                        return r;
                }
                off += used;
                n++;
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

int cfs_tpm_approval_serialize(const struct cfs_tpm_approval *a, uint8_t *buf, size_t size,
                               size_t *ret_len, struct cfs_error *err)
{
        if (!approval_sig_len(a->sig_alg) || a->sig_len != approval_sig_len(a->sig_alg) ||
            a->pcr_mask == 0 || (a->pcr_mask >> CFS_TPM_PCR_COUNT))
                return cfs_error_set(err, EINVAL, "approval: invalid record");
        size_t len = CFS_TPM_APPROVAL_HEADER_SIZE +
                     (size_t)popcount24(a->pcr_mask) * CFS_TPM_PCR_SIZE + a->sig_len;
        if (size < len)
                return cfs_error_set(err, ENOBUFS, "approval: buffer too small");
        memset(buf, 0, CFS_TPM_APPROVAL_HEADER_SIZE);
        memcpy(buf, approval_magic, sizeof(approval_magic));
        cfs_put_le16(buf + 6, APPROVAL_VERSION);
        cfs_put_le16(buf + 8, CFS_TPM_ALG_SHA256);
        cfs_put_le16(buf + 10, a->sig_alg);
        cfs_put_le32(buf + 12, a->pcr_mask);
        memcpy(buf + 16, a->key_name, 32);
        cfs_put_le16(buf + 48, a->sig_len);
        size_t off = CFS_TPM_APPROVAL_HEADER_SIZE;
        for (unsigned pcr = 0; pcr < CFS_TPM_PCR_COUNT; pcr++)
                if (a->pcr_mask & (1u << pcr)) {
                        memcpy(buf + off, a->pcr_values[pcr], CFS_TPM_PCR_SIZE);
                        off += CFS_TPM_PCR_SIZE;
                }
        memcpy(buf + off, a->sig, a->sig_len);
        *ret_len = len;
        return 0;
}

int cfs_tpm_pcr_mask_parse(const char *s, uint32_t *ret, struct cfs_error *err)
{
        uint32_t mask = 0;
        const char *p = s;
        if (!*p)
                return cfs_error_set(err, EINVAL, "empty PCR list");
        for (;;) {
                unsigned v = 0, digits = 0;
                while (*p >= '0' && *p <= '9' && digits < 3) {
                        v = v * 10 + (unsigned)(*p++ - '0');
                        digits++;
                }
                if (digits == 0 || v >= CFS_TPM_PCR_COUNT || (*p != ',' && *p != 0))
                        return cfs_error_set(err, EINVAL,
                                             "PCR list '%s': expected numbers 0-23 separated by "
                                             "commas",
                                             s);
                mask |= 1u << v;
                if (*p == 0)
                        break;
                p++;
        }
        *ret = mask;
        return 0;
}

void cfs_tpm_pcr_mask_format(uint32_t mask, char *buf, size_t size)
{
        size_t off = 0;
        if (size == 0)
                return;
        buf[0] = 0;
        for (unsigned pcr = 0; pcr < CFS_TPM_PCR_COUNT; pcr++)
                if (mask & (1u << pcr)) {
                        int n = snprintf(buf + off, size - off, "%s%u", off ? "," : "", pcr);
                        if (n < 0 || (size_t)n >= size - off)
                                return;
                        off += (size_t)n;
                }
}

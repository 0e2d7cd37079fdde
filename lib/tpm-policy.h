/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpm-policy.h - the boot policy that `cfsroot seal` binds to the TPM, and the
 * on-disk framing of the sealed blob. Pure parsing and serialisation (no TPM
 * access, no tpm2-tss), so it is linked everywhere and fuzzed
 * (tests/fuzz/fuzz-tpm-blob.c). Host (seal, unseal) and initrd (setup-root).
 *
 * Policy (what the TPM vouches for), all integers little-endian, exact size:
 *
 *   0   6  magic "CFSPOL"
 *   6   2  version = 1
 *   8   2  kind: 1 = list of allowed image digests, 2 = trusted key + minimum generation
 *  10   2  count: kind 1: number of digests, 1..CFS_TPM_POLICY_MAX_DIGESTS; kind 2: 1
 *  12   4  reserved, 0
 *  16      kind 1: count x 32-byte fs-verity sha256 image digests, sorted, no duplicates
 *          kind 2: 32-byte key id (sha256 of the signer's SubjectPublicKeyInfo DER,
 *                  as `cfsroot verify` prints) + le64 minimum security generation
 *
 * Blob (the file `cfsroot seal` writes), all integers little-endian:
 *
 *   0   6  magic "CFSTPM"
 *   6   2  version: 1 = PolicyPCR (bound to the PCR values at seal time),
 *                   2 = PolicyAuthorize (bound to the owner's signing key; the
 *                       PCR values are those of a signed approval, below)
 *   8   2  PCR bank: TPM2_ALG_SHA256 (0x000b), the only one
 *  10   2  flags: bit 0 = creation record present (two more fields, below);
 *          other bits 0
 *  12   4  PCR mask: bit N = PCR N, N < 24, at least one bit
 *  16      version 1: one 32-byte value per PCR in the mask, ascending: the values
 *          at seal time (the TPM enforces the policy; these only let unseal say
 *          which PCR changed); version 2: nothing (the approvals carry values)
 *          then four fields, each le32 length + bytes:
 *            policy     the serialised policy above (the TPM holds its sha256)
 *            public     TPM2B_PUBLIC of the sealed object, as the TPM marshals it
 *            private    TPM2B_PRIVATE of the sealed object (wrapped by the TPM's storage key)
 *            auth key   version 1: empty; version 2: TPM2B_PUBLIC of the owner's
 *                       signing key (lib/tpm-authorize.h: the exact template)
 *          with flag bit 0, two more fields, each le32 length + bytes:
 *            creation data    TPM2B_CREATION_DATA of the sealed object (TPM2_Create
 *                             with creationPCR = the PCR mask)
 *            creation ticket  TPMT_TK_CREATION: the TPM's proof that it created the
 *                             object with that creation data (TPM2_CertifyCreation)
 *          nothing after the last field.
 * Every length is bounded (CFS_TPM_BLOB_MAX in total) and the TPM structures are
 * unmarshalled strictly by lib/tpm.c before the TPM sees them.
 *
 * Approvals file (version 2 blobs; `cfsroot seal-approve` writes it): 1 to
 * CFS_TPM_APPROVALS_MAX records back to back, nothing else. One record, integers
 * little-endian, the signature as the TPM takes it (big-endian numbers):
 *
 *   0   6  magic "CFSAPR"
 *   6   2  version = 1
 *   8   2  PCR bank: TPM2_ALG_SHA256 (0x000b)
 *  10   2  signature scheme: TPM2_ALG_RSASSA (0x0014, PKCS#1 v1.5, sha256, RSA 2048)
 *                            or TPM2_ALG_ECDSA (0x0018, sha256, NIST P-256)
 *  12   4  PCR mask, as in the blob
 *  16  32  the signing key's name digest: sha256 of its TPMT_PUBLIC (the TPM
 *          name without the leading 0x000b); only for messages, the TPM checks
 *          the signature against the key in the blob
 *  48   2  signature length: 256 (RSASSA) or 64 (ECDSA: r || s, 32 bytes each)
 *  50   2  reserved, 0
 *  52      one 32-byte value per PCR in the mask, ascending
 *          then the signature over aHash = sha256(approvedPolicy || "cfsroot"),
 *          approvedPolicy = the PolicyPCR digest of these values (TPM2 part 3,
 *          TPM2_PolicyAuthorize)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tree.h"

#define CFS_TPM_POLICY_MAX_DIGESTS 64u
#define CFS_TPM_POLICY_HEADER_SIZE 16u
#define CFS_TPM_POLICY_MAX_SIZE (CFS_TPM_POLICY_HEADER_SIZE + CFS_TPM_POLICY_MAX_DIGESTS * 32u)
#define CFS_TPM_KEY_ID_SIZE 32u

#define CFS_TPM_PCR_COUNT 24u
#define CFS_TPM_PCR_SIZE 32u /* sha256 bank */
#define CFS_TPM_ALG_SHA256 0x000bu
#define CFS_TPM_BLOB_FIELD_MAX 2048u /* TPM2B_PUBLIC and TPM2B_PRIVATE are far smaller */
#define CFS_TPM_BLOB_MAX (16u * 1024u)

enum cfs_tpm_policy_kind {
        CFS_TPM_POLICY_DIGESTS = 1, /* the image digest must be one of the list */
        CFS_TPM_POLICY_KEY = 2,     /* signed by this key, generation >= minimum */
};

struct cfs_tpm_policy {
        enum cfs_tpm_policy_kind kind;
        unsigned n_digests;                                           /* kind DIGESTS */
        uint8_t digests[CFS_TPM_POLICY_MAX_DIGESTS][CFS_DIGEST_SIZE]; /* sorted, unique */
        uint8_t key_id[CFS_TPM_KEY_ID_SIZE];                          /* kind KEY */
        uint64_t min_generation;                                      /* kind KEY */
};

/*
 * Add @digest to a DIGESTS policy, keeping the list sorted; a duplicate is
 * ignored. -E2BIG beyond CFS_TPM_POLICY_MAX_DIGESTS.
 */
int cfs_tpm_policy_add_digest(struct cfs_tpm_policy *p, const uint8_t digest[CFS_DIGEST_SIZE],
                              struct cfs_error *err);

/* Serialise into @buf (at least CFS_TPM_POLICY_MAX_SIZE bytes); -EINVAL for an invalid policy. */
int cfs_tpm_policy_serialize(const struct cfs_tpm_policy *p, uint8_t *buf, size_t size,
                             size_t *ret_len, struct cfs_error *err);

/* Strict parse: wrong magic/version/kind/count/size, unsorted or repeated digests,
 * non-zero reserved bytes are -EBADMSG with a message saying which. */
int cfs_tpm_policy_parse(const uint8_t *buf, size_t len, struct cfs_tpm_policy *ret,
                         struct cfs_error *err);

/*
 * Does @p allow booting @digest? @signed_by is the key id of a signature that
 * was verified against the initrd's trusted certificates (NULL if none) and
 * @generation its signed security generation. 0 if allowed, -EPERM with a
 * message saying why not.
 */
int cfs_tpm_policy_check(const struct cfs_tpm_policy *p, const uint8_t digest[CFS_DIGEST_SIZE],
                         const uint8_t *signed_by, uint64_t generation, struct cfs_error *err);

#define CFS_TPM_BLOB_V1 1u            /* PolicyPCR */
#define CFS_TPM_BLOB_V2 2u            /* PolicyAuthorize */
#define CFS_TPM_BLOB_CREATION 0x0001u /* flag: creation data + ticket follow */

/* A parsed blob. The pointers point into the buffer given to cfs_tpm_blob_parse(). */
struct cfs_tpm_blob {
        unsigned version;  /* CFS_TPM_BLOB_V1 (0 = V1) or _V2 */
        uint16_t pcr_bank; /* CFS_TPM_ALG_SHA256 */
        uint32_t pcr_mask; /* bit N = PCR N */
        uint8_t pcr_values[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE]; /* indexed by PCR number */
        const uint8_t *policy, *public_area, *private_area;
        size_t policy_len, public_len, private_len;
        const uint8_t *auth_key; /* version 2: TPM2B_PUBLIC of the signing key */
        size_t auth_key_len;
        uint16_t flags;                 /* CFS_TPM_BLOB_CREATION */
        const uint8_t *creation_data;   /* TPM2B_CREATION_DATA */
        const uint8_t *creation_ticket; /* TPMT_TK_CREATION */
        size_t creation_data_len, creation_ticket_len;
};

/* Strict parse of the framing (not of the TPM structures inside). -EBADMSG with a message. */
int cfs_tpm_blob_parse(const uint8_t *buf, size_t len, struct cfs_tpm_blob *ret,
                       struct cfs_error *err);

/* Serialise @b; *ret is malloc()ed. -EINVAL if a field is out of bounds. */
int cfs_tpm_blob_serialize(const struct cfs_tpm_blob *b, uint8_t **ret, size_t *ret_len,
                           struct cfs_error *err);

#define CFS_TPM_APPROVAL_MAGIC_SIZE 6u
#define CFS_TPM_APPROVAL_HEADER_SIZE 52u
#define CFS_TPM_APPROVAL_SIG_MAX 256u
#define CFS_TPM_APPROVALS_MAX 32u
#define CFS_TPM_APPROVALS_FILE_MAX (64u * 1024u)
#define CFS_TPM_ALG_RSASSA 0x0014u
#define CFS_TPM_ALG_ECDSA 0x0018u
/* The policyRef of cfsroot's PolicyAuthorize: part of every signed aHash. */
#define CFS_TPM_POLICY_REF "cfsroot"

/* One signed approval of PCR values (a PolicyPCR digest) for PolicyAuthorize. */
struct cfs_tpm_approval {
        uint16_t sig_alg;     /* CFS_TPM_ALG_RSASSA/_ECDSA */
        uint32_t pcr_mask;    /* bit N = PCR N */
        uint8_t key_name[32]; /* sha256 of the key's TPMT_PUBLIC */
        uint8_t pcr_values[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE]; /* indexed by PCR number */
        uint16_t sig_len;                                        /* 256 or 64 */
        uint8_t sig[CFS_TPM_APPROVAL_SIG_MAX];
};

/*
 * Strict parse of an approvals file: every record exactly as described above,
 * 1 to CFS_TPM_APPROVALS_MAX of them, no trailing bytes. *ret is a malloc()ed
 * array of *ret_n records. -EBADMSG with a message naming the record (1-based).
 */
int cfs_tpm_approvals_parse(const uint8_t *buf, size_t len, struct cfs_tpm_approval **ret,
                            size_t *ret_n, struct cfs_error *err);

/* Serialise one record into @buf; -EINVAL if it is not valid, -ENOBUFS if @size is short. */
int cfs_tpm_approval_serialize(const struct cfs_tpm_approval *a, uint8_t *buf, size_t size,
                               size_t *ret_len, struct cfs_error *err);

/* "7", "4,7,11": PCR numbers < 24 into a mask. -EINVAL with a message. */
int cfs_tpm_pcr_mask_parse(const char *s, uint32_t *ret, struct cfs_error *err);
/* The mask as "4,7,11" into @buf (at least 64 bytes). */
void cfs_tpm_pcr_mask_format(uint32_t mask, char *buf, size_t size);

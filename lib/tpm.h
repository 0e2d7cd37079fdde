/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpm.h - the TPM side of cfsroot through tpm2-tss ESAPI: seal a boot policy
 * (lib/tpm-policy.h) to PCR values, unseal it again, extend a PCR with what was
 * booted and record the event. Host (`cfsroot seal`, `unseal`) and initrd
 * (setup-root). Built as its own static library (libcfsroot-tpm) so that only
 * the cfsroot tool links libtss2-*.
 *
 * Returns 0 / -errno and never logs: messages go into struct cfs_error. The
 * tpm2-tss libraries print their own errors to stderr unless TSS2_LOG says
 * otherwise; cfs_tpm_open() sets TSS2_LOG=all+none unless the caller's
 * environment already has TSS2_LOG (so debugging stays possible).
 *
 * Error codes:
 *   -ENODEV       no TPM: the TCTI cannot be loaded or the TPM does not answer
 *   -EBADMSG      the blob (or a TPM structure inside it) is malformed
 *   -EKEYREJECTED the TPM refuses the sealed object: sealed by another TPM, the
 *                 TPM was cleared (new storage seed), or the blob was altered;
 *                 version 2: the approval for the current PCR values is signed
 *                 by another key or its signature does not verify
 *   -EPERM        the PCRs differ from the sealed values (message names them);
 *                 version 2: no approval for the current PCR values
 *   -ENOENT       version 2 blob without its approvals file
 *   -EOPNOTSUPP   an active PCR bank uses a hash cfsroot cannot compute
 *   -EIO          any other TPM error (message has Tss2_RC_Decode()'s text)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "macros.h"
#include "tpm-policy.h"

/* Default TCTI when neither the caller nor $TPM2TSS_TCTI names one: the kernel's
 * resource manager, as in the initrd (no tpm2-abrmd there). */
#define CFS_TPM_TCTI_DEFAULT "device:/dev/tpmrm0"
#define CFS_TPM_PCRS_DEFAULT 0x80u /* PCR 7: Secure Boot policy */
#define CFS_TPM_MEASURE_PCR_DEFAULT 13u
#define CFS_TPM_EVENT_LOG_DEFAULT "/run/cfsroot/tpm-measure.log"
/* Suggested default location of the sealed blob, below the physical root. */
#define CFS_TPM_BLOB_DEFAULT "/composefs/tpm-policy.blob"
/* ... and of the signed PCR approvals of a version 2 blob, next to it. */
#define CFS_TPM_APPROVALS_DEFAULT "/composefs/tpm-policy.approvals"

struct cfs_tpm;

/*
 * Connect to a TPM. @tcti: a tctildr configuration string ("device:/dev/tpmrm0",
 * "swtpm:path=/run/swtpm/sock", "swtpm:host=127.0.0.1,port=2321"); NULL means
 * $TPM2TSS_TCTI, else CFS_TPM_TCTI_DEFAULT.
 */
int cfs_tpm_open(const char *tcti, struct cfs_tpm **ret, struct cfs_error *err);
void cfs_tpm_close(struct cfs_tpm *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cfs_tpm *, cfs_tpm_close);

/* Read the sha256 bank values of the PCRs in @mask into values[pcr]. */
int cfs_tpm_pcr_read(struct cfs_tpm *t, uint32_t mask,
                     uint8_t values[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE], struct cfs_error *err);

/*
 * Seal @policy (a serialised struct cfs_tpm_policy, checked here): a keyed-hash
 * object under the TPM's storage root key (the standard ECC P-256 SRK template,
 * owner hierarchy) holds sha256(@policy) and can be unsealed only through a
 * policy session (no password path). *ret is the malloc()ed blob (format in
 * tpm-policy.h).
 *   @auth_key NULL: blob version 1, PolicyPCR of the current values of the
 *     sha256 PCRs in @pcr_mask.
 *   @auth_key = a marshalled signing key (cfs_tpm_authkey_from_pkey()): blob
 *     version 2, PolicyAuthorize(key, "cfsroot"); unsealing then needs an
 *     approval of the PCRs in @pcr_mask signed by that key (tpm-authorize.h).
 */
int cfs_tpm_seal(struct cfs_tpm *t, const uint8_t *policy, size_t policy_len, uint32_t pcr_mask,
                 const uint8_t *auth_key, size_t auth_key_len, uint8_t **ret, size_t *ret_len,
                 struct cfs_error *err);

/*
 * The same with the PCR values of a version 1 blob given (@values, indexed by
 * PCR number; NULL with @auth_key) instead of read: what anyone who can talk
 * to the TPM can do. The creation record still holds the values at creation,
 * so unsealing with CFS_TPM_UNSEAL_REQUIRE_CREATION refuses such a blob unless
 * they are the given ones. For tests (tests/tpm/tpm-helper.c).
 */
int cfs_tpm_seal_to(struct cfs_tpm *t, const uint8_t *policy, size_t policy_len, uint32_t pcr_mask,
                    const uint8_t (*values)[CFS_TPM_PCR_SIZE], const uint8_t *auth_key,
                    size_t auth_key_len, uint8_t **ret, size_t *ret_len, struct cfs_error *err);

struct cfs_tpm_unsealed {
        struct cfs_tpm_policy policy; /* the policy, authenticated by the TPM */
        uint32_t pcr_mask;            /* the PCRs it was sealed to (v2: approved for) */
        unsigned version;             /* blob version, CFS_TPM_BLOB_V1 or _V2 */
        unsigned approval;            /* v2: 1-based number of the approval used */
        uint8_t key_name[32];         /* v2: name digest of the signing key */
        bool creation_verified;       /* the blob's creation record was checked */
};

/* cfs_tpm_unseal() flags */
#define CFS_TPM_UNSEAL_REQUIRE_CREATION 0x1u /* refuse a blob without a creation record */

/*
 * Parse @blob, load the sealed object, satisfy its policy, unseal, and check
 * that the TPM's sha256 equals that of the policy in the blob. Only then is the
 * policy returned. Version 1: PolicyPCR with the current PCR values. Version 2:
 * PolicyPCR, then the first approval in @approvals (an approvals file,
 * @approvals_len bytes, named @approvals_name in messages; ignored for version
 * 1, -ENOENT if NULL for version 2) for the current values that the TPM
 * verifies with the blob's key, then PolicyAuthorize.
 * Version 2 errors: -EPERM "PCR 7 value not approved by any signed policy in
 * FILE ..."; -EKEYREJECTED an approval for the current values signed by another
 * key, a bad signature, or a blob whose key is not the sealed object's;
 * -EBADMSG a malformed approvals file.
 * Creation record (blobs sealed by this version, flag CFS_TPM_BLOB_CREATION):
 * the TPM checks its ticket (TPM2_CertifyCreation), and the PCR values at
 * creation must be the sealed ones (version 1) or approved by a signed
 * approval (version 2), else -EKEYREJECTED: a blob made in another boot state
 * (another boot chain, a live system) is refused. A blob without the record
 * is refused only with CFS_TPM_UNSEAL_REQUIRE_CREATION in @flags.
 */
int cfs_tpm_unseal(struct cfs_tpm *t, const uint8_t *blob, size_t blob_len,
                   const uint8_t *approvals, size_t approvals_len, const char *approvals_name,
                   unsigned flags, struct cfs_tpm_unsealed *ret, struct cfs_error *err);

/*
 * The PolicyPCR policy digest (sha256) of the sha256 PCRs in @mask with
 * @values: what the sealed object's authPolicy must be. No TPM needed.
 */
int cfs_tpm_policy_pcr_digest(uint32_t mask,
                              const uint8_t values[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE],
                              uint8_t ret[32], struct cfs_error *err);

/*
 * Extend PCR @pcr (0-23) with @data (@len bytes, at most 4 KiB) in every active
 * PCR bank (each bank gets the data's hash with its own algorithm, so no bank
 * is left behind for a forger). If @log_path is not NULL, then append one
 * record to it (created 0644 with its directory; JSON-SEQ, RFC 7464, shaped like
 * systemd's /run/log/systemd/tpm2-measure.log):
 *   \x1e{"pcr":13,"digests":[{"hashAlg":"sha256","digest":"<hex>"},...],
 *        "content_type":"cfsroot","content":{"string":"<data>"}}\n
 * @data is then expected to be printable ASCII (the measurement string).
 * The PCR is extended before the record is written: a verifier that finds the
 * PCR ahead of the log knows a record is missing.
 */
int cfs_tpm_pcr_extend(struct cfs_tpm *t, unsigned pcr, const void *data, size_t len,
                       const char *log_path, struct cfs_error *err);

/*
 * The measurement string of a verified boot, version 1 (what setup-root
 * extends): "cfsroot:v1:image=<64 hex>:mode=<mode>:signer=<64 hex key id|none>".
 * @mode: "signed", "command-line" or "tpm-policy" (a short ASCII word).
 * @buf must hold at least CFS_TPM_MEASUREMENT_MAX bytes.
 */
#define CFS_TPM_MEASUREMENT_MAX 200u
void cfs_tpm_measurement_string(const uint8_t digest[32], const char *mode, const uint8_t *key_id,
                                char *buf, size_t size);

/*
 * What setup-root needs, in two calls.
 *
 * cfs_tpm_check_boot(): read the sealed blob @path below @dir_fd (a regular
 * file, no symlink at the last component, at most CFS_TPM_BLOB_MAX bytes) and,
 * for a version 2 blob, the approvals file @approvals_path below @dir_fd (same
 * rules, at most CFS_TPM_APPROVALS_FILE_MAX bytes), unseal it with the TPM at @tcti (NULL:
 * $TPM2TSS_TCTI or the default) and decide with cfs_tpm_policy_check() whether @digest may boot
 * (@signed_by: key id of a signature verified against the initrd's trusted certificates, NULL if
 * none; @generation: its signed security generation). @ret (may be NULL) receives the policy.
 * Errors: -ENOENT blob missing, -EPERM not allowed by the policy or PCRs changed, and the codes
 * listed at the top.
 *
 * cfs_tpm_measure_boot(): extend @pcr with cfs_tpm_measurement_string() of
 * the booted image and append the event record to @log_path (NULL: none).
 */
int cfs_tpm_check_boot(const char *tcti, int dir_fd, const char *path, const char *approvals_path,
                       unsigned flags, const uint8_t digest[32], const uint8_t *signed_by,
                       uint64_t generation, struct cfs_tpm_unsealed *ret, struct cfs_error *err);
int cfs_tpm_measure_boot(const char *tcti, unsigned pcr, const uint8_t digest[32], const char *mode,
                         const uint8_t *key_id, const char *log_path, struct cfs_error *err);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpm-internal.h - what the files of libcfsroot-tpm (lib/tpm.c,
 * lib/tpm-rollback.c, lib/tpm-authorize.c) share: the connection, the TPM
 * error helpers and small TPM utilities. Not for
 * callers outside lib/tpm*.c. Host and initrd.
 */
#pragma once

#include <tss2/tss2_esys.h>

#include "error.h"
#include "tpm-policy.h"

struct cfs_tpm {
        TSS2_TCTI_CONTEXT *tcti;
        ESYS_CONTEXT *esys;
        char tcti_conf[256];
};

/* Record "<what>: TPM error 0x...: <decoded>" with @code; returns -@code. */
int cfs_tpm_rc_error(struct cfs_error *err, TSS2_RC rc, int code, const char *what);

/* The TPM's response code without the layer and the handle/parameter/session number. */
TSS2_RC cfs_tpm_rc_base(TSS2_RC rc);

/* -ENODEV if @rc says the TPM stopped answering (TCTI I/O error), else -@fallback. */
int cfs_tpm_rc_errno(TSS2_RC rc, int fallback);

/* A TPML_PCR_SELECTION of the sha256 PCRs in @mask. */
void cfs_tpm_pcr_selection(uint32_t mask, TPML_PCR_SELECTION *sel);

/* sha256 with OpenSSL; -EIO on failure. */
int cfs_tpm_sha256(const void *data, size_t len, uint8_t out[32]);

/* sha256 of the values of the PCRs in @mask, concatenated in ascending order:
 * a creation record's pcrDigest for those values. */
int cfs_tpm_pcr_values_digest(uint32_t mask,
                              const uint8_t values[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE],
                              uint8_t ret[32]);

/* Flush a transient handle (ignoring errors) and set it to ESYS_TR_NONE. */
void cfs_tpm_flush(struct cfs_tpm *t, ESYS_TR *h);

/*
 * Strictly unmarshal the owner's signing key from a version 2 blob (the exact
 * template of lib/tpm-authorize.h) and compute its name digest.
 */
int cfs_tpm_authkey_unmarshal(const uint8_t *buf, size_t len, TPM2B_PUBLIC *ret, uint8_t name[32],
                              struct cfs_error *err);

/*
 * Satisfy a version 2 sealed object's policy in @session: PolicyPCR(blob's
 * PCRs), PolicyGetDigest, the first of the @n approvals whose digest matches
 * and whose signature the TPM verifies with @key (LoadExternal, owner
 * hierarchy; VerifySignature -> ticket), PolicyAuthorize. *ret_index = the
 * 1-based number of the approval used. @approvals_name names the file in
 * messages. -EPERM: no approval for the current PCR values; -EKEYREJECTED:
 * matching approvals, but signed by another key or with a bad signature.
 * @creation_digest (not NULL): the verified creation record's pcrDigest; an
 * approval (by the blob's key, signature verified by the TPM) of those values
 * must exist too, else -EKEYREJECTED.
 */
int cfs_tpm_authorize_session(struct cfs_tpm *t, ESYS_TR session, const struct cfs_tpm_blob *b,
                              const TPM2B_PUBLIC *key, const uint8_t name[32],
                              const struct cfs_tpm_approval *approvals, size_t n,
                              const char *approvals_name, const uint8_t *creation_digest,
                              unsigned *ret_index, struct cfs_error *err);

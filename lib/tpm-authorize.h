/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpm-authorize.h - PolicyAuthorize for the sealed boot policy (blob version 2):
 * the owner's signing key as a TPM public area, the sealed object's authPolicy
 * that names it, and signed approvals of PCR values (approvals file format in
 * tpm-policy.h). Part of libcfsroot-tpm. Host (`cfsroot seal --public-key`,
 * `cfsroot seal-approve`) and initrd (setup-root unseals through it, lib/tpm.c).
 *
 * The signing key in the blob is a TPM2B_PUBLIC with exactly this template
 * (its TPM name, nameAlg sha256, is what the sealed object's policy binds):
 *   RSA 2048, exponent 65537 (encoded 0), or ECC NIST P-256;
 *   nameAlg sha256; objectAttributes exactly decrypt|sign|userWithAuth
 *   (0x00060040); empty authPolicy; symmetric, scheme (and ECC kdf) NULL,
 *   so one key verifies RSASSA/ECDSA signatures with sha256.
 *
 * The sealed object's authPolicy = PolicyAuthorize(name of that key,
 * policyRef "cfsroot"):
 *   H(H(0^32 || TPM_CC_PolicyAuthorize || keyName) || "cfsroot").
 * An approval signs aHash = sha256(approvedPolicy || "cfsroot") where
 * approvedPolicy = the PolicyPCR digest (sha256 bank) of the approved values
 * (TPM2 part 3, TPM2_PolicyAuthorize): RSASSA-PKCS1-v1_5 or ECDSA with sha256,
 * i.e. what `openssl dgst -sha256 -sign KEY` makes of those 39 bytes.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "error.h"
#include "tpm-policy.h"

#define CFS_TPM_AUTHKEY_MAX 512u /* marshalled TPM2B_PUBLIC: RSA 2048 is 280 bytes */

/*
 * The public part of @key (RSA 2048 with exponent 65537, or EC P-256) as the
 * marshalled TPM2B_PUBLIC of the template above. -EOPNOTSUPP for other keys,
 * with a message.
 */
int cfs_tpm_authkey_from_pkey(EVP_PKEY *key, uint8_t *buf, size_t size, size_t *ret_len,
                              struct cfs_error *err);

/* Strict check of a marshalled key (exactly the template) and its name digest
 * (sha256 of its TPMT_PUBLIC). -EBADMSG with a message. */
int cfs_tpm_authkey_name(const uint8_t *buf, size_t len, uint8_t name[32], struct cfs_error *err);

/* The authPolicy of a version 2 sealed object for the key with name digest @name. */
int cfs_tpm_authorize_digest(const uint8_t name[32], uint8_t ret[32], struct cfs_error *err);

/* The approved policy digest of @a: PolicyPCR of its mask and values. */
int cfs_tpm_approval_policy_digest(const struct cfs_tpm_approval *a, uint8_t ret[32],
                                   struct cfs_error *err);

/*
 * Sign an approval of the sha256 PCRs in @mask having @values with the private
 * key @key (same key types as above): fills *ret (key name, values, signature).
 */
int cfs_tpm_approval_sign(EVP_PKEY *key, uint32_t mask,
                          const uint8_t values[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE],
                          struct cfs_tpm_approval *ret, struct cfs_error *err);

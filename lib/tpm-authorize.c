/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpm-authorize.c - PolicyAuthorize for the sealed boot policy (see
 * tpm-authorize.h): signing key <-> TPM public area, policy digests, signing
 * approvals (OpenSSL), and satisfying a version 2 object's policy in a TPM
 * session (tpm2-tss ESAPI). Host and initrd. Keys and approvals are untrusted
 * input: the key must be exactly the template, and the TPM verifies every
 * signature before it authorizes anything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include "tpm-authorize.h"
#include "tpm-internal.h"
#include "tpm.h"
#include "verity.h"

#define AUTHKEY_ATTRIBUTES                                                                         \
        (TPMA_OBJECT_DECRYPT | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH)

static void esys_freep(void *p)
{
        Esys_Free(*(void **)p);
}
#define _cleanup_esys_ _cleanup_(esys_freep)

static void bn_freep(BIGNUM **p)
{
        BN_free(*p);
}

static void template_init(TPM2B_PUBLIC *pub, TPMI_ALG_PUBLIC type)
{
        memset(pub, 0, sizeof(*pub));
        TPMT_PUBLIC *p = &pub->publicArea;
        p->type = type;
        p->nameAlg = TPM2_ALG_SHA256;
        p->objectAttributes = AUTHKEY_ATTRIBUTES;
        if (type == TPM2_ALG_RSA) {
                p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
                p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
                p->parameters.rsaDetail.keyBits = 2048;
                p->parameters.rsaDetail.exponent = 0; /* 65537 */
        } else {
                p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
                p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
                p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
                p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        }
}

static int bn_param(EVP_PKEY *key, const char *name, size_t size, uint8_t *out)
{
        _cleanup_(bn_freep) BIGNUM *bn = NULL;
        if (!EVP_PKEY_get_bn_param(key, name, &bn) || BN_num_bytes(bn) > (int)size ||
            BN_bn2binpad(bn, out, (int)size) != (int)size)
                return -EINVAL;
        return 0;
}

static int authkey_public(EVP_PKEY *key, TPM2B_PUBLIC *pub, struct cfs_error *err)
{
        if (EVP_PKEY_is_a(key, "RSA")) {
                _cleanup_(bn_freep) BIGNUM *e = NULL;
                if (EVP_PKEY_get_bits(key) != 2048)
                        return cfs_error_set(err, EOPNOTSUPP,
                                             "RSA key of %d bits: the signing key must be RSA "
                                             "2048 or ECC P-256",
                                             EVP_PKEY_get_bits(key));
                if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) || !BN_is_word(e, 65537))
                        return cfs_error_set(err, EOPNOTSUPP,
                                             "RSA key with a public exponent other than 65537");
                template_init(pub, TPM2_ALG_RSA);
                TPM2B_PUBLIC_KEY_RSA *u = &pub->publicArea.unique.rsa;
                if (bn_param(key, OSSL_PKEY_PARAM_RSA_N, 256, u->buffer) < 0)
                        return cfs_error_set(err, EINVAL, "cannot read the RSA modulus");
                u->size = 256;
                return 0;
        }
        if (EVP_PKEY_is_a(key, "EC")) {
                char group[64] = "";
                if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                    sizeof(group), NULL) ||
                    strcmp(group, "prime256v1"))
                        return cfs_error_set(err, EOPNOTSUPP,
                                             "EC key on curve '%s': the signing key must be RSA "
                                             "2048 or ECC P-256",
                                             group);
                template_init(pub, TPM2_ALG_ECC);
                TPMS_ECC_POINT *u = &pub->publicArea.unique.ecc;
                if (bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, 32, u->x.buffer) < 0 ||
                    bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32, u->y.buffer) < 0)
                        return cfs_error_set(err, EINVAL, "cannot read the EC public point");
                u->x.size = u->y.size = 32;
                return 0;
        }
        return cfs_error_set(err, EOPNOTSUPP,
                             "key of type %s: the signing key must be RSA 2048 or ECC P-256",
                             EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "?");
}

int cfs_tpm_authkey_from_pkey(EVP_PKEY *key, uint8_t *buf, size_t size, size_t *ret_len,
                              struct cfs_error *err)
{
        TPM2B_PUBLIC pub;
        size_t off = 0;
        int r = authkey_public(key, &pub, err);
        if (r < 0)
                return r;
        if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, buf, size, &off) != TSS2_RC_SUCCESS)
                return cfs_error_set(err, ENOBUFS, "cannot marshal the signing key");
        *ret_len = off;
        return 0;
}

/* The name digest: sha256 of the marshalled TPMT_PUBLIC. */
static int public_name(const TPM2B_PUBLIC *pub, uint8_t name[32])
{
        uint8_t buf[sizeof(TPMT_PUBLIC)];
        size_t off = 0;
        if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, buf, sizeof(buf), &off) !=
            TSS2_RC_SUCCESS)
                return -EIO;
        return cfs_tpm_sha256(buf, off, name);
}

int cfs_tpm_authkey_unmarshal(const uint8_t *buf, size_t len, TPM2B_PUBLIC *ret, uint8_t name[32],
                              struct cfs_error *err)
{
        TPM2B_PUBLIC want;
        size_t off = 0;
        memset(ret, 0, sizeof(*ret));
        if (len > CFS_TPM_AUTHKEY_MAX ||
            Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, ret) != TSS2_RC_SUCCESS || off != len)
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: the signing key is not a valid TPM2B_PUBLIC");
        const TPMT_PUBLIC *p = &ret->publicArea;
        if (p->type != TPM2_ALG_RSA && p->type != TPM2_ALG_ECC)
                return cfs_error_set(
                    err, EBADMSG, "sealed blob: signing key of type 0x%04x (RSA or ECC)", p->type);
        /* rebuild the template around the key material; anything else differs */
        template_init(&want, p->type);
        if (p->type == TPM2_ALG_RSA) {
                if (p->unique.rsa.size != 256)
                        return cfs_error_set(err, EBADMSG,
                                             "sealed blob: RSA signing key modulus of %u bytes",
                                             p->unique.rsa.size);
                want.publicArea.unique.rsa = p->unique.rsa;
        } else {
                if (p->unique.ecc.x.size != 32 || p->unique.ecc.y.size != 32)
                        return cfs_error_set(err, EBADMSG,
                                             "sealed blob: ECC signing key point is not P-256");
                want.publicArea.unique.ecc = p->unique.ecc;
        }
        uint8_t a[CFS_TPM_AUTHKEY_MAX], b[CFS_TPM_AUTHKEY_MAX];
        size_t alen = 0, blen = 0;
        if (Tss2_MU_TPM2B_PUBLIC_Marshal(&want, a, sizeof(a), &alen) != TSS2_RC_SUCCESS ||
            Tss2_MU_TPM2B_PUBLIC_Marshal(ret, b, sizeof(b), &blen) != TSS2_RC_SUCCESS ||
            alen != blen || alen != len || memcmp(a, b, alen) || memcmp(a, buf, len))
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: the signing key is not in cfsroot's template "
                                     "(attributes 0x%08x, name algorithm 0x%04x)",
                                     p->objectAttributes, p->nameAlg);
        if (public_name(ret, name) < 0)
                return -EIO;
        return 0;
}

int cfs_tpm_authkey_name(const uint8_t *buf, size_t len, uint8_t name[32], struct cfs_error *err)
{
        TPM2B_PUBLIC pub;
        return cfs_tpm_authkey_unmarshal(buf, len, &pub, name, err);
}

static void key_name_2b(const uint8_t name[32], TPM2B_NAME *n)
{
        memset(n, 0, sizeof(*n));
        n->size = 34;
        n->name[0] = (uint8_t)(TPM2_ALG_SHA256 >> 8);
        n->name[1] = (uint8_t)(TPM2_ALG_SHA256 & 0xff);
        memcpy(n->name + 2, name, 32);
}

int cfs_tpm_authorize_digest(const uint8_t name[32], uint8_t ret[32], struct cfs_error *err)
{
        /* PolicyUpdate(TPM_CC_PolicyAuthorize, keyName, policyRef) from a zero digest */
        uint8_t buf[32 + 4 + 34];
        size_t off = 32;
        TPM2B_NAME n;
        memset(buf, 0, 32);
        if (Tss2_MU_TPM2_CC_Marshal(TPM2_CC_PolicyAuthorize, buf, sizeof(buf), &off) !=
            TSS2_RC_SUCCESS)
                return cfs_error_set(err, EIO, "cannot marshal the command code");
        key_name_2b(name, &n);
        memcpy(buf + off, n.name, n.size);
        off += n.size;
        uint8_t step[32 + sizeof(CFS_TPM_POLICY_REF) - 1];
        if (cfs_tpm_sha256(buf, off, step) < 0)
                return -EIO;
        memcpy(step + 32, CFS_TPM_POLICY_REF, sizeof(CFS_TPM_POLICY_REF) - 1);
        return cfs_tpm_sha256(step, sizeof(step), ret);
}

int cfs_tpm_approval_policy_digest(const struct cfs_tpm_approval *a, uint8_t ret[32],
                                   struct cfs_error *err)
{
        return cfs_tpm_policy_pcr_digest(a->pcr_mask, a->pcr_values, ret, err);
}

/* What is signed: approvedPolicy || policyRef (aHash is its sha256). */
static void signed_message(const uint8_t approved[32],
                           uint8_t msg[32 + sizeof(CFS_TPM_POLICY_REF) - 1])
{
        memcpy(msg, approved, 32);
        memcpy(msg + 32, CFS_TPM_POLICY_REF, sizeof(CFS_TPM_POLICY_REF) - 1);
}

int cfs_tpm_approval_sign(EVP_PKEY *key, uint32_t mask,
                          const uint8_t values[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE],
                          struct cfs_tpm_approval *ret, struct cfs_error *err)
{
        TPM2B_PUBLIC pub;
        uint8_t approved[32], msg[32 + sizeof(CFS_TPM_POLICY_REF) - 1];
        uint8_t der[CFS_TPM_APPROVAL_SIG_MAX + 16];
        size_t der_len = sizeof(der);
        memset(ret, 0, sizeof(*ret));
        int r = authkey_public(key, &pub, err);
        if (r < 0)
                return r;
        if (public_name(&pub, ret->key_name) < 0)
                return -EIO;
        ret->pcr_mask = mask;
        for (unsigned pcr = 0; pcr < CFS_TPM_PCR_COUNT; pcr++)
                if (mask & (1u << pcr))
                        memcpy(ret->pcr_values[pcr], values[pcr], CFS_TPM_PCR_SIZE);
        r = cfs_tpm_approval_policy_digest(ret, approved, err);
        if (r < 0)
                return r;
        signed_message(approved, msg);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        bool ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
                  EVP_DigestSign(ctx, der, &der_len, msg, sizeof(msg)) == 1;
        EVP_MD_CTX_free(ctx);
        if (!ok)
                return cfs_error_set(err, EIO, "signing the approval failed (not a private key?)");
        if (pub.publicArea.type == TPM2_ALG_RSA) {
                if (der_len != 256)
                        return cfs_error_set(err, EIO, "RSA signature of %zu bytes", der_len);
                ret->sig_alg = CFS_TPM_ALG_RSASSA;
                ret->sig_len = 256;
                memcpy(ret->sig, der, 256);
                return 0;
        }
        const unsigned char *p = der;
        ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
        const BIGNUM *sr = NULL, *ss = NULL;
        if (sig)
                ECDSA_SIG_get0(sig, &sr, &ss);
        ok = sig && BN_bn2binpad(sr, ret->sig, 32) == 32 &&
             BN_bn2binpad(ss, ret->sig + 32, 32) == 32;
        ECDSA_SIG_free(sig);
        if (!ok)
                return cfs_error_set(err, EIO, "cannot decode the ECDSA signature");
        ret->sig_alg = CFS_TPM_ALG_ECDSA;
        ret->sig_len = 64;
        return 0;
}

/* ---- unseal side: satisfy the policy in a session ---- */

static void tpm_signature(const struct cfs_tpm_approval *a, TPMT_SIGNATURE *s)
{
        memset(s, 0, sizeof(*s));
        if (a->sig_alg == CFS_TPM_ALG_RSASSA) {
                s->sigAlg = TPM2_ALG_RSASSA;
                s->signature.rsassa.hash = TPM2_ALG_SHA256;
                s->signature.rsassa.sig.size = a->sig_len;
                memcpy(s->signature.rsassa.sig.buffer, a->sig, a->sig_len);
        } else {
                s->sigAlg = TPM2_ALG_ECDSA;
                s->signature.ecdsa.hash = TPM2_ALG_SHA256;
                s->signature.ecdsa.signatureR.size = 32;
                s->signature.ecdsa.signatureS.size = 32;
                memcpy(s->signature.ecdsa.signatureR.buffer, a->sig, 32);
                memcpy(s->signature.ecdsa.signatureS.buffer, a->sig + 32, 32);
        }
}

static void mask_text(uint32_t mask, char *buf, size_t size)
{
        cfs_tpm_pcr_mask_format(mask, buf, size);
}

/* No approval matches the current values: say which PCR values are new. */
static int explain_unapproved(struct cfs_tpm *t, const struct cfs_tpm_blob *b,
                              const struct cfs_tpm_approval *a, size_t n, const char *name,
                              struct cfs_error *err)
{
        uint8_t now[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE];
        char list[160] = "", hex[CFS_DIGEST_HEX_SIZE], pcrs[64];
        unsigned missing = 0, first = 0;
        size_t off = 0, same_mask = 0;
        int r = cfs_tpm_pcr_read(t, b->pcr_mask, now, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                same_mask += a[i].pcr_mask == b->pcr_mask;
        mask_text(b->pcr_mask, pcrs, sizeof(pcrs));
        for (unsigned pcr = 0; pcr < CFS_TPM_PCR_COUNT; pcr++) {
                if (!(b->pcr_mask & (1u << pcr)))
                        continue;
                bool seen = false;
                for (size_t i = 0; i < n && !seen; i++)
                        seen = a[i].pcr_mask == b->pcr_mask &&
                               !memcmp(a[i].pcr_values[pcr], now[pcr], CFS_TPM_PCR_SIZE);
                if (seen)
                        continue;
                if (missing++ == 0)
                        first = pcr;
                int k = snprintf(list + off, sizeof(list) - off, "%s%u", off ? "," : "", pcr);
                if (k > 0 && (size_t)k < sizeof(list) - off)
                        off += (size_t)k;
        }
        if (missing == 0)
                return cfs_error_set(err, EPERM,
                                     "PCR %s values not approved by any signed policy in %s (each "
                                     "value is approved, but not this combination)",
                                     pcrs, name);
        cfs_digest_to_hex(now[first], hex);
        return cfs_error_set(err, EPERM,
                             "PCR %s value%s not approved by any signed policy in %s (PCR %u is "
                             "now %s; %zu of %zu approvals are for sha256 PCRs %s)",
                             list, missing > 1 ? "s" : "", name, first, hex, same_mask, n, pcrs);
}

/* Does the TPM verify @a's signature with the loaded key @kh? */
static bool approval_verifies(struct cfs_tpm *t, ESYS_TR kh, const struct cfs_tpm_approval *a)
{
        uint8_t approved[32], msg[32 + sizeof(CFS_TPM_POLICY_REF) - 1];
        TPM2B_DIGEST ahash = {.size = 32};
        TPMT_SIGNATURE sig;
        _cleanup_esys_ TPMT_TK_VERIFIED *ticket = NULL;
        if (cfs_tpm_approval_policy_digest(a, approved, NULL) < 0)
                return false;
        signed_message(approved, msg);
        if (cfs_tpm_sha256(msg, sizeof(msg), ahash.buffer) < 0)
                return false;
        tpm_signature(a, &sig);
        return Esys_VerifySignature(t->esys, kh, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &ahash,
                                    &sig, &ticket) == TSS2_RC_SUCCESS;
}

/* The object was created in an approved state: an approval by the blob's key,
 * verified by the TPM, of the PCR values whose digest the creation record holds. */
static int creation_approved(struct cfs_tpm *t, ESYS_TR kh, const struct cfs_tpm_blob *b,
                             const uint8_t name[32], const struct cfs_tpm_approval *a, size_t n,
                             const char *approvals_name, const uint8_t creation[32], unsigned used,
                             struct cfs_error *err)
{
        char hex[CFS_DIGEST_HEX_SIZE], pcrs[64];
        for (size_t i = 0; i < n; i++) {
                uint8_t d[32];
                if (a[i].pcr_mask != b->pcr_mask || memcmp(a[i].key_name, name, 32) ||
                    cfs_tpm_pcr_values_digest(a[i].pcr_mask, a[i].pcr_values, d) < 0 ||
                    memcmp(d, creation, 32))
                        continue;
                if (i + 1 == used || approval_verifies(t, kh, &a[i]))
                        return 0; /* (the one used was verified by the TPM just now) */
        }
        cfs_digest_to_hex(creation, hex);
        cfs_tpm_pcr_mask_format(b->pcr_mask, pcrs, sizeof(pcrs));
        return cfs_error_set(err, EKEYREJECTED,
                             "the sealed object was created while PCR %s had values that no "
                             "signed approval in %s approves (made from another boot chain?): "
                             "creation PCR digest %s",
                             pcrs, approvals_name, hex);
}

int cfs_tpm_authorize_session(struct cfs_tpm *t, ESYS_TR session, const struct cfs_tpm_blob *b,
                              const TPM2B_PUBLIC *key, const uint8_t name[32],
                              const struct cfs_tpm_approval *approvals, size_t n,
                              const char *approvals_name, const uint8_t *creation_digest,
                              unsigned *ret_index, struct cfs_error *err)
{
        TPM2B_DIGEST empty = {};
        TPML_PCR_SELECTION sel;
        _cleanup_esys_ TPM2B_DIGEST *digest = NULL;
        cfs_tpm_pcr_selection(b->pcr_mask, &sel);
        TSS2_RC rc = Esys_PolicyPCR(t->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    &empty, &sel);
        if (rc != TSS2_RC_SUCCESS)
                return cfs_tpm_rc_error(err, rc, EIO, "PolicyPCR");
        rc = Esys_PolicyGetDigest(t->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  &digest);
        if (rc != TSS2_RC_SUCCESS)
                return cfs_tpm_rc_error(err, rc, EIO, "PolicyGetDigest");
        if (!digest || digest->size != 32)
                return cfs_error_set(err, EIO, "PolicyGetDigest: not a sha256 digest");

        /* the approvals for exactly these PCR values, in file order */
        unsigned candidates[CFS_TPM_APPROVALS_MAX], n_cand = 0;
        for (size_t i = 0; i < n && n_cand < CFS_TPM_APPROVALS_MAX; i++) {
                uint8_t d[32];
                if (approvals[i].pcr_mask != b->pcr_mask)
                        continue;
                int r = cfs_tpm_approval_policy_digest(&approvals[i], d, err);
                if (r < 0)
                        return r;
                if (!memcmp(d, digest->buffer, 32))
                        candidates[n_cand++] = (unsigned)i;
        }
        if (n_cand == 0)
                return explain_unapproved(t, b, approvals, n, approvals_name, err);

        char want[CFS_DIGEST_HEX_SIZE], got[CFS_DIGEST_HEX_SIZE];
        cfs_digest_to_hex(name, want);
        ESYS_TR kh = ESYS_TR_NONE;
        rc = Esys_LoadExternal(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, key,
                               ESYS_TR_RH_OWNER, &kh);
        if (rc != TSS2_RC_SUCCESS)
                return cfs_tpm_rc_error(err, rc, EKEYREJECTED,
                                        "the TPM refuses the signing key of the sealed blob");
        int r = 0;
        bool done = false;
        for (unsigned c = 0; c < n_cand && !done; c++) {
                const struct cfs_tpm_approval *a = &approvals[candidates[c]];
                unsigned no = candidates[c] + 1;
                struct cfs_error e = {};
                int rr;
                if (memcmp(a->key_name, name, 32)) {
                        cfs_digest_to_hex(a->key_name, got);
                        rr = cfs_error_set(&e, EKEYREJECTED,
                                           "approval %u in %s (for the current PCR values) is "
                                           "signed by key %s, but the sealed blob trusts only "
                                           "key %s",
                                           no, approvals_name, got, want);
                } else {
                        uint8_t msg[32 + sizeof(CFS_TPM_POLICY_REF) - 1];
                        TPM2B_DIGEST ahash = {.size = 32};
                        TPMT_SIGNATURE sig;
                        _cleanup_esys_ TPMT_TK_VERIFIED *ticket = NULL;
                        signed_message(digest->buffer, msg);
                        if (cfs_tpm_sha256(msg, sizeof(msg), ahash.buffer) < 0) {
                                r = -EIO;
                                break;
                        }
                        tpm_signature(a, &sig);
                        rc = Esys_VerifySignature(t->esys, kh, ESYS_TR_NONE, ESYS_TR_NONE,
                                                  ESYS_TR_NONE, &ahash, &sig, &ticket);
                        if (rc != TSS2_RC_SUCCESS) {
                                char what[512];
                                snprintf(what, sizeof(what),
                                         "approval %u in %s (for the current PCR values): the "
                                         "TPM rejects its signature (altered, or not made by key "
                                         "%s that the sealed blob trusts)",
                                         no, approvals_name, want);
                                rr = cfs_tpm_rc_error(&e, rc, EKEYREJECTED, what);
                        } else {
                                TPM2B_DIGEST approved = {.size = 32};
                                TPM2B_NONCE ref = {.size = sizeof(CFS_TPM_POLICY_REF) - 1};
                                TPM2B_NAME kname;
                                memcpy(approved.buffer, digest->buffer, 32);
                                memcpy(ref.buffer, CFS_TPM_POLICY_REF, ref.size);
                                key_name_2b(name, &kname);
                                rc = Esys_PolicyAuthorize(t->esys, session, ESYS_TR_NONE,
                                                          ESYS_TR_NONE, ESYS_TR_NONE, &approved,
                                                          &ref, &kname, ticket);
                                if (rc != TSS2_RC_SUCCESS) {
                                        rr = cfs_tpm_rc_error(&e, rc, EIO, "PolicyAuthorize");
                                } else {
                                        *ret_index = no;
                                        done = true;
                                        rr = 0;
                                }
                        }
                }
                /* report the first refusal: it is the approval the owner meant */
                if (rr < 0 && r == 0) {
                        r = rr;
                        if (err)
                                *err = e;
                }
        }
        if (done && creation_digest) {
                r = creation_approved(t, kh, b, name, approvals, n, approvals_name, creation_digest,
                                      *ret_index, err);
                done = r == 0;
        }
        cfs_tpm_flush(t, &kh);
        return done ? 0 : r;
}

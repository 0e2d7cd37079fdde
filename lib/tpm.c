/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpm.c - seal/unseal of the cfsroot boot policy and PCR measurement through
 * tpm2-tss ESAPI (see tpm.h). Host and initrd. Everything the TPM or the blob
 * hands back is treated as untrusted: TPM structures are unmarshalled with
 * libtss2-mu and must fill their field exactly, the sealed object's public area
 * must be exactly what cfsroot seal creates, and the unsealed hash must match
 * the policy bytes before the policy is returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "fileio.h"
#include "tpm-authorize.h"
#include "tpm-internal.h"
#include "tpm.h"
#include "verity.h"

/* The attributes of a cfsroot sealed object: bound to this TPM and its parent,
 * data supplied by the caller, usable only through its policy (no userWithAuth). */
#define SEALED_ATTRIBUTES (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT)

static void esys_freep(void *p)
{
        Esys_Free(*(void **)p);
}
#define _cleanup_esys_ _cleanup_(esys_freep)

int cfs_tpm_rc_error(struct cfs_error *err, TSS2_RC rc, int code, const char *what)
{
        return cfs_error_set(err, code, "%s: TPM error 0x%08x: %s", what, rc, Tss2_RC_Decode(rc));
}

TSS2_RC cfs_tpm_rc_base(TSS2_RC rc)
{
        if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
                return rc;
        return (rc & TPM2_RC_FMT1) ? (rc & (TPM2_RC_FMT1 | 0x3f)) : rc;
}

int cfs_tpm_rc_errno(TSS2_RC rc, int fallback)
{
        return cfs_tpm_rc_base(rc) == TSS2_TCTI_RC_IO_ERROR ? -ENODEV : -fallback;
}

int cfs_tpm_open(const char *tcti, struct cfs_tpm **ret, struct cfs_error *err)
{
        if (!tcti || !*tcti)
                tcti = getenv("TPM2TSS_TCTI");
        if (!tcti || !*tcti)
                tcti = CFS_TPM_TCTI_DEFAULT;
        /* tpm2-tss prints errors itself; the caller reports ours. */
        setenv("TSS2_LOG", "all+none", 0);
        struct cfs_tpm *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        if (strlen(tcti) >= sizeof(t->tcti_conf)) {
                free(t);
                return cfs_error_set(err, EINVAL, "TCTI configuration too long");
        }
        snprintf(t->tcti_conf, sizeof(t->tcti_conf), "%s", tcti);
        TSS2_RC rc = Tss2_TctiLdr_Initialize(t->tcti_conf, &t->tcti);
        if (rc != TSS2_RC_SUCCESS) {
                free(t);
                return cfs_error_set(err, ENODEV, "no TPM: cannot open TCTI '%s': %s", tcti,
                                     Tss2_RC_Decode(rc));
        }
        rc = Esys_Initialize(&t->esys, t->tcti, NULL);
        if (rc != TSS2_RC_SUCCESS) {
                Tss2_TctiLdr_Finalize(&t->tcti);
                free(t);
                return cfs_error_set(err, ENODEV, "no TPM: cannot talk to the TPM at '%s': %s",
                                     tcti, Tss2_RC_Decode(rc));
        }
        *ret = t;
        return 0;
}

void cfs_tpm_close(struct cfs_tpm *t)
{
        if (!t)
                return;
        if (t->esys)
                Esys_Finalize(&t->esys);
        if (t->tcti)
                Tss2_TctiLdr_Finalize(&t->tcti);
        free(t);
}

void cfs_tpm_pcr_selection(uint32_t mask, TPML_PCR_SELECTION *sel)
{
        memset(sel, 0, sizeof(*sel));
        sel->count = 1;
        sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
        sel->pcrSelections[0].sizeofSelect = 3;
        for (unsigned i = 0; i < 3; i++)
                sel->pcrSelections[0].pcrSelect[i] = (uint8_t)(mask >> (8 * i));
}

int cfs_tpm_pcr_read(struct cfs_tpm *t, uint32_t mask,
                     uint8_t values[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE], struct cfs_error *err)
{
        if (mask == 0 || (mask >> CFS_TPM_PCR_COUNT))
                return cfs_error_set(err, EINVAL, "bad PCR selection");
        /* one PCR per command: the TPM may return fewer than asked for, never more */
        for (unsigned pcr = 0; pcr < CFS_TPM_PCR_COUNT; pcr++) {
                if (!(mask & (1u << pcr)))
                        continue;
                TPML_PCR_SELECTION sel;
                _cleanup_esys_ TPML_PCR_SELECTION *out = NULL;
                _cleanup_esys_ TPML_DIGEST *digests = NULL;
                UINT32 counter;
                cfs_tpm_pcr_selection(1u << pcr, &sel);
                TSS2_RC rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel,
                                           &counter, &out, &digests);
                if (rc != TSS2_RC_SUCCESS)
                        return cfs_tpm_rc_error(
                            err, rc, cfs_tpm_rc_base(rc) == TSS2_TCTI_RC_IO_ERROR ? ENODEV : EIO,
                            "reading PCRs");
                if (!digests || digests->count != 1 || digests->digests[0].size != CFS_TPM_PCR_SIZE)
                        return cfs_error_set(err, EIO,
                                             "reading sha256 PCR %u: the TPM returned no value "
                                             "(is the sha256 bank active?)",
                                             pcr);
                memcpy(values[pcr], digests->digests[0].buffer, CFS_TPM_PCR_SIZE);
        }
        return 0;
}

int cfs_tpm_sha256(const void *data, size_t len, uint8_t out[32])
{
        unsigned n = 0;
        if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != 32)
                return -EIO;
        return 0;
}

int cfs_tpm_policy_pcr_digest(uint32_t mask,
                              const uint8_t values[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE],
                              uint8_t ret[32], struct cfs_error *err)
{
        /* policyDigest' = H(policyDigest (zeros) || TPM_CC_PolicyPCR || pcrs || H(values)) */
        uint8_t buf[32 + 4 + sizeof(TPML_PCR_SELECTION) + 32];
        uint8_t concat[CFS_TPM_PCR_COUNT * CFS_TPM_PCR_SIZE];
        size_t off = 0, n = 0;
        TPML_PCR_SELECTION sel;
        if (mask == 0 || (mask >> CFS_TPM_PCR_COUNT))
                return cfs_error_set(err, EINVAL, "bad PCR selection");
        for (unsigned pcr = 0; pcr < CFS_TPM_PCR_COUNT; pcr++)
                if (mask & (1u << pcr)) {
                        memcpy(concat + n, values[pcr], CFS_TPM_PCR_SIZE);
                        n += CFS_TPM_PCR_SIZE;
                }
        memset(buf, 0, 32);
        off = 32;
        if (Tss2_MU_TPM2_CC_Marshal(TPM2_CC_PolicyPCR, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
                return -EIO;
        cfs_tpm_pcr_selection(mask, &sel);
        if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&sel, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
                return -EIO;
        if (sizeof(buf) - off < 32 || cfs_tpm_sha256(concat, n, buf + off) < 0)
                return -EIO;
        off += 32;
        return cfs_tpm_sha256(buf, off, ret);
}

/* The storage root key: the TCG standard ECC P-256 SRK template under the owner hierarchy. */
static int create_srk(struct cfs_tpm *t, ESYS_TR *ret, struct cfs_error *err)
{
        TPM2B_SENSITIVE_CREATE sens = {};
        TPM2B_PUBLIC tmpl = {
            .publicArea =
                {
                    .type = TPM2_ALG_ECC,
                    .nameAlg = TPM2_ALG_SHA256,
                    .objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
                                        TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                        TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                        TPMA_OBJECT_NODA,
                    .parameters.eccDetail =
                        {
                            .symmetric = {.algorithm = TPM2_ALG_AES,
                                          .keyBits.aes = 128,
                                          .mode.aes = TPM2_ALG_CFB},
                            .scheme = {.scheme = TPM2_ALG_NULL},
                            .curveID = TPM2_ECC_NIST_P256,
                            .kdf = {.scheme = TPM2_ALG_NULL},
                        },
                },
        };
        TPM2B_DATA outside = {};
        TPML_PCR_SELECTION creation_pcrs = {};
        TSS2_RC rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                        ESYS_TR_NONE, &sens, &tmpl, &outside, &creation_pcrs, ret,
                                        NULL, NULL, NULL, NULL);
        if (rc != TSS2_RC_SUCCESS)
                return cfs_tpm_rc_error(err, rc, EIO,
                                        "creating the storage root key (owner hierarchy with a "
                                        "password?)");
        return 0;
}

void cfs_tpm_flush(struct cfs_tpm *t, ESYS_TR *h)
{
        if (*h != ESYS_TR_NONE)
                (void)Esys_FlushContext(t->esys, *h);
        *h = ESYS_TR_NONE;
}

int cfs_tpm_seal(struct cfs_tpm *t, const uint8_t *policy, size_t policy_len, uint32_t pcr_mask,
                 const uint8_t *auth_key, size_t auth_key_len, uint8_t **ret, size_t *ret_len,
                 struct cfs_error *err)
{
        uint8_t values[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE] = {};
        if (!auth_key) {
                if (pcr_mask == 0 || (pcr_mask >> CFS_TPM_PCR_COUNT))
                        return cfs_error_set(err, EINVAL, "bad PCR selection");
                int r = cfs_tpm_pcr_read(t, pcr_mask, values, err);
                if (r < 0)
                        return r;
        }
        return cfs_tpm_seal_to(t, policy, policy_len, pcr_mask,
                               auth_key ? NULL : (const uint8_t(*)[CFS_TPM_PCR_SIZE])values,
                               auth_key, auth_key_len, ret, ret_len, err);
}

int cfs_tpm_seal_to(struct cfs_tpm *t, const uint8_t *policy, size_t policy_len, uint32_t pcr_mask,
                    const uint8_t (*values)[CFS_TPM_PCR_SIZE], const uint8_t *auth_key,
                    size_t auth_key_len, uint8_t **ret, size_t *ret_len, struct cfs_error *err)
{
        struct cfs_tpm_policy parsed;
        struct cfs_tpm_blob blob = {.version = auth_key ? CFS_TPM_BLOB_V2 : CFS_TPM_BLOB_V1,
                                    .pcr_bank = CFS_TPM_ALG_SHA256,
                                    .pcr_mask = pcr_mask,
                                    .auth_key = auth_key,
                                    .auth_key_len = auth_key_len};
        uint8_t key_name[32];
        int r = cfs_tpm_policy_parse(policy, policy_len, &parsed, err);
        if (r < 0)
                return r;
        if (pcr_mask == 0 || (pcr_mask >> CFS_TPM_PCR_COUNT))
                return cfs_error_set(err, EINVAL, "bad PCR selection");
        if (!auth_key == !values)
                return cfs_error_set(err, EINVAL, "seal: give PCR values or a signing key");
        if (auth_key) {
                r = cfs_tpm_authkey_name(auth_key, auth_key_len, key_name, err);
                if (r < 0)
                        return r;
        } else {
                memcpy(blob.pcr_values, values, sizeof(blob.pcr_values));
        }
        TPM2B_PUBLIC in_public = {
            .publicArea =
                {
                    .type = TPM2_ALG_KEYEDHASH,
                    .nameAlg = TPM2_ALG_SHA256,
                    .objectAttributes = SEALED_ATTRIBUTES,
                    .authPolicy = {.size = 32},
                    .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
                },
        };
        /* version 1: PolicyPCR(values now); version 2: PolicyAuthorize(key, "cfsroot") */
        if (auth_key)
                r = cfs_tpm_authorize_digest(key_name, in_public.publicArea.authPolicy.buffer, err);
        else
                r = cfs_tpm_policy_pcr_digest(pcr_mask, blob.pcr_values,
                                              in_public.publicArea.authPolicy.buffer, err);
        if (r < 0)
                return r;
        TPM2B_SENSITIVE_CREATE sens = {.sensitive.data.size = 32};
        if (cfs_tpm_sha256(policy, policy_len, sens.sensitive.data.buffer) < 0)
                return -EIO;

        ESYS_TR srk = ESYS_TR_NONE;
        r = create_srk(t, &srk, err);
        if (r < 0)
                return r;
        /* the creation record: the TPM's statement of the PCR values at creation */
        TPM2B_DATA outside = {};
        TPML_PCR_SELECTION creation_pcrs;
        cfs_tpm_pcr_selection(pcr_mask, &creation_pcrs);
        _cleanup_esys_ TPM2B_PRIVATE *priv = NULL;
        _cleanup_esys_ TPM2B_PUBLIC *pub = NULL;
        _cleanup_esys_ TPM2B_CREATION_DATA *creation = NULL;
        _cleanup_esys_ TPMT_TK_CREATION *ticket = NULL;
        TSS2_RC rc = Esys_Create(t->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
                                 &in_public, &outside, &creation_pcrs, &priv, &pub, &creation, NULL,
                                 &ticket);
        cfs_tpm_flush(t, &srk);
        explicit_bzero(&sens, sizeof(sens));
        if (rc != TSS2_RC_SUCCESS)
                return cfs_tpm_rc_error(err, rc, EIO, "creating the sealed object");

        uint8_t pub_buf[sizeof(TPM2B_PUBLIC)], priv_buf[sizeof(TPM2B_PRIVATE)];
        uint8_t cd_buf[sizeof(TPM2B_CREATION_DATA)], tk_buf[sizeof(TPMT_TK_CREATION)];
        size_t pub_len = 0, priv_len = 0, cd_len = 0, tk_len = 0;
        if (!creation || !ticket ||
            Tss2_MU_TPM2B_PUBLIC_Marshal(pub, pub_buf, sizeof(pub_buf), &pub_len) ||
            Tss2_MU_TPM2B_PRIVATE_Marshal(priv, priv_buf, sizeof(priv_buf), &priv_len) ||
            Tss2_MU_TPM2B_CREATION_DATA_Marshal(creation, cd_buf, sizeof(cd_buf), &cd_len) ||
            Tss2_MU_TPMT_TK_CREATION_Marshal(ticket, tk_buf, sizeof(tk_buf), &tk_len))
                return cfs_error_set(err, EIO, "cannot marshal the sealed object");
        blob.flags = CFS_TPM_BLOB_CREATION;
        blob.creation_data = cd_buf;
        blob.creation_data_len = cd_len;
        blob.creation_ticket = tk_buf;
        blob.creation_ticket_len = tk_len;
        blob.policy = policy;
        blob.policy_len = policy_len;
        blob.public_area = pub_buf;
        blob.public_len = pub_len;
        blob.private_area = priv_buf;
        blob.private_len = priv_len;
        return cfs_tpm_blob_serialize(&blob, ret, ret_len, err);
}

/* Unmarshal the blob's TPM structures; each must fill its field exactly and be
 * the kind of object cfsroot seal creates, with the policy the blob claims:
 * version 1 the PCR policy of the recorded values, version 2 PolicyAuthorize
 * with the blob's signing key (*key, name digest @key_name). */
static int blob_objects(const struct cfs_tpm_blob *b, TPM2B_PUBLIC *pub, TPM2B_PRIVATE *priv,
                        TPM2B_PUBLIC *key, uint8_t key_name[32], struct cfs_error *err)
{
        size_t off = 0;
        memset(pub, 0, sizeof(*pub));
        memset(priv, 0, sizeof(*priv));
        if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(b->public_area, b->public_len, &off, pub) ||
            off != b->public_len)
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: the public area is not a valid TPM2B_PUBLIC");
        off = 0;
        if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(b->private_area, b->private_len, &off, priv) ||
            off != b->private_len)
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: the private area is not a valid TPM2B_PRIVATE");
        const TPMT_PUBLIC *p = &pub->publicArea;
        if (p->type != TPM2_ALG_KEYEDHASH || p->nameAlg != TPM2_ALG_SHA256 ||
            p->objectAttributes != SEALED_ATTRIBUTES ||
            p->parameters.keyedHashDetail.scheme.scheme != TPM2_ALG_NULL)
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: the TPM object is not a cfsroot sealed object "
                                     "(type 0x%04x, attributes 0x%08x)",
                                     p->type, p->objectAttributes);
        uint8_t want[32];
        int r;
        if (b->version == CFS_TPM_BLOB_V2) {
                r = cfs_tpm_authkey_unmarshal(b->auth_key, b->auth_key_len, key, key_name, err);
                if (r < 0)
                        return r;
                r = cfs_tpm_authorize_digest(key_name, want, err);
                if (r < 0)
                        return r;
                if (p->authPolicy.size != 32 || memcmp(p->authPolicy.buffer, want, 32)) {
                        char hex[CFS_DIGEST_HEX_SIZE];
                        cfs_digest_to_hex(key_name, hex);
                        return cfs_error_set(err, EKEYREJECTED,
                                             "sealed blob: the signing key in the blob (%s) is "
                                             "not the key the sealed object was made for (blob "
                                             "altered)",
                                             hex);
                }
                return 0;
        }
        r = cfs_tpm_policy_pcr_digest(b->pcr_mask, b->pcr_values, want, err);
        if (r < 0)
                return r;
        if (p->authPolicy.size != 32 || memcmp(p->authPolicy.buffer, want, 32))
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: the object's policy is not the PCR policy the "
                                     "blob records (blob altered)");
        return 0;
}

/* After a policy failure: which PCRs differ from their sealed values? */
static int explain_pcr_mismatch(struct cfs_tpm *t, const struct cfs_tpm_blob *b,
                                struct cfs_error *err)
{
        uint8_t now[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE];
        char list[160] = "", sealed_hex[CFS_DIGEST_HEX_SIZE], now_hex[CFS_DIGEST_HEX_SIZE];
        unsigned changed = 0, first = 0;
        size_t off = 0;
        int r = cfs_tpm_pcr_read(t, b->pcr_mask, now, err);
        if (r < 0)
                return r;
        for (unsigned pcr = 0; pcr < CFS_TPM_PCR_COUNT; pcr++) {
                if (!(b->pcr_mask & (1u << pcr)) ||
                    !memcmp(now[pcr], b->pcr_values[pcr], CFS_TPM_PCR_SIZE))
                        continue;
                if (changed++ == 0)
                        first = pcr;
                int n = snprintf(list + off, sizeof(list) - off, "%s%u", off ? "," : "", pcr);
                if (n > 0 && (size_t)n < sizeof(list) - off)
                        off += (size_t)n;
        }
        if (changed == 0)
                return cfs_error_set(err, EPERM,
                                     "the TPM refuses to unseal: the PCR policy is not satisfied "
                                     "although the sha256 PCRs read as sealed (PCRs changed "
                                     "during the check?)");
        cfs_digest_to_hex(b->pcr_values[first], sealed_hex);
        cfs_digest_to_hex(now[first], now_hex);
        return cfs_error_set(err, EPERM,
                             "the TPM refuses to unseal: PCR %s changed since sealing (PCR %u "
                             "sealed to %s, now %s)",
                             list, first, sealed_hex, now_hex);
}

int cfs_tpm_pcr_values_digest(uint32_t mask,
                              const uint8_t values[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE],
                              uint8_t ret[32])
{
        uint8_t concat[CFS_TPM_PCR_COUNT * CFS_TPM_PCR_SIZE];
        size_t n = 0;
        for (unsigned pcr = 0; pcr < CFS_TPM_PCR_COUNT; pcr++)
                if (mask & (1u << pcr)) {
                        memcpy(concat + n, values[pcr], CFS_TPM_PCR_SIZE);
                        n += CFS_TPM_PCR_SIZE;
                }
        return cfs_tpm_sha256(concat, n, ret);
}

/*
 * The creation record: the TPM checks the ticket (TPM2_CertifyCreation without
 * a signing key), which proves that this TPM created the loaded object @obj
 * with exactly this creation data; the data must select the blob's PCRs.
 * *ret = the creation pcrDigest: sha256 of the PCR values at creation.
 */
static int check_creation(struct cfs_tpm *t, ESYS_TR obj, const struct cfs_tpm_blob *b,
                          uint8_t ret[32], struct cfs_error *err)
{
        TPM2B_CREATION_DATA cd;
        TPMT_TK_CREATION tk;
        TPML_PCR_SELECTION sel;
        size_t off = 0;
        memset(&cd, 0, sizeof(cd));
        memset(&tk, 0, sizeof(tk));
        if (Tss2_MU_TPM2B_CREATION_DATA_Unmarshal(b->creation_data, b->creation_data_len, &off,
                                                  &cd) != TSS2_RC_SUCCESS ||
            off != b->creation_data_len || cd.size != b->creation_data_len - 2)
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: the creation data is not a valid "
                                     "TPM2B_CREATION_DATA");
        off = 0;
        if (Tss2_MU_TPMT_TK_CREATION_Unmarshal(b->creation_ticket, b->creation_ticket_len, &off,
                                               &tk) != TSS2_RC_SUCCESS ||
            off != b->creation_ticket_len)
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: the creation ticket is not a valid "
                                     "TPMT_TK_CREATION");
        /* the selection, compared in its marshalled form (one encoding) */
        uint8_t want[sizeof(TPML_PCR_SELECTION)], got[sizeof(TPML_PCR_SELECTION)];
        size_t want_len = 0, got_len = 0;
        cfs_tpm_pcr_selection(b->pcr_mask, &sel);
        if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&sel, want, sizeof(want), &want_len) ||
            Tss2_MU_TPML_PCR_SELECTION_Marshal(&cd.creationData.pcrSelect, got, sizeof(got),
                                               &got_len) ||
            want_len != got_len || memcmp(want, got, want_len) ||
            cd.creationData.pcrDigest.size != 32)
                return cfs_error_set(err, EBADMSG,
                                     "sealed blob: the creation record does not cover the "
                                     "blob's sha256 PCRs");
        TPM2B_DIGEST hash = {.size = 32};
        if (cfs_tpm_sha256(b->creation_data + 2, b->creation_data_len - 2, hash.buffer) < 0)
                return -EIO;
        TPM2B_DATA qualifying = {};
        TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
        _cleanup_esys_ TPM2B_ATTEST *info = NULL;
        _cleanup_esys_ TPMT_SIGNATURE *sig = NULL;
        TSS2_RC rc =
            Esys_CertifyCreation(t->esys, ESYS_TR_RH_NULL, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                 ESYS_TR_NONE, &qualifying, &hash, &scheme, &tk, &info, &sig);
        if (rc != TSS2_RC_SUCCESS) {
                if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER)
                        return cfs_tpm_rc_error(err, rc, EKEYREJECTED,
                                                "the TPM rejects the sealed object's creation "
                                                "ticket (creation record altered or taken from "
                                                "another object)");
                return cfs_tpm_rc_error(err, rc, EIO, "checking the creation ticket");
        }
        memcpy(ret, cd.creationData.pcrDigest.buffer, 32);
        return 0;
}

/* What a version 2 unseal needs besides the blob. */
struct authorize_args {
        const TPM2B_PUBLIC *key;
        const uint8_t *key_name;
        const struct cfs_tpm_approval *approvals;
        size_t n;
        const char *name;
        unsigned used;                  /* out: 1-based approval number */
        const uint8_t *creation_digest; /* creation pcrDigest to find approved, or NULL */
};

static int unseal_object(struct cfs_tpm *t, const struct cfs_tpm_blob *b, const TPM2B_PUBLIC *pub,
                         const TPM2B_PRIVATE *priv, struct authorize_args *auth, uint8_t out[32],
                         struct cfs_error *err)
{
        ESYS_TR srk = ESYS_TR_NONE, obj = ESYS_TR_NONE, session = ESYS_TR_NONE;
        _cleanup_esys_ TPM2B_SENSITIVE_DATA *data = NULL;
        TSS2_RC rc;
        int r = create_srk(t, &srk, err);
        if (r < 0)
                return r;
        rc = Esys_Load(t->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, &obj);
        cfs_tpm_flush(t, &srk);
        if (rc != TSS2_RC_SUCCESS) {
                if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER)
                        return cfs_tpm_rc_error(
                            err, rc, EKEYREJECTED,
                            "the TPM refuses the sealed object (sealed by another "
                            "TPM, the TPM was cleared, or the blob was altered)");
                return cfs_tpm_rc_error(err, rc, EIO, "loading the sealed object");
        }
        uint8_t creation_digest[32];
        if (b->flags & CFS_TPM_BLOB_CREATION) {
                r = check_creation(t, obj, b, creation_digest, err);
                if (r < 0)
                        goto out;
                if (b->version == CFS_TPM_BLOB_V2) {
                        auth->creation_digest = creation_digest; /* checked with the approvals */
                } else {
                        uint8_t sealed_digest[32];
                        char a[CFS_DIGEST_HEX_SIZE], c[CFS_DIGEST_HEX_SIZE], pcrs[64];
                        if (cfs_tpm_pcr_values_digest(b->pcr_mask, b->pcr_values, sealed_digest) <
                            0) {
                                r = -EIO;
                                goto out;
                        }
                        if (memcmp(sealed_digest, creation_digest, 32)) {
                                cfs_digest_to_hex(creation_digest, c);
                                cfs_digest_to_hex(sealed_digest, a);
                                cfs_tpm_pcr_mask_format(b->pcr_mask, pcrs, sizeof(pcrs));
                                r = cfs_error_set(err, EKEYREJECTED,
                                                  "the sealed object was created while PCR %s "
                                                  "had other values than it is sealed to (made "
                                                  "from another boot chain?): creation PCR "
                                                  "digest %s, sealed values' digest %s",
                                                  pcrs, c, a);
                                goto out;
                        }
                }
        }
        TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
        rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                   ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256,
                                   &session);
        if (rc != TSS2_RC_SUCCESS) {
                r = cfs_tpm_rc_error(err, rc, EIO, "starting a policy session");
                goto out;
        }
        if (b->version == CFS_TPM_BLOB_V2) {
                r = cfs_tpm_authorize_session(t, session, b, auth->key, auth->key_name,
                                              auth->approvals, auth->n, auth->name,
                                              auth->creation_digest, &auth->used, err);
                if (r < 0)
                        goto out;
        } else {
                TPM2B_DIGEST empty = {};
                TPML_PCR_SELECTION sel;
                cfs_tpm_pcr_selection(b->pcr_mask, &sel);
                rc = Esys_PolicyPCR(t->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    &empty, &sel);
                if (rc != TSS2_RC_SUCCESS) {
                        r = cfs_tpm_rc_error(err, rc, EIO, "PolicyPCR");
                        goto out;
                }
        }
        rc = Esys_Unseal(t->esys, obj, session, ESYS_TR_NONE, ESYS_TR_NONE, &data);
        if (rc != TSS2_RC_SUCCESS) {
                TSS2_RC base = cfs_tpm_rc_base(rc);
                if (b->version == CFS_TPM_BLOB_V2 && base == TPM2_RC_PCR_CHANGED)
                        r = cfs_error_set(err, EPERM,
                                          "the TPM refuses to unseal: a PCR changed during the "
                                          "check");
                else if (b->version == CFS_TPM_BLOB_V2 && base == TPM2_RC_POLICY_FAIL)
                        r = cfs_tpm_rc_error(err, rc, EKEYREJECTED,
                                             "the TPM refuses to unseal although an approval was "
                                             "authorized");
                else if (base == TPM2_RC_POLICY_FAIL || base == TPM2_RC_PCR_CHANGED)
                        r = explain_pcr_mismatch(t, b, err);
                else
                        r = cfs_tpm_rc_error(err, rc, EIO, "unsealing");
                goto out;
        }
        if (!data || data->size != 32) {
                r = cfs_error_set(err, EKEYREJECTED,
                                  "the sealed object holds %u bytes, not a policy hash",
                                  data ? data->size : 0);
                goto out;
        }
        memcpy(out, data->buffer, 32);
        r = 0;
out:
        /* ESAPI sessions have continueSession set: flush explicitly (without a
         * resource manager, as with swtpm's socket, they outlive the connection) */
        cfs_tpm_flush(t, &session);
        cfs_tpm_flush(t, &obj);
        return r;
}

int cfs_tpm_unseal(struct cfs_tpm *t, const uint8_t *blob_buf, size_t blob_len,
                   const uint8_t *approvals, size_t approvals_len, const char *approvals_name,
                   unsigned flags, struct cfs_tpm_unsealed *ret, struct cfs_error *err)
{
        struct cfs_tpm_blob b;
        TPM2B_PUBLIC pub, key;
        TPM2B_PRIVATE priv;
        uint8_t sealed[32], actual[32], key_name[32] = {};
        _cleanup_free_ struct cfs_tpm_approval *list = NULL;
        struct authorize_args auth = {.key = &key, .key_name = key_name, .name = approvals_name};
        memset(ret, 0, sizeof(*ret));
        int r = cfs_tpm_blob_parse(blob_buf, blob_len, &b, err);
        if (r < 0)
                return r;
        r = cfs_tpm_policy_parse(b.policy, b.policy_len, &ret->policy, err);
        if (r < 0)
                return cfs_error_prefix(err, r, "sealed blob");
        r = blob_objects(&b, &pub, &priv, &key, key_name, err);
        if (r < 0)
                return r;
        if ((flags & CFS_TPM_UNSEAL_REQUIRE_CREATION) && !(b.flags & CFS_TPM_BLOB_CREATION))
                return cfs_error_set(err, EKEYREJECTED,
                                     "sealed blob without a creation record (sealed by an "
                                     "older cfsroot, or the record was removed): seal again");
        if (b.version == CFS_TPM_BLOB_V2) {
                if (!approvals_name)
                        auth.name = "the approvals";
                if (!approvals)
                        return cfs_error_set(err, ENOENT,
                                             "sealed blob of version 2 (signed PCR policies) "
                                             "needs an approvals file");
                r = cfs_tpm_approvals_parse(approvals, approvals_len, &list, &auth.n, err);
                if (r < 0)
                        return cfs_error_prefix(err, r, "%s", auth.name);
                auth.approvals = list;
        }
        r = unseal_object(t, &b, &pub, &priv, &auth, sealed, err);
        if (r < 0)
                return r;
        if (cfs_tpm_sha256(b.policy, b.policy_len, actual) < 0)
                return -EIO;
        if (memcmp(sealed, actual, 32)) {
                memset(ret, 0, sizeof(*ret));
                return cfs_error_set(err, EKEYREJECTED,
                                     "the policy in the sealed blob is not the one the TPM "
                                     "sealed (blob altered)");
        }
        ret->pcr_mask = b.pcr_mask;
        ret->version = b.version;
        ret->approval = auth.used;
        ret->creation_verified = b.flags & CFS_TPM_BLOB_CREATION;
        memcpy(ret->key_name, key_name, 32);
        return 0;
}

struct bank {
        TPMI_ALG_HASH alg;
        const char *name; /* as in CEL-JSON / systemd's log */
        const EVP_MD *(*md)(void);
};

static const struct bank banks[] = {
    {TPM2_ALG_SHA1, "sha1", EVP_sha1},
    {TPM2_ALG_SHA256, "sha256", EVP_sha256},
    {TPM2_ALG_SHA384, "sha384", EVP_sha384},
    {TPM2_ALG_SHA512, "sha512", EVP_sha512},
};

/* Fill @digests with the hash of @data for every active bank. */
static int bank_digests(struct cfs_tpm *t, unsigned pcr, const void *data, size_t len,
                        TPML_DIGEST_VALUES *digests, struct cfs_error *err)
{
        _cleanup_esys_ TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more;
        TSS2_RC rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                        TPM2_CAP_PCRS, 0, 1, &more, &cap);
        if (rc != TSS2_RC_SUCCESS)
                return cfs_tpm_rc_error(err, rc, EIO, "listing the PCR banks");
        const TPML_PCR_SELECTION *assigned = &cap->data.assignedPCR;
        memset(digests, 0, sizeof(*digests));
        for (UINT32 i = 0; i < assigned->count && i < TPM2_NUM_PCR_BANKS; i++) {
                const TPMS_PCR_SELECTION *s = &assigned->pcrSelections[i];
                if (pcr / 8 >= s->sizeofSelect || !(s->pcrSelect[pcr / 8] & (1u << (pcr % 8))))
                        continue; /* bank not active for this PCR */
                const struct bank *bk = NULL;
                for (size_t j = 0; j < ELEMENTSOF(banks); j++)
                        if (banks[j].alg == s->hash)
                                bk = &banks[j];
                if (!bk)
                        return cfs_error_set(err, EOPNOTSUPP,
                                             "PCR bank 0x%04x is active, but cfsroot cannot hash "
                                             "for it (leaving it unextended would let it be "
                                             "forged)",
                                             s->hash);
                TPMT_HA *ha = &digests->digests[digests->count];
                unsigned n = 0;
                ha->hashAlg = s->hash;
                if (!EVP_Digest(data, len, (uint8_t *)&ha->digest, &n, bk->md(), NULL))
                        return -EIO;
                digests->count++;
        }
        if (digests->count == 0)
                return cfs_error_set(err, EIO, "PCR %u is not active in any bank", pcr);
        return 0;
}

static size_t digest_size(TPMI_ALG_HASH alg)
{
        switch (alg) {
        case TPM2_ALG_SHA1:
                return 20;
        case TPM2_ALG_SHA256:
                return 32;
        case TPM2_ALG_SHA384:
                return 48;
        default:
                return 64;
        }
}

static int log_append(const char *path, unsigned pcr, const TPML_DIGEST_VALUES *d, const char *data,
                      size_t len, struct cfs_error *err)
{
        /* records are small: build one in memory, append it with a single write under flock */
        char rec[4096 + 1024];
        size_t off = 0;
        off += (size_t)snprintf(rec, sizeof(rec), "\x1e{\"pcr\":%u,\"digests\":[", pcr);
        for (UINT32 i = 0; i < d->count; i++) {
                const char *name = "?";
                for (size_t j = 0; j < ELEMENTSOF(banks); j++)
                        if (banks[j].alg == d->digests[i].hashAlg)
                                name = banks[j].name;
                off += (size_t)snprintf(rec + off, sizeof(rec) - off,
                                        "%s{\"hashAlg\":\"%s\",\"digest\":\"", i ? "," : "", name);
                const uint8_t *p = (const uint8_t *)&d->digests[i].digest;
                for (size_t k = 0; k < digest_size(d->digests[i].hashAlg); k++)
                        off += (size_t)snprintf(rec + off, sizeof(rec) - off, "%02x", p[k]);
                off += (size_t)snprintf(rec + off, sizeof(rec) - off, "\"}");
        }
        off += (size_t)snprintf(rec + off, sizeof(rec) - off,
                                "],\"content_type\":\"cfsroot\",\"content\":{\"string\":\"");
        for (size_t i = 0; i < len && off + 8 < sizeof(rec); i++) {
                unsigned char c = (unsigned char)data[i];
                if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
                        off += (size_t)snprintf(rec + off, sizeof(rec) - off, "\\u%04x", c);
                else
                        rec[off++] = (char)c;
        }
        off += (size_t)snprintf(rec + off, sizeof(rec) - off, "\"}}\n");
        if (off >= sizeof(rec))
                return cfs_error_set(err, E2BIG, "event record too long");

        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = 0;
                for (char *p = dir + 1; *p; p++)
                        if (*p == '/') {
                                *p = 0;
                                (void)mkdir(dir, 0755);
                                *p = '/';
                        }
                (void)mkdir(dir, 0755);
        }
        _cleanup_close_ int fd =
            open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return cfs_error_set(err, errno, "event log %s: %s", path, strerror(errno));
        if (flock(fd, LOCK_EX) < 0)
                return cfs_error_set(err, errno, "event log %s: lock: %s", path, strerror(errno));
        int r = cfs_write_all(fd, rec, off);
        if (r < 0)
                return cfs_error_set(err, -r, "event log %s: write: %s", path, strerror(-r));
        return 0;
}

int cfs_tpm_pcr_extend(struct cfs_tpm *t, unsigned pcr, const void *data, size_t len,
                       const char *log_path, struct cfs_error *err)
{
        TPML_DIGEST_VALUES digests;
        if (pcr >= CFS_TPM_PCR_COUNT)
                return cfs_error_set(err, EINVAL, "PCR %u: only PCRs 0-23 exist", pcr);
        if (len > 4096)
                return cfs_error_set(err, EINVAL, "measurement of %zu bytes (at most 4096)", len);
        int r = bank_digests(t, pcr, data, len, &digests, err);
        if (r < 0)
                return r;
        TSS2_RC rc = Esys_PCR_Extend(t->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                     ESYS_TR_NONE, &digests);
        if (rc != TSS2_RC_SUCCESS) {
                char what[32];
                snprintf(what, sizeof(what), "extending PCR %u", pcr);
                return cfs_tpm_rc_error(err, rc, EIO, what);
        }
        if (log_path)
                return log_append(log_path, pcr, &digests, data, len, err);
        return 0;
}

void cfs_tpm_measurement_string(const uint8_t digest[32], const char *mode, const uint8_t *key_id,
                                char *buf, size_t size)
{
        char hex[CFS_DIGEST_HEX_SIZE], key[CFS_DIGEST_HEX_SIZE] = "none";
        cfs_digest_to_hex(digest, hex);
        if (key_id)
                cfs_digest_to_hex(key_id, key);
        snprintf(buf, size, "cfsroot:v1:image=%s:mode=%s:signer=%s", hex, mode, key);
}

static int read_bounded(int dir_fd, const char *path, const char *what, size_t max, uint8_t **ret,
                        size_t *ret_len, struct cfs_error *err)
{
        struct stat st;
        _cleanup_close_ int fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return cfs_error_set(err, errno, "%s %s: %s", what, path, strerror(errno));
        if (fstat(fd, &st) < 0)
                return cfs_error_set(err, errno, "%s %s: %s", what, path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return cfs_error_set(err, EBADMSG, "%s %s: not a regular file", what, path);
        if (st.st_size > (off_t)max)
                return cfs_error_set(err, EBADMSG, "%s %s: %lld bytes, larger than %zu", what, path,
                                     (long long)st.st_size, max);
        uint8_t *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
        if (!buf)
                return -ENOMEM;
        int r = cfs_read_all(fd, buf, (size_t)st.st_size);
        if (r < 0) {
                free(buf);
                return cfs_error_set(err, -r, "%s %s: read: %s", what, path, strerror(-r));
        }
        *ret = buf;
        *ret_len = (size_t)st.st_size;
        return 0;
}

int cfs_tpm_check_boot(const char *tcti, int dir_fd, const char *path, const char *approvals_path,
                       unsigned flags, const uint8_t digest[32], const uint8_t *signed_by,
                       uint64_t generation, struct cfs_tpm_unsealed *ret, struct cfs_error *err)
{
        _cleanup_free_ uint8_t *blob = NULL, *approvals = NULL;
        _cleanup_(cfs_tpm_closep) struct cfs_tpm *t = NULL;
        struct cfs_tpm_unsealed u;
        struct cfs_tpm_blob b;
        size_t len = 0, approvals_len = 0;
        int r = read_bounded(dir_fd, path, "sealed TPM policy", CFS_TPM_BLOB_MAX, &blob, &len, err);
        if (r < 0)
                return r;
        /* the approvals are read only for a blob that needs them */
        if (cfs_tpm_blob_parse(blob, len, &b, NULL) == 0 && b.version == CFS_TPM_BLOB_V2) {
                if (!approvals_path)
                        return cfs_error_set(err, ENOENT,
                                             "sealed TPM policy %s is of version 2 (signed PCR "
                                             "policies), but no approvals file is configured",
                                             path);
                r = read_bounded(dir_fd, approvals_path, "signed PCR approvals",
                                 CFS_TPM_APPROVALS_FILE_MAX, &approvals, &approvals_len, err);
                if (r < 0)
                        return r;
        }
        r = cfs_tpm_open(tcti, &t, err);
        if (r < 0)
                return r;
        r = cfs_tpm_unseal(t, blob, len, approvals, approvals_len, approvals_path, flags, &u, err);
        if (r < 0)
                return cfs_error_prefix(err, r, "sealed TPM policy %s", path);
        r = cfs_tpm_policy_check(&u.policy, digest, signed_by, generation, err);
        if (r < 0)
                return r;
        if (ret)
                *ret = u;
        return 0;
}

int cfs_tpm_measure_boot(const char *tcti, unsigned pcr, const uint8_t digest[32], const char *mode,
                         const uint8_t *key_id, const char *log_path, struct cfs_error *err)
{
        char m[CFS_TPM_MEASUREMENT_MAX];
        _cleanup_(cfs_tpm_closep) struct cfs_tpm *t = NULL;
        int r = cfs_tpm_open(tcti, &t, err);
        if (r < 0)
                return r;
        cfs_tpm_measurement_string(digest, mode, key_id, m, sizeof(m));
        return cfs_tpm_pcr_extend(t, pcr, m, strlen(m), log_path, err);
}

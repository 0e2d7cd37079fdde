/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-tpm-policy.c - the TPM boot policy and sealed-blob framing
 * (lib/tpm-policy.c): round trips, every malformation the strict parsers must
 * refuse (with the message saying which), the policy decision, PCR lists, and
 * the PolicyPCR digest against a value computed by hand. PolicyAuthorize
 * (lib/tpm-authorize.c): version 2 blobs, approvals (signed here, verified
 * with OpenSSL, every malformation), the signing-key template and the
 * authPolicy digest. Host, no TPM needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "tpm-authorize.h"
#include "tpm-policy.h"
#include "tpm.h"

static void fill(uint8_t d[32], uint8_t v)
{
        memset(d, v, 32);
}

static void expect_policy_error(const uint8_t *buf, size_t len, const char *needle)
{
        struct cfs_tpm_policy p;
        struct cfs_error err = {};
        assert_int_equal(cfs_tpm_policy_parse(buf, len, &p, &err), -EBADMSG);
        if (!strstr(err.message, needle))
                fail_msg("'%s' lacks '%s'", err.message, needle);
}

static void test_policy_digests_roundtrip(void **state)
{
        (void)state;
        struct cfs_tpm_policy p = {.kind = CFS_TPM_POLICY_DIGESTS}, q;
        struct cfs_error err = {};
        uint8_t d[32], buf[CFS_TPM_POLICY_MAX_SIZE];
        size_t len = 0;
        fill(d, 0x30);
        assert_int_equal(cfs_tpm_policy_add_digest(&p, d, &err), 0);
        fill(d, 0x10);
        assert_int_equal(cfs_tpm_policy_add_digest(&p, d, &err), 0);
        assert_int_equal(cfs_tpm_policy_add_digest(&p, d, &err), 0); /* duplicate: ignored */
        fill(d, 0x20);
        assert_int_equal(cfs_tpm_policy_add_digest(&p, d, &err), 0);
        assert_int_equal(p.n_digests, 3);
        assert_int_equal(p.digests[0][0], 0x10); /* kept sorted */
        assert_int_equal(p.digests[2][0], 0x30);
        assert_int_equal(cfs_tpm_policy_serialize(&p, buf, sizeof(buf), &len, &err), 0);
        assert_int_equal(len, 16 + 3 * 32);
        assert_memory_equal(buf, "CFSPOL\x01\x00\x01\x00\x03\x00\x00\x00\x00\x00", 16);
        assert_int_equal(cfs_tpm_policy_parse(buf, len, &q, &err), 0);
        assert_int_equal(q.kind, CFS_TPM_POLICY_DIGESTS);
        assert_int_equal(q.n_digests, 3);
        assert_memory_equal(q.digests, p.digests, 3 * 32);

        /* the decision */
        fill(d, 0x20);
        assert_int_equal(cfs_tpm_policy_check(&q, d, NULL, 0, &err), 0);
        fill(d, 0x21);
        assert_int_equal(cfs_tpm_policy_check(&q, d, NULL, 0, &err), -EPERM);
        assert_non_null(strstr(err.message, "is not one of the 3 image digests"));
}

static void test_policy_limit(void **state)
{
        (void)state;
        struct cfs_tpm_policy p = {.kind = CFS_TPM_POLICY_DIGESTS};
        struct cfs_error err = {};
        uint8_t d[32] = {};
        for (unsigned i = 0; i < CFS_TPM_POLICY_MAX_DIGESTS; i++) {
                d[0] = (uint8_t)i;
                assert_int_equal(cfs_tpm_policy_add_digest(&p, d, &err), 0);
        }
        d[0] = 0xff;
        assert_int_equal(cfs_tpm_policy_add_digest(&p, d, &err), -E2BIG);
        struct cfs_tpm_policy empty = {.kind = CFS_TPM_POLICY_DIGESTS};
        uint8_t buf[CFS_TPM_POLICY_MAX_SIZE];
        size_t len;
        assert_int_equal(cfs_tpm_policy_serialize(&empty, buf, sizeof(buf), &len, &err), -EINVAL);
}

static void test_policy_key(void **state)
{
        (void)state;
        struct cfs_tpm_policy p = {.kind = CFS_TPM_POLICY_KEY, .min_generation = 5}, q;
        struct cfs_error err = {};
        uint8_t buf[CFS_TPM_POLICY_MAX_SIZE], key[32], other[32], d[32];
        size_t len;
        fill(p.key_id, 0xaa);
        assert_int_equal(cfs_tpm_policy_serialize(&p, buf, sizeof(buf), &len, &err), 0);
        assert_int_equal(len, 16 + 40);
        assert_int_equal(cfs_tpm_policy_parse(buf, len, &q, &err), 0);
        assert_int_equal(q.kind, CFS_TPM_POLICY_KEY);
        assert_int_equal(q.min_generation, 5);
        fill(key, 0xaa);
        fill(other, 0xbb);
        fill(d, 1);
        assert_int_equal(cfs_tpm_policy_check(&q, d, key, 5, &err), 0);
        assert_int_equal(cfs_tpm_policy_check(&q, d, key, 7, &err), 0);
        err = (struct cfs_error){};
        assert_int_equal(cfs_tpm_policy_check(&q, d, key, 4, &err), -EPERM);
        assert_non_null(strstr(err.message, "generation 4, below the minimum 5"));
        err = (struct cfs_error){};
        assert_int_equal(cfs_tpm_policy_check(&q, d, other, 9, &err), -EPERM);
        assert_non_null(strstr(err.message, "trusts only key sha256:aaaa"));
        err = (struct cfs_error){};
        assert_int_equal(cfs_tpm_policy_check(&q, d, NULL, 9, &err), -EPERM);
        assert_non_null(strstr(err.message, "is not signed"));
}

static void test_policy_malformed(void **state)
{
        (void)state;
        struct cfs_tpm_policy p = {.kind = CFS_TPM_POLICY_DIGESTS};
        struct cfs_error err = {};
        uint8_t buf[CFS_TPM_POLICY_MAX_SIZE], d[32];
        size_t len;
        fill(d, 1);
        cfs_tpm_policy_add_digest(&p, d, &err);
        fill(d, 2);
        cfs_tpm_policy_add_digest(&p, d, &err);
        assert_int_equal(cfs_tpm_policy_serialize(&p, buf, sizeof(buf), &len, &err), 0);
        uint8_t m[sizeof(buf)];

        expect_policy_error(buf, 15, "shorter than its header");
        memcpy(m, buf, len), m[0] = 'X';
        expect_policy_error(m, len, "bad magic");
        memcpy(m, buf, len), m[6] = 2;
        expect_policy_error(m, len, "version 2");
        memcpy(m, buf, len), m[8] = 3;
        expect_policy_error(m, len, "unknown kind 3");
        memcpy(m, buf, len), m[13] = 1;
        expect_policy_error(m, len, "reserved bytes");
        memcpy(m, buf, len), m[10] = 0;
        expect_policy_error(m, len, "0 digests");
        memcpy(m, buf, len), m[10] = 65;
        expect_policy_error(m, len, "65 digests");
        expect_policy_error(buf, len - 1, "expected 2 x 32");
        memcpy(m, buf, len), m[len] = 0;
        expect_policy_error(m, len + 1, "expected 2 x 32");
        memcpy(m, buf, len), memset(m + 16 + 32, 1, 32); /* repeated digest */
        expect_policy_error(m, len, "sorted, without repeats");
        memcpy(m, buf, len), memset(m + 16, 3, 32); /* out of order */
        expect_policy_error(m, len, "digest 1 is not above digest 0");
        /* key kind: count must be 1 and the body exactly 40 bytes */
        memcpy(m, buf, 16), m[8] = 2, m[10] = 1;
        memset(m + 16, 0, 40);
        struct cfs_tpm_policy q;
        assert_int_equal(cfs_tpm_policy_parse(m, 56, &q, &err), 0);
        expect_policy_error(m, 55, "body of 39 bytes");
        m[10] = 2;
        expect_policy_error(m, 56, "count 2");
}

/* A framed blob with a one-digest policy and fake TPM areas. */
static size_t make_blob(uint8_t **ret, uint32_t mask)
{
        struct cfs_tpm_policy p = {.kind = CFS_TPM_POLICY_DIGESTS};
        struct cfs_error err = {};
        static uint8_t pol[CFS_TPM_POLICY_MAX_SIZE];
        static const uint8_t pub[] = {0, 3, 1, 2, 3}, priv[] = {0, 2, 9, 9};
        uint8_t d[32];
        size_t plen, len;
        fill(d, 0x42);
        cfs_tpm_policy_add_digest(&p, d, &err);
        assert_int_equal(cfs_tpm_policy_serialize(&p, pol, sizeof(pol), &plen, &err), 0);
        struct cfs_tpm_blob b = {.pcr_bank = CFS_TPM_ALG_SHA256, .pcr_mask = mask};
        for (unsigned i = 0; i < 24; i++)
                fill(b.pcr_values[i], (uint8_t)(0x80 + i));
        b.policy = pol, b.policy_len = plen;
        b.public_area = pub, b.public_len = sizeof(pub);
        b.private_area = priv, b.private_len = sizeof(priv);
        assert_int_equal(cfs_tpm_blob_serialize(&b, ret, &len, &err), 0);
        return len;
}

static void expect_blob_error(const uint8_t *buf, size_t len, const char *needle)
{
        struct cfs_tpm_blob b;
        struct cfs_error err = {};
        assert_int_equal(cfs_tpm_blob_parse(buf, len, &b, &err), -EBADMSG);
        if (!strstr(err.message, needle))
                fail_msg("'%s' lacks '%s'", err.message, needle);
}

static void test_blob_roundtrip(void **state)
{
        (void)state;
        uint8_t *buf = NULL;
        size_t len = make_blob(&buf, (1u << 7) | (1u << 11));
        struct cfs_tpm_blob b;
        struct cfs_error err = {};
        /* 16 header + 2 PCR values + 4 lengths + 48 policy + 5 public + 4 private */
        assert_int_equal(len, 16 + 64 + 16 + 48 + 5 + 4);
        assert_int_equal(cfs_tpm_blob_parse(buf, len, &b, &err), 0);
        assert_int_equal(b.pcr_mask, (1u << 7) | (1u << 11));
        assert_int_equal(b.pcr_values[7][0], 0x87);
        assert_int_equal(b.pcr_values[11][0], 0x8b);
        assert_int_equal(b.pcr_values[8][0], 0); /* not in the mask: not filled */
        assert_int_equal(b.public_len, 5);
        assert_int_equal(b.private_len, 4);
        assert_int_equal(b.policy_len, 48);
        uint8_t *again = NULL;
        size_t again_len = 0;
        assert_int_equal(cfs_tpm_blob_serialize(&b, &again, &again_len, &err), 0);
        assert_int_equal(again_len, len);
        assert_memory_equal(again, buf, len);
        free(again);
        free(buf);
}

static void test_blob_malformed(void **state)
{
        (void)state;
        uint8_t *buf = NULL;
        size_t len = make_blob(&buf, 1u << 7);
        uint8_t m[1024];
        assert_true(len + 8 <= sizeof(m));
#define MUT(stmt) (memcpy(m, buf, len), (stmt))
        expect_blob_error(buf, 0, "shorter than its header");
        expect_blob_error(buf, 15, "shorter than its header");
        MUT(m[1] = 'x');
        expect_blob_error(m, len, "bad magic");
        MUT(m[6] = 7);
        expect_blob_error(m, len, "version 7");
        MUT(m[8] = 0x04); /* sha1 bank */
        expect_blob_error(m, len, "PCR bank 0x0004");
        MUT(m[10] = 2);
        expect_blob_error(m, len, "unknown flags 0x0002");
        MUT(m[11] = 0x80);
        expect_blob_error(m, len, "unknown flags 0x8000");
        MUT(m[10] = 1); /* creation record flag without the two fields */
        expect_blob_error(m, len, "truncated before the creation data length");
        MUT(memset(m + 12, 0, 4));
        expect_blob_error(m, len, "needs at least one");
        MUT(m[15] = 1); /* PCR 24 */
        expect_blob_error(m, len, "nothing above");
        MUT(m[14] = 0xff); /* 8 more PCRs: their values eat the fields */
        expect_blob_error(m, len, "truncated");
        /* every truncation is refused */
        for (size_t cut = 16; cut < len; cut++)
                expect_blob_error(buf, cut, "sealed blob:");
        MUT(m[len] = 0);
        expect_blob_error(m, len + 1, "trailing bytes");
        /* policy length 0xffffffff: bounded, not trusted */
        size_t pol_off = 16 + 32;
        MUT(memset(m + pol_off, 0xff, 4));
        expect_blob_error(m, len, "policy of 4294967295 bytes");
        MUT((m[pol_off] = 8, m[pol_off + 1] = 0)); /* policy of 8 bytes: fields shift */
        expect_blob_error(m, len, "sealed blob:");
        /* the reserved field (empty: its length is the last 4 bytes) must stay empty */
        MUT(m[len - 4] = 1);
        m[len] = 0x55;
        expect_blob_error(m, len + 1, "reserved field is not empty");
        /* too large to be a blob */
        uint8_t *big = calloc(1, CFS_TPM_BLOB_MAX + 1);
        assert_non_null(big);
        memcpy(big, buf, len);
        expect_blob_error(big, CFS_TPM_BLOB_MAX + 1, "larger than");
        free(big);
        free(buf);
#undef MUT
}

/* The creation record: flag bit 0, two more fields, both bounded and not empty. */
static void test_blob_creation(void **state)
{
        (void)state;
        struct cfs_tpm_policy p = {.kind = CFS_TPM_POLICY_DIGESTS};
        struct cfs_error err = {};
        uint8_t pol[CFS_TPM_POLICY_MAX_SIZE], d[32], m[1024];
        static const uint8_t pub[] = {0, 3, 1, 2, 3}, priv[] = {0, 2, 9, 9};
        static const uint8_t cdata[] = {0, 5, 1, 2, 3, 4, 5}, ticket[] = {0x80, 0x21, 0, 0};
        size_t plen, len;
        uint8_t *buf = NULL;
        fill(d, 0x42);
        cfs_tpm_policy_add_digest(&p, d, &err);
        assert_int_equal(cfs_tpm_policy_serialize(&p, pol, sizeof(pol), &plen, &err), 0);
        struct cfs_tpm_blob b = {.pcr_bank = CFS_TPM_ALG_SHA256,
                                 .pcr_mask = 1u << 7,
                                 .policy = pol,
                                 .policy_len = plen,
                                 .public_area = pub,
                                 .public_len = sizeof(pub),
                                 .private_area = priv,
                                 .private_len = sizeof(priv),
                                 .flags = CFS_TPM_BLOB_CREATION,
                                 .creation_data = cdata,
                                 .creation_data_len = sizeof(cdata),
                                 .creation_ticket = ticket,
                                 .creation_ticket_len = sizeof(ticket)};
        assert_int_equal(cfs_tpm_blob_serialize(&b, &buf, &len, &err), 0);
        assert_int_equal(len, 16 + 32 + 6 * 4 + plen + 5 + 4 + 0 + 7 + 4);
        assert_int_equal(buf[10], 1);
        struct cfs_tpm_blob q;
        assert_int_equal(cfs_tpm_blob_parse(buf, len, &q, &err), 0);
        assert_int_equal(q.flags, CFS_TPM_BLOB_CREATION);
        assert_int_equal(q.creation_data_len, sizeof(cdata));
        assert_memory_equal(q.creation_data, cdata, sizeof(cdata));
        assert_int_equal(q.creation_ticket_len, sizeof(ticket));
        assert_memory_equal(q.creation_ticket, ticket, sizeof(ticket));
        uint8_t *again = NULL;
        size_t again_len = 0;
        assert_int_equal(cfs_tpm_blob_serialize(&q, &again, &again_len, &err), 0);
        assert_int_equal(again_len, len);
        assert_memory_equal(again, buf, len);
        free(again);
        for (size_t cut = 16; cut < len; cut++)
                expect_blob_error(buf, cut, "sealed blob:");
        /* flag cleared: the record is trailing bytes; an empty creation field */
        memcpy(m, buf, len);
        m[10] = 0;
        expect_blob_error(m, len, "trailing bytes");
        memcpy(m, buf, len);
        memset(m + len - 4 - 4, 0, 4); /* ticket length 0 */
        expect_blob_error(m, len - 4, "empty creation record");
        free(buf);
}

static void test_pcr_mask(void **state)
{
        (void)state;
        struct cfs_error err = {};
        uint32_t mask = 0;
        char s[64];
        assert_int_equal(cfs_tpm_pcr_mask_parse("7", &mask, &err), 0);
        assert_int_equal(mask, 0x80);
        assert_int_equal(cfs_tpm_pcr_mask_parse("0,4,7,23", &mask, &err), 0);
        assert_int_equal(mask, 0x800091);
        cfs_tpm_pcr_mask_format(mask, s, sizeof(s));
        assert_string_equal(s, "0,4,7,23");
        static const char *const bad[] = {"", "24", "7,", ",7", "a", "7;8", "-1", "0007", "7 "};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                err = (struct cfs_error){};
                if (cfs_tpm_pcr_mask_parse(bad[i], &mask, &err) != -EINVAL)
                        fail_msg("'%s' accepted", bad[i]);
        }
}

/* PolicyPCR digest, computed independently from TPM 2.0 Part 3, 23.7. */
static void test_policy_pcr_digest(void **state)
{
        (void)state;
        uint8_t values[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE] = {};
        uint8_t got[32], want[32], inner[32], msg[32 + 4 + 10 + 32];
        struct cfs_error err = {};
        fill(values[7], 0x07);
        fill(values[11], 0x0b);
        uint8_t concat[64];
        memcpy(concat, values[7], 32);
        memcpy(concat + 32, values[11], 32);
        assert_true(EVP_Digest(concat, 64, inner, NULL, EVP_sha256(), NULL));
        static const uint8_t mid[] = {0x00, 0x00, 0x01, 0x7f, /* TPM_CC_PolicyPCR */
                                      0x00, 0x00, 0x00, 0x01, /* count */
                                      0x00, 0x0b, 0x03,       /* sha256, 3 bytes */
                                      0x80, 0x08, 0x00};      /* PCRs 7, 11 */
        memset(msg, 0, 32);
        memcpy(msg + 32, mid, sizeof(mid));
        memcpy(msg + 32 + sizeof(mid), inner, 32);
        assert_true(EVP_Digest(msg, 32 + sizeof(mid) + 32, want, NULL, EVP_sha256(), NULL));
        assert_int_equal(cfs_tpm_policy_pcr_digest((1u << 7) | (1u << 11), values, got, &err), 0);
        assert_memory_equal(got, want, 32);
        assert_int_equal(cfs_tpm_policy_pcr_digest(0, values, got, &err), -EINVAL);
}

static EVP_PKEY *rsa_key, *ec_key;

static int keys_setup(void **state)
{
        (void)state;
        rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        return rsa_key && ec_key ? 0 : -1;
}

static int keys_teardown(void **state)
{
        (void)state;
        EVP_PKEY_free(rsa_key);
        EVP_PKEY_free(ec_key);
        return 0;
}

static size_t make_blob_v2(uint8_t **ret, const uint8_t *key, size_t key_len)
{
        struct cfs_tpm_policy p = {.kind = CFS_TPM_POLICY_DIGESTS};
        struct cfs_error err = {};
        static uint8_t pol[CFS_TPM_POLICY_MAX_SIZE];
        static const uint8_t pub[] = {0, 3, 1, 2, 3}, priv[] = {0, 2, 9, 9};
        uint8_t d[32];
        size_t plen, len;
        fill(d, 0x42);
        cfs_tpm_policy_add_digest(&p, d, &err);
        assert_int_equal(cfs_tpm_policy_serialize(&p, pol, sizeof(pol), &plen, &err), 0);
        struct cfs_tpm_blob b = {.version = CFS_TPM_BLOB_V2,
                                 .pcr_bank = CFS_TPM_ALG_SHA256,
                                 .pcr_mask = 1u << 7,
                                 .policy = pol,
                                 .policy_len = plen,
                                 .public_area = pub,
                                 .public_len = sizeof(pub),
                                 .private_area = priv,
                                 .private_len = sizeof(priv),
                                 .auth_key = key,
                                 .auth_key_len = key_len};
        fill(b.pcr_values[7], 0x77); /* not written in version 2 */
        assert_int_equal(cfs_tpm_blob_serialize(&b, ret, &len, &err), 0);
        return len;
}

static void test_blob_v2(void **state)
{
        (void)state;
        static const uint8_t key[] = {0, 4, 0xa, 0xb, 0xc, 0xd};
        uint8_t *buf = NULL, m[1024];
        size_t len = make_blob_v2(&buf, key, sizeof(key));
        struct cfs_tpm_blob b;
        struct cfs_error err = {};
        /* 16 header, no PCR values, 4 lengths + 48 policy + 5 public + 4 private + 6 key */
        assert_int_equal(len, 16 + 16 + 48 + 5 + 4 + 6);
        assert_memory_equal(buf, "CFSTPM\x02\x00\x0b\x00\x00\x00\x80\x00\x00\x00", 16);
        assert_int_equal(cfs_tpm_blob_parse(buf, len, &b, &err), 0);
        assert_int_equal(b.version, 2);
        assert_int_equal(b.pcr_values[7][0], 0);
        assert_int_equal(b.auth_key_len, 6);
        assert_memory_equal(b.auth_key, key, 6);
        uint8_t *again = NULL;
        size_t again_len = 0;
        assert_int_equal(cfs_tpm_blob_serialize(&b, &again, &again_len, &err), 0);
        assert_int_equal(again_len, len);
        assert_memory_equal(again, buf, len);
        free(again);
        for (size_t cut = 16; cut < len; cut++)
                expect_blob_error(buf, cut, "sealed blob:");
        /* version 1 with version 2's layout, and the reverse */
        memcpy(m, buf, len);
        m[6] = 1;
        expect_blob_error(m, len, "sealed blob:");
        free(buf);
        buf = NULL;
        len = make_blob(&buf, 1u << 7);
        memcpy(m, buf, len);
        m[6] = 2; /* the PCR value is now read as the policy length */
        expect_blob_error(m, len, "sealed blob:");
        free(buf);
        /* version 2 without a key */
        buf = NULL;
        len = make_blob_v2(&buf, key, sizeof(key));
        memcpy(m, buf, len - 6);
        memset(m + len - 10, 0, 4);
        expect_blob_error(m, len - 6, "without the signing key");
        free(buf);
}

/* The template of lib/tpm-authorize.h, the name, and strictness. */
static void test_authkey(void **state)
{
        (void)state;
        struct cfs_error err = {};
        uint8_t buf[CFS_TPM_AUTHKEY_MAX], m[CFS_TPM_AUTHKEY_MAX + 1], name[32], name2[32];
        size_t len = 0;
        assert_int_equal(cfs_tpm_authkey_from_pkey(rsa_key, buf, sizeof(buf), &len, &err), 0);
        assert_int_equal(len, 280);
        /* size, type RSA, nameAlg sha256, attributes, empty policy, sym/scheme NULL, 2048, e 0 */
        assert_memory_equal(buf,
                            "\x01\x16\x00\x01\x00\x0b\x00\x06\x00\x40\x00\x00\x00\x10\x00\x10"
                            "\x08\x00\x00\x00\x00\x00\x01\x00",
                            24);
        assert_int_equal(cfs_tpm_authkey_name(buf, len, name, &err), 0);
        /* name = sha256(TPMT_PUBLIC) = sha256 of everything after the 2-byte size */
        assert_true(EVP_Digest(buf + 2, len - 2, name2, NULL, EVP_sha256(), NULL));
        assert_memory_equal(name, name2, 32);
        /* every bit of the fixed part matters */
        for (size_t i = 0; i < 24; i++)
                for (unsigned bit = 0; bit < 8; bit++) {
                        memcpy(m, buf, len);
                        m[i] ^= (uint8_t)(1u << bit);
                        err = (struct cfs_error){};
                        if (cfs_tpm_authkey_name(m, len, name2, &err) != -EBADMSG)
                                fail_msg("byte %zu bit %u flipped: accepted", i, bit);
                }
        memcpy(m, buf, len);
        m[len] = 0;
        assert_int_equal(cfs_tpm_authkey_name(m, len + 1, name2, &err), -EBADMSG);
        assert_int_equal(cfs_tpm_authkey_name(buf, len - 1, name2, &err), -EBADMSG);
        assert_int_equal(cfs_tpm_authkey_name(buf, 0, name2, &err), -EBADMSG);

        assert_int_equal(cfs_tpm_authkey_from_pkey(ec_key, buf, sizeof(buf), &len, &err), 0);
        assert_int_equal(len, 2 + 2 + 2 + 4 + 2 + 2 + 2 + 2 + 2 + 2 + 32 + 2 + 32);
        assert_int_equal(cfs_tpm_authkey_name(buf, len, name, &err), 0);
        for (size_t i = 0; i < 22; i++) {
                memcpy(m, buf, len);
                m[i] ^= 0x01;
                err = (struct cfs_error){};
                if (cfs_tpm_authkey_name(m, len, name2, &err) != -EBADMSG)
                        fail_msg("EC byte %zu flipped: accepted", i);
        }
        /* other keys are refused with a message */
        EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        assert_non_null(p384);
        err = (struct cfs_error){};
        assert_int_equal(cfs_tpm_authkey_from_pkey(p384, buf, sizeof(buf), &len, &err),
                         -EOPNOTSUPP);
        assert_non_null(strstr(err.message, "RSA 2048 or ECC P-256"));
        EVP_PKEY_free(p384);
}

/* authPolicy = H(H(0^32 || TPM_CC_PolicyAuthorize || 0x000b || name) || "cfsroot") */
static void test_authorize_digest(void **state)
{
        (void)state;
        struct cfs_error err = {};
        uint8_t name[32], got[32], step[32 + 7], want[32];
        uint8_t msg[32 + 4 + 2 + 32] = {};
        fill(name, 0x5a);
        memcpy(msg + 32, "\x00\x00\x01\x6a\x00\x0b", 6);
        memcpy(msg + 38, name, 32);
        assert_true(EVP_Digest(msg, sizeof(msg), step, NULL, EVP_sha256(), NULL));
        memcpy(step + 32, "cfsroot", 7);
        assert_true(EVP_Digest(step, sizeof(step), want, NULL, EVP_sha256(), NULL));
        assert_int_equal(cfs_tpm_authorize_digest(name, got, &err), 0);
        assert_memory_equal(got, want, 32);
}

static void expect_approvals_error(const uint8_t *buf, size_t len, const char *needle)
{
        struct cfs_tpm_approval *a = NULL;
        size_t n = 99;
        struct cfs_error err = {};
        assert_int_equal(cfs_tpm_approvals_parse(buf, len, &a, &n, &err), -EBADMSG);
        assert_null(a);
        assert_int_equal(n, 0);
        if (!strstr(err.message, needle))
                fail_msg("'%s' lacks '%s'", err.message, needle);
}

/* The signature verifies with OpenSSL over approvedPolicy || "cfsroot" (ECDSA: r||s). */
static void verify_approval(EVP_PKEY *key, const struct cfs_tpm_approval *a)
{
        struct cfs_error err = {};
        uint8_t approved[32], msg[39], der[128];
        const uint8_t *sig = a->sig;
        size_t sig_len = a->sig_len;
        assert_int_equal(cfs_tpm_approval_policy_digest(a, approved, &err), 0);
        memcpy(msg, approved, 32);
        memcpy(msg + 32, "cfsroot", 7);
        if (a->sig_alg == CFS_TPM_ALG_ECDSA) {
                ECDSA_SIG *es = ECDSA_SIG_new();
                assert_non_null(es);
                assert_true(ECDSA_SIG_set0(es, BN_bin2bn(a->sig, 32, NULL),
                                           BN_bin2bn(a->sig + 32, 32, NULL)));
                unsigned char *p = der;
                int n = i2d_ECDSA_SIG(es, &p);
                assert_true(n > 0);
                ECDSA_SIG_free(es);
                sig = der;
                sig_len = (size_t)n;
        }
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
        assert_int_equal(EVP_DigestVerify(ctx, sig, sig_len, msg, sizeof(msg)), 1);
        EVP_MD_CTX_free(ctx);
}

static void test_approvals(void **state)
{
        (void)state;
        struct cfs_error err = {};
        uint8_t values[CFS_TPM_PCR_COUNT][CFS_TPM_PCR_SIZE] = {};
        struct cfs_tpm_approval ra, ea, *list = NULL;
        uint8_t buf[4096], m[4096], key[CFS_TPM_AUTHKEY_MAX], name[32];
        size_t rlen = 0, elen = 0, n = 0, klen = 0;
        fill(values[7], 0x07);
        fill(values[11], 0x0b);
        assert_int_equal(cfs_tpm_approval_sign(rsa_key, 1u << 7, values, &ra, &err), 0);
        assert_int_equal(ra.sig_alg, CFS_TPM_ALG_RSASSA);
        assert_int_equal(ra.sig_len, 256);
        verify_approval(rsa_key, &ra);
        assert_int_equal(cfs_tpm_authkey_from_pkey(rsa_key, key, sizeof(key), &klen, &err), 0);
        assert_int_equal(cfs_tpm_authkey_name(key, klen, name, &err), 0);
        assert_memory_equal(ra.key_name, name, 32);
        assert_int_equal(cfs_tpm_approval_sign(ec_key, (1u << 7) | (1u << 11), values, &ea, &err),
                         0);
        assert_int_equal(ea.sig_alg, CFS_TPM_ALG_ECDSA);
        verify_approval(ec_key, &ea);

        assert_int_equal(cfs_tpm_approval_serialize(&ra, buf, sizeof(buf), &rlen, &err), 0);
        assert_int_equal(rlen, 52 + 32 + 256);
        assert_memory_equal(buf, "CFSAPR\x01\x00\x0b\x00\x14\x00\x80\x00\x00\x00", 16);
        assert_int_equal(
            cfs_tpm_approval_serialize(&ea, buf + rlen, sizeof(buf) - rlen, &elen, &err), 0);
        assert_int_equal(elen, 52 + 64 + 64);
        size_t len = rlen + elen;
        assert_int_equal(cfs_tpm_approvals_parse(buf, len, &list, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_memory_equal(&list[0], &ra, sizeof(ra));
        assert_memory_equal(&list[1], &ea, sizeof(ea));
        free(list);

        /* every truncation, and the header fields of the second record */
        for (size_t cut = 0; cut < len; cut++)
                if (cut != rlen)
                        expect_approvals_error(buf, cut, "approval");
#define MUT(stmt) (memcpy(m, buf, len), (stmt))
        MUT(m[rlen + 1] = 'x');
        expect_approvals_error(m, len, "approval 2: bad magic");
        MUT(m[rlen + 6] = 2);
        expect_approvals_error(m, len, "approval 2: version 2");
        MUT(m[rlen + 8] = 4);
        expect_approvals_error(m, len, "approval 2: PCR bank 0x0004");
        MUT(m[rlen + 10] = 0x16);
        expect_approvals_error(m, len, "signature scheme 0x0016");
        MUT(m[rlen + 10] = 0x14); /* ECDSA record claims RSASSA */
        expect_approvals_error(m, len, "signature of 64 bytes, scheme 0x0014 has 256");
        MUT(memset(m + rlen + 12, 0, 4));
        expect_approvals_error(m, len, "needs at least one");
        MUT(m[rlen + 15] = 1);
        expect_approvals_error(m, len, "nothing above");
        MUT(m[rlen + 51] = 1);
        expect_approvals_error(m, len, "reserved bytes");
        MUT(m[len] = 0);
        expect_approvals_error(m, len + 1, "approval 3: truncated");
#undef MUT
        expect_approvals_error(buf, 0, "empty");
        /* 32 records are the limit */
        static uint8_t many[33 * 400];
        for (unsigned i = 0; i < 33; i++)
                memcpy(many + i * rlen, buf, rlen);
        assert_int_equal(cfs_tpm_approvals_parse(many, 32 * rlen, &list, &n, &err), 0);
        assert_int_equal(n, 32);
        free(list);
        expect_approvals_error(many, 33 * rlen, "more than 32");
        /* serialising an invalid record */
        ra.sig_len = 64;
        assert_int_equal(cfs_tpm_approval_serialize(&ra, buf, sizeof(buf), &rlen, &err), -EINVAL);
}

static void test_measurement_string(void **state)
{
        (void)state;
        uint8_t d[32], k[32];
        char buf[CFS_TPM_MEASUREMENT_MAX];
        fill(d, 0xab);
        fill(k, 0x01);
        cfs_tpm_measurement_string(d, "signed", k, buf, sizeof(buf));
        assert_string_equal(buf, "cfsroot:v1:image=abababababababababababababababababababababababab"
                                 "abababababababab:mode=signed:signer=0101010101010101010101010101"
                                 "010101010101010101010101010101010101");
        cfs_tpm_measurement_string(d, "command-line", NULL, buf, sizeof(buf));
        assert_non_null(strstr(buf, ":mode=command-line:signer=none"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_policy_digests_roundtrip),
            cmocka_unit_test(test_policy_limit),
            cmocka_unit_test(test_policy_key),
            cmocka_unit_test(test_policy_malformed),
            cmocka_unit_test(test_blob_roundtrip),
            cmocka_unit_test(test_blob_malformed),
            cmocka_unit_test(test_blob_creation),
            cmocka_unit_test(test_pcr_mask),
            cmocka_unit_test(test_policy_pcr_digest),
            cmocka_unit_test(test_measurement_string),
            cmocka_unit_test(test_blob_v2),
            cmocka_unit_test(test_authkey),
            cmocka_unit_test(test_authorize_digest),
            cmocka_unit_test(test_approvals),
        };
        return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}

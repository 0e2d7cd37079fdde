/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-tpm-policy.c - the TPM boot policy and sealed-blob framing
 * (lib/tpm-policy.c): round trips, every malformation the strict parsers must
 * refuse (with the message saying which), the policy decision, PCR lists, and
 * the PolicyPCR digest against a value computed by hand. Host, no TPM needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

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
        MUT(m[10] = 1);
        expect_blob_error(m, len, "reserved bytes");
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
            cmocka_unit_test(test_pcr_mask),
            cmocka_unit_test(test_policy_pcr_digest),
            cmocka_unit_test(test_measurement_string),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-tpm-rollback.c - the pure parts of the anti-rollback index
 * (lib/tpm-rollback.c): floor <-> bits, the owner-range check, and the judge of
 * the NV public area the TPM reports (every attribute bit, name algorithm,
 * policy, size, framing), plus deterministic random mutations of a valid public
 * area: only the exact definition (with or without TPMA_NV_WRITTEN) may pass.
 * Host, no TPM needed (the TPM side is tests/tpm/rollback.sh).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tpm-rollback.h"

#define IDX CFS_TPM_ROLLBACK_INDEX_DEFAULT
/* offsets in the marshalled TPM2B_NV_PUBLIC */
#define OFF_SIZE 0
#define OFF_INDEX 2
#define OFF_NAMEALG 6
#define OFF_ATTRS 8
#define OFF_POLICY 12
#define OFF_DATASIZE 14

static size_t expected(uint8_t buf[CFS_TPM_NV_PUBLIC_MAX])
{
        size_t len = 0;
        assert_int_equal(cfs_tpm_rollback_public(IDX, buf, CFS_TPM_NV_PUBLIC_MAX, &len), 0);
        assert_int_equal(len, 16);
        return len;
}

static void put32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

static void expect_refused(const uint8_t *buf, size_t len, int code, const char *needle)
{
        struct cfs_error err = {};
        bool written = false;
        assert_int_equal(cfs_tpm_rollback_check_public(buf, len, IDX, &written, &err), -code);
        if (!strstr(err.message, needle))
                fail_msg("'%s' lacks '%s'", err.message, needle);
}

static void test_floor_bits(void **state)
{
        (void)state;
        assert_int_equal(cfs_tpm_rollback_floor(0), 0);
        assert_int_equal(cfs_tpm_rollback_floor(1), 1);
        assert_int_equal(cfs_tpm_rollback_floor(0xf), 4);
        assert_int_equal(cfs_tpm_rollback_floor(0x9), 4); /* highest bit counts */
        assert_int_equal(cfs_tpm_rollback_floor(UINT64_C(1) << 63), 64);
        assert_int_equal(cfs_tpm_rollback_floor(UINT64_MAX), 64);
        assert_true(cfs_tpm_rollback_bits(0) == 0);
        assert_true(cfs_tpm_rollback_bits(4) == 0xf);
        assert_true(cfs_tpm_rollback_bits(64) == UINT64_MAX);
        for (unsigned g = 0; g <= CFS_TPM_ROLLBACK_MAX; g++) {
                assert_int_equal(cfs_tpm_rollback_floor(cfs_tpm_rollback_bits(g)), g);
                /* OR-ing a lower floor's bits in never lowers it (SetBits) */
                for (unsigned h = 0; h <= g; h++)
                        assert_int_equal(cfs_tpm_rollback_floor(cfs_tpm_rollback_bits(g) |
                                                                cfs_tpm_rollback_bits(h)),
                                         g);
        }
}

static void test_index_range(void **state)
{
        (void)state;
        assert_int_equal(cfs_tpm_rollback_index_check(0x01800000u, NULL), 0);
        assert_int_equal(cfs_tpm_rollback_index_check(0x01bfffffu, NULL), 0);
        assert_int_equal(cfs_tpm_rollback_index_check(IDX, NULL), 0);
        assert_int_equal(cfs_tpm_rollback_index_check(0x017fffffu, NULL), -EINVAL);
        assert_int_equal(cfs_tpm_rollback_index_check(0x01c00002u, NULL), -EINVAL); /* EK cert */
        assert_int_equal(cfs_tpm_rollback_index_check(0x81000001u, NULL), -EINVAL);
}

static void test_public_accepted(void **state)
{
        (void)state;
        uint8_t buf[CFS_TPM_NV_PUBLIC_MAX];
        size_t len = expected(buf);
        struct cfs_error err = {};
        bool written = true;
        assert_int_equal(cfs_tpm_rollback_check_public(buf, len, IDX, &written, &err), 0);
        assert_false(written);
        put32(buf + OFF_ATTRS, CFS_TPM_ROLLBACK_ATTRIBUTES | CFS_TPM_NV_WRITTEN);
        assert_int_equal(cfs_tpm_rollback_check_public(buf, len, IDX, &written, &err), 0);
        assert_true(written);
        /* the same bytes judged for another index */
        err = (struct cfs_error){};
        assert_int_equal(cfs_tpm_rollback_check_public(buf, len, IDX + 1, NULL, &err),
                         -EKEYREJECTED);
        assert_non_null(strstr(err.message, "describes index 0x01800cf5"));
}

static void test_public_attributes(void **state)
{
        (void)state;
        for (unsigned bit = 0; bit < 32; bit++) {
                uint8_t buf[CFS_TPM_NV_PUBLIC_MAX];
                size_t len = expected(buf);
                uint32_t a = CFS_TPM_ROLLBACK_ATTRIBUTES ^ (1u << bit);
                if ((1u << bit) == CFS_TPM_NV_WRITTEN)
                        continue;
                put32(buf + OFF_ATTRS, a);
                expect_refused(buf, len, EKEYREJECTED, "squatted");
                expect_refused(buf, len, EKEYREJECTED, "attributes");
        }
}

static void test_public_other_fields(void **state)
{
        (void)state;
        uint8_t buf[CFS_TPM_NV_PUBLIC_MAX], big[CFS_TPM_NV_PUBLIC_MAX];
        size_t len = expected(buf);

        buf[OFF_NAMEALG + 1] = 0x04; /* sha1 */
        expect_refused(buf, len, EKEYREJECTED, "name algorithm 0x0004");
        len = expected(buf);
        buf[OFF_DATASIZE + 1] = 16;
        expect_refused(buf, len, EKEYREJECTED, "16 bytes, expected 8");
        len = expected(buf);
        buf[OFF_DATASIZE] = 0xff;
        expect_refused(buf, len, EKEYREJECTED, "expected 8");

        /* a 32-byte authPolicy: insert it, fix both size fields */
        len = expected(buf);
        memcpy(big, buf, OFF_POLICY);
        big[OFF_POLICY] = 0;
        big[OFF_POLICY + 1] = 32;
        memset(big + OFF_POLICY + 2, 0xab, 32);
        memcpy(big + OFF_POLICY + 2 + 32, buf + OFF_DATASIZE, 2);
        big[OFF_SIZE + 1] = (uint8_t)(14 + 32);
        expect_refused(big, len + 32, EKEYREJECTED, "authorization policy (32 bytes)");
}

static void test_public_framing(void **state)
{
        (void)state;
        uint8_t buf[CFS_TPM_NV_PUBLIC_MAX];
        size_t len = expected(buf);
        for (size_t l = 0; l < len; l++)
                expect_refused(buf, l, EBADMSG, "not a valid TPM2B_NV_PUBLIC");
        buf[len] = 0;
        expect_refused(buf, len + 1, EBADMSG, "not a valid TPM2B_NV_PUBLIC"); /* trailing byte */
        buf[OFF_SIZE + 1] = 15; /* size says more than follows */
        expect_refused(buf, len, EBADMSG, "TPM2B_NV_PUBLIC");
        buf[OFF_SIZE + 1] = 13;
        expect_refused(buf, len, EBADMSG, "");
        expect_refused(NULL, 16, EBADMSG, "");
        uint8_t huge[CFS_TPM_NV_PUBLIC_MAX + 8] = {0};
        expect_refused(huge, sizeof(huge), EBADMSG, "");
        /* policy size beyond any digest (TPM2B_DIGEST holds at most 64) */
        len = expected(buf);
        buf[OFF_POLICY] = 0x01;
        expect_refused(buf, len, EBADMSG, "");
}

static unsigned rnd(uint32_t *seed)
{
        *seed = *seed * 1103515245u + 12345u;
        return (*seed >> 16) & 0x7fff;
}

/* Random mutations: nothing but the definition itself (WRITTEN either way) is accepted. */
static void test_public_mutations(void **state)
{
        (void)state;
        uint8_t ref[CFS_TPM_NV_PUBLIC_MAX], buf[CFS_TPM_NV_PUBLIC_MAX];
        size_t ref_len = expected(ref);
        uint32_t seed = 12345;
        unsigned accepted = 0;
        for (unsigned i = 0; i < 200000; i++) {
                size_t len = ref_len;
                memcpy(buf, ref, sizeof(buf));
                unsigned flips = 1 + rnd(&seed) % 3;
                for (unsigned f = 0; f < flips; f++) {
                        size_t at = rnd(&seed) % (ref_len + 4);
                        buf[at] ^= (uint8_t)(1u << (rnd(&seed) % 8));
                }
                if (rnd(&seed) % 8 == 0)
                        len = rnd(&seed) % (ref_len + 8);
                struct cfs_error err = {};
                bool written = false;
                int r = cfs_tpm_rollback_check_public(buf, len, IDX, &written, &err);
                if (r == 0) {
                        /* equal to the reference apart from the WRITTEN bit */
                        uint8_t masked[CFS_TPM_NV_PUBLIC_MAX];
                        memcpy(masked, buf, sizeof(masked));
                        masked[OFF_ATTRS] &= (uint8_t) ~(CFS_TPM_NV_WRITTEN >> 24);
                        assert_int_equal(len, ref_len);
                        assert_memory_equal(masked, ref, ref_len);
                        accepted++;
                } else {
                        assert_true(r == -EBADMSG || r == -EKEYREJECTED);
                        assert_true(err.message[0] != 0);
                }
        }
        assert_true(accepted > 0); /* the WRITTEN flip alone, and no-op flips beyond len */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_floor_bits),          cmocka_unit_test(test_index_range),
            cmocka_unit_test(test_public_accepted),     cmocka_unit_test(test_public_attributes),
            cmocka_unit_test(test_public_other_fields), cmocka_unit_test(test_public_framing),
            cmocka_unit_test(test_public_mutations),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

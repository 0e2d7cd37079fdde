/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-revocation.c - the revocation list parser (lib/revocation.c). Host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "revocation.h"

#define H1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void hash_of(const char *hex, uint8_t out[32])
{
        for (unsigned i = 0; i < 32; i++) {
                unsigned v;
                sscanf(hex + 2 * i, "%2x", &v);
                out[i] = (uint8_t)v;
        }
}

static void test_parse(void **state)
{
        (void)state;
        const char *text = "# revoked after CVE-2026-1234\n"
                           "key sha256:" H1 "\n"
                           "  image " H2 "  \r\n"
                           "\n";
        _cleanup_(cfs_revocation_freep) struct cfs_revocation *r = NULL;
        struct cfs_error err = {};
        assert_int_equal(cfs_revocation_parse(text, strlen(text), "rev", &r, &err), 0);
        assert_int_equal(cfs_revocation_count(r), 2);
        uint8_t h1[32], h2[32];
        hash_of(H1, h1);
        hash_of(H2, h2);
        assert_true(cfs_revocation_has_key(r, h1));
        assert_false(cfs_revocation_has_image(r, h1)); /* kinds do not mix */
        assert_true(cfs_revocation_has_image(r, h2));
        assert_false(cfs_revocation_has_key(r, h2));
}

static void expect_error(const char *text, const char *needle)
{
        struct cfs_revocation *r = NULL;
        struct cfs_error err = {};
        assert_true(cfs_revocation_parse(text, strlen(text), "rev", &r, &err) < 0);
        assert_null(r);
        if (!strstr(err.message, needle))
                fail_msg("'%s' lacks '%s'", err.message, needle);
}

static void test_errors(void **state)
{
        (void)state;
        expect_error("key " H1 "\n", "rev:1: expected 'key sha256:");
        expect_error("key sha256:" H1 "0\n", "rev:1:");
        expect_error("\nimage " H1 "x\n", "rev:2: expected 'image");
        expect_error("image\n", "rev:1:");
        expect_error("digest " H1 "\n", "rev:1: expected 'key sha256:<hex>' or 'image <hex>'");
        struct cfs_revocation *r = NULL;
        assert_true(cfs_revocation_parse("image\0", 6, "rev", &r, NULL) < 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse),
            cmocka_unit_test(test_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

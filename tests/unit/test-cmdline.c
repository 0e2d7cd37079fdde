/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-cmdline.c - kernel command line parsing (lib/cmdline.c). Host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmdline.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int parse(const char *s, struct cfs_cmdline *c, struct cfs_error *err)
{
        memset(err, 0, sizeof(*err));
        return cfs_cmdline_parse(s, strlen(s), c, err);
}

static void test_typical(void **state)
{
        (void)state;
        struct cfs_cmdline c;
        struct cfs_error err;
        assert_int_equal(parse("BOOT_IMAGE=/vmlinuz root=/dev/vda2 ro quiet composefs=" D64
                               " cfsroot.image=/composefs/images/a.cfs cfsroot.failure=reboot "
                               "cfsroot.signature=\"/composefs/images/a.cfs.sig\" "
                               "cfsroot.require-signature",
                               &c, &err),
                         0);
        assert_true(c.has_digest);
        assert_int_equal(c.digest[0], 0x01);
        assert_int_equal(c.digest[31], 0xef);
        assert_string_equal(c.image, "/composefs/images/a.cfs");
        assert_string_equal(c.signature, "/composefs/images/a.cfs.sig");
        assert_int_equal(c.failure, CFS_FAILURE_REBOOT);
        assert_int_equal(c.require_signature, CFS_YES);
        assert_int_equal(c.require_tpm, CFS_UNSET);
        assert_int_equal(c.allow_unverified, CFS_UNSET);
        assert_true(cfs_cmdline_wants_composefs(&c));

        assert_int_equal(parse("root=/dev/vda ro quiet", &c, &err), 0);
        assert_false(cfs_cmdline_wants_composefs(&c));
        assert_int_equal(parse("", &c, &err), 0);
        assert_int_equal(parse("   \n", &c, &err), 0);
        /* the same value twice is fine (bootloaders append) */
        assert_int_equal(parse("composefs=" D64 " composefs=" D64, &c, &err), 0);
        /* other programs' arguments are not ours to judge */
        assert_int_equal(parse("cfsrootx=1 foo.cfsroot.bar=2 composefsx=zz", &c, &err), 0);
        assert_false(c.has_digest);
}

static void expect_error(const char *s, const char *needle)
{
        struct cfs_cmdline c;
        struct cfs_error err;
        int r = parse(s, &c, &err);
        if (r != -EINVAL && r != -E2BIG)
                fail_msg("'%s' was accepted (r=%d)", s, r);
        if (!strstr(err.message, needle))
                fail_msg("'%s': message '%s' lacks '%s'", s, err.message, needle);
}

static void test_errors(void **state)
{
        (void)state;
        expect_error("composefs=" D64 "0", "64 lowercase hex");
        expect_error("composefs=0123", "64 lowercase hex");
        expect_error("composefs", "64 lowercase hex");
        expect_error("composefs=0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
                     "64 lowercase hex");
        expect_error("composefs=" D64
                     " composefs=1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                     "twice");
        expect_error("cfsroot.imag=/x", "unknown argument 'cfsroot.imag'");
        expect_error("cfsroot.image=relative/path", "absolute path");
        expect_error("cfsroot.image=/a/../../etc/shadow", "'..'");
        expect_error("cfsroot.image=/..", "'..'");
        expect_error("cfsroot.image", "absolute path");
        expect_error("cfsroot.image=/a cfsroot.image=/b", "twice");
        expect_error("cfsroot.failure=shell", "poweroff, reboot, halt or emergency");
        expect_error("cfsroot.failure=reboot cfsroot.failure=poweroff", "twice");
        expect_error("cfsroot.require-signature=maybe", "boolean");
        expect_error("cfsroot.require-signature=1 cfsroot.require-signature=0", "twice");
        expect_error("root=/dev/vda \"unterminated", "unterminated quote");
        char *big = malloc(CFS_CMDLINE_MAX + 2);
        memset(big, 'a', CFS_CMDLINE_MAX + 1);
        big[CFS_CMDLINE_MAX + 1] = 0;
        expect_error(big, "longer than");
        free(big);
        struct cfs_cmdline c;
        struct cfs_error err = {};
        assert_int_equal(cfs_cmdline_parse("a\0b", 3, &c, &err), -EINVAL);
}

static void test_values(void **state)
{
        (void)state;
        struct cfs_cmdline c;
        struct cfs_error err;
        const char *yes[] = {"1", "yes", "y", "true", "on"};
        const char *no[] = {"0", "no", "n", "false", "off"};
        char buf[128];
        for (unsigned i = 0; i < 5; i++) {
                snprintf(buf, sizeof(buf), "cfsroot.allow-unverified-objects=%s", yes[i]);
                assert_int_equal(parse(buf, &c, &err), 0);
                assert_int_equal(c.allow_unverified, CFS_YES);
                snprintf(buf, sizeof(buf), "cfsroot.require-tpm=%s", no[i]);
                assert_int_equal(parse(buf, &c, &err), 0);
                assert_int_equal(c.require_tpm, CFS_NO);
        }
        const char *actions[] = {"poweroff", "reboot", "halt", "emergency"};
        for (unsigned i = 0; i < 4; i++) {
                enum cfs_failure_action a;
                snprintf(buf, sizeof(buf), "cfsroot.failure=%s", actions[i]);
                assert_int_equal(parse(buf, &c, &err), 0);
                assert_string_equal(cfs_failure_action_to_string(c.failure), actions[i]);
                assert_int_equal(cfs_failure_action_from_string(actions[i], &a), 0);
                assert_int_equal(a, c.failure);
        }
        /* quotes group words and vanish; an '=' inside a value is kept */
        assert_int_equal(parse("cfsroot.store=\"/com posefs\" x=\"a=b\"", &c, &err), 0);
        assert_string_equal(c.store, "/com posefs");
}

static int count_words(const char *key, const char *value, void *userdata)
{
        (void)key;
        (void)value;
        (*(unsigned *)userdata)++;
        return 0;
}

static void test_split(void **state)
{
        (void)state;
        unsigned n = 0;
        const char *s = " a b=c \"d e\" \t f=\"g h\"\n";
        assert_int_equal(cfs_cmdline_split(s, strlen(s), count_words, &n), 0);
        assert_int_equal(n, 4);
}

static void test_load_env(void **state)
{
        (void)state;
        struct cfs_cmdline c;
        struct cfs_error err = {};
        setenv("SYSTEMD_PROC_CMDLINE", "composefs=" D64 " cfsroot.failure=halt", 1);
        assert_int_equal(cfs_cmdline_load(&c, &err), 0);
        assert_true(c.has_digest);
        assert_int_equal(c.failure, CFS_FAILURE_HALT);
        unsetenv("SYSTEMD_PROC_CMDLINE");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_typical),  cmocka_unit_test(test_errors),
            cmocka_unit_test(test_values),   cmocka_unit_test(test_split),
            cmocka_unit_test(test_load_env),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

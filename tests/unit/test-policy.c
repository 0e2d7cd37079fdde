/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-policy.c - boot policy parser and the tighten-only command line merge (lib/policy.c). Host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int parse(const char *text, struct cfs_policy *p, struct cfs_error *err)
{
        memset(err, 0, sizeof(*err));
        return cfs_policy_parse(text, strlen(text), "policy.conf", p, err);
}

static void test_defaults(void **state)
{
        (void)state;
        struct cfs_policy p;
        struct cfs_error err;
        assert_int_equal(parse("", &p, &err), 0);
        assert_false(p.required);
        assert_true(p.require_signature);
        assert_false(p.cmdline_digest);
        assert_false(p.allow_unverified);
        assert_false(p.allow_emergency);
        assert_int_equal(p.failure, CFS_FAILURE_POWEROFF);
        assert_string_equal(p.store, "/composefs");
        assert_string_equal(p.certificates, "/etc/cfsroot/trusted.d");
        assert_int_equal(p.etc, CFS_ETC_OVERLAY);
        assert_int_equal(p.var, CFS_VAR_BIND);
        assert_string_equal(p.tpm_blob, "/composefs/tpm-policy.blob");
        assert_string_equal(p.tpm_approvals, "/composefs/tpm-policy.approvals");
        assert_string_equal(p.tpm_device, "device:/dev/tpmrm0");
        /* no [TPM] section, no RequireTPMPolicy: the TPM is not used at all */
        assert_int_equal(p.measure_pcr, -1);
        assert_int_equal(p.anti_rollback, CFS_ROLLBACK_OFF);
        cfs_policy_init(&p);
        assert_int_equal(p.measure_pcr, -1);
        assert_int_equal(p.anti_rollback, CFS_ROLLBACK_OFF);
}

/* A [TPM] section, even empty, or RequireTPMPolicy=yes turns on measurement
 * into PCR 13 and the if-present floor; explicit values win. */
static void test_tpm_use_defaults(void **state)
{
        (void)state;
        struct cfs_policy p;
        struct cfs_error err;
        assert_int_equal(parse("[TPM]\n", &p, &err), 0);
        assert_int_equal(p.measure_pcr, 13);
        assert_int_equal(p.anti_rollback, CFS_ROLLBACK_IF_PRESENT);
        assert_int_equal(parse("[Trust]\nRequireTPMPolicy=yes\n", &p, &err), 0);
        assert_int_equal(p.measure_pcr, 13);
        assert_int_equal(p.anti_rollback, CFS_ROLLBACK_IF_PRESENT);
        assert_int_equal(parse("[TPM]\nMeasurePCR=no\n", &p, &err), 0);
        assert_int_equal(p.measure_pcr, -1);
        assert_int_equal(p.anti_rollback, CFS_ROLLBACK_IF_PRESENT);
        assert_int_equal(parse("[Trust]\nRequireTPMPolicy=no\nRequireSignature=yes\n", &p, &err),
                         0);
        assert_int_equal(p.measure_pcr, -1);
        assert_int_equal(p.anti_rollback, CFS_ROLLBACK_OFF);
}

static void test_tpm_section(void **state)
{
        (void)state;
        struct cfs_policy p;
        struct cfs_error err;
        const char *text = "[TPM]\nPolicyBlob=/boot/cfsroot.blob\nDevice=swtpm:path=/run/s\n"
                           "MeasurePCR=no\nPolicyApprovals=/boot/cfsroot.approvals\n";
        assert_int_equal(parse(text, &p, &err), 0);
        assert_string_equal(p.tpm_blob, "/boot/cfsroot.blob");
        assert_string_equal(p.tpm_approvals, "/boot/cfsroot.approvals");
        assert_string_equal(p.tpm_device, "swtpm:path=/run/s");
        assert_int_equal(p.measure_pcr, -1);
        assert_int_equal(parse("[TPM]\nAntiRollback=required\n", &p, &err), 0);
        assert_int_equal(p.anti_rollback, CFS_ROLLBACK_REQUIRED);
        assert_int_equal(parse("[TPM]\nAntiRollback=no\n", &p, &err), 0);
        assert_int_equal(p.anti_rollback, CFS_ROLLBACK_OFF);
        assert_int_equal(parse("[TPM]\nMeasurePCR=23\n", &p, &err), 0);
        assert_int_equal(p.measure_pcr, 23);
        assert_int_equal(parse("[TPM]\nPolicyApprovals=relative\n", &p, &err), -EINVAL);
        assert_int_equal(parse("", &p, &err), 0);
        assert_false(p.tpm_require_creation);
        assert_int_equal(parse("[TPM]\nRequireCreationTicket=yes\n", &p, &err), 0);
        assert_true(p.tpm_require_creation);
}

static void test_full(void **state)
{
        (void)state;
        struct cfs_policy p;
        struct cfs_error err;
        const char *text = "# appliance policy\n"
                           "[Boot]\n"
                           "Required = yes\n"
                           "ObjectStore=/ostree/repo/objects\n"
                           "Image=/composefs/images/current.cfs\r\n"
                           "\n"
                           "[Trust]\n"
                           "; comment\n"
                           "CommandLineDigest=no\n"
                           "RequireSignature=true\n"
                           "TrustedCertificates=/etc/cfsroot/vendor.pem\n"
                           "RevokedList=/etc/cfsroot/revoked\n"
                           "RequireTPMPolicy=off\n"
                           "MinimumGeneration=42\n"
                           "AllowObjectsWithoutVerity=0\n"
                           "[Failure]\n"
                           "Action=reboot\n"
                           "AllowEmergencyShell=yes\n"
                           "[State]\n"
                           "Etc=transient\n"
                           "Var=readonly\n"
                           "StateDirectory=/state";
        assert_int_equal(parse(text, &p, &err), 0);
        assert_true(p.required);
        assert_string_equal(p.store, "/ostree/repo/objects");
        assert_string_equal(p.image, "/composefs/images/current.cfs");
        assert_string_equal(p.certificates, "/etc/cfsroot/vendor.pem");
        assert_string_equal(p.revoked, "/etc/cfsroot/revoked");
        assert_int_equal(p.min_generation, 42);
        assert_int_equal(p.failure, CFS_FAILURE_REBOOT);
        assert_true(p.allow_emergency);
        assert_int_equal(p.etc, CFS_ETC_TRANSIENT);
        assert_int_equal(p.var, CFS_VAR_READONLY);
        assert_string_equal(p.state, "/state");
}

static void expect_error(const char *text, const char *needle)
{
        struct cfs_policy p;
        struct cfs_error err;
        int r = parse(text, &p, &err);
        if (r >= 0)
                fail_msg("accepted: %s", text);
        if (!strstr(err.message, needle))
                fail_msg("message '%s' lacks '%s'", err.message, needle);
}

static void test_errors(void **state)
{
        (void)state;
        expect_error("[Trust]\nRequireSignatur=yes\n",
                     "policy.conf:2: unknown key RequireSignatur=");
        expect_error("[Trust]\nRequireSignature=maybe\n",
                     "policy.conf:2: RequireSignature=maybe: expected yes or no");
        expect_error("[Trust]\nRequireSignature=yes\nRequireSignature=yes\n",
                     ":3: RequireSignature= set twice");
        expect_error("[Boot]\nRequireSignature=yes\n", "unknown key RequireSignature= in [Boot]");
        expect_error("[Secrets]\n", ":1: unknown section [Secrets]");
        expect_error("[Trust\n", "malformed section header");
        expect_error("Required=yes\n", ":1: Required= outside of a section");
        expect_error("[Boot]\njust words\n", "expected Key=Value");
        expect_error("[Boot]\nObjectStore=composefs\n", "absolute path");
        expect_error("[Boot]\nObjectStore=/a/../b\n", "'..'");
        expect_error("[Boot]\nObjectStore=\n", "absolute path");
        expect_error("[Trust]\nMinimumGeneration=-1\n", "decimal number");
        expect_error("[Trust]\nMinimumGeneration=99999999999999999999999\n", "decimal number");
        expect_error("[Failure]\nAction=shell\n", "poweroff, reboot, halt or emergency");
        expect_error("[Failure]\nAction=emergency\n", "needs AllowEmergencyShell=yes");
        expect_error("[State]\nEtc=rw\n", "overlay, transient or readonly");
        expect_error("[TPM]\nMeasurePCR=24\n", "a PCR number 0-23 or no");
        expect_error("[TPM]\nAntiRollback=yes\n", "if-present, required or no");
        expect_error("[TPM]\nMeasurePCR=-1\n", "a PCR number 0-23 or no");
        expect_error("[TPM]\nDevice=/dev/tpmrm0\n", "a TCTI configuration");
        expect_error("[TPM]\nDevice=device:/dev/tpm rm0\n", "a TCTI configuration");
        expect_error("[TPM]\nPolicyBlob=blob\n", "absolute path");
        expect_error("[Trust]\nRequireSignature=no\n", "no source of trust");
        struct cfs_policy p;
        struct cfs_error err = {};
        assert_int_equal(cfs_policy_parse("[Boot]\0", 7, "x", &p, &err), -EINVAL);
        char *big = malloc(CFS_POLICY_FILE_MAX + 1);
        memset(big, '#', CFS_POLICY_FILE_MAX + 1);
        assert_int_equal(cfs_policy_parse(big, CFS_POLICY_FILE_MAX + 1, "x", &p, &err), -EFBIG);
        memset(big, '#', 5000);
        big[5000] = 0;
        expect_error(big, "line longer than");
        free(big);
}

static int apply(const char *policy, const char *cmdline, struct cfs_policy *p,
                 struct cfs_error *err)
{
        struct cfs_cmdline c;
        assert_int_equal(parse(policy, p, err), 0);
        assert_int_equal(cfs_cmdline_parse(cmdline, strlen(cmdline), &c, err), 0);
        return cfs_policy_apply_cmdline(p, &c, err);
}

/* Every attempt to loosen the policy from the command line is refused. */
static void test_downgrades(void **state)
{
        (void)state;
        static const struct {
                const char *policy, *cmdline, *needle;
        } cases[] = {
            {"", "cfsroot.require-signature=0", "RequireSignature=yes"},
            {"[Trust]\nRequireTPMPolicy=yes\n", "cfsroot.require-tpm=no", "RequireTPMPolicy=yes"},
            {"", "cfsroot.allow-unverified-objects", "AllowObjectsWithoutVerity=no"},
            {"", "cfsroot.allow-unverified-objects=1 composefs=" D64,
             "AllowObjectsWithoutVerity=no"},
            {"", "cfsroot.failure=emergency", "AllowEmergencyShell=no"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct cfs_policy p;
                struct cfs_error err = {};
                int r = apply(cases[i].policy, cases[i].cmdline, &p, &err);
                if (r != -EPERM)
                        fail_msg("'%s' was not refused (r=%d)", cases[i].cmdline, r);
                assert_non_null(strstr(err.message, "tries to loosen"));
                assert_non_null(strstr(err.message, cases[i].needle));
        }
}

static void test_tightening(void **state)
{
        (void)state;
        struct cfs_policy p;
        struct cfs_error err = {};
        const char *open_policy = "[Trust]\nCommandLineDigest=yes\nRequireSignature=no\n"
                                  "AllowObjectsWithoutVerity=yes\n"
                                  "[Failure]\nAllowEmergencyShell=yes\n";
        assert_int_equal(apply(open_policy,
                               "cfsroot.require-signature cfsroot.require-tpm=1 "
                               "cfsroot.allow-unverified-objects=0 cfsroot.failure=reboot "
                               "cfsroot.store=/other cfsroot.image=/i.cfs",
                               &p, &err),
                         0);
        assert_true(p.require_signature);
        assert_true(p.require_tpm);
        assert_false(p.allow_unverified);
        assert_int_equal(p.failure, CFS_FAILURE_REBOOT);
        assert_string_equal(p.store, "/other");
        assert_string_equal(p.image, "/i.cfs");
        /* where the policy allows it, the same arguments are no downgrade */
        assert_int_equal(
            apply(open_policy, "cfsroot.failure=emergency cfsroot.require-signature=0", &p, &err),
            0);
        assert_int_equal(p.failure, CFS_FAILURE_EMERGENCY);
        /* any of poweroff/reboot/halt is fine: none of them boots an unverified root */
        assert_int_equal(apply("", "cfsroot.failure=halt", &p, &err), 0);
        assert_int_equal(p.failure, CFS_FAILURE_HALT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_defaults),         cmocka_unit_test(test_full),
            cmocka_unit_test(test_errors),           cmocka_unit_test(test_downgrades),
            cmocka_unit_test(test_tightening),       cmocka_unit_test(test_tpm_section),
            cmocka_unit_test(test_tpm_use_defaults),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-signature.c - libFuzzer target for signature verification
 * (lib/signature.c): arbitrary bytes as a detached PKCS#7 signature of a fixed
 * digest, against a trust store of one RSA and one ECDSA certificate (test
 * keys made by keys/make-dev-key.sh; the seed corpus holds valid signatures by
 * them, with and without image metadata). A verified signature must carry the
 * subject of one of the two certificates. Host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signature.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char rsa_cert[] = "-----BEGIN CERTIFICATE-----\n"
                               "MIIEOTCCAqGgAwIBAgIUJXxXY9WvVIfIDlcWC49gNjhPdHcwDQYJKoZIhvcNAQEL\n"
                               "BQAwGzEZMBcGA1UEAwwQY2Zzcm9vdCBmdXp6IHJzYTAeFw0yNjEyMDIwNzM1MDda\n"
                               "Fw0zNjExMjkwNzM1MDdaMBsxGTAXBgNVBAMMEGNmc3Jvb3QgZnV6eiByc2EwggGi\n"
                               "MA0GCSqGSIb3DQEBAQUAA4IBjwAwggGKAoIBgQCsNbvFBL9Yw1tkOtO3SljGM/x+\n"
                               "6/c31cSI49HatGo8tEyASwEUW59Sg+eqf3VqbO9FuFmooHvQXCw8a4R+mqBiMb+k\n"
                               "JdNasnqcEtHDAcI7xLsVNqvftpErX6OlvkcxGGRA7PWWAkHv3pCnDAW24er1hDWL\n"
                               "vvlNeSVtwB8rViq3iYi/Mm+YrPYapMLKwedFOqJN+yNhai1SkRguTXRZeWujRxoS\n"
                               "uDAtIEPlK6NOBUDUncwc8G/D7+WpQr1eoffOteZppALDReeUQcsOWjIM7tEi94kX\n"
                               "LFwZL14BXHDgrxdItIPIEclafAYB9eLBfyhKBVb7QaY3EYg3l+yJFjukxYE4JDyw\n"
                               "fpdWN8vxU12z0PVBQHbVxRLmMUPFFvBV4lpNkBXcmh0IfPyT6z3i543iK68RHYQ4\n"
                               "m6VqEs6b4kI2QadnM1f+iLZZPovq+jW8sVM/04dustX44mnw0WIf2AgSw2nln5b3\n"
                               "phU/XmvQFRdRmVg9399U2MlRXIrAtC2fYMClHtcCAwEAAaN1MHMwHQYDVR0OBBYE\n"
                               "FFaD/YOYvQWDyckKcbJo3gxZJqSLMB8GA1UdIwQYMBaAFFaD/YOYvQWDyckKcbJo\n"
                               "3gxZJqSLMAwGA1UdEwEB/wQCMAAwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoG\n"
                               "CCsGAQUFBwMDMA0GCSqGSIb3DQEBCwUAA4IBgQAG4Zwn8HxsUncLY+ACm0G3KyAp\n"
                               "fILKVTuA87DlA7pDGXYDQyYxmMBuen7iMSsqPM9MKXjJKitVkE4fwIBSoFc5exus\n"
                               "ozC7Uce5HOznmWjecpKpUmAVG1u7UeMogXut2vllhF+IbH7K1udXNt3Ae6HaUPcv\n"
                               "wWE8CuswcnWCqxLDh9U7W0kLc7nzLulv3x0xsWdQZUAHXzygaPDtEqpTl+f6BfrF\n"
                               "cqsUePyPJu/jqdfrsvAUodofCDSCjpi+zT7oYJD9qDhKjzF9MMscahOXO1IAwgVH\n"
                               "lDkpfU1i2GXXwfyFkvHZsdlxqKXg0bmqZozwyRZtIqRMjmfLZbR/ci6/u9Vn45DF\n"
                               "iD/yKRjdWrBzDJ9PKTIczXosD3YsDbF7QDICm+59U1s0+MInbA44QWbwMhcDC7VJ\n"
                               "ZgbTazkH8KhtrzTOoRTmqXL5+C1A3HCyIitkxWPuZjERJGiH9JXzzz1DoM/HHiPs\n"
                               "sK93hvxOpT2e4mDX7X6fuEuboF4LMoCkIkY2IB0=\n"
                               "-----END CERTIFICATE-----\n";

static const char ecdsa_cert[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBsTCCAVegAwIBAgIUDm26nYj4X9XJs+ZU33oN4b3EIcIwCgYIKoZIzj0EAwIw\n"
    "HTEbMBkGA1UEAwwSY2Zzcm9vdCBmdXp6IGVjZHNhMB4XDTI2MTIwMjA3MzUwN1oX\n"
    "DTM2MTEyOTA3MzUwN1owHTEbMBkGA1UEAwwSY2Zzcm9vdCBmdXp6IGVjZHNhMFkw\n"
    "EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEiF6exCI+4AGm4jzFPzBsebsbykUjin7e\n"
    "ie7Lq3dHbWZce1ScctccjE1fMK0O6Unby/pWmJjybqGS+Glbzf4jxKN1MHMwHQYD\n"
    "VR0OBBYEFKEm0kYE8/9mkFulTvN3SXYIKuCSMB8GA1UdIwQYMBaAFKEm0kYE8/9m\n"
    "kFulTvN3SXYIKuCSMAwGA1UdEwEB/wQCMAAwDgYDVR0PAQH/BAQDAgeAMBMGA1Ud\n"
    "JQQMMAoGCCsGAQUFBwMDMAoGCCqGSM49BAMCA0gAMEUCIG9zcO4O51YlEzCo3dZK\n"
    "6dfXJcIFbSCfdpBOgKHY0DqgAiEA4ZvgX08+J+ZX4Aycp4Vph6gXuLx8k0HBC8DQ\n"
    "sf9q7wc=\n"
    "-----END CERTIFICATE-----\n";

static struct cfs_trust *trust;

static void write_cert(const char *dir, const char *name, const char *pem)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *f = fopen(path, "w");
        if (!f || fputs(pem, f) < 0 || fclose(f) != 0)
                abort();
}

static void load_trust(void)
{
        char dir[] = "/tmp/fuzz-signature-XXXXXX";
        char path[256];
        struct cfs_error err = {};
        if (!mkdtemp(dir))
                abort();
        write_cert(dir, "rsa.pem", rsa_cert);
        write_cert(dir, "ecdsa.pem", ecdsa_cert);
        if (cfs_trust_load_dir(dir, &trust, &err) < 0 || cfs_trust_count(trust) != 2)
                abort();
        snprintf(path, sizeof(path), "%s/rsa.pem", dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/ecdsa.pem", dir);
        unlink(path);
        rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const uint8_t digest[CFS_DIGEST_SIZE];
        struct cfs_sig_info info;
        struct cfs_error err = {};

        if (!trust)
                load_trust();
        int r = cfs_verify_digest(trust, digest, data, size, &info, &err);
        if (r == 0) {
                if (!strstr(info.signer, "cfsroot fuzz rsa") &&
                    !strstr(info.signer, "cfsroot fuzz ecdsa"))
                        __builtin_trap();
                if (!info.has_meta && info.meta.generation != 0)
                        __builtin_trap();
        } else if (!err.message[0]) {
                __builtin_trap(); /* every refusal says why */
        }
        return 0;
}

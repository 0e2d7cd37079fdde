/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-signature.c - signatures over fs-verity digests (lib/signature.c):
 * interop with fsverity-utils both ways (`fsverity sign` signatures verify with
 * cfsroot; cfsroot's plain RSA signatures are byte-identical to fsverity's, and
 * all of cfsroot's signatures verify with `openssl cms`), metadata, and every
 * way a signature must be rejected. Host; needs the fsverity and openssl CLIs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"
#include "signature.h"

static char tmpdir[] = "/tmp/cfsroot-test-sig.XXXXXX";
static uint8_t digest[CFS_DIGEST_SIZE];

_printf_(1, 2) static void run(const char *fmt, ...)
{
        char cmd[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        int rc = system(cmd);
        if (rc != 0)
                fail_msg("command failed (%d): %s", rc, cmd);
}

static void path(char *buf, const char *name)
{
        snprintf(buf, 4096, "%s/%s", tmpdir, name);
}

static void read_whole(const char *name, char **data, size_t *len)
{
        char p[4096];
        path(p, name);
        assert_int_equal(cfs_read_file(p, 1 << 20, data, len), 0);
}

static int hexval(char c)
{
        return c <= '9' ? c - '0' : c - 'a' + 10;
}

static int setup(void **state)
{
        (void)state;
        if (!mkdtemp(tmpdir))
                return -1;
        run("cd %s && mkdir rsa ecdsa weak other trust-rsa trust-all empty", tmpdir);
        run("%s/keys/make-dev-key.sh %s/rsa >/dev/null", TEST_SRCDIR, tmpdir);
        run("%s/keys/make-dev-key.sh --type ecdsa %s/ecdsa >/dev/null", TEST_SRCDIR, tmpdir);
        run("%s/keys/make-dev-key.sh %s/other >/dev/null", TEST_SRCDIR, tmpdir);
        run("openssl req -x509 -newkey rsa:1024 -nodes -keyout %s/weak/k.pem -out %s/weak/c.pem "
            "-subj /CN=weak -days 2 2>/dev/null",
            tmpdir, tmpdir);
        run("cp %s/rsa/cfsroot-dev.crt.pem %s/trust-rsa/rsa.pem", tmpdir, tmpdir);
        run("cp %s/rsa/cfsroot-dev.crt.pem %s/trust-all/a.pem && "
            "openssl x509 -in %s/ecdsa/cfsroot-dev.crt.pem -outform DER -out %s/trust-all/b.der",
            tmpdir, tmpdir, tmpdir, tmpdir);
        /* the "image": any file; its digest comes from the fsverity CLI */
        run("head -c 100000 /dev/urandom >%s/image && fsverity digest --compact %s/image >%s/hex",
            tmpdir, tmpdir, tmpdir);
        char *hex;
        size_t len;
        read_whole("hex", &hex, &len);
        assert_true(len >= 64);
        for (unsigned i = 0; i < CFS_DIGEST_SIZE; i++)
                digest[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
        free(hex);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        run("rm -rf %s", tmpdir);
        return 0;
}

static void key_paths(const char *kind, char key[4096], char cert[4096])
{
        snprintf(key, 4096, "%s/%s/cfsroot-dev.key.pem", tmpdir, kind);
        snprintf(cert, 4096, "%s/%s/cfsroot-dev.crt.pem", tmpdir, kind);
}

static void write_file(const char *name, const void *data, size_t len)
{
        char p[4096];
        path(p, name);
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
}

static void load_trust(const char *dir, struct cfs_trust **t)
{
        char p[4096];
        struct cfs_error err = {};
        path(p, dir);
        int r = cfs_trust_load_dir(p, t, &err);
        if (r < 0)
                fail_msg("loading %s: %s", p, err.message);
}

/* fsverity sign -> cfsroot verify, and cfsroot sign (plain RSA) == fsverity sign. */
static void test_fsverity_interop_rsa(void **state)
{
        (void)state;
        char key[4096], cert[4096];
        key_paths("rsa", key, cert);
        run("fsverity sign %s/image %s/fsv.sig --key=%s --cert=%s >/dev/null", tmpdir, tmpdir, key,
            cert);
        char *theirs;
        size_t theirs_len;
        read_whole("fsv.sig", &theirs, &theirs_len);

        _cleanup_(cfs_trust_freep) struct cfs_trust *t = NULL;
        load_trust("trust-rsa", &t);
        struct cfs_sig_info info = {};
        struct cfs_error err = {};
        int r = cfs_verify_digest(t, digest, (uint8_t *)theirs, theirs_len, &info, &err);
        if (r < 0)
                fail_msg("fsverity's signature rejected: %s", err.message);
        assert_non_null(strstr(info.signer, "cfsroot development key"));
        assert_false(info.has_meta);
        assert_int_equal(info.meta.generation, 0);

        uint8_t *ours = NULL;
        size_t ours_len = 0;
        assert_int_equal(cfs_sign_digest(digest, key, cert, NULL, &ours, &ours_len, &err), 0);
        assert_int_equal(ours_len, theirs_len);
        assert_memory_equal(ours, theirs, ours_len);
        free(ours);
        free(theirs);
}

static void verify_with_openssl(const char *sigfile, const char *cert)
{
        uint8_t formatted[CFS_FORMATTED_DIGEST_SIZE];
        cfs_formatted_digest(digest, formatted);
        write_file("formatted", formatted, sizeof(formatted));
        run("openssl cms -verify -binary -inform DER -in %s/%s -content %s/formatted "
            "-certfile %s -nointern -noverify -out /dev/null 2>/dev/null",
            tmpdir, sigfile, tmpdir, cert);
}

/* ECDSA: fsverity sign -> cfsroot verify; cfsroot sign -> openssl cms verify. */
static void test_fsverity_interop_ecdsa(void **state)
{
        (void)state;
        char key[4096], cert[4096];
        key_paths("ecdsa", key, cert);
        run("fsverity sign %s/image %s/fsv-ec.sig --key=%s --cert=%s >/dev/null", tmpdir, tmpdir,
            key, cert);
        char *theirs;
        size_t theirs_len;
        read_whole("fsv-ec.sig", &theirs, &theirs_len);
        _cleanup_(cfs_trust_freep) struct cfs_trust *t = NULL;
        load_trust("trust-all", &t);
        assert_int_equal(cfs_trust_count(t), 2);
        struct cfs_error err = {};
        int r = cfs_verify_digest(t, digest, (uint8_t *)theirs, theirs_len, NULL, &err);
        if (r < 0)
                fail_msg("fsverity's ECDSA signature rejected: %s", err.message);
        free(theirs);

        uint8_t *ours = NULL;
        size_t ours_len = 0;
        assert_int_equal(cfs_sign_digest(digest, key, cert, NULL, &ours, &ours_len, &err), 0);
        write_file("ours-ec.sig", ours, ours_len);
        assert_int_equal(cfs_verify_digest(t, digest, ours, ours_len, NULL, &err), 0);
        verify_with_openssl("ours-ec.sig", cert);
        free(ours);
}

static void test_metadata(void **state)
{
        (void)state;
        char key[4096], cert[4096];
        key_paths("rsa", key, cert);
        struct cfs_sig_meta meta = {
            .name = "appliance-os", .version = "2026.11.1", .generation = 7};
        uint8_t *sig = NULL;
        size_t len = 0;
        struct cfs_error err = {};
        assert_int_equal(cfs_sign_digest(digest, key, cert, &meta, &sig, &len, &err), 0);
        write_file("meta.sig", sig, len);
        /* any PKCS#7 verifier accepts it: the signed content is still the formatted digest */
        verify_with_openssl("meta.sig", cert);

        _cleanup_(cfs_trust_freep) struct cfs_trust *t = NULL;
        load_trust("trust-rsa", &t);
        struct cfs_sig_info info = {};
        int r = cfs_verify_digest(t, digest, sig, len, &info, &err);
        if (r < 0)
                fail_msg("metadata signature rejected: %s", err.message);
        assert_true(info.has_meta);
        assert_string_equal(info.meta.name, "appliance-os");
        assert_string_equal(info.meta.version, "2026.11.1");
        assert_int_equal(info.meta.generation, 7);
        /* flips can never change the signed metadata (e.g. lower the generation) */
        for (size_t i = 0; i < len; i++) {
                struct cfs_sig_info mut = {};
                sig[i] ^= 0x01;
                if (cfs_verify_digest(t, digest, sig, len, &mut, NULL) == 0) {
                        assert_true(mut.has_meta);
                        assert_int_equal(mut.meta.generation, 7);
                        assert_string_equal(mut.meta.name, "appliance-os");
                        assert_string_equal(mut.meta.version, "2026.11.1");
                }
                sig[i] ^= 0x01;
        }
        free(sig);

        /* names with spaces or control characters are refused at signing time */
        struct cfs_sig_meta bad = {.name = "a b", .version = "1"};
        assert_int_equal(cfs_sign_digest(digest, key, cert, &bad, &sig, &len, &err), -EINVAL);
}

static void expect_reject(const struct cfs_trust *t, const uint8_t *d, const uint8_t *sig,
                          size_t len, int code)
{
        struct cfs_error err = {};
        struct cfs_sig_info info = {.has_meta = true};
        int r = cfs_verify_digest(t, d, sig, len, &info, &err);
        assert_int_equal(r, -code);
        assert_true(err.message[0] != 0);
}

static void test_rejections(void **state)
{
        (void)state;
        char key[4096], cert[4096];
        struct cfs_error err = {};
        key_paths("rsa", key, cert);
        uint8_t *sig = NULL;
        size_t len = 0;
        assert_int_equal(cfs_sign_digest(digest, key, cert, NULL, &sig, &len, &err), 0);
        _cleanup_(cfs_trust_freep) struct cfs_trust *t = NULL;
        load_trust("trust-rsa", &t);

        /* another digest */
        uint8_t other[CFS_DIGEST_SIZE];
        memcpy(other, digest, sizeof(other));
        other[31] ^= 1;
        expect_reject(t, other, sig, len, EKEYREJECTED);
        /* a key that is not trusted */
        char okey[4096], ocert[4096];
        key_paths("other", okey, ocert);
        uint8_t *osig = NULL;
        size_t olen = 0;
        assert_int_equal(cfs_sign_digest(digest, okey, ocert, NULL, &osig, &olen, &err), 0);
        expect_reject(t, digest, osig, olen, EKEYREJECTED);
        /* an untrusted signer carrying its own certificate inside the signature */
        run("openssl cms -sign -binary -outform DER -in /dev/null -signer %s -inkey %s "
            "-out %s/embedded.sig 2>/dev/null",
            ocert, okey, tmpdir);
        char *emb;
        size_t emb_len;
        read_whole("embedded.sig", &emb, &emb_len);
        struct cfs_sig_info info;
        assert_true(cfs_verify_digest(t, digest, (uint8_t *)emb, emb_len, &info, &err) < 0);
        free(emb);
        /* empty, oversized, truncated, trailing garbage */
        expect_reject(t, digest, sig, 0, EBADMSG);
        uint8_t *big = calloc(1, CFS_SIG_MAX_SIZE + 1);
        expect_reject(t, digest, big, CFS_SIG_MAX_SIZE + 1, EBADMSG);
        free(big);
        for (size_t cut = 1; cut < len; cut += 7)
                assert_true(cfs_verify_digest(t, digest, sig, cut, NULL, NULL) < 0);
        uint8_t *longer = malloc(len + 1);
        memcpy(longer, sig, len);
        longer[len] = 0;
        expect_reject(t, digest, longer, len + 1, EBADMSG);
        free(longer);
        /* Bit flips: PKCS#7 framing outside what is signed (version numbers, the
         * outer algorithm set, letter case in the issuer name, which OpenSSL
         * compares canonically) may be malleable, as for every PKCS#7 verifier
         * including the kernel's; what is authenticated may not change. So a
         * flipped signature either fails or still names the same signer and
         * carries no metadata, and every flip in the signature value fails. */
        struct cfs_sig_info good = {};
        assert_int_equal(cfs_verify_digest(t, digest, sig, len, &good, NULL), 0);
        size_t value_start = len - 384; /* RSA-3072 signature value: the last 384 bytes */
        for (size_t i = 0; i < len; i++) {
                for (unsigned bit = 0; bit < 8; bit++) {
                        struct cfs_sig_info mut = {};
                        sig[i] ^= (uint8_t)(1u << bit);
                        int rr = cfs_verify_digest(t, digest, sig, len, &mut, NULL);
                        sig[i] ^= (uint8_t)(1u << bit);
                        if (rr != 0)
                                continue;
                        if (i >= value_start)
                                fail_msg("flip of bit %u at %zu (signature value) accepted", bit,
                                         i);
                        assert_memory_equal(mut.key_id, good.key_id, CFS_KEY_ID_SIZE);
                        assert_false(mut.has_meta);
                }
        }
        assert_int_equal(cfs_verify_digest(t, digest, sig, len, NULL, NULL), 0);
        free(sig);
        free(osig);
}

static void test_trust_store(void **state)
{
        (void)state;
        char p[4096];
        struct cfs_trust *t = NULL;
        struct cfs_error err = {};
        path(p, "empty");
        assert_int_equal(cfs_trust_load_dir(p, &t, &err), -ENOENT);
        path(p, "no-such-dir");
        assert_true(cfs_trust_load_dir(p, &t, NULL) < 0);
        /* a weak key is refused, loudly, not skipped */
        run("mkdir -p %s/t-weak && cp %s/weak/c.pem %s/t-weak/", tmpdir, tmpdir, tmpdir);
        path(p, "t-weak");
        memset(&err, 0, sizeof(err));
        assert_int_equal(cfs_trust_load_dir(p, &t, &err), -EINVAL);
        assert_non_null(strstr(err.message, "1024"));
        /* a malformed file among good ones fails the whole load */
        run("mkdir -p %s/t-bad && cp %s/rsa/cfsroot-dev.crt.pem %s/t-bad/a.pem && "
            "echo garbage >%s/t-bad/b.crt",
            tmpdir, tmpdir, tmpdir, tmpdir);
        path(p, "t-bad");
        memset(&err, 0, sizeof(err));
        assert_int_equal(cfs_trust_load_dir(p, &t, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "b.crt"));
        /* several certificates in one PEM file */
        run("mkdir -p %s/t-multi && cat %s/rsa/cfsroot-dev.crt.pem %s/ecdsa/cfsroot-dev.crt.pem "
            ">%s/t-multi/bundle.pem",
            tmpdir, tmpdir, tmpdir, tmpdir);
        path(p, "t-multi");
        assert_int_equal(cfs_trust_load_dir(p, &t, &err), 0);
        assert_int_equal(cfs_trust_count(t), 2);
        cfs_trust_free(t);
        /* signing with a weak key or a key that does not match the certificate */
        char key[4096], cert[4096], okey[4096], ocert[4096];
        key_paths("rsa", key, cert);
        key_paths("other", okey, ocert);
        uint8_t *sig = NULL;
        size_t len;
        struct cfs_sig_meta meta = {.name = "x", .version = "1"};
        assert_true(cfs_sign_digest(digest, okey, cert, NULL, &sig, &len, &err) < 0);
        assert_true(cfs_sign_digest(digest, okey, cert, &meta, &sig, &len, &err) < 0);
        snprintf(key, sizeof(key), "%s/weak/k.pem", tmpdir);
        snprintf(cert, sizeof(cert), "%s/weak/c.pem", tmpdir);
        assert_int_equal(cfs_sign_digest(digest, key, cert, NULL, &sig, &len, &err), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fsverity_interop_rsa),
            cmocka_unit_test(test_fsverity_interop_ecdsa),
            cmocka_unit_test(test_metadata),
            cmocka_unit_test(test_rejections),
            cmocka_unit_test(test_trust_store),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

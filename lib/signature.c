/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * signature.c - PKCS#7 signatures over fs-verity formatted digests (see
 * signature.h). Signing runs on the host (release machines); verification
 * runs in the initrd before anything of the image is trusted.
 *
 * Plain signatures are made by libfsverity (the code behind `fsverity sign`),
 * signatures with metadata and all verification by OpenSSL.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfsverity.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "fileio.h"
#include "signature.h"

#define META_OID "2.25.338173415732561914525422525154290258060"
#define META_MAGIC "cfsroot-image-meta-v1\n"
#define CERT_FILE_MAX (1u << 20)

struct cfs_trust {
        STACK_OF(X509) * certs;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(PKCS7 *, PKCS7_free);

void cfs_formatted_digest(const uint8_t digest[CFS_DIGEST_SIZE],
                          uint8_t out[CFS_FORMATTED_DIGEST_SIZE])
{
        memcpy(out, "FSVerity", 8);
        cfs_put_le16(out + 8, 1 /* FS_VERITY_HASH_ALG_SHA256 */);
        cfs_put_le16(out + 10, CFS_DIGEST_SIZE);
        memcpy(out + 12, digest, CFS_DIGEST_SIZE);
}

/* The last OpenSSL error as text (drains the queue so it does not leak into later calls). */
static const char *ssl_error(char *buf, size_t size)
{
        unsigned long e, last = 0;
        while ((e = ERR_get_error()) != 0)
                last = e;
        if (!last)
                return "no details";
        ERR_error_string_n(last, buf, size);
        return buf;
}

/* ---- metadata attribute ---- */

static int meta_nid_value = NID_undef;

static void meta_nid_init(void)
{
        meta_nid_value = OBJ_txt2nid(META_OID);
        if (meta_nid_value == NID_undef)
                meta_nid_value = OBJ_create(META_OID, "cfsrootImageMeta", "cfsroot image metadata");
}

/* NID of the metadata attribute, registered with OpenSSL once per process. */
static int meta_nid(void)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, meta_nid_init);
        return meta_nid_value;
}

static bool meta_text_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > CFS_SIG_META_TEXT_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < 0x21 || s[i] > 0x7e)
                        return false;
        return true;
}

static int meta_encode(const struct cfs_sig_meta *m, char *buf, size_t size)
{
        if (!meta_text_valid(m->name) || !meta_text_valid(m->version))
                return -EINVAL;
        int n = snprintf(buf, size, META_MAGIC "name=%s\nversion=%s\ngeneration=%" PRIu64 "\n",
                         m->name, m->version, m->generation);
        return n < 0 || (size_t)n >= size ? -EINVAL : n;
}

/* Strict parse of the canonical text: exactly the lines meta_encode() writes. */
static int meta_decode(const unsigned char *p, size_t len, struct cfs_sig_meta *m)
{
        char buf[3 * CFS_SIG_META_TEXT_MAX + 64];
        char name[CFS_SIG_META_TEXT_MAX + 2], version[CFS_SIG_META_TEXT_MAX + 2];
        unsigned long long gen;
        int used = -1;

        if (len >= sizeof(buf) || memchr(p, 0, len))
                return -EBADMSG;
        memcpy(buf, p, len);
        buf[len] = 0;
        if (strncmp(buf, META_MAGIC, strlen(META_MAGIC)) != 0)
                return -EBADMSG;
        if (sscanf(buf + strlen(META_MAGIC),
                   "name=%129[!-~]\nversion=%129[!-~]\ngeneration=%20llu\n%n", name, version, &gen,
                   &used) != 3 ||
            used < 0 || (size_t)used != len - strlen(META_MAGIC))
                return -EBADMSG;
        if (!meta_text_valid(name) || !meta_text_valid(version))
                return -EBADMSG;
        memset(m, 0, sizeof(*m));
        strcpy(m->name, name);
        strcpy(m->version, version);
        m->generation = gen;
        /* re-encode and compare: rejects "+5", leading zeros and other non-canonical forms */
        char again[sizeof(buf)];
        int n = meta_encode(m, again, sizeof(again));
        if (n < 0 || (size_t)n != len || memcmp(again, p, len) != 0)
                return -EBADMSG;
        return 0;
}

/* ---- keys and certificates ---- */

static int check_key_type(EVP_PKEY *pkey, char *why, size_t why_size)
{
        int bits = EVP_PKEY_get_bits(pkey);
        if (EVP_PKEY_is_a(pkey, "RSA")) {
                if (bits < 2048) {
                        snprintf(why, why_size, "RSA key of %d bits (at least 2048 required)",
                                 bits);
                        return -EINVAL;
                }
                return 0;
        }
        if (EVP_PKEY_is_a(pkey, "EC")) {
                char group[64] = "";
                size_t glen = 0;
                if (EVP_PKEY_get_utf8_string_param(pkey, "group", group, sizeof(group), &glen) &&
                    (!strcmp(group, "prime256v1") || !strcmp(group, "secp384r1")))
                        return 0;
                snprintf(why, why_size, "ECDSA key on curve '%s' (P-256 or P-384 required)",
                         group[0] ? group : "?");
                return -EINVAL;
        }
        snprintf(why, why_size, "key type %s (RSA or ECDSA required)",
                 EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "?");
        return -EINVAL;
}

static int load_pem_key(const char *path, EVP_PKEY **ret, struct cfs_error *err)
{
        char e[256];
        _cleanup_(BIO_freep) BIO *b = BIO_new_file(path, "r");
        if (!b)
                return cfs_error_set(err, EBADMSG, "%s: cannot open key: %s", path,
                                     ssl_error(e, sizeof(e)));
        EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        if (!k)
                return cfs_error_set(err, EBADMSG, "%s: not a PEM private key: %s", path,
                                     ssl_error(e, sizeof(e)));
        *ret = k;
        return 0;
}

static int load_pem_cert(const char *path, X509 **ret, struct cfs_error *err)
{
        char e[256];
        _cleanup_(BIO_freep) BIO *b = BIO_new_file(path, "r");
        if (!b)
                return cfs_error_set(err, EBADMSG, "%s: cannot open certificate: %s", path,
                                     ssl_error(e, sizeof(e)));
        X509 *c = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!c)
                return cfs_error_set(err, EBADMSG, "%s: not a PEM certificate: %s", path,
                                     ssl_error(e, sizeof(e)));
        *ret = c;
        return 0;
}

/* ---- signing ---- */

static __thread char fsverity_last_error[256];

/* libfsverity reports through this callback instead of stderr; keep the last
 * message for the caller (lib/ never prints). */
static void libfsverity_error_cb(const char *msg)
{
        snprintf(fsverity_last_error, sizeof(fsverity_last_error), "%s", msg);
}

static int sign_plain(const uint8_t digest[CFS_DIGEST_SIZE], const char *key_path,
                      const char *cert_path, uint8_t **ret, size_t *ret_len, struct cfs_error *err)
{
        _cleanup_free_ struct libfsverity_digest *d = malloc(sizeof(*d) + CFS_DIGEST_SIZE);
        struct libfsverity_signature_params params = {.keyfile = key_path, .certfile = cert_path};
        if (!d)
                return -ENOMEM;
        d->digest_algorithm = 1; /* FS_VERITY_HASH_ALG_SHA256 */
        d->digest_size = CFS_DIGEST_SIZE;
        memcpy(d->digest, digest, CFS_DIGEST_SIZE);
        fsverity_last_error[0] = 0;
        libfsverity_set_error_callback(libfsverity_error_cb);
        int r = libfsverity_sign_digest(d, &params, ret, ret_len);
        libfsverity_set_error_callback(NULL);
        if (r < 0)
                return cfs_error_set(err, -r, "cannot sign with key %s and certificate %s: %s",
                                     key_path, cert_path,
                                     fsverity_last_error[0] ? fsverity_last_error : strerror(-r));
        return 0;
}

static int add_meta_attribute(PKCS7_SIGNER_INFO *si, const struct cfs_sig_meta *meta)
{
        char text[3 * CFS_SIG_META_TEXT_MAX + 64];
        int n = meta_encode(meta, text, sizeof(text));
        if (n < 0)
                return n;
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        if (!os || !ASN1_OCTET_STRING_set(os, (unsigned char *)text, n)) {
                ASN1_OCTET_STRING_free(os);
                return -ENOMEM;
        }
        if (!PKCS7_add_signed_attribute(si, meta_nid(), V_ASN1_OCTET_STRING, os)) {
                ASN1_OCTET_STRING_free(os);
                return -ENOMEM;
        }
        return 0;
}

static int sign_meta(const uint8_t digest[CFS_DIGEST_SIZE], const char *key_path,
                     const char *cert_path, const struct cfs_sig_meta *meta, uint8_t **ret,
                     size_t *ret_len, struct cfs_error *err)
{
        const int flags =
            PKCS7_BINARY | PKCS7_DETACHED | PKCS7_NOCERTS | PKCS7_PARTIAL | PKCS7_NOSMIMECAP;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_(PKCS7_freep) PKCS7 *p7 = NULL;
        _cleanup_(BIO_freep) BIO *bio = NULL;
        uint8_t formatted[CFS_FORMATTED_DIGEST_SIZE];
        char e[256];
        int r;

        if ((r = load_pem_key(key_path, &pkey, err)) < 0 ||
            (r = load_pem_cert(cert_path, &cert, err)) < 0)
                return r;
        if (!X509_check_private_key(cert, pkey))
                return cfs_error_set(err, EINVAL, "key %s does not belong to certificate %s",
                                     key_path, cert_path);
        cfs_formatted_digest(digest, formatted);
        bio = BIO_new_mem_buf(formatted, sizeof(formatted));
        p7 = bio ? PKCS7_sign(NULL, NULL, NULL, bio, flags) : NULL;
        PKCS7_SIGNER_INFO *si =
            p7 ? PKCS7_sign_add_signer(p7, cert, pkey, EVP_sha256(), flags) : NULL;
        if (!si)
                return cfs_error_set(err, EINVAL, "cannot set up the PKCS#7 signature: %s",
                                     ssl_error(e, sizeof(e)));
        r = add_meta_attribute(si, meta);
        if (r < 0)
                return cfs_error_set(err, -r,
                                     "invalid image metadata (name and version: 1-%u "
                                     "printable ASCII characters without spaces)",
                                     CFS_SIG_META_TEXT_MAX);
        if (!PKCS7_final(p7, bio, flags))
                return cfs_error_set(err, EINVAL, "cannot sign: %s", ssl_error(e, sizeof(e)));
        unsigned char *der = NULL;
        int len = i2d_PKCS7(p7, &der);
        if (len <= 0)
                return cfs_error_set(err, ENOMEM, "cannot encode the signature: %s",
                                     ssl_error(e, sizeof(e)));
        *ret = malloc((size_t)len);
        if (!*ret) {
                OPENSSL_free(der);
                return -ENOMEM;
        }
        memcpy(*ret, der, (size_t)len);
        OPENSSL_free(der);
        *ret_len = (size_t)len;
        return 0;
}

int cfs_sign_digest(const uint8_t digest[CFS_DIGEST_SIZE], const char *key_path,
                    const char *cert_path, const struct cfs_sig_meta *meta, uint8_t **ret,
                    size_t *ret_len, struct cfs_error *err)
{
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        char why[128];
        int r = load_pem_key(key_path, &pkey, err);
        if (r < 0)
                return r;
        if (check_key_type(pkey, why, sizeof(why)) < 0)
                return cfs_error_set(err, EINVAL, "%s: %s", key_path, why);
        if (!meta)
                return sign_plain(digest, key_path, cert_path, ret, ret_len, err);
        return sign_meta(digest, key_path, cert_path, meta, ret, ret_len, err);
}

/* ---- trust store ---- */

static int trust_new(struct cfs_trust **ret)
{
        struct cfs_trust *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->certs = sk_X509_new_null();
        if (!t->certs) {
                free(t);
                return -ENOMEM;
        }
        *ret = t;
        return 0;
}

void cfs_trust_free(struct cfs_trust *t)
{
        if (!t)
                return;
        sk_X509_pop_free(t->certs, X509_free);
        free(t);
}

size_t cfs_trust_count(const struct cfs_trust *t)
{
        return (size_t)sk_X509_num(t->certs);
}

static int trust_add(struct cfs_trust *t, X509 *c, const char *path, struct cfs_error *err)
{
        char why[128];
        EVP_PKEY *pkey = X509_get0_pubkey(c);
        if (!pkey)
                return cfs_error_set(err, EBADMSG, "%s: certificate without a usable public key",
                                     path);
        if (check_key_type(pkey, why, sizeof(why)) < 0)
                return cfs_error_set(err, EINVAL, "%s: certificate with %s", path, why);
        if (!sk_X509_push(t->certs, c))
                return -ENOMEM;
        return 0;
}

/* Add every certificate of one file: PEM (one or more) or DER (exactly one). */
static int trust_add_file(struct cfs_trust *t, const char *path, struct cfs_error *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        char e[256];
        int r = cfs_read_file(path, CERT_FILE_MAX, &data, &len);
        if (r < 0)
                return cfs_error_set(err, -r, "%s: cannot read certificate: %s", path,
                                     strerror(-r));
        if (len > 0 && strstr(data, "-----BEGIN")) {
                _cleanup_(BIO_freep) BIO *b = BIO_new_mem_buf(data, (int)len);
                unsigned n = 0;
                X509 *c;
                while (b && (c = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
                        if ((r = trust_add(t, c, path, err)) < 0) {
                                X509_free(c);
                                return r;
                        }
                        n++;
                }
                unsigned long last = ERR_peek_last_error();
                if (n > 0 && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
                        ERR_clear_error();
                        return 0;
                }
                return cfs_error_set(err, EBADMSG, "%s: malformed PEM certificate: %s", path,
                                     ssl_error(e, sizeof(e)));
        }
        const unsigned char *p = (const unsigned char *)data;
        X509 *c = d2i_X509(NULL, &p, (long)len);
        if (!c || p != (const unsigned char *)data + len) {
                X509_free(c);
                return cfs_error_set(err, EBADMSG, "%s: not a PEM or DER certificate: %s", path,
                                     ssl_error(e, sizeof(e)));
        }
        if ((r = trust_add(t, c, path, err)) < 0)
                X509_free(c);
        return r;
}

int cfs_trust_load_file(const char *path, struct cfs_trust **ret, struct cfs_error *err)
{
        struct cfs_trust *t = NULL;
        int r = trust_new(&t);
        if (r < 0)
                return r;
        r = trust_add_file(t, path, err);
        if (r < 0) {
                cfs_trust_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

static bool cert_file_name(const char *n)
{
        size_t l = strlen(n);
        if (n[0] == '.')
                return false;
        return (l > 4 && (!strcmp(n + l - 4, ".pem") || !strcmp(n + l - 4, ".crt") ||
                          !strcmp(n + l - 4, ".der")));
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int cfs_trust_load_dir(const char *dir, struct cfs_trust **ret, struct cfs_error *err)
{
        _cleanup_(cfs_trust_freep) struct cfs_trust *t = NULL;
        char *names[1024];
        size_t n = 0;
        int r = trust_new(&t);
        if (r < 0)
                return r;
        DIR *d = opendir(dir);
        if (!d)
                return cfs_error_set(err, errno, "%s: cannot open certificate directory: %m", dir);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!cert_file_name(de->d_name))
                        continue;
                if (n == ELEMENTSOF(names) || !(names[n] = strdup(de->d_name))) {
                        r = n == ELEMENTSOF(names) ? -E2BIG : -ENOMEM;
                        break;
                }
                n++;
        }
        closedir(d);
        /* sorted, so errors and the order of signers are reproducible */
        qsort(names, n, sizeof(names[0]), name_cmp);
        for (size_t i = 0; i < n; i++) {
                if (r >= 0) {
                        char path[4096];
                        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                        r = trust_add_file(t, path, err);
                }
                free(names[i]);
        }
        if (r == -E2BIG)
                return cfs_error_set(err, E2BIG, "%s: more than %zu certificate files", dir,
                                     ELEMENTSOF(names));
        if (r < 0)
                return r;
        if (cfs_trust_count(t) == 0)
                return cfs_error_set(err, ENOENT,
                                     "%s: no trusted certificates (*.pem, *.crt, *.der)", dir);
        *ret = TAKE_PTR(t);
        return 0;
}

/* ---- verification ---- */

static bool digest_allowed(const X509_ALGOR *alg)
{
        const ASN1_OBJECT *obj = NULL;
        X509_ALGOR_get0(&obj, NULL, NULL, alg);
        int nid = obj ? OBJ_obj2nid(obj) : NID_undef;
        return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

static int parse_signature(const uint8_t *sig, size_t len, PKCS7 **ret, struct cfs_error *err)
{
        char e[256];
        if (len == 0 || len > CFS_SIG_MAX_SIZE)
                return cfs_error_set(err, EBADMSG, "signature of %zu bytes (1-%u expected)", len,
                                     CFS_SIG_MAX_SIZE);
        const unsigned char *p = sig;
        PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)len);
        if (!p7)
                return cfs_error_set(err, EBADMSG, "signature is not DER PKCS#7: %s",
                                     ssl_error(e, sizeof(e)));
        if (p != sig + len || !PKCS7_type_is_signed(p7) || !PKCS7_get_detached(p7) ||
            sk_PKCS7_SIGNER_INFO_num(PKCS7_get_signer_info(p7)) != 1) {
                PKCS7_free(p7);
                return cfs_error_set(err, EBADMSG,
                                     "signature is not a detached PKCS#7 signature with exactly "
                                     "one signer (as 'fsverity sign' makes)");
        }
        /* SHA-2 only. This also keeps malformed algorithm identifiers away from
         * PKCS7_verify(), which leaks on them in OpenSSL 3.0. */
        STACK_OF(X509_ALGOR) *algs = p7->d.sign->md_algs;
        PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(p7), 0);
        bool ok = algs && sk_X509_ALGOR_num(algs) >= 1 && si && si->digest_alg &&
                  digest_allowed(si->digest_alg);
        for (int i = 0; ok && i < sk_X509_ALGOR_num(algs); i++)
                ok = digest_allowed(sk_X509_ALGOR_value(algs, i));
        if (!ok) {
                PKCS7_free(p7);
                return cfs_error_set(err, EBADMSG,
                                     "signature uses a digest algorithm other than SHA-256, "
                                     "SHA-384 or SHA-512");
        }
        *ret = p7;
        return 0;
}

static void signer_info(X509 *signer, struct cfs_sig_info *info)
{
        unsigned char *der = NULL;
        X509_NAME_oneline(X509_get_subject_name(signer), info->signer, sizeof(info->signer));
        int len = i2d_PUBKEY(X509_get0_pubkey(signer), &der);
        if (len > 0)
                EVP_Digest(der, (size_t)len, info->key_id, NULL, EVP_sha256(), NULL);
        OPENSSL_free(der);
}

static int read_meta(PKCS7 *p7, struct cfs_sig_info *info, struct cfs_error *err)
{
        PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(p7), 0);
        ASN1_TYPE *a = PKCS7_get_signed_attribute(si, meta_nid());
        if (!a)
                return 0; /* plain fsverity-style signature: no metadata, generation 0 */
        if (a->type != V_ASN1_OCTET_STRING ||
            meta_decode(ASN1_STRING_get0_data(a->value.octet_string),
                        (size_t)ASN1_STRING_length(a->value.octet_string), &info->meta) < 0)
                return cfs_error_set(err, EBADMSG, "signature carries malformed image metadata");
        info->has_meta = true;
        return 0;
}

int cfs_verify_digest(const struct cfs_trust *trust, const uint8_t digest[CFS_DIGEST_SIZE],
                      const uint8_t *sig, size_t sig_len, struct cfs_sig_info *info,
                      struct cfs_error *err)
{
        const int flags = PKCS7_BINARY | PKCS7_NOINTERN | PKCS7_NOVERIFY | PKCS7_NOCHAIN;
        _cleanup_(PKCS7_freep) PKCS7 *p7 = NULL;
        _cleanup_(BIO_freep) BIO *content = NULL;
        uint8_t formatted[CFS_FORMATTED_DIGEST_SIZE];
        struct cfs_sig_info tmp = {};
        char e[256];
        int r;

        r = parse_signature(sig, sig_len, &p7, err);
        if (r < 0)
                return r;
        cfs_formatted_digest(digest, formatted);
        content = BIO_new_mem_buf(formatted, sizeof(formatted));
        if (!content)
                return -ENOMEM;
        /* NOINTERN: the signer must be one of the trusted certificates, never one
         * carried in the signature. NOVERIFY: no chain building; being in the
         * trust store is what makes a signer trusted. */
        if (PKCS7_verify(p7, trust->certs, NULL, content, NULL, flags) != 1)
                return cfs_error_set(err, EKEYREJECTED,
                                     "signature does not verify against the %zu trusted "
                                     "certificate(s): %s",
                                     cfs_trust_count(trust), ssl_error(e, sizeof(e)));
        STACK_OF(X509) *signers = PKCS7_get0_signers(p7, trust->certs, PKCS7_NOINTERN);
        if (!signers || sk_X509_num(signers) != 1) {
                sk_X509_free(signers);
                return cfs_error_set(err, EKEYREJECTED, "cannot identify the signer");
        }
        X509 *signer = sk_X509_value(signers, 0);
        sk_X509_free(signers);
        char why[128];
        if (check_key_type(X509_get0_pubkey(signer), why, sizeof(why)) < 0)
                return cfs_error_set(err, EKEYREJECTED, "signer uses %s", why);
        signer_info(signer, &tmp);
        r = read_meta(p7, &tmp, err);
        if (r < 0)
                return r;
        if (info)
                *info = tmp;
        return 0;
}

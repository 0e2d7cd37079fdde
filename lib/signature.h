/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * signature.h - signatures over composefs image digests (host: signing;
 * initrd: verifying).
 *
 * A signature is a detached PKCS#7 (DER) over the fs-verity formatted digest
 * ("FSVerity" magic, algorithm, size, digest bytes): exactly what
 * `fsverity sign` makes and what the kernel's .fs-verity keyring checks, so
 * keys and signatures interoperate with fsverity-utils both ways.
 *
 * Metadata (image name, version, security generation) rides along as one
 * signed attribute of the PKCS#7 signer info (OID 2.25.338173415732561914525422525154290258060,
 * a UUID-based OID per ITU-T X.667): the signed content stays the formatted
 * digest, so such signatures still verify with any PKCS#7 verifier, and a plain
 * `fsverity sign` signature (no attributes) simply has no metadata, which
 * cfsroot reads as generation 0.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tree.h"

#define CFS_SIG_MAX_SIZE (64u * 1024u) /* larger signature files are refused */
#define CFS_SIG_META_TEXT_MAX 128u     /* name and version: printable ASCII */
#define CFS_KEY_ID_SIZE 32u            /* sha256 of the DER SubjectPublicKeyInfo */

struct cfs_sig_meta {
        char name[CFS_SIG_META_TEXT_MAX + 1];
        char version[CFS_SIG_META_TEXT_MAX + 1];
        uint64_t generation;
};

/*
 * Sign @digest with the PEM private key @key_path and the PEM certificate
 * @cert_path. Without @meta the result is byte-for-byte what `fsverity sign`
 * makes (libfsverity does it). With @meta, the metadata attribute is added.
 * *ret is malloc()ed. Errors: -EBADMSG bad key/cert, -EINVAL bad metadata,
 * key type not allowed, or key and certificate that do not belong together.
 */
int cfs_sign_digest(const uint8_t digest[CFS_DIGEST_SIZE], const char *key_path,
                    const char *cert_path, const struct cfs_sig_meta *meta, uint8_t **ret,
                    size_t *ret_len, struct cfs_error *err);

/* A set of trusted signer certificates. */
struct cfs_trust;

/*
 * Load every certificate in @dir (files ending in .pem, .crt or .der; PEM files
 * may hold several). Unreadable or malformed files are errors, not skipped: a
 * half-loaded trust store would silently change what boots. An empty directory
 * is -ENOENT. Only RSA (>= 2048 bits) and ECDSA P-256/P-384 keys are accepted.
 */
int cfs_trust_load_dir(const char *dir, struct cfs_trust **ret, struct cfs_error *err);
/* Load a single certificate file (PEM or DER). */
int cfs_trust_load_file(const char *path, struct cfs_trust **ret, struct cfs_error *err);
void cfs_trust_free(struct cfs_trust *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cfs_trust *, cfs_trust_free);
size_t cfs_trust_count(const struct cfs_trust *t);

struct cfs_sig_info {
        char signer[256];                /* subject of the signer certificate, one line */
        uint8_t key_id[CFS_KEY_ID_SIZE]; /* sha256 of the signer's public key (SPKI DER) */
        bool has_meta;
        struct cfs_sig_meta meta; /* zero (generation 0) without metadata */
};

/*
 * Verify the detached PKCS#7 @sig over @digest against @trust. The signer must
 * be one of the trusted certificates itself (certificates inside the signature
 * are ignored, no chain building: the trust store is the list of allowed
 * signers, as the kernel's .fs-verity keyring is). -EKEYREJECTED: signature
 * does not verify or signer not trusted; -EBADMSG: malformed signature.
 */
int cfs_verify_digest(const struct cfs_trust *trust, const uint8_t digest[CFS_DIGEST_SIZE],
                      const uint8_t *sig, size_t sig_len, struct cfs_sig_info *info,
                      struct cfs_error *err);

/* The fs-verity formatted digest that is signed (8 + 2 + 2 + 32 bytes). */
#define CFS_FORMATTED_DIGEST_SIZE 44u
void cfs_formatted_digest(const uint8_t digest[CFS_DIGEST_SIZE],
                          uint8_t out[CFS_FORMATTED_DIGEST_SIZE]);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * revocation.h - the list of signing keys and image digests that must never
 * boot again (initrd: setup-root; host: `cfsroot verify --revoked`).
 *
 * Format, one entry per line, '#' starts a comment line:
 *     key sha256:<64 hex>    a signing key, by the sha256 of its public key
 *                            (SubjectPublicKeyInfo DER; `cfsroot verify` prints it)
 *     image <64 hex>         an image, by its fs-verity digest
 * Strict: anything else is an error naming file and line. Revocation always
 * wins over trust.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "signature.h"

#define CFS_REVOCATION_FILE_MAX (1u << 20)

struct cfs_revocation;

int cfs_revocation_parse(const char *text, size_t len, const char *name,
                         struct cfs_revocation **ret, struct cfs_error *err);
int cfs_revocation_load(const char *path, struct cfs_revocation **ret, struct cfs_error *err);
void cfs_revocation_free(struct cfs_revocation *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cfs_revocation *, cfs_revocation_free);

bool cfs_revocation_has_key(const struct cfs_revocation *r, const uint8_t key_id[CFS_KEY_ID_SIZE]);
bool cfs_revocation_has_image(const struct cfs_revocation *r,
                              const uint8_t digest[CFS_DIGEST_SIZE]);
size_t cfs_revocation_count(const struct cfs_revocation *r);

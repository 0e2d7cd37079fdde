/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* digest-arg.h - "--digest HEX or an IMAGE file" argument handling shared by sign and verify. */
#pragma once

#include <stdint.h>

#include "verity.h"

/*
 * Fill @digest from @hex (64 hex digits) if given, else compute the fs-verity
 * digest of the file @path. Logs and returns -errno on failure.
 */
int digest_from_arg(const char *hex, const char *path, uint8_t digest[CFS_DIGEST_SIZE]);

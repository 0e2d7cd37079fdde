/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * error.h - how libcfsroot reports *why* something failed without logging.
 *
 * Every lib function returns 0 or -errno. Functions that judge untrusted input
 * also take an optional "struct cfs_error *" and fill it with one human-readable
 * line (what was expected, what was found, where). The caller decides whether and
 * how to print it. Runs everywhere (host, initrd, real root).
 */
#pragma once

#include <stddef.h>

#include "macros.h"

#define CFS_ERROR_MAX 512

struct cfs_error {
        int code;                    /* positive errno value, 0 if unset */
        char message[CFS_ERROR_MAX]; /* one line, no trailing newline */
};

/*
 * cfs_error_set() - record a failure and return it as -code.
 * @e may be NULL (the caller only wants the code). The first error recorded
 * wins: later calls keep the earlier, more specific message.
 */
int cfs_error_set(struct cfs_error *e, int code, const char *fmt, ...) _printf_(3, 4);

/* Like cfs_error_set(), but replaces an existing message (adds context). */
int cfs_error_prefix(struct cfs_error *e, int code, const char *fmt, ...) _printf_(3, 4);

/* Text of the error, or strerror(code) if no message was recorded. */
const char *cfs_error_text(const struct cfs_error *e, int code);

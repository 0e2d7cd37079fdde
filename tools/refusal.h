/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * refusal.h - how `cfsroot setup-root` reports the outcome of a boot decision
 * (initrd, before switch_root): one line on the console, in the journal with a
 * stable MESSAGE_ID when journald runs (otherwise in the kernel log), and a
 * distinct exit code per class of failure so units and tests can tell them
 * apart. The classes, codes and IDs are part of the interface (cfsroot(1)).
 */
#pragma once

#include "macros.h"

enum cfs_refusal {
        CFS_REFUSE_POLICY = 10,        /* malformed policy or command line, downgrade attempt */
        CFS_REFUSE_IMAGE_MISSING = 11, /* no image named, image missing or unreadable */
        CFS_REFUSE_DIGEST = 12,        /* image digest differs from the expected one */
        CFS_REFUSE_SIGNATURE =
            13, /* signature missing, invalid, untrusted, revoked, old generation */
        CFS_REFUSE_IMAGE_INVALID = 14, /* image fails validation */
        CFS_REFUSE_STORE = 15,  /* object store missing, objects missing or without fs-verity */
        CFS_REFUSE_KERNEL = 16, /* kernel lacks EROFS, overlayfs, data-only layers, verity */
        CFS_REFUSE_TPM = 17,    /* TPM policy required but unavailable or not satisfied */
        CFS_REFUSE_MOUNT = 18,  /* mounting or moving the new root failed */
};

/* Report a refusal: console + journal/kmsg. Returns the exit code to use. */
int refuse(enum cfs_refusal class, const char *fmt, ...) _printf_(2, 3);

/* Report a successful verification (same channels, informational). */
void report_booted(const char *fmt, ...) _printf_(1, 2);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmdline.h - the kernel command line as cfsroot reads it (initrd: generator
 * and setup-root; tests set SYSTEMD_PROC_CMDLINE).
 *
 * Splitting follows the kernel and systemd: words separated by whitespace,
 * double quotes group (and are removed), "KEY=VALUE" or a bare "KEY". cfsroot
 * reads `composefs=<64 hex>` (the form composefs-rs/bootc use) and its own
 * `cfsroot.*` arguments (documented in cfsroot(1)). Parsing is strict: an
 * unknown `cfsroot.*` key, a malformed value or the same cfsroot argument given
 * twice with different values is an error - an ambiguous command line must not
 * decide what boots.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tree.h"

#define CFS_CMDLINE_MAX (64u * 1024u) /* longer command lines are refused */
#define CFS_CMDLINE_PATH_MAX 1024u

enum cfs_failure_action {
        CFS_FAILURE_UNSET = 0,
        CFS_FAILURE_POWEROFF,
        CFS_FAILURE_REBOOT,
        CFS_FAILURE_HALT,
        CFS_FAILURE_EMERGENCY,
};

const char *cfs_failure_action_to_string(enum cfs_failure_action a);
/* -EINVAL for anything but poweroff, reboot, halt, emergency. */
int cfs_failure_action_from_string(const char *s, enum cfs_failure_action *ret);

/* Tri-state for boolean arguments: absent, or explicitly set to no/yes. */
enum cfs_tristate {
        CFS_UNSET = -1,
        CFS_NO = 0,
        CFS_YES = 1,
};

struct cfs_cmdline {
        bool has_digest; /* composefs= given */
        uint8_t digest[CFS_DIGEST_SIZE];
        char image[CFS_CMDLINE_PATH_MAX];     /* cfsroot.image= (below the physical root) */
        char signature[CFS_CMDLINE_PATH_MAX]; /* cfsroot.signature= */
        char store[CFS_CMDLINE_PATH_MAX];     /* cfsroot.store= */
        enum cfs_failure_action failure;      /* cfsroot.failure= */
        enum cfs_tristate require_signature;  /* cfsroot.require-signature= */
        enum cfs_tristate require_tpm;        /* cfsroot.require-tpm= */
        enum cfs_tristate allow_unverified;   /* cfsroot.allow-unverified-objects= */
};

/*
 * Split @s (@len bytes) into words and call @fn(key, value, userdata) for each;
 * @value is NULL for a bare word. Key and value are NUL-terminated copies.
 * Stops at the first non-zero return of @fn and returns it. -EINVAL on an
 * unterminated quote or an embedded NUL, -E2BIG over CFS_CMDLINE_MAX.
 */
int cfs_cmdline_split(const char *s, size_t len,
                      int (*fn)(const char *key, const char *value, void *userdata),
                      void *userdata);

/* Parse the cfsroot arguments of a command line (others are ignored). */
int cfs_cmdline_parse(const char *s, size_t len, struct cfs_cmdline *ret, struct cfs_error *err);

/* Read $SYSTEMD_PROC_CMDLINE if set, else /proc/cmdline, and parse it. */
int cfs_cmdline_load(struct cfs_cmdline *ret, struct cfs_error *err);

/*
 * A path below the physical root as the command line and the policy accept it:
 * absolute, shorter than @max, no ".." component, no control characters.
 */
bool cfs_path_is_safe(const char *v, size_t max);

/* Whether the command line asks for composefs at all (any cfsroot argument). */
bool cfs_cmdline_wants_composefs(const struct cfs_cmdline *c);

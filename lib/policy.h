/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy.h - the boot policy baked into the initrd (/etc/cfsroot/policy.conf)
 * and its merge with the kernel command line. Initrd (generator, setup-root)
 * and host (tests, `cfsroot policy check`).
 *
 * Format: systemd-style INI. Sections [Boot], [Trust], [Failure], [State], [TPM]; one
 * Key=Value per line; '#' and ';' start comment lines. Strict: unknown sections
 * and keys, repeated keys, bad values and options without a section are errors
 * naming file and line. The keys and defaults are documented in cfsroot(1) and
 * shown by policy_defaults in policy.c.
 *
 * The command line may only tighten the policy (cfs_policy_apply_cmdline()):
 * asking for less (no signature where one is required, an emergency shell that
 * is not allowed, objects without fs-verity) is a refusal, not a fallback.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cmdline.h"
#include "error.h"

#define CFS_POLICY_PATH "/etc/cfsroot/policy.conf"
#define CFS_POLICY_PATH_MAX 1024u
#define CFS_POLICY_FILE_MAX (64u * 1024u)

enum cfs_etc_mode {
        CFS_ETC_OVERLAY,   /* writable overlay, upper dir kept in the deployment's state */
        CFS_ETC_TRANSIENT, /* writable overlay on tmpfs, lost at reboot */
        CFS_ETC_READONLY,  /* /etc as in the image */
};

enum cfs_rollback_mode {
        CFS_ROLLBACK_IF_PRESENT, /* check the TPM's floor when there is a TPM and the index */
        CFS_ROLLBACK_REQUIRED,   /* no TPM or no index refuses the boot */
        CFS_ROLLBACK_OFF,        /* never read it */
};

enum cfs_var_mode {
        CFS_VAR_BIND,      /* bind mount of the persistent state's var directory */
        CFS_VAR_TRANSIENT, /* tmpfs */
        CFS_VAR_READONLY,  /* /var as in the image */
};

struct cfs_policy {
        /* [Boot] */
        bool required;                   /* Required= composefs root even without cmdline */
        char store[CFS_POLICY_PATH_MAX]; /* ObjectStore= below the physical root */
        char image[CFS_POLICY_PATH_MAX]; /* Image= default image path, may be empty */
        /* [Trust] */
        bool cmdline_digest;                    /* CommandLineDigest= bare digest is enough */
        bool require_signature;                 /* RequireSignature= */
        char certificates[CFS_POLICY_PATH_MAX]; /* TrustedCertificates= dir or file in the initrd */
        char revoked[CFS_POLICY_PATH_MAX];      /* RevokedList= (optional) */
        bool require_tpm;                       /* RequireTPMPolicy= */
        uint64_t min_generation;                /* MinimumGeneration= */
        bool allow_unverified;                  /* AllowObjectsWithoutVerity= (default no) */
        /* [Failure] */
        enum cfs_failure_action failure; /* Action= */
        bool allow_emergency;            /* AllowEmergencyShell= */
        /* [State] */
        enum cfs_etc_mode etc;           /* Etc= */
        enum cfs_var_mode var;           /* Var= */
        char state[CFS_POLICY_PATH_MAX]; /* StateDirectory= below the physical root */
        /* [TPM] */
        char tpm_blob[CFS_POLICY_PATH_MAX]; /* PolicyBlob= sealed policy below the physical root */
        char tpm_approvals[CFS_POLICY_PATH_MAX]; /* PolicyApprovals= signed PCR approvals (v2) */
        bool tpm_require_creation;               /* RequireCreationTicket= */
        char tpm_device[CFS_POLICY_PATH_MAX];    /* Device= tpm2-tss TCTI configuration */
        int measure_pcr;                         /* MeasurePCR= 0-23, -1 = no measurement */
        enum cfs_rollback_mode anti_rollback;    /* AntiRollback= */
};

/* The built-in defaults (what an absent or empty policy file means). */
void cfs_policy_init(struct cfs_policy *p);

/* Parse policy text; @name is used in messages ("NAME:LINE: ..."). */
int cfs_policy_parse(const char *text, size_t len, const char *name, struct cfs_policy *ret,
                     struct cfs_error *err);

/* Load @path; a missing file is -ENOENT (callers decide whether defaults apply). */
int cfs_policy_load(const char *path, struct cfs_policy *ret, struct cfs_error *err);

/*
 * Apply the command line to @p, tightening only. -EPERM with a message naming
 * the argument and the policy setting for every attempt to loosen; -EINVAL if
 * the combination leaves nothing that establishes trust in a digest.
 */
int cfs_policy_apply_cmdline(struct cfs_policy *p, const struct cfs_cmdline *c,
                             struct cfs_error *err);

const char *cfs_etc_mode_to_string(enum cfs_etc_mode m);
const char *cfs_var_mode_to_string(enum cfs_var_mode m);

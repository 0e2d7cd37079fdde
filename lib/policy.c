/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy.c - strict parser of the initrd boot policy and its tighten-only merge
 * with the kernel command line (see policy.h). Initrd and host.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "policy.h"

enum value_type {
        T_BOOL,
        T_PATH,
        T_OPT_PATH,
        T_UINT64,
        T_FAILURE,
        T_ETC,
        T_VAR,
        T_TCTI,
        T_PCR,
        T_ROLLBACK
};

struct key_def {
        const char *section, *key;
        enum value_type type;
        size_t offset;
};

#define FIELD(f) offsetof(struct cfs_policy, f)
static const struct key_def keys[] = {
    {"Boot", "Required", T_BOOL, FIELD(required)},
    {"Boot", "ObjectStore", T_PATH, FIELD(store)},
    {"Boot", "Image", T_OPT_PATH, FIELD(image)},
    {"Trust", "CommandLineDigest", T_BOOL, FIELD(cmdline_digest)},
    {"Trust", "RequireSignature", T_BOOL, FIELD(require_signature)},
    {"Trust", "TrustedCertificates", T_PATH, FIELD(certificates)},
    {"Trust", "RevokedList", T_OPT_PATH, FIELD(revoked)},
    {"Trust", "RequireTPMPolicy", T_BOOL, FIELD(require_tpm)},
    {"Trust", "MinimumGeneration", T_UINT64, FIELD(min_generation)},
    {"Trust", "AllowObjectsWithoutVerity", T_BOOL, FIELD(allow_unverified)},
    {"Failure", "Action", T_FAILURE, FIELD(failure)},
    {"Failure", "AllowEmergencyShell", T_BOOL, FIELD(allow_emergency)},
    {"State", "Etc", T_ETC, FIELD(etc)},
    {"State", "Var", T_VAR, FIELD(var)},
    {"State", "StateDirectory", T_PATH, FIELD(state)},
    {"TPM", "PolicyBlob", T_PATH, FIELD(tpm_blob)},
    {"TPM", "PolicyApprovals", T_PATH, FIELD(tpm_approvals)},
    {"TPM", "RequireCreationTicket", T_BOOL, FIELD(tpm_require_creation)},
    {"TPM", "Device", T_TCTI, FIELD(tpm_device)},
    {"TPM", "MeasurePCR", T_PCR, FIELD(measure_pcr)},
    {"TPM", "AntiRollback", T_ROLLBACK, FIELD(anti_rollback)},
};

static const char *const etc_names[] = {"overlay", "transient", "readonly"};
static const char *const var_names[] = {"bind", "transient", "readonly"};
static const char *const rollback_names[] = {"if-present", "required", "no"};

const char *cfs_etc_mode_to_string(enum cfs_etc_mode m)
{
        return (size_t)m < ELEMENTSOF(etc_names) ? etc_names[m] : "?";
}

const char *cfs_var_mode_to_string(enum cfs_var_mode m)
{
        return (size_t)m < ELEMENTSOF(var_names) ? var_names[m] : "?";
}

void cfs_policy_init(struct cfs_policy *p)
{
        memset(p, 0, sizeof(*p));
        strcpy(p->store, "/composefs");
        strcpy(p->certificates, "/etc/cfsroot/trusted.d");
        strcpy(p->state, "/composefs/state");
        strcpy(p->tpm_blob, "/composefs/tpm-policy.blob");
        strcpy(p->tpm_approvals, "/composefs/tpm-policy.approvals");
        strcpy(p->tpm_device, "device:/dev/tpmrm0");
        /* no TPM use unless the policy asks for it (cfs_policy_parse): the
         * dracut module installs the TPM pieces by the same rule */
        p->measure_pcr = -1;
        p->anti_rollback = CFS_ROLLBACK_OFF;
        p->require_signature = true;
        p->failure = CFS_FAILURE_POWEROFF;
        p->etc = CFS_ETC_OVERLAY;
        p->var = CFS_VAR_BIND;
}

/* ---- values ---- */

static int parse_bool(const char *v, bool *ret)
{
        if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1")) {
                *ret = true;
                return 0;
        }
        if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0")) {
                *ret = false;
                return 0;
        }
        return -EINVAL;
}

static int parse_enum(const char *v, const char *const *names, size_t n, int *ret)
{
        for (size_t i = 0; i < n; i++)
                if (!strcmp(v, names[i])) {
                        *ret = (int)i;
                        return 0;
                }
        return -EINVAL;
}

static int parse_uint64(const char *v, uint64_t *ret)
{
        char *end;
        if (v[0] < '0' || v[0] > '9')
                return -EINVAL;
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || *end)
                return -EINVAL;
        *ret = x;
        return 0;
}

/* A tpm2-tss TCTI configuration: "device:/dev/tpmrm0", "swtpm:path=/run/sock". */
static bool tcti_ok(const char *v)
{
        size_t n = strlen(v);
        if (n == 0 || n >= CFS_POLICY_PATH_MAX || !strchr(v, ':'))
                return false;
        for (const char *p = v; *p; p++)
                if ((unsigned char)*p <= 0x20 || *p == 0x7f)
                        return false;
        return true;
}

/* Store @v into the field of @def; returns a description of the expected value on failure. */
static const char *set_value(struct cfs_policy *p, const struct key_def *def, const char *v)
{
        void *f = (uint8_t *)p + def->offset;
        int e;
        switch (def->type) {
        case T_BOOL:
                return parse_bool(v, f) < 0 ? "yes or no" : NULL;
        case T_OPT_PATH:
                if (!v[0]) {
                        ((char *)f)[0] = 0;
                        return NULL;
                }
                /* fall through */
        case T_PATH:
                if (!cfs_path_is_safe(v, CFS_POLICY_PATH_MAX))
                        return "an absolute path without '..' components";
                strcpy(f, v);
                return NULL;
        case T_UINT64:
                return parse_uint64(v, f) < 0 ? "a decimal number" : NULL;
        case T_FAILURE:
                return cfs_failure_action_from_string(v, f) < 0
                           ? "poweroff, reboot, halt or emergency"
                           : NULL;
        case T_ETC:
                if (parse_enum(v, etc_names, ELEMENTSOF(etc_names), &e) < 0)
                        return "overlay, transient or readonly";
                *(enum cfs_etc_mode *)f = (enum cfs_etc_mode)e;
                return NULL;
        case T_VAR:
                if (parse_enum(v, var_names, ELEMENTSOF(var_names), &e) < 0)
                        return "bind, transient or readonly";
                *(enum cfs_var_mode *)f = (enum cfs_var_mode)e;
                return NULL;
        case T_ROLLBACK:
                if (parse_enum(v, rollback_names, ELEMENTSOF(rollback_names), &e) < 0)
                        return "if-present, required or no";
                *(enum cfs_rollback_mode *)f = (enum cfs_rollback_mode)e;
                return NULL;
        case T_TCTI:
                if (!tcti_ok(v))
                        return "a TCTI configuration such as device:/dev/tpmrm0";
                strcpy(f, v);
                return NULL;
        case T_PCR: {
                uint64_t pcr;
                if (!strcmp(v, "no")) {
                        *(int *)f = -1;
                        return NULL;
                }
                if (parse_uint64(v, &pcr) < 0 || pcr > 23)
                        return "a PCR number 0-23 or no";
                *(int *)f = (int)pcr;
                return NULL;
        }
        }
        return "a valid value";
}

/* ---- lines ---- */

struct parser {
        const char *name;
        unsigned line;
        char section[32];
        bool tpm_section;
        bool seen[ELEMENTSOF(keys)];
        struct cfs_policy *p;
        struct cfs_error *err;
};

static char *trim(char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
                s[--n] = 0;
        return s;
}

static bool section_known(const char *s)
{
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (!strcmp(keys[i].section, s))
                        return true;
        return false;
}

static int parse_section(struct parser *ps, char *s)
{
        size_t n = strlen(s);
        if (n < 3 || s[n - 1] != ']')
                return cfs_error_set(ps->err, EINVAL, "%s:%u: malformed section header '%s'",
                                     ps->name, ps->line, s);
        s[n - 1] = 0;
        if (!section_known(s + 1))
                return cfs_error_set(ps->err, EINVAL,
                                     "%s:%u: unknown section [%s] (known: Boot, Trust, Failure, "
                                     "State, TPM)",
                                     ps->name, ps->line, s + 1);
        snprintf(ps->section, sizeof(ps->section), "%s", s + 1);
        if (!strcmp(ps->section, "TPM"))
                ps->tpm_section = true;
        return 0;
}

static int parse_assignment(struct parser *ps, char *s)
{
        char *eq = strchr(s, '=');
        if (!eq)
                return cfs_error_set(ps->err, EINVAL, "%s:%u: expected Key=Value, found '%s'",
                                     ps->name, ps->line, s);
        *eq = 0;
        const char *key = trim(s), *value = trim(eq + 1);
        if (!ps->section[0])
                return cfs_error_set(ps->err, EINVAL, "%s:%u: %s= outside of a section", ps->name,
                                     ps->line, key);
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (strcmp(keys[i].section, ps->section) || strcmp(keys[i].key, key))
                        continue;
                if (ps->seen[i])
                        return cfs_error_set(ps->err, EINVAL, "%s:%u: %s= set twice in [%s]",
                                             ps->name, ps->line, key, ps->section);
                ps->seen[i] = true;
                const char *expected = set_value(ps->p, &keys[i], value);
                if (expected)
                        return cfs_error_set(ps->err, EINVAL, "%s:%u: %s=%s: expected %s", ps->name,
                                             ps->line, key, value, expected);
                return 0;
        }
        return cfs_error_set(ps->err, EINVAL, "%s:%u: unknown key %s= in [%s]", ps->name, ps->line,
                             key, ps->section);
}

static int parse_line(struct parser *ps, char *line)
{
        char *s = trim(line);
        if (!s[0] || s[0] == '#' || s[0] == ';')
                return 0;
        if (s[0] == '[')
                return parse_section(ps, s);
        return parse_assignment(ps, s);
}

static bool key_seen(const struct parser *ps, const char *section, const char *key)
{
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (!strcmp(keys[i].section, section) && !strcmp(keys[i].key, key))
                        return ps->seen[i];
        return false;
}

/*
 * A policy uses the TPM when it has a [TPM] section or RequireTPMPolicy=yes;
 * then measurement (PCR 13) and the anti-rollback floor (if-present) are on
 * unless set otherwise. Without either, no TPM is touched: the initrd has no
 * TPM pieces then (module-setup.sh), and a floor that can never be read must
 * not look like "no TPM here".
 */
static void tpm_defaults(const struct parser *ps, struct cfs_policy *p)
{
        if (!ps->tpm_section && !p->require_tpm)
                return;
        if (!key_seen(ps, "TPM", "MeasurePCR"))
                p->measure_pcr = 13;
        if (!key_seen(ps, "TPM", "AntiRollback"))
                p->anti_rollback = CFS_ROLLBACK_IF_PRESENT;
}

/* A policy must name at least one way to trust a digest. */
static int policy_validate(const struct cfs_policy *p, const char *name, struct cfs_error *err)
{
        if (!p->cmdline_digest && !p->require_signature && !p->require_tpm)
                return cfs_error_set(err, EINVAL,
                                     "%s: no source of trust: set CommandLineDigest=yes, "
                                     "RequireSignature=yes or RequireTPMPolicy=yes",
                                     name);
        if (p->failure == CFS_FAILURE_EMERGENCY && !p->allow_emergency)
                return cfs_error_set(err, EINVAL,
                                     "%s: Action=emergency needs AllowEmergencyShell=yes", name);
        return 0;
}

int cfs_policy_parse(const char *text, size_t len, const char *name, struct cfs_policy *ret,
                     struct cfs_error *err)
{
        struct cfs_policy p;
        struct parser ps = {.name = name, .p = &p, .err = err};
        char line[4096];

        if (len > CFS_POLICY_FILE_MAX)
                return cfs_error_set(err, EFBIG, "%s: larger than %u bytes", name,
                                     CFS_POLICY_FILE_MAX);
        if (memchr(text, 0, len))
                return cfs_error_set(err, EINVAL, "%s: contains a NUL byte", name);
        cfs_policy_init(&p);
        for (size_t pos = 0; pos < len;) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
                ps.line++;
                if (n >= sizeof(line))
                        return cfs_error_set(err, EINVAL, "%s:%u: line longer than %zu bytes", name,
                                             ps.line, sizeof(line) - 1);
                memcpy(line, text + pos, n);
                line[n] = 0;
                int r = parse_line(&ps, line);
                if (r < 0)
                        return r;
                pos += n + 1;
        }
        tpm_defaults(&ps, &p);
        int r = policy_validate(&p, name, err);
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

int cfs_policy_load(const char *path, struct cfs_policy *ret, struct cfs_error *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = cfs_read_file(path, CFS_POLICY_FILE_MAX, &text, &len);
        if (r == -EFBIG)
                return cfs_error_set(err, EFBIG, "%s: larger than %u bytes", path,
                                     CFS_POLICY_FILE_MAX);
        if (r < 0)
                return cfs_error_set(err, -r, "%s: cannot read: %s", path, strerror(-r));
        return cfs_policy_parse(text, len, path, ret, err);
}

/* ---- command line ---- */

static int loosen(struct cfs_error *err, const char *arg, const char *setting)
{
        return cfs_error_set(err, EPERM,
                             "kernel command line tries to loosen the boot policy: %s, but the "
                             "policy has %s",
                             arg, setting);
}

int cfs_policy_apply_cmdline(struct cfs_policy *p, const struct cfs_cmdline *c,
                             struct cfs_error *err)
{
        if (c->require_signature == CFS_NO && p->require_signature)
                return loosen(err, "cfsroot.require-signature=0", "RequireSignature=yes");
        if (c->require_tpm == CFS_NO && p->require_tpm)
                return loosen(err, "cfsroot.require-tpm=0", "RequireTPMPolicy=yes");
        if (c->allow_unverified == CFS_YES && !p->allow_unverified)
                return loosen(err, "cfsroot.allow-unverified-objects=1",
                              "AllowObjectsWithoutVerity=no");
        if (c->failure == CFS_FAILURE_EMERGENCY && !p->allow_emergency)
                return loosen(err, "cfsroot.failure=emergency", "AllowEmergencyShell=no");

        if (c->require_signature == CFS_YES)
                p->require_signature = true;
        if (c->require_tpm == CFS_YES)
                p->require_tpm = true;
        if (c->allow_unverified == CFS_NO)
                p->allow_unverified = false;
        if (c->failure != CFS_FAILURE_UNSET)
                p->failure = c->failure;
        /* Locations are not trust decisions: whatever the image, it must match a
         * trusted digest, and verity=require checks every object. */
        if (c->store[0])
                strcpy(p->store, c->store);
        if (c->image[0])
                strcpy(p->image, c->image);
        return 0;
}

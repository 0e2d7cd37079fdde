/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-rollback.c - `cfsroot rollback init|status|raise`: the TPM anti-rollback
 * floor (lib/tpm-rollback.h). Runs on the booted system (real root, as root):
 * `init` at enrolment, `raise --auto` from cfsroot-mark-good.service once the
 * boot was declared healthy. The safety rules of `raise` live here: the floor
 * never rises above the generation of the booted image (boot record), nor above
 * the lowest generation among the deployments kept in STORE/images, each read
 * from its verified signature (unsigned or unverifiable: generation 0), so every
 * kept deployment stays bootable.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot-record.h"
#include "commands.h"
#include "fileio.h"
#include "policy.h"
#include "signature.h"
#include "tool-util.h"
#include "tpm-rollback.h"
#include "verity.h"

#define OWNER_AUTH_CREDENTIAL "cfsroot.tpm-owner-auth"
#define MAX_DEPLOYMENTS 1024u
#define IMAGE_MAX_SIZE (UINT64_C(4) << 30) /* as setup-root */

static void rollback_usage(FILE *f)
{
        fprintf(
            f,
            "Usage: cfsroot rollback init [--tcti CONF] [--index HEX] [--owner-auth-file FILE]\n"
            "       cfsroot rollback status [--json] [--tcti CONF] [--index HEX]\n"
            "       cfsroot rollback raise (--to N | --auto) [--dry-run] [OPTIONS]\n\n"
            "The TPM anti-rollback floor: the lowest security generation that may boot.\n"
            "  --tcti CONF           TPM (default $TPM2TSS_TCTI, else " CFS_TPM_TCTI_DEFAULT ")\n"
            "  --index HEX           NV index (default 0x%08x)\n"
            "  --owner-auth-file F   owner password (default: credential " OWNER_AUTH_CREDENTIAL
            ", else empty)\n"
            "raise:\n"
            "  --to N                raise to N: at most the booted image's generation and\n"
            "                        the lowest generation among the kept deployments\n"
            "  --auto                raise as far as those two rules allow\n"
            "  --dry-run             show what would be done\n"
            "  --policy FILE         boot policy for ObjectStore=, TrustedCertificates=\n"
            "                        (default " CFS_POLICY_PATH ")\n"
            "  --sysroot DIR         physical root (default /sysroot)\n"
            "  --store DIR           object store (default SYSROOT + ObjectStore=)\n"
            "  --certs PATH          trusted certificates (default TrustedCertificates=)\n"
            "  --record FILE         boot record (default " CFS_BOOT_RECORD_PATH ")\n",
            CFS_TPM_ROLLBACK_INDEX_DEFAULT);
}

struct rollback_args {
        const char *verb, *tcti, *owner_auth_file, *policy, *sysroot, *store, *certs, *record;
        uint32_t index;
        uint64_t to;
        bool have_to, automatic, dry_run, json, raise_option;
};

/* Decimal, digits only, no overflow. */
static int parse_u64(const char *s, uint64_t *ret)
{
        uint64_t v = 0;
        if (!*s)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t)(*p - '0');
        }
        *ret = v;
        return 0;
}

static int parse_index(const char *s, uint32_t *ret)
{
        uint64_t v = 0;
        if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
                s += 2;
        if (!*s || strlen(s) > 8)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                int d = *p >= '0' && *p <= '9'   ? *p - '0'
                        : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                        : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                                 : -1;
                if (d < 0)
                        return -EINVAL;
                v = v << 4 | (uint64_t)d;
        }
        struct cfs_error err = {};
        if (cfs_tpm_rollback_index_check((uint32_t)v, &err) < 0)
                return log_cfs_error(-EINVAL, &err, "--index"), -EINVAL;
        *ret = (uint32_t)v;
        return 0;
}

static int rollback_parse_args(int argc, char **argv, struct rollback_args *a)
{
        static const struct option options[] = {
            {"tcti", required_argument, NULL, 't'},
            {"index", required_argument, NULL, 'i'},
            {"owner-auth-file", required_argument, NULL, 'o'},
            {"to", required_argument, NULL, 'T'},
            {"auto", no_argument, NULL, 'a'},
            {"dry-run", no_argument, NULL, 'n'},
            {"json", no_argument, NULL, 'j'},
            {"policy", required_argument, NULL, 'p'},
            {"sysroot", required_argument, NULL, 's'},
            {"store", required_argument, NULL, 'S'},
            {"certs", required_argument, NULL, 'c'},
            {"record", required_argument, NULL, 'r'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        int c, r;
        a->index = CFS_TPM_ROLLBACK_INDEX_DEFAULT;
        a->policy = CFS_POLICY_PATH;
        a->sysroot = "/sysroot";
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 't':
                        a->tcti = optarg;
                        break;
                case 'i':
                        if (parse_index(optarg, &a->index) < 0) {
                                log_error("--index %s: expected an NV index in hex, 0x%08x-0x%08x",
                                          optarg, CFS_TPM_ROLLBACK_INDEX_FIRST,
                                          CFS_TPM_ROLLBACK_INDEX_LAST);
                                return -EINVAL;
                        }
                        break;
                case 'o':
                        a->owner_auth_file = optarg;
                        break;
                case 'T':
                        r = parse_u64(optarg, &a->to);
                        if (r < 0) {
                                log_error("--to %s: expected a generation (a decimal number)",
                                          optarg);
                                return -EINVAL;
                        }
                        a->have_to = true;
                        break;
                case 'a':
                        a->automatic = true;
                        break;
                case 'n':
                        a->dry_run = true;
                        break;
                case 'j':
                        a->json = true;
                        break;
                case 'p':
                        a->policy = optarg;
                        a->raise_option = true;
                        break;
                case 's':
                        a->sysroot = optarg;
                        a->raise_option = true;
                        break;
                case 'S':
                        a->store = optarg;
                        a->raise_option = true;
                        break;
                case 'c':
                        a->certs = optarg;
                        a->raise_option = true;
                        break;
                case 'r':
                        a->record = optarg;
                        a->raise_option = true;
                        break;
                case 'h':
                        rollback_usage(stdout);
                        exit(CFS_EXIT_OK);
                default:
                        return -EINVAL;
                }
        }
        if (optind + 1 != argc) {
                rollback_usage(stderr);
                return -EINVAL;
        }
        a->verb = argv[optind];
        bool is_raise = !strcmp(a->verb, "raise");
        if (strcmp(a->verb, "init") && strcmp(a->verb, "status") && !is_raise) {
                log_error("rollback: unknown action '%s' (init, status or raise)", a->verb);
                return -EINVAL;
        }
        if (is_raise && a->have_to == a->automatic) {
                log_error("rollback raise: give either --to N or --auto");
                return -EINVAL;
        }
        if (!is_raise && (a->have_to || a->automatic || a->dry_run || a->raise_option)) {
                log_error("rollback %s: --to, --auto, --dry-run, --policy, --sysroot, --store, "
                          "--certs and --record are options of raise",
                          a->verb);
                return -EINVAL;
        }
        if (a->json && strcmp(a->verb, "status")) {
                log_error("rollback %s: --json is an option of status", a->verb);
                return -EINVAL;
        }
        return 0;
}

/*
 * The owner password: --owner-auth-file, else the systemd credential
 * cfsroot.tpm-owner-auth (LoadCredential=), else empty. One trailing newline
 * is dropped; at most 64 bytes, no NUL.
 */
static int load_owner_auth(const struct rollback_args *a, char ret[65])
{
        char cred[4096];
        const char *path = a->owner_auth_file;
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        ret[0] = 0;
        if (!path && dir) {
                snprintf(cred, sizeof(cred), "%s/%s", dir, OWNER_AUTH_CREDENTIAL);
                if (access(cred, F_OK) == 0)
                        path = cred;
        }
        if (!path)
                return 0;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = cfs_read_file(path, 4096, &text, &len);
        if (r < 0)
                return log_error_errno(r, "owner password file %s", path), r;
        if (len && text[len - 1] == '\n')
                len--;
        if (len > 64 || memchr(text, 0, len)) {
                explicit_bzero(text, len);
                log_error("owner password file %s: more than 64 bytes or a NUL byte", path);
                return -EINVAL;
        }
        memcpy(ret, text, len);
        ret[len] = 0;
        explicit_bzero(text, len);
        return 0;
}

static int rollback_init(const struct rollback_args *a, struct cfs_tpm *tpm)
{
        struct cfs_error err = {};
        struct cfs_tpm_rollback_state s;
        char auth[65];
        if (load_owner_auth(a, auth) < 0)
                return CFS_EXIT_FAILURE;
        int r = cfs_tpm_rollback_define(tpm, a->index, auth, &s, &err);
        explicit_bzero(auth, sizeof(auth));
        if (r < 0)
                return log_cfs_error(r, &err, "cannot define the anti-rollback index");
        printf("anti-rollback index 0x%08" PRIx32 " %s: minimum generation %" PRIu64 "\n", a->index,
               r > 0 ? "defined" : "already defined", s.minimum);
        return CFS_EXIT_OK;
}

static int rollback_status(const struct rollback_args *a, struct cfs_tpm *tpm)
{
        struct cfs_error err = {};
        struct cfs_tpm_rollback_state s;
        int r = cfs_tpm_rollback_read(tpm, a->index, &s, &err);
        if (r == -ENOENT) {
                if (a->json)
                        printf("{\"index\":\"0x%08" PRIx32 "\",\"defined\":false}\n", a->index);
                else
                        printf("anti-rollback index 0x%08" PRIx32
                               ": not defined (cfsroot rollback init)\n",
                               a->index);
                return CFS_EXIT_OK;
        }
        if (r < 0)
                return log_cfs_error(r, &err, "cannot read the anti-rollback index");
        if (a->json)
                printf("{\"index\":\"0x%08" PRIx32 "\",\"defined\":true,\"written\":%s,"
                       "\"bits\":\"0x%016" PRIx64 "\",\"minimum_generation\":%" PRIu64
                       ",\"maximum_generation\":%u}\n",
                       a->index, s.written ? "true" : "false", s.bits, s.minimum,
                       CFS_TPM_ROLLBACK_MAX);
        else
                printf("anti-rollback index 0x%08" PRIx32 ": minimum generation %" PRIu64
                       " (bits 0x%016" PRIx64 ", at most %u)\n",
                       a->index, s.minimum, s.bits, CFS_TPM_ROLLBACK_MAX);
        return CFS_EXIT_OK;
}

struct deployment {
        char name[256];
        uint64_t generation;
        char why[200]; /* how the generation was established */
};

/* Log "<what>: strerror" for the current errno and return -errno. */
static int fail_errno(const char *what, const char *path)
{
        int r = -errno;
        log_error_errno(r, "%s %s", what, path);
        return r;
}

static int load_trust(const char *path, struct cfs_trust **ret)
{
        struct cfs_error err = {};
        struct stat st;
        if (stat(path, &st) < 0)
                return fail_errno("trusted certificates", path);
        int r = S_ISDIR(st.st_mode) ? cfs_trust_load_dir(path, ret, &err)
                                    : cfs_trust_load_file(path, ret, &err);
        if (r < 0)
                return log_cfs_error(r, &err, "trusted certificates %s", path), r;
        return 0;
}

/* The generation of one kept image: its verified signature's, else 0 with the reason. */
static void judge_image(int dir_fd, const char *images, const struct cfs_trust *trust,
                        struct deployment *d)
{
        struct cfs_error err = {};
        struct cfs_sig_info info;
        struct stat st;
        uint8_t digest[CFS_DIGEST_SIZE];
        char sig_path[4200 + 256 + 8];
        d->generation = 0;
        _cleanup_close_ int fd = openat(dir_fd, d->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                snprintf(d->why, sizeof(d->why), "unreadable: %s", strerror(errno));
                return;
        }
        if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > IMAGE_MAX_SIZE) {
                snprintf(d->why, sizeof(d->why), "not a regular file of at most 4 GiB");
                return;
        }
        int r = cfs_verity_measure(fd, digest);
        if (r < 0)
                r = cfs_verity_digest_fd(fd, digest);
        if (r < 0) {
                snprintf(d->why, sizeof(d->why), "cannot digest: %s", strerror(-r));
                return;
        }
        _cleanup_free_ char *sig = NULL;
        size_t len = 0;
        snprintf(sig_path, sizeof(sig_path), "%s/%s.sig", images, d->name);
        r = cfs_read_file(sig_path, CFS_SIG_MAX_SIZE, &sig, &len);
        if (r < 0) {
                snprintf(d->why, sizeof(d->why), "unsigned (%s.sig: %s)", d->name, strerror(-r));
                return;
        }
        r = cfs_verify_digest(trust, digest, (const uint8_t *)sig, len, &info, &err);
        if (r < 0) {
                snprintf(d->why, sizeof(d->why), "signature not verified: %.150s",
                         cfs_error_text(&err, r));
                return;
        }
        d->generation = info.meta.generation;
        snprintf(d->why, sizeof(d->why), "signed by %.150s%s", info.signer,
                 info.has_meta ? "" : ", no metadata");
}

static int compare_deployments(const void *x, const void *y)
{
        return strcmp(((const struct deployment *)x)->name, ((const struct deployment *)y)->name);
}

/* Every image in @images (not *.sig, not dot files): the deployments kept for fallback. */
static int scan_deployments(const char *images, const struct cfs_trust *trust,
                            struct deployment **ret, size_t *ret_n)
{
        _cleanup_close_ int dir_fd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return fail_errno("kept deployments", images);
        int fd2 = dup(dir_fd);
        DIR *dir = fd2 >= 0 ? fdopendir(fd2) : NULL;
        if (!dir) {
                int saved = errno;
                if (fd2 >= 0)
                        close(fd2);
                errno = saved;
                return fail_errno("kept deployments", images);
        }
        struct deployment *list = NULL;
        size_t n = 0;
        int r = 0;
        struct dirent *de;
        while ((errno = 0, de = readdir(dir))) {
                size_t l = strlen(de->d_name);
                if (de->d_name[0] == '.' || (l > 4 && !strcmp(de->d_name + l - 4, ".sig")))
                        continue;
                if (n == MAX_DEPLOYMENTS || l >= sizeof(list->name)) {
                        log_error("%s: more than %u images or a name of %zu bytes", images,
                                  MAX_DEPLOYMENTS, l);
                        r = -E2BIG;
                        break;
                }
                struct deployment *nl = realloc(list, (n + 1) * sizeof(*list));
                if (!nl) {
                        r = -ENOMEM;
                        break;
                }
                list = nl;
                memset(&list[n], 0, sizeof(list[n]));
                memcpy(list[n].name, de->d_name, l + 1);
                n++;
        }
        if (r == 0 && errno) {
                r = -errno;
                log_error_errno(r, "reading %s", images);
        }
        closedir(dir);
        if (r < 0) {
                free(list);
                return r;
        }
        if (n)
                qsort(list, n, sizeof(*list), compare_deployments);
        for (size_t i = 0; i < n; i++)
                judge_image(dir_fd, images, trust, &list[i]);
        *ret = list;
        *ret_n = n;
        return 0;
}

/*
 * The highest floor the rules allow: min(booted generation, lowest kept
 * generation). Logs and fails when the rules cannot be evaluated.
 */
static int raise_limit(const struct rollback_args *a, uint64_t *ret_limit, uint64_t *ret_booted,
                       const struct deployment **ret_lowest, struct deployment **ret_list,
                       size_t *ret_n)
{
        struct cfs_error err = {};
        struct cfs_policy policy;
        int r = cfs_policy_load(a->policy, &policy, &err);
        if (r == -ENOENT)
                cfs_policy_init(&policy);
        else if (r < 0)
                return log_cfs_error(r, &err, "boot policy %s", a->policy), r;

        struct cfs_boot_record rec;
        const char *record = a->record ? a->record : getenv("CFSROOT_BOOT_RECORD");
        if (!record)
                record = CFS_BOOT_RECORD_PATH;
        err = (struct cfs_error){};
        r = cfs_boot_record_read(record, &rec, &err);
        if (r == -ENOENT) {
                log_error("no boot record %s: this system was not booted from a verified "
                          "composefs image, nothing is known to boot",
                          record);
                return r;
        }
        if (r < 0)
                return log_cfs_error(r, &err, "boot record %s", record), r;

        char store[4096], images[4200];
        if (a->store)
                snprintf(store, sizeof(store), "%s", a->store);
        else
                snprintf(store, sizeof(store), "%s%s", a->sysroot, policy.store);
        snprintf(images, sizeof(images), "%s/images", store);
        _cleanup_(cfs_trust_freep) struct cfs_trust *trust = NULL;
        r = load_trust(a->certs ? a->certs : policy.certificates, &trust);
        if (r < 0)
                return r;
        struct deployment *list = NULL;
        size_t n = 0;
        r = scan_deployments(images, trust, &list, &n);
        if (r < 0)
                return r;
        if (n == 0) {
                free(list);
                log_error("%s holds no images: no deployment is known to stay bootable", images);
                return -ENOENT;
        }
        const struct deployment *lowest = &list[0];
        for (size_t i = 1; i < n; i++)
                if (list[i].generation < lowest->generation)
                        lowest = &list[i];
        *ret_booted = rec.generation;
        *ret_limit = rec.generation < lowest->generation ? rec.generation : lowest->generation;
        *ret_lowest = lowest;
        *ret_list = list;
        *ret_n = n;
        return 0;
}

static int rollback_raise(const struct rollback_args *a)
{
        struct cfs_error err = {};
        uint64_t limit = 0, booted = 0;
        const struct deployment *lowest = NULL;
        _cleanup_free_ struct deployment *list = NULL;
        size_t n = 0;
        if (a->have_to && a->to > CFS_TPM_ROLLBACK_MAX) {
                log_error("--to %" PRIu64 ": the anti-rollback index holds generations up to %u",
                          a->to, CFS_TPM_ROLLBACK_MAX);
                return CFS_EXIT_FAILURE;
        }
        /* --auto (cfsroot-mark-good.service on every machine): without a TPM or
         * an enrolled index there is nothing to protect; say so before the
         * deployments and certificates are even looked at */
        _cleanup_(cfs_tpm_closep) struct cfs_tpm *tpm = NULL;
        struct cfs_tpm_rollback_state s;
        int r = cfs_tpm_open(a->tcti, &tpm, &err);
        if (r >= 0)
                r = cfs_tpm_rollback_read(tpm, a->index, &s, &err);
        if ((r == -ENODEV || r == -ENOENT) && a->automatic) {
                log_info("%s: anti-rollback not in use, nothing to raise", cfs_error_text(&err, r));
                return CFS_EXIT_OK;
        }
        if (raise_limit(a, &limit, &booted, &lowest, &list, &n) < 0)
                return CFS_EXIT_FAILURE;
        uint64_t target = a->have_to ? a->to : limit;
        if (a->have_to && a->to > booted) {
                log_error("cannot raise the minimum generation to %" PRIu64
                          ": the booted image has generation %" PRIu64
                          " (boot and mark good an image of generation %" PRIu64 " first)",
                          a->to, booted, a->to);
                return CFS_EXIT_FAILURE;
        }
        if (a->have_to && a->to > lowest->generation) {
                log_error("cannot raise the minimum generation to %" PRIu64
                          ": kept deployment %s has generation %" PRIu64
                          " (%s) and would no longer boot (retire it first)",
                          a->to, lowest->name, lowest->generation, lowest->why);
                return CFS_EXIT_FAILURE;
        }
        if (target > CFS_TPM_ROLLBACK_MAX)
                target = CFS_TPM_ROLLBACK_MAX; /* --auto: as far as the index goes */
        if (a->dry_run)
                for (size_t i = 0; i < n; i++)
                        printf("kept %s: generation %" PRIu64 " (%s)\n", list[i].name,
                               list[i].generation, list[i].why);

        if (r < 0)
                return log_cfs_error(r, &err, "cannot read the anti-rollback index");
        if (target <= s.minimum) {
                printf("minimum generation stays %" PRIu64 " (booted generation %" PRIu64
                       ", lowest kept %" PRIu64 ")\n",
                       s.minimum, booted, lowest->generation);
                return CFS_EXIT_OK;
        }
        if (a->dry_run) {
                printf("would raise the minimum generation from %" PRIu64 " to %" PRIu64 "\n",
                       s.minimum, target);
                return CFS_EXIT_OK;
        }
        char auth[65];
        if (load_owner_auth(a, auth) < 0)
                return CFS_EXIT_FAILURE;
        struct cfs_tpm_rollback_state after;
        r = cfs_tpm_rollback_raise(tpm, a->index, target, auth, &after, &err);
        explicit_bzero(auth, sizeof(auth));
        if (r < 0)
                return log_cfs_error(r, &err, "cannot raise the anti-rollback index");
        printf("raised the minimum generation from %" PRIu64 " to %" PRIu64 "\n", s.minimum,
               after.minimum);
        return CFS_EXIT_OK;
}

int cmd_rollback(int argc, char **argv)
{
        struct rollback_args a = {};
        struct cfs_error err = {};
        if (rollback_parse_args(argc, argv, &a) < 0)
                return CFS_EXIT_USAGE;
        if (!strcmp(a.verb, "raise"))
                return rollback_raise(&a);
        _cleanup_(cfs_tpm_closep) struct cfs_tpm *tpm = NULL;
        int r = cfs_tpm_open(a.tcti, &tpm, &err);
        if (r < 0)
                return log_cfs_error(r, &err, "cannot open the TPM");
        return !strcmp(a.verb, "init") ? rollback_init(&a, tpm) : rollback_status(&a, tpm);
}

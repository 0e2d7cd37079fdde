/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-setup-root.c - `cfsroot setup-root`: decide which composefs image may
 * boot, prove it, mount it as the root, or refuse. Runs in the initrd after
 * sysroot.mount (physical root at /sysroot) and before initrd-root-fs.target;
 * --sysroot points it elsewhere for tests.
 *
 *  1. policy (initrd) + kernel command line, tighten-only
 *  2. open the image: fs-verity measurement, or a sealed private copy
 *  3. expected digest and its proof: command line digest, signature
 *     (trusted key, not revoked, generation), TPM policy (issue 6: refused)
 *  4. validate the image before the kernel sees it
 *  5. mount EROFS + overlayfs (verity=require) at a private place,
 *     /etc and /var per policy, then move onto /sysroot
 * Every failure is reported once (refusal.c) with its class as exit code, and
 * leaves nothing mounted. There is no path from a failed check to exit 0.
 */
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
#include "cmdline.h"
#include "commands.h"
#include "fileio.h"
#include "image-open.h"
#include "image-reader.h"
#include "mount.h"
#include "object-check.h"
#include "policy.h"
#include "refusal.h"
#include "revocation.h"
#include "rootfs.h"
#include "signature.h"
#include "tpm-rollback.h"
#include "tpm.h"
#include "tool-util.h"
#include "verity.h"

#define NEWROOT_DEFAULT "/run/cfsroot/newroot"

struct setup {
        const char *sysroot, *policy_path, *newroot;
        bool dry_run;
        struct cfs_policy policy;
        struct cfs_cmdline cmdline;
        int sysroot_fd, store_fd;
        char image[CFS_POLICY_PATH_MAX + 80];     /* below the sysroot */
        char signature[CFS_POLICY_PATH_MAX + 88]; /* below the sysroot */
        struct cfs_opened_image img;
        char hex[CFS_DIGEST_HEX_SIZE];
        struct cfs_sig_info sig;
        bool signed_ok, tpm_ok;
        bool measured;                             /* step_measure extended the PCR */
        char measurement[CFS_TPM_MEASUREMENT_MAX]; /* ... with this string */
        struct cfs_object_check objects;
        uint8_t *bytes; /* fs-verity image read into memory (see open_reader) */
};

static void setup_usage(FILE *f)
{
        fprintf(f,
                "Usage: cfsroot setup-root [--sysroot DIR] [--policy FILE] [--dry-run]\n\n"
                "Verify the composefs image the kernel command line and the boot policy\n"
                "name, and mount it as the new root on the physical root's place.\n"
                "  --sysroot DIR  physical root mount point (default /sysroot)\n"
                "  --policy FILE  boot policy (default " CFS_POLICY_PATH ")\n"
                "  --newroot DIR  where the new root is assembled (default " NEWROOT_DEFAULT ")\n"
                "  --dry-run      verify only: report what would boot, mount nothing\n");
}

static int setup_parse_args(int argc, char **argv, struct setup *s)
{
        static const struct option options[] = {
            {"sysroot", required_argument, NULL, 's'}, {"policy", required_argument, NULL, 'p'},
            {"newroot", required_argument, NULL, 'n'}, {"dry-run", no_argument, NULL, 'd'},
            {"help", no_argument, NULL, 'h'},          {},
        };
        int c;
        s->sysroot = "/sysroot";
        s->policy_path = CFS_POLICY_PATH;
        s->newroot = NEWROOT_DEFAULT;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 's':
                        s->sysroot = optarg;
                        break;
                case 'p':
                        s->policy_path = optarg;
                        break;
                case 'n':
                        s->newroot = optarg;
                        break;
                case 'd':
                        s->dry_run = true;
                        break;
                case 'h':
                        setup_usage(stdout);
                        exit(CFS_EXIT_OK);
                default:
                        return -EINVAL;
                }
        }
        if (optind != argc) {
                setup_usage(stderr);
                return -EINVAL;
        }
        return 0;
}

/* Step 1: policy + command line. A missing policy file means the built-in (strict) defaults. */
static int step_config(struct setup *s)
{
        struct cfs_error err = {};
        int r = cfs_policy_load(s->policy_path, &s->policy, &err);
        if (r == -ENOENT) {
                cfs_policy_init(&s->policy);
                log_warning("%s does not exist: using the built-in policy (signature required)",
                            s->policy_path);
        } else if (r < 0) {
                return refuse(CFS_REFUSE_POLICY, "%s", cfs_error_text(&err, r));
        }
        r = cfs_cmdline_load(&s->cmdline, &err);
        if (r < 0)
                return refuse(CFS_REFUSE_POLICY, "%s", cfs_error_text(&err, r));
        r = cfs_policy_apply_cmdline(&s->policy, &s->cmdline, &err);
        if (r < 0)
                return refuse(CFS_REFUSE_POLICY, "%s", cfs_error_text(&err, r));
        return 0;
}

/* Where the image and its signature are: command line, policy, or images/<digest> in the store. */
static int step_locate(struct setup *s)
{
        const char *store = s->policy.store + (s->policy.store[0] == '/');
        char hex[CFS_DIGEST_HEX_SIZE];
        if (s->policy.image[0]) {
                snprintf(s->image, sizeof(s->image), "%s", s->policy.image + 1);
        } else if (s->cmdline.has_digest) {
                cfs_digest_to_hex(s->cmdline.digest, hex);
                snprintf(s->image, sizeof(s->image), "%s/images/%s", store, hex);
        } else {
                return refuse(CFS_REFUSE_IMAGE_MISSING,
                              "no image to boot: the kernel command line has no composefs=<digest> "
                              "or cfsroot.image=, and the policy sets no Image=");
        }
        if (s->cmdline.signature[0])
                snprintf(s->signature, sizeof(s->signature), "%s", s->cmdline.signature + 1);
        else
                snprintf(s->signature, sizeof(s->signature), "%s.sig", s->image);
        s->sysroot_fd = open(s->sysroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (s->sysroot_fd < 0)
                return refuse(CFS_REFUSE_IMAGE_MISSING, "physical root %s: cannot open: %s",
                              s->sysroot, strerror(errno));
        return 0;
}

/* Step 2: the image bytes and their digest. */
static int step_open_image(struct setup *s)
{
        struct cfs_error err = {};
        int r = cfs_image_open_verified(s->sysroot_fd, s->image, &s->img, &err);
        if (r < 0)
                return refuse(CFS_REFUSE_IMAGE_MISSING, "%s/%s: %s", s->sysroot, s->image,
                              cfs_error_text(&err, r));
        cfs_digest_to_hex(s->img.digest, s->hex);
        return 0;
}

static int check_signature(struct setup *s)
{
        struct cfs_error err = {};
        _cleanup_free_ char *sig = NULL;
        size_t len = 0;
        char path[CFS_POLICY_PATH_MAX + 128];
        snprintf(path, sizeof(path), "%s/%s", s->sysroot, s->signature);
        int r = cfs_read_file(path, CFS_SIG_MAX_SIZE, &sig, &len);
        if (r < 0)
                return refuse(CFS_REFUSE_SIGNATURE,
                              "the policy requires a signature, but %s cannot be read: %s", path,
                              strerror(-r));
        _cleanup_(cfs_trust_freep) struct cfs_trust *trust = NULL;
        struct stat st;
        r = stat(s->policy.certificates, &st) < 0 ? -errno
            : S_ISDIR(st.st_mode) ? cfs_trust_load_dir(s->policy.certificates, &trust, &err)
                                  : cfs_trust_load_file(s->policy.certificates, &trust, &err);
        if (r < 0)
                return refuse(CFS_REFUSE_SIGNATURE, "trusted certificates %s: %s",
                              s->policy.certificates, cfs_error_text(&err, r));
        r = cfs_verify_digest(trust, s->img.digest, (const uint8_t *)sig, len, &s->sig, &err);
        if (r < 0)
                return refuse(CFS_REFUSE_SIGNATURE, "image %s/%s (digest %s), signature %s: %s",
                              s->sysroot, s->image, s->hex, path, cfs_error_text(&err, r));
        s->signed_ok = true;
        return 0;
}

static int check_revoked_and_generation(struct setup *s)
{
        struct cfs_error err = {};
        if (s->policy.revoked[0]) {
                _cleanup_(cfs_revocation_freep) struct cfs_revocation *rev = NULL;
                int r = cfs_revocation_load(s->policy.revoked, &rev, &err);
                if (r < 0)
                        return refuse(CFS_REFUSE_POLICY, "%s", cfs_error_text(&err, r));
                if (cfs_revocation_has_image(rev, s->img.digest))
                        return refuse(CFS_REFUSE_SIGNATURE,
                                      "image %s/%s: digest %s is revoked (%s)", s->sysroot,
                                      s->image, s->hex, s->policy.revoked);
                if (s->signed_ok && cfs_revocation_has_key(rev, s->sig.key_id))
                        return refuse(CFS_REFUSE_SIGNATURE,
                                      "image %s/%s: its signing key (%s) is revoked (%s)",
                                      s->sysroot, s->image, s->sig.signer, s->policy.revoked);
        }
        if (s->sig.meta.generation < s->policy.min_generation)
                return refuse(CFS_REFUSE_SIGNATURE,
                              "image %s/%s: security generation %" PRIu64
                              " is below the minimum %" PRIu64 " that may boot",
                              s->sysroot, s->image, s->sig.meta.generation,
                              s->policy.min_generation);
        return 0;
}

static bool signature_present(const struct setup *s)
{
        return faccessat(s->sysroot_fd, s->signature, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The TPM-sealed boot policy must allow this digest (and signer, generation). */
static int check_tpm(struct setup *s)
{
        struct cfs_error err = {};
        const char *blob = s->policy.tpm_blob + (s->policy.tpm_blob[0] == '/');
        const char *approvals = s->policy.tpm_approvals + (s->policy.tpm_approvals[0] == '/');
        int r = cfs_tpm_check_boot(
            s->policy.tpm_device, s->sysroot_fd, blob, approvals,
            s->policy.tpm_require_creation ? CFS_TPM_UNSEAL_REQUIRE_CREATION : 0, s->img.digest,
            s->signed_ok ? s->sig.key_id : NULL, s->sig.meta.generation, NULL, &err);
        if (r < 0)
                /* the library's message names the blob */
                return refuse(CFS_REFUSE_TPM, "image %s/%s (digest %s): %s", s->sysroot, s->image,
                              s->hex, cfs_error_text(&err, r));
        s->tpm_ok = true;
        return 0;
}

static const char *trust_mode(const struct setup *s)
{
        return s->signed_ok ? "signed" : s->tpm_ok ? "tpm-policy" : "command-line";
}

static const char *event_log(void)
{
        const char *p = getenv("CFSROOT_TPM_EVENT_LOG"); /* tests */
        return p ? p : CFS_TPM_EVENT_LOG_DEFAULT;
}

/*
 * Measure what boots into the TPM (PCR MeasurePCR=, default 13) with an event
 * record, so secrets can be sealed to this image. Without a TPM this is a
 * warning, unless the policy requires the TPM.
 */
static int step_measure(struct setup *s)
{
        struct cfs_error err = {};
        if (s->policy.measure_pcr < 0)
                return 0;
        const uint8_t *key_id = s->signed_ok ? s->sig.key_id : NULL;
        int r = cfs_tpm_measure_boot(s->policy.tpm_device, (unsigned)s->policy.measure_pcr,
                                     s->img.digest, trust_mode(s), key_id, event_log(), &err);
        if (r == 0) {
                /* the string the library extended, for the boot record (`cfsroot status`) */
                s->measured = true;
                cfs_tpm_measurement_string(s->img.digest, trust_mode(s), key_id, s->measurement,
                                           sizeof(s->measurement));
        }
        if (r < 0 && s->policy.require_tpm)
                return refuse(CFS_REFUSE_TPM, "cannot measure image %s into PCR %d: %s", s->hex,
                              s->policy.measure_pcr, cfs_error_text(&err, r));
        if (r == -ENODEV)
                log_info("no TPM: the booted image is not measured");
        else if (r < 0)
                log_warning("cannot measure image %s into PCR %d: %s", s->hex,
                            s->policy.measure_pcr, cfs_error_text(&err, r));
        return 0;
}

/*
 * The TPM's anti-rollback floor (AntiRollback=): the signed generation must not
 * be below it. Without a TPM or without the index only AntiRollback=required
 * refuses; any other failure (a squatted index, a TPM error) refuses always.
 */
static int check_rollback(struct setup *s)
{
        struct cfs_error err = {};
        if (s->policy.anti_rollback == CFS_ROLLBACK_OFF)
                return 0;
        int r = cfs_tpm_rollback_check(s->policy.tpm_device, s->sig.meta.generation, NULL, &err);
        if ((r == -ENOENT || r == -ENODEV) && s->policy.anti_rollback != CFS_ROLLBACK_REQUIRED) {
                log_info("anti-rollback floor not checked: %s", cfs_error_text(&err, r));
                return 0;
        }
        if (r < 0)
                return refuse(CFS_REFUSE_TPM, "image %s/%s (digest %s): %s", s->sysroot, s->image,
                              s->hex, cfs_error_text(&err, r));
        return 0;
}

/* Step 3: is this digest trusted? */
static int step_trust(struct setup *s)
{
        if (s->cmdline.has_digest && memcmp(s->cmdline.digest, s->img.digest, CFS_DIGEST_SIZE)) {
                char want[CFS_DIGEST_HEX_SIZE];
                cfs_digest_to_hex(s->cmdline.digest, want);
                return refuse(CFS_REFUSE_DIGEST,
                              "image %s/%s has digest %s, but the kernel command line expects "
                              "composefs=%s",
                              s->sysroot, s->image, s->hex, want);
        }
        if (s->policy.require_signature) {
                int r = check_signature(s);
                if (r != 0)
                        return r;
        } else if (s->policy.require_tpm && signature_present(s)) {
                /* a TPM policy naming a signing key needs the signature checked;
                 * a signature that is there must be valid */
                int r = check_signature(s);
                if (r != 0)
                        return r;
        }
        if (s->policy.require_tpm) {
                int r = check_tpm(s);
                if (r != 0)
                        return r;
        }
        if (!s->signed_ok && !s->tpm_ok && !(s->policy.cmdline_digest && s->cmdline.has_digest))
                return refuse(CFS_REFUSE_SIGNATURE,
                              "image %s/%s (digest %s): nothing vouches for it: no signature is "
                              "required and the command line gives no composefs= digest the "
                              "policy trusts",
                              s->sysroot, s->image, s->hex);
        int r = check_revoked_and_generation(s);
        if (r != 0)
                return r;
        return check_rollback(s);
}

/*
 * The reader's view of the image. A sealed memfd copy is mapped. An fs-verity
 * file is read into memory instead: a block that fails verification gives EIO
 * to read() but SIGBUS to a mapping, and setup-root must refuse with a message,
 * not die.
 */
static int open_reader(struct setup *s, struct cfs_image **img, struct cfs_error *err)
{
        if (s->img.source != CFS_IMAGE_VERITY)
                return cfs_image_open_fd(s->img.fd, img, err);
        if (!s->bytes) {
                s->bytes = malloc(s->img.size ? s->img.size : 1);
                if (!s->bytes)
                        return cfs_error_set(err, ENOMEM, "cannot hold the image in memory");
                int r = cfs_pread_all(s->img.fd, s->bytes, s->img.size, 0);
                if (r < 0) {
                        free(s->bytes);
                        s->bytes = NULL;
                        return cfs_error_set(err, -r, "cannot read it: %s%s", strerror(-r),
                                             r == -EIO ? " (its blocks do not match its fs-verity "
                                                         "Merkle tree: modified on disk?)"
                                                       : "");
                }
        }
        return cfs_image_open_buffer(s->bytes, s->img.size, img, err);
}

/* Step 4: the image must be well-formed before the kernel parses it. */
static int step_validate(struct setup *s)
{
        struct cfs_error err = {};
        _cleanup_(cfs_image_closep) struct cfs_image *img = NULL;
        int r = open_reader(s, &img, &err);
        if (r >= 0)
                r = cfs_image_check(img, &err);
        if (r < 0)
                return refuse(CFS_REFUSE_IMAGE_INVALID, "image %s/%s (digest %s) is invalid: %s",
                              s->sysroot, s->image, s->hex, cfs_error_text(&err, r));
        return 0;
}

static int open_store(struct setup *s, int *ret)
{
        char path[CFS_POLICY_PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/objects", s->policy.store + (s->policy.store[0] == '/'));
        int fd = openat(s->sysroot_fd, path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return refuse(CFS_REFUSE_STORE, "object store %s/%s: %s", s->sysroot, path,
                              strerror(errno));
        *ret = fd;
        return 0;
}

/*
 * Step 4b: every object the image names is in the store, of the right size, and
 * has fs-verity unless the policy allows otherwise. verity=require is the real
 * guarantee; this refuses a store copied without fs-verity before switch_root
 * instead of failing file by file in the booted system.
 */
static int step_objects(struct setup *s)
{
        struct cfs_error err = {};
        int r = open_store(s, &s->store_fd);
        if (r != 0)
                return r;
        _cleanup_(cfs_image_closep) struct cfs_image *img = NULL;
        _cleanup_(cfs_tree_freep) struct cfs_tree *tree = NULL;
        r = open_reader(s, &img, &err);
        if (r >= 0)
                r = cfs_image_load(img, &tree, &err);
        if (r < 0)
                return refuse(CFS_REFUSE_IMAGE_INVALID, "image %s/%s (digest %s) is invalid: %s",
                              s->sysroot, s->image, s->hex, cfs_error_text(&err, r));
        r = cfs_object_check(s->store_fd, tree, !s->policy.allow_unverified, &s->objects, &err);
        if (r < 0)
                return refuse(CFS_REFUSE_STORE, "image %s/%s, object store %s/%s: %s", s->sysroot,
                              s->image, s->sysroot, s->policy.store + (s->policy.store[0] == '/'),
                              cfs_error_text(&err, r));
        return 0;
}

/* Step 5: mount the composefs overlay, then /etc, /var, and move it onto the sysroot. */
static int step_mount(struct setup *s)
{
        struct cfs_error err = {};
        _cleanup_close_ int meta_fd = -1, root_fd = -1;
        bool loop = false;
        if (cfs_mount_erofs(s->img.fd, &meta_fd, &loop, &err) < 0)
                return refuse(CFS_REFUSE_KERNEL, "image %s/%s: %s", s->sysroot, s->image,
                              err.message);
        struct cfs_mount_options mo = {.insecure_no_verity = s->policy.allow_unverified};
        if (cfs_mount_overlay(meta_fd, s->store_fd, &mo, &root_fd, &err) < 0)
                return refuse(CFS_REFUSE_KERNEL, "%s", err.message);
        if (mkdir_p(s->newroot) < 0 || cfs_mount_attach(root_fd, s->newroot, &err) < 0)
                return refuse(CFS_REFUSE_MOUNT, "%s", err.message[0] ? err.message : s->newroot);
        char dep[CFS_DIGEST_HEX_SIZE];
        memcpy(dep, s->hex, sizeof(dep));
        struct cfs_rootfs_options ro = {
            .etc = s->policy.etc,
            .var = s->policy.var,
            .sysroot_fd = s->sysroot_fd,
            .state_dir = s->policy.state,
            .deployment = dep,
        };
        if (cfs_rootfs_setup_state(s->newroot, &ro, &err) < 0 ||
            cfs_rootfs_switch(s->sysroot, s->newroot, &err) < 0) {
                cfs_rootfs_unmount_all(s->newroot);
                return refuse(CFS_REFUSE_MOUNT, "%s", err.message);
        }
        (void)loop;
        return 0;
}

static void report(const struct setup *s, bool would)
{
        const char *mode = s->signed_ok ? "signed"
                           : s->tpm_ok  ? "TPM policy"
                                        : "command-line digest";
        char objects[160];
        if (s->policy.allow_unverified)
                snprintf(objects, sizeof(objects),
                         "%" PRIu64 " objects (%" PRIu64 " without fs-verity), "
                         "WITHOUT verity=require (insecure policy)",
                         s->objects.objects, s->objects.without_verity);
        else
                snprintf(objects, sizeof(objects), "%" PRIu64 " objects, verity=require",
                         s->objects.objects);
        report_booted("%s composefs image %s/%s, digest %s, %s%s%s%s, %s, %s",
                      would ? "would boot" : "booted", s->sysroot, s->image, s->hex, mode,
                      s->signed_ok ? " by " : "", s->signed_ok ? s->sig.signer : "",
                      s->signed_ok && s->tpm_ok ? ", allowed by the TPM policy" : "",
                      cfs_image_source_to_string(s->img.source), objects);
}

/* For `cfsroot status` on the booted system (/run survives switch_root); not fatal. */
_Static_assert(sizeof(((struct cfs_boot_record *)0)->measurement) >= CFS_TPM_MEASUREMENT_MAX,
               "the boot record holds a measurement string");

static void record_booted(const struct setup *s)
{
        struct cfs_boot_record rec = {.generation = s->sig.meta.generation};
        const char *path = getenv("CFSROOT_BOOT_RECORD"); /* tests */
        snprintf(rec.digest, sizeof(rec.digest), "%s", s->hex);
        snprintf(rec.image, sizeof(rec.image), "/%s", s->image);
        snprintf(rec.mode, sizeof(rec.mode), "%s",
                 s->signed_ok ? "signed"
                 : s->tpm_ok  ? "tpm-policy"
                              : "command-line-digest");
        if (s->signed_ok) {
                char key[CFS_DIGEST_HEX_SIZE];
                cfs_digest_to_hex(s->sig.key_id, key);
                snprintf(rec.signer, sizeof(rec.signer), "%s", s->sig.signer);
                snprintf(rec.key_id, sizeof(rec.key_id), "sha256:%s", key);
                snprintf(rec.name, sizeof(rec.name), "%s", s->sig.meta.name);
                snprintf(rec.version, sizeof(rec.version), "%s", s->sig.meta.version);
        }
        snprintf(rec.source, sizeof(rec.source), "%s", cfs_image_source_to_string(s->img.source));
        snprintf(rec.verity, sizeof(rec.verity), "%s",
                 s->policy.allow_unverified ? "off" : "require");
        snprintf(rec.etc, sizeof(rec.etc), "%s", cfs_etc_mode_to_string(s->policy.etc));
        snprintf(rec.var, sizeof(rec.var), "%s", cfs_var_mode_to_string(s->policy.var));
        if (s->tpm_ok)
                snprintf(rec.tpm_policy, sizeof(rec.tpm_policy), "allowed");
        if (s->measured) {
                snprintf(rec.measured_pcr, sizeof(rec.measured_pcr), "%d", s->policy.measure_pcr);
                snprintf(rec.measurement, sizeof(rec.measurement), "%s", s->measurement);
        }
        /* the record describes the machine's root: only for the real /sysroot by default */
        if (!path && strcmp(s->sysroot, "/sysroot") != 0)
                return;
        if (!path)
                path = CFS_BOOT_RECORD_PATH;
        int r = cfs_boot_record_write(path, &rec);
        if (r < 0)
                log_warning("cannot write the boot record %s: %s", path, strerror(-r));
}

int cmd_setup_root(int argc, char **argv)
{
        struct setup s = {.sysroot_fd = -1, .store_fd = -1, .img.fd = -1};
        int r;

        if (setup_parse_args(argc, argv, &s) < 0)
                return CFS_EXIT_USAGE;
        if ((r = step_config(&s)) != 0 || (r = step_locate(&s)) != 0 ||
            (r = step_open_image(&s)) != 0 || (r = step_trust(&s)) != 0 ||
            (r = step_validate(&s)) != 0 || (r = step_objects(&s)) != 0)
                goto out;
        if (s.dry_run) {
                report(&s, true);
                goto out;
        }
        r = step_measure(&s);
        if (r == 0)
                r = step_mount(&s);
        if (r == 0) {
                report(&s, false);
                record_booted(&s);
        }
out:
        if (s.img.fd >= 0)
                close(s.img.fd);
        if (s.sysroot_fd >= 0)
                close(s.sysroot_fd);
        if (s.store_fd >= 0)
                close(s.store_fd);
        free(s.bytes);
        return r;
}

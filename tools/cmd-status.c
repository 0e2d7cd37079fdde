/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-status.c - `cfsroot status`: what the initrd verified and booted. Runs
 * on the booted system (cfsroot-status.service logs it at every boot): reads
 * the record setup-root left in /run/cfsroot/booted (boot-record.h) and checks
 * it against the mount that is really at / (/proc/self/mountinfo): an overlay,
 * with verity=require unless the record says the policy allowed otherwise.
 * Exit 0: verified composefs root; 1: no record, or record and mount disagree.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot-record.h"
#include "commands.h"
#include "fileio.h"
#include "json.h"
#include "tool-util.h"

#define MOUNTINFO_MAX (4u * 1024u * 1024u)

struct root_mount {
        char fstype[64];
        char source[256];
        char options[1024]; /* per-superblock options */
        bool found;
};

static void status_usage(FILE *f)
{
        fprintf(f, "Usage: cfsroot status [--json] [--record FILE] [--mountinfo FILE]\n\n"
                   "Show the composefs image the initrd verified and mounted as /.\n"
                   "  --json            one JSON object on standard output\n"
                   "  --record FILE     boot record (default " CFS_BOOT_RECORD_PATH ")\n"
                   "  --mountinfo FILE  mount table (default /proc/self/mountinfo)\n");
}

/* The last mountinfo line whose mount point is "/" is the mount visible as /. */
static int find_root_mount(const char *path, struct root_mount *m)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = cfs_read_file(path, MOUNTINFO_MAX, &text, &len);
        if (r < 0)
                return r;
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER */
                char mountpoint[16], fstype[64], source[256], super[1024];
                if (sscanf(line, "%*s %*s %*s %*s %15s", mountpoint) != 1 ||
                    strcmp(mountpoint, "/") != 0)
                        continue;
                const char *sep = strstr(line, " - ");
                if (!sep || sscanf(sep + 3, "%63s %255s %1023s", fstype, source, super) != 3)
                        continue;
                snprintf(m->fstype, sizeof(m->fstype), "%s", fstype);
                snprintf(m->source, sizeof(m->source), "%s", source);
                snprintf(m->options, sizeof(m->options), "%s", super);
                m->found = true;
        }
        return m->found ? 0 : -ENOENT;
}

static bool has_option(const char *options, const char *opt)
{
        size_t n = strlen(opt);
        for (const char *p = options; p; p = strchr(p, ',')) {
                if (*p == ',')
                        p++;
                if (!strncmp(p, opt, n) && (p[n] == ',' || p[n] == 0))
                        return true;
        }
        return false;
}

/* Does the mount at / match what the record says was booted? NULL if yes. */
static const char *mismatch(const struct cfs_boot_record *rec, const struct root_mount *m)
{
        if (!m->found)
                return "/proc/self/mountinfo has no mount at /";
        if (strcmp(m->fstype, "overlay") != 0)
                return "/ is not an overlay mount";
        if (!strcmp(rec->verity, "require") && !has_option(m->options, "verity=require"))
                return "/ is mounted without verity=require";
        return NULL;
}

static void print_json_field(const char *key, const char *value, bool comma)
{
        printf("%s\"%s\":", comma ? "," : "", key);
        json_print_string(stdout, value);
}

static void print_json(const struct cfs_boot_record *rec, const struct root_mount *m,
                       const char *problem)
{
        printf("{\"verified\":%s", problem ? "false" : "true");
        if (problem)
                print_json_field("problem", problem, true);
        print_json_field("digest", rec->digest, true);
        print_json_field("image", rec->image, true);
        print_json_field("mode", rec->mode, true);
        print_json_field("signer", rec->signer, true);
        print_json_field("key_id", rec->key_id, true);
        print_json_field("name", rec->name, true);
        print_json_field("version", rec->version, true);
        printf(",\"generation\":%" PRIu64, rec->generation);
        print_json_field("source", rec->source, true);
        print_json_field("verity", rec->verity, true);
        print_json_field("etc", rec->etc, true);
        print_json_field("var", rec->var, true);
        printf(",\"tpm_policy\":%s", rec->tpm_policy[0] ? "true" : "false");
        if (rec->measured_pcr[0]) {
                unsigned pcr;
                char end;
                /* a number when it is one (0-23), else the record's text as a string */
                if (sscanf(rec->measured_pcr, "%2u%c", &pcr, &end) == 1 && pcr < 24)
                        printf(",\"measured_pcr\":%u", pcr);
                else
                        print_json_field("measured_pcr", rec->measured_pcr, true);
                print_json_field("measurement", rec->measurement, true);
        }
        print_json_field("root_fstype", m->fstype, true);
        print_json_field("root_options", m->options, true);
        printf("}\n");
}

/* Record values are one line each, but a certificate subject could hold anything. */
static const char *printable(const char *v, char *buf, size_t size)
{
        size_t o = 0;
        for (const unsigned char *p = (const unsigned char *)v; *p && o + 5 < size; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        o += (size_t)snprintf(buf + o, size - o, "\\x%02x", *p);
                else
                        buf[o++] = (char)*p;
        }
        buf[o] = 0;
        return buf;
}

static void print_text(const struct cfs_boot_record *rec, const struct root_mount *m)
{
        char buf[1200], buf2[1200];
        printf("composefs root verified by cfsroot\n");
        printf("  image       %s\n", printable(rec->image, buf, sizeof(buf)));
        printf("  digest      %s\n", rec->digest);
        if (!strcmp(rec->mode, "signed"))
                printf("  trust       signed by %s (key %s)\n",
                       printable(rec->signer, buf, sizeof(buf)), rec->key_id);
        else
                printf("  trust       %s\n", rec->mode);
        if (rec->name[0] || rec->version[0])
                printf("  image meta  %s %s, security generation %" PRIu64 "\n",
                       printable(rec->name, buf, sizeof(buf)),
                       printable(rec->version, buf2, sizeof(buf2)), rec->generation);
        printf("  source      %s\n", rec->source);
        printf("  root        %s (%s)\n", m->fstype, m->options);
        printf("  etc, var    %s, %s\n", rec->etc, rec->var);
        if (rec->tpm_policy[0])
                printf("  TPM policy  the sealed boot policy allows this image\n");
        if (rec->measured_pcr[0])
                printf("  measured    PCR %s: %s\n", printable(rec->measured_pcr, buf, sizeof(buf)),
                       printable(rec->measurement, buf2, sizeof(buf2)));
}

int cmd_status(int argc, char **argv)
{
        static const struct option options[] = {
            {"json", no_argument, NULL, 'j'},
            {"record", required_argument, NULL, 'r'},
            {"mountinfo", required_argument, NULL, 'm'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        const char *record = CFS_BOOT_RECORD_PATH, *mountinfo = "/proc/self/mountinfo";
        bool json = false;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'r':
                        record = optarg;
                        break;
                case 'm':
                        mountinfo = optarg;
                        break;
                case 'h':
                        status_usage(stdout);
                        return CFS_EXIT_OK;
                default:
                        status_usage(stderr);
                        return CFS_EXIT_USAGE;
                }
        }
        if (optind != argc) {
                status_usage(stderr);
                return CFS_EXIT_USAGE;
        }

        struct cfs_boot_record rec;
        struct cfs_error err = {};
        int r = cfs_boot_record_read(record, &rec, &err);
        if (r == -ENOENT) {
                if (json)
                        printf("{\"verified\":false,\"problem\":\"no boot record\"}\n");
                log_error("not booted from a cfsroot-verified composefs image (%s does not "
                          "exist)",
                          record);
                return CFS_EXIT_FAILURE;
        }
        if (r < 0)
                return log_cfs_error(r, &err, "%s", record);

        struct root_mount m = {};
        r = find_root_mount(mountinfo, &m);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "%s", mountinfo);
        const char *problem = mismatch(&rec, &m);
        if (json)
                print_json(&rec, &m, problem);
        else
                print_text(&rec, &m);
        if (problem) {
                log_error("the boot record says image %s was booted, but %s", rec.digest, problem);
                return CFS_EXIT_FAILURE;
        }
        return CFS_EXIT_OK;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-mkimage.c - `cfsroot mkimage`: build a composefs image from a directory
 * tree (optionally filling an object store) or from a composefs dump file.
 * Runs on the host (image build machines, CI).
 *
 * The image is written to an anonymous temp file next to IMAGE and only gets
 * its name after it is complete and fsync'ed: a failure (bad input, full disk)
 * never leaves a partial image behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "dump.h"
#include "fileio.h"
#include "image.h"
#include "json.h"
#include "scan.h"
#include "store.h"
#include "tool-util.h"
#include "verity.h"

struct mkimage_args {
        const char *source, *image, *store;
        bool from_dump, lax, print_digest, json, quiet;
        unsigned threads;
        struct cfs_image_options opts;
        bool version_given;
};

static void mkimage_usage(FILE *f)
{
        fprintf(f, "Usage: cfsroot mkimage [OPTIONS] DIR IMAGE\n"
                   "       cfsroot mkimage [OPTIONS] --from-dump DUMP IMAGE\n\n"
                   "Build a composefs image (EROFS metadata image) from a directory tree or\n"
                   "from a composefs dump file ('-' reads the dump from stdin).\n\n"
                   "  --store STORE      copy file contents into the object store STORE\n"
                   "                     (STORE/objects/ab/<62 hex>, fs-verity enabled where\n"
                   "                     the file system supports it)\n"
                   "  --from-dump        SOURCE is a composefs dump file\n"
                   "  --lax              parse the dump like mkcomposefs without CFS_PARSE_STRICT\n"
                   "  --print-digest     print the image's fs-verity digest on stdout\n"
                   "  --min-version N    lowest composefs format version (default 0)\n"
                   "  --max-version N    highest composefs format version (default 1)\n"
                   "  --threads N        hashing threads (default: one per CPU, two per CPU\n"
                   "                     with --store)\n"
                   "  --json             print a JSON summary on stdout\n"
                   "  -q, --quiet        no summary on stderr\n"
                   "  -h, --help         show this help\n");
}

static int parse_uint(const char *s, unsigned max, unsigned *ret)
{
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v > max || s[0] == '-')
                return -EINVAL;
        *ret = (unsigned)v;
        return 0;
}

static int mkimage_parse_args(int argc, char **argv, struct mkimage_args *a)
{
        enum {
                OPT_STORE = 256,
                OPT_FROM_DUMP,
                OPT_LAX,
                OPT_PRINT_DIGEST,
                OPT_MIN,
                OPT_MAX,
                OPT_THREADS,
                OPT_JSON
        };
        static const struct option options[] = {
            {"store", required_argument, NULL, OPT_STORE},
            {"from-dump", no_argument, NULL, OPT_FROM_DUMP},
            {"lax", no_argument, NULL, OPT_LAX},
            {"print-digest", no_argument, NULL, OPT_PRINT_DIGEST},
            {"min-version", required_argument, NULL, OPT_MIN},
            {"max-version", required_argument, NULL, OPT_MAX},
            {"threads", required_argument, NULL, OPT_THREADS},
            {"json", no_argument, NULL, OPT_JSON},
            {"quiet", no_argument, NULL, 'q'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool min_given = false, max_given = false;
        int c;

        a->opts = CFS_IMAGE_OPTIONS_DEFAULT;
        while ((c = getopt_long(argc, argv, "qh", options, NULL)) >= 0) {
                switch (c) {
                case OPT_STORE:
                        a->store = optarg;
                        break;
                case OPT_FROM_DUMP:
                        a->from_dump = true;
                        break;
                case OPT_LAX:
                        a->lax = true;
                        break;
                case OPT_PRINT_DIGEST:
                        a->print_digest = true;
                        break;
                case OPT_MIN:
                case OPT_MAX:
                        if (parse_uint(optarg, UINT_MAX,
                                       c == OPT_MIN ? &a->opts.min_version : &a->opts.max_version) <
                            0) {
                                log_error("invalid version '%s'", optarg);
                                return -EINVAL;
                        }
                        if (c == OPT_MIN)
                                min_given = true;
                        else
                                max_given = true;
                        break;
                case OPT_THREADS:
                        if (parse_uint(optarg, 1024, &a->threads) < 0 || a->threads == 0) {
                                log_error("invalid thread count '%s' (1-1024)", optarg);
                                return -EINVAL;
                        }
                        break;
                case OPT_JSON:
                        a->json = true;
                        break;
                case 'q':
                        a->quiet = true;
                        break;
                case 'h':
                        mkimage_usage(stdout);
                        exit(CFS_EXIT_OK);
                default:
                        return -EINVAL;
                }
        }
        /* mkcomposefs semantics (§5.1): giving one bound makes the other default to 0,
         * and a max below min is raised to min. */
        if (min_given != max_given) {
                if (!min_given)
                        a->opts.min_version = 0;
                if (!max_given)
                        a->opts.max_version = 0;
        }
        if (a->opts.max_version < a->opts.min_version)
                a->opts.max_version = a->opts.min_version;
        if (a->opts.min_version > 1 || a->opts.max_version > 1) {
                log_error("composefs format version must be 0 or 1 (got min %u, max %u)",
                          a->opts.min_version, a->opts.max_version);
                return -EINVAL;
        }
        if (argc - optind != 2) {
                log_error("expected SOURCE and IMAGE (see 'cfsroot mkimage --help')");
                return -EINVAL;
        }
        a->source = argv[optind];
        a->image = argv[optind + 1];
        if (a->from_dump && a->store) {
                log_error("--store only applies to a directory source, not to --from-dump");
                return -EINVAL;
        }
        if (!a->from_dump && a->lax) {
                log_error("--lax only applies to --from-dump");
                return -EINVAL;
        }
        return 0;
}

static void scan_progress(const struct cfs_scan_progress *p, void *userdata)
{
        double start = *(double *)userdata, el = now_sec() - start;
        char b1[32], b2[32];
        progress_update(
            "scanning: %" PRIu64 " entries, %" PRIu64 " files, %s of %s hashed (%.0f MB/s)",
            p->entries, p->files_hashed, format_bytes(p->bytes_hashed, b1),
            format_bytes(p->bytes_total, b2), el > 0 ? (double)p->bytes_hashed / el / 1e6 : 0.0);
}

static int load_tree(const struct mkimage_args *a, struct cfs_tree **ret,
                     struct cfs_scan_result *result)
{
        struct cfs_error err = {};
        int r;

        if (a->from_dump) {
                struct cfs_dump_options o = {.strict = !a->lax};
                _cleanup_close_ int fd = -1;
                int in = STDIN_FILENO;
                if (strcmp(a->source, "-") != 0) {
                        fd = open(a->source, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                        if (fd < 0) {
                                r = -errno;
                                log_error_errno(r, "cannot open dump %s", a->source);
                                return r;
                        }
                        in = fd;
                }
                r = cfs_dump_parse_fd(in, strcmp(a->source, "-") ? a->source : "<stdin>", &o, ret,
                                      &err);
                if (r < 0)
                        log_error("%s", cfs_error_text(&err, r));
                return r;
        }

        _cleanup_(cfs_store_freep) struct cfs_store *store = NULL;
        if (a->store) {
                r = cfs_store_open(a->store, true, &store, &err);
                if (r < 0) {
                        /* the store's messages name its path */
                        log_cfs_error(r, &err, "cannot open the object store");
                        return r;
                }
        }
        double start = now_sec();
        struct cfs_scan_options so = {
            .store = store,
            .threads = a->threads,
            .progress = scan_progress,
            .userdata = &start,
        };
        r = cfs_scan_dir(a->source, &so, ret, result, &err);
        progress_done();
        /* an error about SRC itself names it already */
        size_t len = strlen(a->source);
        if (r < 0 && strncmp(err.message, a->source, len) == 0 && err.message[len] == ':')
                log_error("cannot scan %s", cfs_error_text(&err, r));
        else if (r < 0)
                log_cfs_error(r, &err, "cannot scan %s", a->source);
        return r;
}

static void print_json(const struct mkimage_args *a, const char *hex, uint64_t size, size_t entries,
                       const struct cfs_scan_result *sr)
{
        printf("{\"image\":");
        json_print_string(stdout, a->image);
        printf(",\"digest\":\"%s\",\"size\":%" PRIu64 ",\"entries\":%zu", hex, size, entries);
        if (!a->from_dump)
                printf(",\"digests_from_verity\":%" PRIu64, sr->digests_from_verity);
        if (a->store)
                printf(",\"objects_added\":%" PRIu64 ",\"objects_existing\":%" PRIu64
                       ",\"objects_without_verity\":%" PRIu64,
                       sr->objects_added, sr->objects_existed, sr->objects_without_verity);
        printf("}\n");
}

int cmd_mkimage(int argc, char **argv)
{
        struct mkimage_args a = {};
        struct cfs_scan_result sr = {};
        struct cfs_error err = {};
        _cleanup_(cfs_tree_freep) struct cfs_tree *tree = NULL;
        struct cfs_tmpfile tmp = CFS_TMPFILE_INIT;
        uint8_t digest[CFS_DIGEST_SIZE];
        char hex[CFS_DIGEST_HEX_SIZE];
        int r;

        if (mkimage_parse_args(argc, argv, &a) < 0)
                return CFS_EXIT_USAGE;

        double start = now_sec();
        if (load_tree(&a, &tree, &sr) < 0)
                return CFS_EXIT_FAILURE;

        r = cfs_tmpfile_open(a.image, &tmp);
        if (r < 0)
                return log_error_errno(r, "cannot create %s", a.image);
        r = cfs_image_write(tree, &a.opts, tmp.fd, &err);
        if (r < 0) {
                /* the node's path is the position in the source */
                log_cfs_error(r, &err, "cannot write image %s from %s", a.image,
                              a.from_dump && strcmp(a.source, "-") == 0 ? "<stdin>" : a.source);
                goto fail;
        }
        off_t size = lseek(tmp.fd, 0, SEEK_END);
        if (size < 0 || lseek(tmp.fd, 0, SEEK_SET) < 0) {
                r = -errno;
                log_error_errno(r, "cannot seek in %s", a.image);
                goto fail;
        }
        r = cfs_verity_digest_fd(tmp.fd, digest);
        if (r < 0) {
                log_error_errno(r, "cannot compute the fs-verity digest of %s", a.image);
                goto fail;
        }
        r = cfs_tmpfile_commit(&tmp, a.image, true);
        if (r < 0) {
                log_error_errno(r, "cannot save %s", a.image);
                goto fail;
        }
        cfs_tmpfile_discard(&tmp);

        cfs_digest_to_hex(digest, hex);
        if (a.json)
                print_json(&a, hex, (uint64_t)size, cfs_tree_n_nodes(tree), &sr);
        else if (a.print_digest)
                printf("%s\n", hex);
        if (!a.quiet && !a.json) {
                char b[32];
                log_info("%s: %zu entries, %s, built in %.2f s", a.image, cfs_tree_n_nodes(tree),
                         format_bytes((uint64_t)size, b), now_sec() - start);
                if (a.store)
                        log_info("%s: %" PRIu64 " objects added, %" PRIu64 " already present",
                                 a.store, sr.objects_added, sr.objects_existed);
                /* only when there are some: most sources have no fs-verity */
                if (sr.digests_from_verity > 0)
                        log_info("%s: %" PRIu64 " digests taken from fs-verity", a.source,
                                 sr.digests_from_verity);
        }
        if (a.store && sr.objects_without_verity > 0 && !a.quiet)
                log_warning("%s: fs-verity is not available on this file system: %" PRIu64
                            " objects have no fs-verity; a verity=require mount will refuse them "
                            "until 'fsverity enable' is run on a file system that supports it",
                            a.store, sr.objects_without_verity);
        return CFS_EXIT_OK;
fail:
        cfs_tmpfile_discard(&tmp);
        return CFS_EXIT_FAILURE;
}

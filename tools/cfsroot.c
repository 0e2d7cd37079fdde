/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cfsroot.c - entry point of the cfsroot command: a table of subcommands, one
 * file each. Runs on the host (building and checking images) and in the initrd
 * (setup-root).
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "tool-util.h"

static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *summary;
} commands[] = {
    {"mkimage", cmd_mkimage, "build a composefs image from a directory or a dump file"},
    {"dump", cmd_dump, "print an image as a composefs dump file"},
    {"check", cmd_check, "validate an untrusted image"},
    {"digest", cmd_digest, "print fs-verity sha256 digests of files"},
    {"sign", cmd_sign, "sign the digest of an image (PKCS#7, as fsverity sign)"},
    {"verify", cmd_verify, "check an image signature against trusted certificates"},
    {"seal", cmd_seal, "seal a boot policy (digests or signing key) to the TPM's PCRs"},
    {"unseal", cmd_unseal, "unseal a boot policy with the TPM and print it"},
    {"seal-approve", cmd_seal_approve,
     "sign PCR values a blob sealed with --public-key may unseal in"},
    {"setup-root", cmd_setup_root, "initrd: verify and mount the composefs root on /sysroot"},
    {"rollback", cmd_rollback, "TPM anti-rollback floor: init, status, raise after a good boot"},
    {"status", cmd_status, "show the composefs image the initrd verified and booted"},
};

static void usage(FILE *f)
{
        fprintf(f, "Usage: cfsroot COMMAND [OPTIONS] ...\n\nCommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
        fprintf(f, "\nRun 'cfsroot COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return CFS_EXIT_USAGE;
        }
        if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
                usage(stdout);
                return CFS_EXIT_OK;
        }
        if (!strcmp(argv[1], "--version")) {
                printf("cfsroot %s\n", CFSROOT_VERSION);
                return CFS_EXIT_OK;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (!strcmp(argv[1], commands[i].name))
                        return commands[i].run(argc - 1, argv + 1);
        log_error("unknown command '%s' (see 'cfsroot --help')", argv[1]);
        return CFS_EXIT_USAGE;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tool-util.h - what the cfsroot subcommands share: logging (the one place that
 * prints), exit codes, terminal progress lines, option helpers. Host and initrd.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "macros.h"

/* Exit codes of cfsroot (documented in docs/cfsroot.1.md). */
enum {
        CFS_EXIT_OK = 0,
        CFS_EXIT_FAILURE = 1, /* operation failed (I/O, invalid input, …) */
        CFS_EXIT_USAGE = 2,   /* bad command line */
};

extern const char *program_name;

void log_error(const char *fmt, ...) _printf_(1, 2);
void log_warning(const char *fmt, ...) _printf_(1, 2);
void log_info(const char *fmt, ...) _printf_(1, 2);
/* Print "cfsroot: <message>: <strerror(-r)>" and return CFS_EXIT_FAILURE. */
int log_error_errno(int r, const char *fmt, ...) _printf_(2, 3);
/* Print the cfs_error message if one was recorded, else "<what>: strerror". */
int log_cfs_error(int r, const struct cfs_error *e, const char *fmt, ...) _printf_(3, 4);

/* Progress on a terminal: one line on stderr, rewritten at most ~10 times a
 * second; nothing at all when stderr is not a terminal. */
void progress_update(const char *fmt, ...) _printf_(1, 2);
void progress_done(void);

/* mkdir -p with mode 0755; 0 or -errno. */
int mkdir_p(const char *path);

/* Human sizes, e.g. "12.3 MiB". */
const char *format_bytes(uint64_t n, char buf[32]);
/* Elapsed monotonic seconds since an earlier now_sec(). */
double now_sec(void);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tool-util.c - logging, progress and small helpers of the cfsroot command. Host and initrd. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool-util.h"

const char *program_name = "cfsroot";
static bool progress_shown;

_printf_(2, 0) static void vlog(const char *level, const char *fmt, va_list ap)
{
        progress_done();
        fprintf(stderr, "%s: %s", program_name, level);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
}

void log_error(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vlog("", fmt, ap);
        va_end(ap);
}

void log_warning(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vlog("warning: ", fmt, ap);
        va_end(ap);
}

void log_info(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        progress_done();
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

int log_error_errno(int r, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_error("%s: %s", msg, strerror(r < 0 ? -r : r));
        return CFS_EXIT_FAILURE;
}

int log_cfs_error(int r, const struct cfs_error *e, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_error("%s: %s", msg, cfs_error_text(e, r));
        return CFS_EXIT_FAILURE;
}

double now_sec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_update(const char *fmt, ...)
{
        static double last;
        static int tty = -1;
        if (tty < 0)
                tty = isatty(STDERR_FILENO);
        if (!tty)
                return;
        double now = now_sec();
        if (progress_shown && now - last < 0.1)
                return;
        last = now;
        va_list ap;
        va_start(ap, fmt);
        fputs("\r\033[K", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fflush(stderr);
        progress_shown = true;
}

void progress_done(void)
{
        if (progress_shown) {
                fputs("\r\033[K", stderr);
                fflush(stderr);
                progress_shown = false;
        }
}

const char *format_bytes(uint64_t n, char buf[32])
{
        static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = (double)n;
        unsigned u = 0;
        while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                u++;
        }
        if (u == 0)
                snprintf(buf, 32, "%llu B", (unsigned long long)n);
        else
                snprintf(buf, 32, "%.1f %s", v, units[u]);
        return buf;
}

int mkdir_p(const char *path)
{
        char buf[4096];
        if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
                return -ENAMETOOLONG;
        for (char *p = buf + 1;; p++) {
                if (*p == '/' || *p == 0) {
                        char c = *p;
                        *p = 0;
                        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        if (c == 0)
                                return 0;
                        *p = c;
                }
        }
}

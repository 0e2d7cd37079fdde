/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* error.c - cfs_error helpers (see error.h). Runs everywhere. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

int cfs_error_set(struct cfs_error *e, int code, const char *fmt, ...)
{
        if (code < 0)
                code = -code;
        if (e && e->code == 0) {
                va_list ap;
                e->code = code;
                va_start(ap, fmt);
                vsnprintf(e->message, sizeof(e->message), fmt, ap);
                va_end(ap);
        }
        return -code;
}

int cfs_error_prefix(struct cfs_error *e, int code, const char *fmt, ...)
{
        if (code < 0)
                code = -code;
        if (e) {
                char prefix[CFS_ERROR_MAX], old[CFS_ERROR_MAX];
                va_list ap;

                va_start(ap, fmt);
                vsnprintf(prefix, sizeof(prefix), fmt, ap);
                va_end(ap);
                if (e->code != 0)
                        snprintf(old, sizeof(old), "%s", e->message);
                else
                        snprintf(old, sizeof(old), "%s", strerror(code));
                char joined[2 * CFS_ERROR_MAX + 2];
                snprintf(joined, sizeof(joined), "%s: %s", prefix, old);
                /* keep as much as fits; messages are one line, truncation is harmless */
                size_t n = strnlen(joined, sizeof(e->message) - 1);
                memcpy(e->message, joined, n);
                e->message[n] = 0;
                e->code = code;
        }
        return -code;
}

const char *cfs_error_text(const struct cfs_error *e, int code)
{
        if (e && e->code != 0 && e->message[0])
                return e->message;
        return strerror(code < 0 ? -code : code);
}

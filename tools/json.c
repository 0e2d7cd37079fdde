/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* json.c - JSON string output for --json (see json.h). Host and initrd. */
#include "json.h"

void json_print_string(FILE *f, const char *s)
{
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p < 0x20 || *p >= 0x7f)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

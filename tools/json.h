/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* json.h - the few JSON output helpers the --json options need. Host and initrd. */
#pragma once

#include <stdio.h>

/* Print @s as a JSON string literal (quotes included); bytes >= 0x80 are
 * printed as \u00XX so output stays valid JSON for any file name. */
void json_print_string(FILE *f, const char *s);

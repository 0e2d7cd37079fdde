/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd-digest.c - placeholder. */
#include "commands.h"
#include "tool-util.h"
int cmd_digest(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        log_error("not implemented yet");
        return CFS_EXIT_FAILURE;
}

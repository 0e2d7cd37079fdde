/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* refusal.c - setup-root outcome reporting (see refusal.h). Initrd. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "refusal.h"
#include "tool-util.h"

static const struct {
        enum cfs_refusal class;
        const char *name, *message_id;
} classes[] = {
    {CFS_REFUSE_POLICY, "policy", "f63fb7a4a4414c8a8179f664fccecb3c"},
    {CFS_REFUSE_IMAGE_MISSING, "image-missing", "02b5713fdd874eba85c5340590b74ac6"},
    {CFS_REFUSE_DIGEST, "digest", "aa466ff0ad1b4f14bef87567dfaf711b"},
    {CFS_REFUSE_SIGNATURE, "signature", "9294ef5787544b198a76c7ba51b405e7"},
    {CFS_REFUSE_IMAGE_INVALID, "image-invalid", "e22f095a6ffe472ca76e31bdd2f5d741"},
    {CFS_REFUSE_STORE, "store", "b21166a4c34e4528af859a44b6097e4a"},
    {CFS_REFUSE_KERNEL, "kernel", "589125fa1df345fbbf3035b5ace91d75"},
    {CFS_REFUSE_TPM, "tpm", "d7aa9f92ea8243eca9acadf99504c871"},
    {CFS_REFUSE_MOUNT, "mount", "b1b1ef96254d41e79e727490b4941644"},
};
#define BOOTED_MESSAGE_ID "70befcca311e4dba970544a8a9348846"

static bool journald_running(void)
{
        return access("/run/systemd/journal/socket", F_OK) == 0;
}

/* Without journald (e.g. a busybox initrd): the kernel log, which reaches the console too. */
static void to_kmsg(int priority, const char *msg)
{
        int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return;
        char line[1200];
        int n = snprintf(line, sizeof(line), "<%d>cfsroot: %s\n", priority, msg);
        if (n > 0)
                (void)!write(fd, line, (size_t)CFS_MIN((size_t)n, sizeof(line) - 1));
        close(fd);
}

static void emit(int priority, const char *message_id, const char *class_name, const char *msg,
                 bool console)
{
        bool journald = journald_running();
        if (journald)
                sd_journal_send("MESSAGE=cfsroot: %s", msg, "MESSAGE_ID=%s", message_id,
                                "PRIORITY=%d", priority, "CFSROOT_RESULT=%s", class_name,
                                "SYSLOG_IDENTIFIER=cfsroot", NULL);
        /*
         * Without journald, kmsg is the log. With it, a refusal still goes to
         * kmsg as well: the kernel prints it on the console at once, while the
         * journal's copy can be cut off by the poweroff that follows.
         */
        if ((!journald || console) && getenv("CFSROOT_NO_KMSG") == NULL)
                to_kmsg(priority, msg);
}

int refuse(enum cfs_refusal class, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        const char *name = "unknown", *id = classes[0].message_id;
        for (size_t i = 0; i < ELEMENTSOF(classes); i++)
                if (classes[i].class == class) {
                        name = classes[i].name;
                        id = classes[i].message_id;
                }
        /* the console line an operator reads at 3 a.m. */
        log_error("REFUSING TO BOOT (%s): %s", name, msg);
        emit(LOG_EMERG, id, name, msg, true);
        return (int)class;
}

void report_booted(const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_info("cfsroot: %s", msg);
        emit(LOG_NOTICE, BOOTED_MESSAGE_ID, "booted", msg, false);
}

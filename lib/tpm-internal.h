/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpm-internal.h - what the files of libcfsroot-tpm (lib/tpm.c,
 * lib/tpm-rollback.c) share: the connection and the TPM error helpers. Not for
 * callers outside lib/tpm*.c. Host and initrd.
 */
#pragma once

#include <tss2/tss2_esys.h>

#include "error.h"

struct cfs_tpm {
        TSS2_TCTI_CONTEXT *tcti;
        ESYS_CONTEXT *esys;
        char tcti_conf[256];
};

/* Record "<what>: TPM error 0x...: <decoded>" with @code; returns -@code. */
int cfs_tpm_rc_error(struct cfs_error *err, TSS2_RC rc, int code, const char *what);

/* The TPM's response code without the layer and the handle/parameter/session number. */
TSS2_RC cfs_tpm_rc_base(TSS2_RC rc);

/* -ENODEV if @rc says the TPM stopped answering (TCTI I/O error), else -@fallback. */
int cfs_tpm_rc_errno(TSS2_RC rc, int fallback);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store.c - placeholder, being written. */

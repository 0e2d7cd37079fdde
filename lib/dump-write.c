/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dump-write.c - placeholder, being written. */

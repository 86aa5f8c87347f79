/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Decoding of open(2) flags and file modes into the names people read. Pure. */
#ifndef TG_FLAGS_H
#define TG_FLAGS_H

#include <stddef.h>
#include <stdint.h>

/* Names of the set flags, in a fixed order: the access mode first (O_RDONLY, O_WRONLY or
 * O_RDWR), then O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND, O_NONBLOCK, O_DSYNC, O_ASYNC,
 * O_DIRECT, O_LARGEFILE, O_DIRECTORY, O_NOFOLLOW, O_NOATIME, O_CLOEXEC, O_SYNC, O_PATH,
 * O_TMPFILE (O_SYNC and O_TMPFILE replace their component bits). Unknown bits come last as one
 * hex name "0x...". Returns the number of names written to names[] (at most max). */
int tg_flags_names(uint64_t flags, const char **names, int max, char *unknown_buf,
		   size_t unknown_len);
/* "O_WRONLY|O_CREAT|O_TRUNC" into buf; returns strlen or the length it would need. */
size_t tg_flags_str(uint64_t flags, char *buf, size_t len);
/* "0644" (at least 4 octal digits, permission and sticky/setid bits only). */
void tg_mode_str(uint32_t mode, char *buf, size_t len);

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Decoding of ring-buffer records: size and field checks, NUL-terminated strings. Pure. */
#ifndef TG_EVENTS_H
#define TG_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "tmpguard.h"

/* Copies a raw record of size bytes (a header and a NUL-terminated path, tmpguard.h) into *out
 * and makes every string NUL-terminated; reads nothing past size, and out->path past its NUL is
 * left as it was. Returns 0, or -1 with a reason in err when the record is not a tmpguard event
 * of this ABI (a size out of range, a path_len that does not match it, a path not ending in its
 * only NUL, an unknown kind, syscall or entry). */
int tg_event_decode(const void *data, size_t size, struct tg_event *out, char *err, size_t errlen);
const char *tg_syscall_name(uint32_t sys); /* "openat"; "unknown" if out of range */
/* How the call entered the kernel: "syscall", "ia32", "io_uring"; "unknown" if out of range. */
const char *tg_entry_name(uint32_t entry);

#endif

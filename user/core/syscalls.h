/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The syscalls the BPF programs follow, by number, for bpf/tmpguard.h's tg_syscalls: which
 * syscall, what it does (open, mkdir, probe) and where its arguments are. The numbers come from
 * the uapi headers (<asm/unistd_64.h>, <asm/unistd_32.h>), never from the BPF side. Pure.
 */
#ifndef TG_SYSCALLS_H
#define TG_SYSCALLS_H

#include <stddef.h>
#include <linux/types.h>
#include "tmpguard.h"

/* Fills t[0] (native x86_64) and t[1] (ia32), each of TG_NR_MAX entries; the rest is zero. */
void tg_syscalls_fill(struct tg_sys_desc t[2][TG_NR_MAX]);

/* One ABI's half (syscalls_abi.h, included once per ABI's headers). */
void tg_syscalls_native(struct tg_sys_desc *t, size_t n);
void tg_syscalls_ia32(struct tg_sys_desc *t, size_t n);

#endif

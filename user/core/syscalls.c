// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The native half of tg_syscalls, and the whole table (syscalls.h). */
#include <string.h>
#include <asm/unistd_64.h>
#include "syscalls.h"

#define TG_SYSCALLS_FN tg_syscalls_native
#include "syscalls_abi.h"

void tg_syscalls_fill(struct tg_sys_desc t[2][TG_NR_MAX])
{
	memset(t, 0, 2 * TG_NR_MAX * sizeof(t[0][0]));
	tg_syscalls_native(t[0], TG_NR_MAX);
	tg_syscalls_ia32(t[1], TG_NR_MAX);
}

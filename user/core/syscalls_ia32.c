// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The ia32 half of tg_syscalls: the same table, with the 32-bit ABI's numbers. */
#include <asm/unistd_32.h>
#include "syscalls.h"

#define TG_SYSCALLS_FN tg_syscalls_ia32
#include "syscalls_abi.h"

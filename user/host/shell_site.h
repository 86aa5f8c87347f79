/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The call site of a create made by a shell, or by a program a shell script started, on this
 * host: core/callsite_shell.c with what /proc tells while the processes live.
 */
#ifndef TG_SHELL_SITE_H
#define TG_SHELL_SITE_H

#include "callsite.h"
#include "process.h"
#include "tmpguard.h"

struct tg_interp_reg;
struct tg_bpf;

/* Fills cs and returns it when e's process is a shell, or a program whose parent is a shell
 * running a script or -c text; NULL otherwise. cwd (or NULL): e's process's current directory
 * as the kernel saw it at the create, which places a script given by a relative name once the
 * shell is gone. reg: the interpreters registered with the kernel (a parent bash's line is read
 * at the addresses found there; NULL: none). b (or NULL): the programs, whose tg_exec_lines
 * give a program's parent bash's arguments when that parent has exited. Not reentrant (static
 * buffers). */
const struct tg_callsite *tg_shell_site(const struct tg_event *e, const struct tg_proc_info *p,
					const char *cwd, const struct tg_interp_reg *reg,
					struct tg_bpf *b, struct tg_callsite *cs);

#endif

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mkdir, mkdirat: directories created in shared directories with group/other access.
 * Exit only: success and a loose effective mode are tested first, from the return value and
 * the saved registers; most mkdirs on a host stop there.
 */
#include "mkdir.bpf.h"

SEC("tracepoint/syscalls/sys_exit_mkdir")
int tracepoint__syscalls__sys_exit_mkdir(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = current_regs();

	return handle_mkdir_exit(ctx->ret, TG_ENTRY_SYSCALL, TG_SYS_MKDIR, AT_FDCWD,
				 (const char *)regs->di, regs->si);
}

SEC("tracepoint/syscalls/sys_exit_mkdirat")
int tracepoint__syscalls__sys_exit_mkdirat(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = current_regs();

	return handle_mkdir_exit(ctx->ret, TG_ENTRY_SYSCALL, TG_SYS_MKDIRAT, (int)regs->di,
				 (const char *)regs->si, regs->dx);
}

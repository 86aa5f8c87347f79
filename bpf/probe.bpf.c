// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The check half of check-then-create: stat, lstat, newfstatat, statx, access, faccessat and
 * faccessat2 that fail with ENOENT. Exit only: the return value is the first test, so the
 * common case (the name exists) costs one comparison. The path comes from the saved
 * registers, read only after that test.
 */
#include "probe.bpf.h"

/* One exit program per probing syscall; `arg` is the register holding the path. */
#define PROBE_EXIT(name, sys, arg)                                                                 \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                                 \
	int tracepoint__syscalls__sys_exit_##name(struct trace_event_raw_sys_exit *ctx)            \
	{                                                                                          \
		if (ctx->ret != -ENOENT)                                                           \
			return 0;                                                                  \
		return record_probe(ctx->ret, sys,                                                 \
				    (const char *)BPF_CORE_READ(current_regs(), arg));             \
	}

PROBE_EXIT(newstat, TG_SYS_STAT, di)
PROBE_EXIT(newlstat, TG_SYS_LSTAT, di)
PROBE_EXIT(newfstatat, TG_SYS_NEWFSTATAT, si)
PROBE_EXIT(statx, TG_SYS_STATX, si)
PROBE_EXIT(access, TG_SYS_ACCESS, di)
PROBE_EXIT(faccessat, TG_SYS_FACCESSAT, si)
PROBE_EXIT(faccessat2, TG_SYS_FACCESSAT2, si)

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The check half of check-then-create: stat, lstat, newfstatat, statx, access, faccessat and
 * faccessat2 that fail with ENOENT. Exit only: the return value is the first test, so the
 * common case (the name exists) costs one comparison. tg_probe_exit() is shared with the
 * 32-bit sys_exit (ia32.bpf.c) and the fexit programs on vfs_statx and do_faccessat.
 */
#include "common.bpf.h"

/* The probe the current task made failed with ENOENT: remember who probed which name, when. */
__noinline int tg_probe_exit(long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tg_path_shape shape;
	struct tg_scratch *s;
	struct tg_probe p = {};
	__u64 pid_tgid;
	struct tg_call c;
	long n;

	if (ret != -ENOENT || !decode_call(task, &c) || c.op != TG_OP_PROBE)
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	if (!task_tracked(pid_tgid >> 32))
		return 0;
	s = read_call_path(&c, &n);
	if (!s)
		return 0;
	tg_path_shape(s, n - 1, &shape);
	p.ts_ns = bpf_ktime_get_boot_ns();
	p.pid = pid_tgid >> 32;
	p.ppid = BPF_CORE_READ(task, real_parent, tgid);
	p.sid = BPF_CORE_READ(task, signal, pids[PIDTYPE_SID], numbers[0].nr);
	p.syscall = c.sys;
	bpf_map_update_elem(&tg_probes, &shape.hash, &p, BPF_ANY);
	stat_inc(TG_STAT_PROBE_ENOENT);
	return 0;
}

/* One exit program per probing syscall: the return value first. */
#define PROBE_EXIT(name)                                                                           \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                                 \
	int tracepoint__syscalls__sys_exit_##name(struct trace_event_raw_sys_exit *ctx)            \
	{                                                                                          \
		return ctx->ret == -ENOENT ? tg_probe_exit(ctx->ret) : 0;                          \
	}

PROBE_EXIT(newstat)
PROBE_EXIT(newlstat)
PROBE_EXIT(newfstatat)
PROBE_EXIT(statx)
PROBE_EXIT(access)
PROBE_EXIT(faccessat)
PROBE_EXIT(faccessat2)

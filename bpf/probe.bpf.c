// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The check half of check-then-create: stat, lstat, newfstatat, statx, access, faccessat and
 * faccessat2 that fail with ENOENT. Exit only: the return value is the first test, so the
 * common case (the name exists) costs one comparison. The path comes from the saved
 * registers, read only after that test.
 */
#include "common.bpf.h"

static __always_inline int record_probe(long ret, __u32 sys, const char *path)
{
	struct task_struct *task;
	struct tg_path_shape shape;
	struct tg_scratch *s;
	struct tg_probe p = {};
	__u32 zero = 0;
	__u64 pid_tgid;
	long n;

	pid_tgid = bpf_get_current_pid_tgid();
	if (!task_tracked(pid_tgid >> 32))
		return 0;
	s = bpf_map_lookup_elem(&tg_scratch, &zero);
	if (!s)
		return 0;
	n = bpf_probe_read_user_str(s->path, sizeof(s->path), path);
	if (n <= 1)
		return 0;
	path_shape(s->path, n - 1, &shape);
	task = bpf_get_current_task_btf();
	p.ts_ns = bpf_ktime_get_boot_ns();
	p.pid = pid_tgid >> 32;
	p.ppid = BPF_CORE_READ(task, real_parent, tgid);
	p.sid = BPF_CORE_READ(task, signal, pids[PIDTYPE_SID], numbers[0].nr);
	p.syscall = sys;
	bpf_map_update_elem(&tg_probes, &shape.hash, &p, BPF_ANY);
	stat_inc(TG_STAT_PROBE_ENOENT);
	return 0;
}

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

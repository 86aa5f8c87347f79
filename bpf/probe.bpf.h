/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Recording an ENOENT probe (the check half of check-then-create), shared by the native
 * syscalls (probe.bpf.c) and the 32-bit ones (ia32.bpf.c).
 */
#ifndef TG_PROBE_BPF_H
#define TG_PROBE_BPF_H

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

#endif /* TG_PROBE_BPF_H */

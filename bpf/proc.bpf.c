// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Process-tree scope for `tmpguard run` and `audit --pid`: children of tracked processes are
 * tracked from fork (before they can run), and forgotten when the whole thread group has
 * exited, so a recycled pid is never in scope. Loaded only when tg_cfg.filter_tracked is set.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* ABI version, for the loader to compare with the header it was built with. */
const volatile __u32 tg_abi_version = TG_ABI_VERSION;

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tp_btf__sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u8 one = 1;

	if (ptgid == ctgid || !bpf_map_lookup_elem(&tg_tracked, &ptgid))
		return 0;
	/* A full map leaves the child out of scope: a blind spot, counted and reported. */
	if (bpf_map_update_elem(&tg_tracked, &ctgid, &one, BPF_ANY))
		stat_inc(TG_STAT_TRACK_FULL);
	return 0;
}

/*
 * A thread exits. The thread group leaves scope only with its last thread: do_exit() counts the
 * group's live threads down (signal->live) before this tracepoint, so 0 means this was the last
 * one. A leader that calls SYS_exit while a worker goes on is not the end of the process, and
 * the worker stays in scope (and under a scoped --enforce).
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(tp_btf__sched_process_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;

	if (p->signal->live.counter != 0)
		return 0;
	bpf_map_delete_elem(&tg_tracked, &tgid);
	return 0;
}

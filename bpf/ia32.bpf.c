// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * 32-bit syscalls: open, creat, openat, openat2, mkdir, mkdirat and the ENOENT probes, made by
 * ia32 programs (gcc -m32) or by int 0x80 from any program. The per-syscall tracepoints never
 * fire for them (x86 sets ARCH_TRACE_IGNORE_COMPAT_SYSCALLS: a 32-bit number means another
 * syscall in the 64-bit table), so the generic sys_exit tracepoint is the only one that sees
 * them, and it runs for every syscall of every process.
 *
 * Cost: the fast path is one load and one bit test (TS_COMPAT, clear for every native syscall)
 * after bpf_get_current_task_btf(). Exit only: the arguments are still in the saved registers,
 * and one hook costs half of an entry/exit pair. The BPF LSM programs stash a 32-bit open's
 * arguments themselves (lsm.bpf.c) when they need to remember something until this exit.
 */
#include "open.bpf.h"
#include "mkdir.bpf.h"
#include "probe.bpf.h"

static __always_inline int ia32_open_exit(struct pt_regs *regs, long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct tg_open_args a, *ap;

	if (!ia32_open_args(regs, &a))
		return 0;
	/* What the BPF LSM programs stashed for this open (symlink followed, dry-run decision):
	 * taken out whatever the result, so nothing stale is left for the next open. */
	ap = bpf_map_lookup_elem(&tg_open_args, &tid);
	if (ap) {
		if (ap->entry == TG_ENTRY_IA32)
			a = *ap;
		bpf_map_delete_elem(&tg_open_args, &tid);
	}
	if (ret < 0 || !task_tracked(pid_tgid >> 32))
		return 0;
	return report_open(ret, NULL, &a, NULL);
}

static __always_inline const char *ia32_ptr(unsigned long reg)
{
	return (const char *)(__u64)(__u32)reg;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tp_btf__sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (!in_ia32_syscall(task))
		return 0;
	switch (BPF_CORE_READ(regs, orig_ax)) {
	case IA32_NR_OPEN:
	case IA32_NR_CREAT:
	case IA32_NR_OPENAT:
	case IA32_NR_OPENAT2:
		return ia32_open_exit(regs, ret);
	case IA32_NR_MKDIR:
		return handle_mkdir_exit(ret, TG_ENTRY_IA32, TG_SYS_MKDIR, AT_FDCWD,
					 ia32_ptr(BPF_CORE_READ(regs, bx)),
					 (__u32)BPF_CORE_READ(regs, cx));
	case IA32_NR_MKDIRAT:
		return handle_mkdir_exit(
			ret, TG_ENTRY_IA32, TG_SYS_MKDIRAT, (int)BPF_CORE_READ(regs, bx),
			ia32_ptr(BPF_CORE_READ(regs, cx)), (__u32)BPF_CORE_READ(regs, dx));
	}
	if (ret != -ENOENT)
		return 0;
	switch (BPF_CORE_READ(regs, orig_ax)) {
	case IA32_NR_STAT64:
		return record_probe(ret, TG_SYS_STAT, ia32_ptr(BPF_CORE_READ(regs, bx)));
	case IA32_NR_LSTAT64:
		return record_probe(ret, TG_SYS_LSTAT, ia32_ptr(BPF_CORE_READ(regs, bx)));
	case IA32_NR_ACCESS:
		return record_probe(ret, TG_SYS_ACCESS, ia32_ptr(BPF_CORE_READ(regs, bx)));
	case IA32_NR_FSTATAT64:
		return record_probe(ret, TG_SYS_NEWFSTATAT, ia32_ptr(BPF_CORE_READ(regs, cx)));
	case IA32_NR_STATX:
		return record_probe(ret, TG_SYS_STATX, ia32_ptr(BPF_CORE_READ(regs, cx)));
	case IA32_NR_FACCESSAT:
		return record_probe(ret, TG_SYS_FACCESSAT, ia32_ptr(BPF_CORE_READ(regs, cx)));
	case IA32_NR_FACCESSAT2:
		return record_probe(ret, TG_SYS_FACCESSAT2, ia32_ptr(BPF_CORE_READ(regs, cx)));
	}
	return 0;
}

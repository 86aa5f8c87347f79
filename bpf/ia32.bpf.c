// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * 32-bit syscalls: open, creat, openat, openat2, mkdir, mkdirat and the ENOENT probes, made by
 * ia32 programs (gcc -m32) or by int 0x80 from any program. The per-syscall tracepoints never
 * fire for them (x86 sets ARCH_TRACE_IGNORE_COMPAT_SYSCALLS: a 32-bit number means another
 * syscall in the 64-bit table), so the generic sys_exit tracepoint is the only one that sees
 * them, and it runs for every syscall of every process.
 *
 * Cost: the syscall number (orig_ax) is tested first, on the register alone: getppid leaves
 * after four comparisons and costs what an empty program on this hook costs (measured on a
 * 6.18 host: 0-11 ns over one, within the noise, against 13-34 ns when the TS_COMPAT test came
 * first: its helper call was the cost). Only the numbers handled here go on to the TS_COMPAT
 * bit. The hook itself is not free (an empty program on sys_exit costs some 90 ns per syscall
 * there), so the loader leaves it out on kernels without IA32_EMULATION. Exit only: the
 * arguments are still in the saved registers, and one hook costs half of an entry/exit pair. The
 * BPF LSM programs stash a 32-bit open's arguments themselves (lsm.bpf.c) when they need to
 * remember something until this exit.
 */
#include "open.bpf.h"
#include "mkdir.bpf.h"
#include "probe.bpf.h"

static __always_inline int ia32_open_exit(struct pt_regs *regs, long ret)
{
	struct tg_open_args a, *ap;

	if (!ia32_open_args(regs, &a))
		return 0;
	/* What the BPF LSM programs stashed for this open (symlink followed, dry-run decision):
	 * taken out whatever the result, so nothing stale is left for the next open. */
	ap = open_args_pending(bpf_get_current_task_btf());
	if (ap) {
		if (ap->entry == TG_ENTRY_IA32)
			a = *ap;
		open_args_take(ap);
	}
	if (ret < 0 || !task_tracked(bpf_get_current_pid_tgid() >> 32))
		return 0;
	return report_open(ret, NULL, &a, NULL);
}

/*
 * Is nr one of the ia32 syscalls handled below? Tested before anything else, on the register
 * alone: most native syscalls (getppid is 110) leave after a few comparisons, with no helper
 * call. Native syscalls with the same numbers (lseek is 8, getpid 39, preadv 295) go on
 * to the TS_COMPAT test.
 */
static __always_inline bool ia32_nr_handled(__u64 nr)
{
	if (nr < 64)
		return (1ull << nr) & ((1ull << IA32_NR_OPEN) | (1ull << IA32_NR_CREAT) |
				       (1ull << IA32_NR_ACCESS) | (1ull << IA32_NR_MKDIR));
	if (nr < IA32_NR_OPENAT)
		return nr == IA32_NR_STAT64 || nr == IA32_NR_LSTAT64;
	if (nr <= IA32_NR_FACCESSAT)
		return (1u << (nr - IA32_NR_OPENAT)) &
		       ((1u << 0) | (1u << (IA32_NR_MKDIRAT - IA32_NR_OPENAT)) |
			(1u << (IA32_NR_FSTATAT64 - IA32_NR_OPENAT)) |
			(1u << (IA32_NR_FACCESSAT - IA32_NR_OPENAT)));
	return nr == IA32_NR_STATX || nr == IA32_NR_OPENAT2 || nr == IA32_NR_FACCESSAT2;
}

static __always_inline const char *ia32_ptr(unsigned long reg)
{
	return (const char *)(__u64)(__u32)reg;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tp_btf__sys_exit, struct pt_regs *regs, long ret)
{
	__u64 nr = regs->orig_ax;

	if (!ia32_nr_handled(nr) || !in_ia32_syscall(bpf_get_current_task_btf()))
		return 0;
	switch (nr) {
	case IA32_NR_OPEN:
	case IA32_NR_CREAT:
	case IA32_NR_OPENAT:
	case IA32_NR_OPENAT2:
		return ia32_open_exit(regs, ret);
	case IA32_NR_MKDIR:
		return handle_mkdir_exit(ret, TG_ENTRY_IA32, TG_SYS_MKDIR, AT_FDCWD,
					 ia32_ptr(regs->bx), (__u32)regs->cx);
	case IA32_NR_MKDIRAT:
		return handle_mkdir_exit(ret, TG_ENTRY_IA32, TG_SYS_MKDIRAT, (int)regs->bx,
					 ia32_ptr(regs->cx), (__u32)regs->dx);
	}
	if (ret != -ENOENT)
		return 0;
	switch (nr) {
	case IA32_NR_STAT64:
		return record_probe(ret, TG_SYS_STAT, ia32_ptr(regs->bx));
	case IA32_NR_LSTAT64:
		return record_probe(ret, TG_SYS_LSTAT, ia32_ptr(regs->bx));
	case IA32_NR_ACCESS:
		return record_probe(ret, TG_SYS_ACCESS, ia32_ptr(regs->bx));
	case IA32_NR_FSTATAT64:
		return record_probe(ret, TG_SYS_NEWFSTATAT, ia32_ptr(regs->cx));
	case IA32_NR_STATX:
		return record_probe(ret, TG_SYS_STATX, ia32_ptr(regs->cx));
	case IA32_NR_FACCESSAT:
		return record_probe(ret, TG_SYS_FACCESSAT, ia32_ptr(regs->cx));
	case IA32_NR_FACCESSAT2:
		return record_probe(ret, TG_SYS_FACCESSAT2, ia32_ptr(regs->cx));
	}
	return 0;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --hooks fentry: the decisions of the syscall tracepoint programs (open.bpf.c, mkdir.bpf.c,
 * probe.bpf.c) and of tp_btf/sys_exit (ia32.bpf.c), made from fexit programs on the kernel
 * functions that those syscalls, native and 32-bit alike, go through:
 *
 *   do_sys_openat2  open, openat, openat2, creat (do_sys_open calls it)
 *   do_mkdirat      mkdir, mkdirat
 *   vfs_statx       stat, lstat, newfstatat, statx (through vfs_fstatat and do_statx)
 *   do_faccessat    access, faccessat, faccessat2
 *
 * Why: a program on any syscall tracepoint sets SYSCALL_WORK_SYSCALL_TRACEPOINT on every task,
 * so every syscall of every process takes the slow path, and tp_btf/sys_exit runs for every
 * syscall; a trampoline on a function costs only the calls of that function. All four are static
 * functions with the same prototypes on 6.1 and 6.12, not inlined there (in BTF and in
 * available_filter_functions); where one is missing or fexit is refused, the loader falls back to
 * the tracepoints.
 *
 * The syscall's arguments are read from the task's saved registers, as the tracepoint exit
 * programs read them, not from the function's: do_sys_open adds O_LARGEFILE and build_open_how
 * masks the mode, and the record must say what the caller passed, so that findings are the same
 * in both modes. The syscall number in those registers says which syscall it was, and keeps out
 * what the tracepoint programs do not see either: io_uring's mkdirat in an io-wq worker (no
 * syscall), and the 32-bit old stat calls. The reuse of report_open(), handle_mkdir_exit() and
 * record_probe() does the rest.
 */
#include "open.bpf.h"
#include "mkdir.bpf.h"
#include "probe.bpf.h"

/* x86_64 syscall numbers, arch/x86/entry/syscalls/syscall_64.tbl: ABI, never renumbered. */
#define X64_NR_STAT	  4
#define X64_NR_LSTAT	  6
#define X64_NR_OPEN	  2
#define X64_NR_ACCESS	  21
#define X64_NR_MKDIR	  83
#define X64_NR_CREAT	  85
#define X64_NR_OPENAT	  257
#define X64_NR_MKDIRAT	  258
#define X64_NR_NEWFSTATAT 262
#define X64_NR_FACCESSAT  269
#define X64_NR_STATX	  332
#define X64_NR_OPENAT2	  437
#define X64_NR_FACCESSAT2 439

static __always_inline const char *ia32_ptr(unsigned long reg)
{
	return (const char *)(__u64)(__u32)reg;
}

/*
 * The arguments of the open, creat, openat or openat2 this thread is making, from its saved
 * registers, native or 32-bit. False without O_CREAT or outside those syscalls.
 */
static __always_inline bool open_args(struct task_struct *task, struct tg_open_args *a)
{
	struct pt_regs *regs = current_regs();
	struct open_how uhow = {};

	if (in_ia32_syscall(task))
		return ia32_open_args(regs, a);
	__builtin_memset(a, 0, sizeof(*a));
	a->decision_rule = TG_R_NONE;
	a->entry = TG_ENTRY_SYSCALL;
	a->dfd = AT_FDCWD;
	switch (BPF_CORE_READ(regs, orig_ax)) {
	case X64_NR_OPEN:
		a->syscall = TG_SYS_OPEN;
		a->path = BPF_CORE_READ(regs, di);
		a->flags = BPF_CORE_READ(regs, si);
		a->mode = BPF_CORE_READ(regs, dx);
		break;
	case X64_NR_CREAT:
		a->syscall = TG_SYS_CREAT;
		a->path = BPF_CORE_READ(regs, di);
		a->flags = O_CREAT | 1 /* O_WRONLY */ | O_TRUNC;
		a->mode = BPF_CORE_READ(regs, si);
		break;
	case X64_NR_OPENAT:
		a->syscall = TG_SYS_OPENAT;
		a->dfd = (int)BPF_CORE_READ(regs, di);
		a->path = BPF_CORE_READ(regs, si);
		a->flags = BPF_CORE_READ(regs, dx);
		a->mode = BPF_CORE_READ(regs, r10);
		break;
	case X64_NR_OPENAT2:
		/* The caller's open_how, as sys_enter_openat2 reads it: the kernel's copy has
		 * O_LARGEFILE added (force_o_largefile()). */
		if (bpf_probe_read_user(&uhow, sizeof(uhow), (void *)BPF_CORE_READ(regs, dx)))
			return false;
		a->syscall = TG_SYS_OPENAT2;
		a->dfd = (int)BPF_CORE_READ(regs, di);
		a->path = BPF_CORE_READ(regs, si);
		a->flags = uhow.flags;
		a->mode = uhow.mode;
		break;
	default:
		return false;
	}
	return a->flags & O_CREAT;
}

/*
 * Before the kernel copies the path: its checksum (stash_path), for the exit to tell a path
 * rewritten during the call; and the pending open, where the BPF LSM hooks (--enforce,
 * --dry-run) find it, as sys_enter_open* leave it in tracepoint mode.
 */
SEC("fentry/do_sys_openat2")
int BPF_PROG(fentry__do_sys_openat2, int dfd, const char *filename, struct open_how *how)
{
	struct task_struct *task;
	struct tg_open_args a;

	if (!(how->flags & O_CREAT))
		return 0;
	task = bpf_get_current_task_btf();
	if (!task_tracked(bpf_get_current_pid_tgid() >> 32) || !open_args(task, &a))
		return 0;
	stash_path(&a, (const char *)a.path);
	open_args_stash(task, &a);
	return 0;
}

/* The flag test first, on the kernel's copy of the flags: opens without O_CREAT stop there. */
SEC("fexit/do_sys_openat2")
int BPF_PROG(fexit__do_sys_openat2, int dfd, const char *filename, struct open_how *how, long ret)
{
	struct task_struct *task;
	struct tg_open_args a, *ap;

	if (!(how->flags & O_CREAT))
		return 0;
	task = bpf_get_current_task_btf();
	/* What fentry and the BPF LSM programs stashed (symlink followed, dry-run decision):
	 * taken out whatever the result, so nothing stale is left for the next open. */
	ap = open_args_pending(task);
	if (ap) {
		a = *ap;
		open_args_take(ap);
	} else if (!open_args(task, &a)) {
		return 0;
	}
	if (ret < 0 || !task_tracked(bpf_get_current_pid_tgid() >> 32))
		return 0;
	return report_open(ret, NULL, &a, NULL);
}

/* Success is tested first; handle_mkdir_exit() then tests the mode before anything else. */
SEC("fexit/do_mkdirat")
int BPF_PROG(fexit__do_mkdirat, int dfd, struct filename *name, umode_t mode, int ret)
{
	struct pt_regs *regs;
	__u64 nr;

	if (ret != 0)
		return 0;
	regs = current_regs();
	nr = BPF_CORE_READ(regs, orig_ax);
	if (in_ia32_syscall(bpf_get_current_task_btf())) {
		if (nr == IA32_NR_MKDIR)
			return handle_mkdir_exit(ret, TG_ENTRY_IA32, TG_SYS_MKDIR, AT_FDCWD,
						 ia32_ptr(BPF_CORE_READ(regs, bx)),
						 (__u32)BPF_CORE_READ(regs, cx));
		if (nr == IA32_NR_MKDIRAT)
			return handle_mkdir_exit(
				ret, TG_ENTRY_IA32, TG_SYS_MKDIRAT, (int)BPF_CORE_READ(regs, bx),
				ia32_ptr(BPF_CORE_READ(regs, cx)), (__u32)BPF_CORE_READ(regs, dx));
		return 0;
	}
	if (nr == X64_NR_MKDIR)
		return handle_mkdir_exit(ret, TG_ENTRY_SYSCALL, TG_SYS_MKDIR, AT_FDCWD,
					 (const char *)BPF_CORE_READ(regs, di),
					 BPF_CORE_READ(regs, si));
	if (nr == X64_NR_MKDIRAT)
		return handle_mkdir_exit(
			ret, TG_ENTRY_SYSCALL, TG_SYS_MKDIRAT, (int)BPF_CORE_READ(regs, di),
			(const char *)BPF_CORE_READ(regs, si), BPF_CORE_READ(regs, dx));
	return 0;
}

/* An ENOENT from vfs_statx or do_faccessat: which probing syscall, and its path register. */
static __always_inline int probe_exit(long ret)
{
	struct pt_regs *regs = current_regs();
	__u64 nr = BPF_CORE_READ(regs, orig_ax);

	if (in_ia32_syscall(bpf_get_current_task_btf())) {
		switch (nr) {
		case IA32_NR_STAT64:
			return record_probe(ret, TG_SYS_STAT, ia32_ptr(BPF_CORE_READ(regs, bx)));
		case IA32_NR_LSTAT64:
			return record_probe(ret, TG_SYS_LSTAT, ia32_ptr(BPF_CORE_READ(regs, bx)));
		case IA32_NR_ACCESS:
			return record_probe(ret, TG_SYS_ACCESS, ia32_ptr(BPF_CORE_READ(regs, bx)));
		case IA32_NR_FSTATAT64:
			return record_probe(ret, TG_SYS_NEWFSTATAT,
					    ia32_ptr(BPF_CORE_READ(regs, cx)));
		case IA32_NR_STATX:
			return record_probe(ret, TG_SYS_STATX, ia32_ptr(BPF_CORE_READ(regs, cx)));
		case IA32_NR_FACCESSAT:
			return record_probe(ret, TG_SYS_FACCESSAT,
					    ia32_ptr(BPF_CORE_READ(regs, cx)));
		case IA32_NR_FACCESSAT2:
			return record_probe(ret, TG_SYS_FACCESSAT2,
					    ia32_ptr(BPF_CORE_READ(regs, cx)));
		}
		return 0;
	}
	switch (nr) {
	case X64_NR_STAT:
		return record_probe(ret, TG_SYS_STAT, (const char *)BPF_CORE_READ(regs, di));
	case X64_NR_LSTAT:
		return record_probe(ret, TG_SYS_LSTAT, (const char *)BPF_CORE_READ(regs, di));
	case X64_NR_NEWFSTATAT:
		return record_probe(ret, TG_SYS_NEWFSTATAT, (const char *)BPF_CORE_READ(regs, si));
	case X64_NR_STATX:
		return record_probe(ret, TG_SYS_STATX, (const char *)BPF_CORE_READ(regs, si));
	case X64_NR_ACCESS:
		return record_probe(ret, TG_SYS_ACCESS, (const char *)BPF_CORE_READ(regs, di));
	case X64_NR_FACCESSAT:
		return record_probe(ret, TG_SYS_FACCESSAT, (const char *)BPF_CORE_READ(regs, si));
	case X64_NR_FACCESSAT2:
		return record_probe(ret, TG_SYS_FACCESSAT2, (const char *)BPF_CORE_READ(regs, si));
	}
	return 0;
}

/* The return value is the first test: the common case (the name exists) is one comparison. */
SEC("fexit/vfs_statx")
int BPF_PROG(fexit__vfs_statx, int dfd, struct filename *filename, int flags, struct kstat *stat,
	     __u32 request_mask, int ret)
{
	if (ret != -ENOENT)
		return 0;
	return probe_exit(ret);
}

SEC("fexit/do_faccessat")
int BPF_PROG(fexit__do_faccessat, int dfd, const char *filename, int mode, int flags, long ret)
{
	if (ret != -ENOENT)
		return 0;
	return probe_exit(ret);
}

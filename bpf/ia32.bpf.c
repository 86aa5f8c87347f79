// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * 32-bit syscalls: open, creat, openat, openat2, mkdir, mkdirat, mknod, mknodat, bind (and
 * socketcall's) and the ENOENT probes, made by
 * ia32 programs (gcc -m32) or by int 0x80 from any program. The per-syscall tracepoints never
 * fire for them (x86 sets ARCH_TRACE_IGNORE_COMPAT_SYSCALLS: a 32-bit number means another
 * syscall in the 64-bit table), so the generic sys_exit tracepoint is the only one that sees
 * them, and it runs for every syscall of every process.
 *
 * Cost: the syscall number is looked up first, in the ia32 half of tg_syscalls (a .rodata
 * array: a bounds check and a load, no helper call); getppid and every other syscall tmpguard
 * does not follow leave there. Only the numbers it follows go on to the TS_COMPAT bit (native
 * syscalls share numbers with them: lseek is 8, getpid 39). The hook itself is not free (an
 * empty program on sys_exit costs some 90 ns per syscall on the 6.18 test host), so the loader
 * leaves it out where no 32-bit syscall can happen. Exit only: the arguments are still in the
 * saved registers, and the shared exits decode them (tg_open_exit, tg_mkname_exit,
 * tg_probe_exit). The BPF LSM programs stash a 32-bit open's arguments themselves when they
 * need to remember something until this exit.
 */
#include "common.bpf.h"

SEC("tp_btf/sys_exit")
int BPF_PROG(tp_btf__sys_exit, struct pt_regs *regs, long ret)
{
	__u64 nr = regs->orig_ax; /* a BTF pointer: a plain load */
	__u8 op;

	if (nr >= TG_NR_MAX)
		return 0;
	op = tg_syscalls[1][nr].op;
	if (op == TG_OP_NONE || !in_ia32_syscall(bpf_get_current_task_btf()))
		return 0;
	switch (op) {
	case TG_OP_OPEN:
		return tg_open_exit(ret);
	case TG_OP_MKDIR:
	case TG_OP_MKNOD:
	case TG_OP_BIND:
	case TG_OP_SOCKETCALL:
		return ret == 0 ? tg_mkname_exit(ret) : 0;
	case TG_OP_PROBE:
		return ret == -ENOENT ? tg_probe_exit(ret) : 0;
	}
	return 0;
}

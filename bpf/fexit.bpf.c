// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --hooks fentry: the decisions of the syscall tracepoint programs (open.bpf.c, mkdir.bpf.c,
 * probe.bpf.c) and of tp_btf/sys_exit (ia32.bpf.c), made from fentry/fexit programs on the
 * kernel functions that those syscalls, native and 32-bit alike, go through:
 *
 *   do_sys_openat2              open, openat, openat2, creat (do_sys_open calls it)
 *   do_mkdirat                  mkdir, mkdirat
 *   do_mknodat                  mknod, mknodat
 *   __sys_bind                  bind (AF_UNIX names a file)
 *   vfs_statx                   stat, lstat, newfstatat, statx (through vfs_fstatat, do_statx)
 *   do_faccessat                access, faccessat, faccessat2
 *   security_inode_follow_link  every symlink a path walk follows (a global function: no
 *                               BPF LSM needed)
 *
 * Why: a program on any syscall tracepoint sets SYSCALL_WORK_SYSCALL_TRACEPOINT on every task,
 * so every syscall of every process takes the slow path, and tp_btf/sys_exit runs for every
 * syscall; a trampoline on a function costs only the calls of that function. All seven have the
 * same prototypes on 6.1, 6.12 and 6.18 and are not inlined there (in BTF and in
 * available_filter_functions); where one is missing or fexit is refused, the loader falls back to
 * the tracepoints.
 *
 * The shared subprograms read the syscall's arguments from the task's saved registers, as the
 * tracepoint exit programs do, not from the function's: do_sys_open adds O_LARGEFILE and
 * build_open_how masks the mode, and the record must say what the caller passed, so that
 * findings are the same in both modes. The syscall number in those registers says which
 * syscall it was, and keeps out what the tracepoint programs do not see either: io_uring's
 * mkdirat in an io-wq worker (no syscall), and the 32-bit old stat calls.
 *
 * fentry and fexit programs must return 0 (the 6.1 verifier checks it): the subprograms'
 * results are dropped. The symlink fact is measured here, not inferred: security_inode_follow_link
 * marks the pending open (tg_follow_link), and every record says so (TG_F_LINKS_WATCHED).
 */
#include "common.bpf.h"

/* Before the kernel copies the path: its checksum, for the exit to tell a path rewritten
 * during the call; and the pending open, where the symlink hook and the BPF LSM find it. */
SEC("fentry/do_sys_openat2")
int BPF_PROG(fentry__do_sys_openat2, int dfd, const char *filename, struct open_how *how)
{
	if (how->flags & O_CREAT)
		tg_open_enter();
	return 0;
}

/* The flag test first, on the kernel's copy of the flags: opens without O_CREAT stop there. */
SEC("fexit/do_sys_openat2")
int BPF_PROG(fexit__do_sys_openat2, int dfd, const char *filename, struct open_how *how, long ret)
{
	if (how->flags & O_CREAT)
		tg_open_exit(ret);
	return 0;
}

SEC("fentry/security_inode_follow_link")
int BPF_PROG(fentry__security_inode_follow_link, struct dentry *dentry, struct inode *inode,
	     bool rcu)
{
	tg_follow_link(ctx_arg_u64(ctx, 0));
	return 0;
}

/* Success is tested first; tg_mkname_exit() then tests the mode before anything else. */
SEC("fexit/do_mkdirat")
int BPF_PROG(fexit__do_mkdirat, int dfd, struct filename *name, umode_t mode, int ret)
{
	if (ret == 0)
		tg_mkname_exit(ret);
	return 0;
}

/* The return value from the trampoline (bpf_get_func_ret), whatever the prototype. */
SEC("fexit/do_mknodat")
int fexit__do_mknodat(void *ctx)
{
	__u64 ret = 1;

	bpf_get_func_ret(ctx, &ret);
	if (ret == 0)
		tg_mkname_exit(0);
	return 0;
}

SEC("fexit/__sys_bind")
int fexit____sys_bind(void *ctx)
{
	__u64 ret = 1;

	bpf_get_func_ret(ctx, &ret);
	if (ret == 0)
		tg_mkname_exit(0);
	return 0;
}

/* The return value is the first test: the common case (the name exists) is one comparison. */
SEC("fexit/vfs_statx")
int BPF_PROG(fexit__vfs_statx, int dfd, struct filename *filename, int flags, struct kstat *stat,
	     __u32 request_mask, int ret)
{
	if (ret == -ENOENT)
		tg_probe_exit(ret);
	return 0;
}

SEC("fexit/do_faccessat")
int BPF_PROG(fexit__do_faccessat, int dfd, const char *filename, int mode, int flags, long ret)
{
	if (ret == -ENOENT)
		tg_probe_exit(ret);
	return 0;
}

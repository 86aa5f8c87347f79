// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor: empty programs on exactly the hooks `tmpguard audit` attaches: 17 syscall
 * tracepoints, tp_btf/sys_exit (32-bit syscalls: it runs for every syscall) and the io_uring
 * tp_btf tracepoints (they run only for io_uring requests). Its tp_btf fork/exit programs load
 * only under `run` and `--pid`, its lsm/ programs only under --enforce. Attaching any program to a
 * syscall tracepoint sets SYSCALL_WORK_SYSCALL_TRACEPOINT on every task, so every syscall, traced
 * or not, takes the slow path; this measures that price alone. bench.py checks the list against
 * `bpftool perf` while tmpguard runs, so a program added to tmpguard without one here fails the
 * benchmark. `bench_floor --fexit` loads the floor of `tmpguard --hooks fentry` instead (below).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EMPTY(tp)                                                                                  \
	SEC("tracepoint/syscalls/" #tp)                                                            \
	int floor__##tp(void *ctx)                                                                 \
	{                                                                                          \
		return 0;                                                                          \
	}

/* bpf/open.bpf.c */
EMPTY(sys_enter_open)
EMPTY(sys_enter_openat)
EMPTY(sys_enter_openat2)
EMPTY(sys_enter_creat)
EMPTY(sys_exit_open)
EMPTY(sys_exit_openat)
EMPTY(sys_exit_openat2)
EMPTY(sys_exit_creat)
/* bpf/probe.bpf.c */
EMPTY(sys_exit_newstat)
EMPTY(sys_exit_newlstat)
EMPTY(sys_exit_newfstatat)
EMPTY(sys_exit_statx)
EMPTY(sys_exit_access)
EMPTY(sys_exit_faccessat)
EMPTY(sys_exit_faccessat2)
/* bpf/mkdir.bpf.c */
EMPTY(sys_exit_mkdir)
EMPTY(sys_exit_mkdirat)
EMPTY(sys_exit_mknod)
EMPTY(sys_exit_mknodat)
EMPTY(sys_exit_bind)

/* bpf/ia32.bpf.c: the generic exit tracepoint, for 32-bit syscalls; every syscall runs it. */
SEC("tp_btf/sys_exit")
int floor__sys_exit(void *ctx)
{
	return 0;
}

/* bpf/uring.bpf.c: io_uring_submit_req since 6.4, io_uring_submit_sqe before (floor.c loads
 * the one this kernel has) */
SEC("tp_btf/io_uring_submit_req")
int floor__io_uring_submit_req(void *ctx)
{
	return 0;
}

SEC("tp_btf/io_uring_submit_sqe")
int floor__io_uring_submit_sqe(void *ctx)
{
	return 0;
}

SEC("tp_btf/io_uring_complete")
int floor__io_uring_complete(void *ctx)
{
	return 0;
}

/*
 * bpf/fexit.bpf.c (`bench_floor --fexit`, for `--hooks fentry`): empty fexit programs on the same
 * functions, instead of every syscall program above; the io_uring ones stay, as in tmpguard.
 */
#define EMPTY_FEXIT(fn)                                                                            \
	SEC("fexit/" #fn)                                                                          \
	int floor__fexit_##fn(void *ctx)                                                           \
	{                                                                                          \
		return 0;                                                                          \
	}

EMPTY_FEXIT(do_sys_openat2)
EMPTY_FEXIT(do_mkdirat)
EMPTY_FEXIT(do_mknodat)
EMPTY_FEXIT(__sys_bind)
EMPTY_FEXIT(vfs_statx)
EMPTY_FEXIT(do_faccessat)

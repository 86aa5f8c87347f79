// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor: empty programs on exactly the tracepoints `tmpguard audit` attaches (17, all
 * syscall tracepoints; its tp_btf fork/exit programs load only under `run` and `--pid`, its
 * lsm/ programs only under --enforce). Attaching any program to a syscall tracepoint sets
 * SYSCALL_WORK_SYSCALL_TRACEPOINT on every task, so every syscall, traced or not, takes the
 * slow path; this measures that price alone. bench.py checks the list against `bpftool perf`
 * while tmpguard runs, so a program added to tmpguard without one here fails the benchmark.
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

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * open, openat, openat2, creat: files created (or re-opened with O_CREAT) in shared directories.
 *
 * Entry: one flag test; only O_CREAT opens stash their arguments and a checksum of the path.
 * Exit: the flag test again,
 * read from the task's saved registers so that the common case (no O_CREAT) never touches a
 * map; then the decision rests on the file the kernel actually opened.
 */
#include "open.bpf.h"

static __always_inline int stash_open(__u32 sys, int dfd, const char *path, __u64 flags, __u32 mode)
{
	struct tg_open_args a = {};
	__u64 pid_tgid;

	if (!(flags & O_CREAT))
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	if (!task_tracked(pid_tgid >> 32))
		return 0;
	a.flags = flags;
	a.path = (__u64)path;
	a.mode = mode;
	a.dfd = dfd;
	a.syscall = sys;
	a.decision_rule = TG_R_NONE;
	stash_path(&a, path);
	open_args_stash(bpf_get_current_task_btf(), &a);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int tracepoint__syscalls__sys_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return stash_open(TG_SYS_OPEN, AT_FDCWD, (const char *)ctx->args[0], ctx->args[1],
			  ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int tracepoint__syscalls__sys_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return stash_open(TG_SYS_OPENAT, (int)ctx->args[0], (const char *)ctx->args[1],
			  ctx->args[2], ctx->args[3]);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int tracepoint__syscalls__sys_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};

	/* flags and mode live in user memory: openat2 is rare enough to read them always. */
	if (bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]))
		return 0;
	return stash_open(TG_SYS_OPENAT2, (int)ctx->args[0], (const char *)ctx->args[1], how.flags,
			  how.mode);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int tracepoint__syscalls__sys_enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	/* creat(2) is open(O_CREAT|O_WRONLY|O_TRUNC): never exclusive. */
	return stash_open(TG_SYS_CREAT, AT_FDCWD, (const char *)ctx->args[0],
			  O_CREAT | 1 /* O_WRONLY */ | O_TRUNC, ctx->args[1]);
}

/* The arguments stashed at entry, taken out of the map: the exit programs' common part. */
static __always_inline int handle_open_exit(long ret)
{
	struct tg_open_args a, *ap;

	ap = open_args_pending(bpf_get_current_task_btf());
	if (!ap)
		return 0;
	a = *ap;
	open_args_take(ap);
	if (ret < 0)
		return 0;
	return report_open(ret, NULL, &a, NULL);
}

/* Exit programs: re-test O_CREAT from the saved registers before any map access (a direct
 * load: current_regs() is a BTF pointer). */
SEC("tracepoint/syscalls/sys_exit_open")
int tracepoint__syscalls__sys_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	if (!(current_regs()->si & O_CREAT))
		return 0;
	return handle_open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int tracepoint__syscalls__sys_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	if (!(current_regs()->dx & O_CREAT))
		return 0;
	return handle_open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int tracepoint__syscalls__sys_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return handle_open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int tracepoint__syscalls__sys_exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	return handle_open_exit(ctx->ret);
}

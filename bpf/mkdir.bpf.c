// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Names made in shared directories by other calls than open: directories (mkdir, mkdirat) and
 * nodes (mknod, mknodat: FIFOs, devices, regular files; bind: AF_UNIX sockets) with a loose
 * mode: group/other access for a directory, the policy's file mask for a node. These calls
 * fail when the name exists, so only the new entry's mode can be wrong.
 * Exit only: success and a loose effective mode are tested first, from the return value and
 * the saved registers; most calls on a host stop there. tg_mkname_exit() is shared with the
 * 32-bit sys_exit (ia32.bpf.c) and the fexit programs (fexit.bpf.c).
 */
#include "common.bpf.h"

#define S_IFSOCK 0140000
#define AF_UNIX	 1
#define SUN_PATH 108 /* sizeof(struct sockaddr_un.sun_path) */

/* The mkdir, mknod or bind the current task made returned ret (native or 32-bit alike). */
__noinline int tg_mkname_exit(long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tg_path_shape shape;
	struct tg_scratch *s;
	struct tg_event *e;
	struct dentry *req = NULL;
	struct inode *rino = NULL;
	__u32 umask, eff, type, facts = TG_F_CREATED, tid, rule = TG_R_NONE;
	__u32 *decision;
	bool killed = false;
	struct tg_call c;
	__u16 family;
	long n;

	if (ret != 0 || !decode_call(task, &c))
		return 0;
	if (c.op == TG_OP_SOCKETCALL && !socketcall_bind(&c))
		return 0;
	umask = BPF_CORE_READ(task, fs, umask);
	switch (c.op) {
	case TG_OP_MKDIR:
		type = S_IFDIR;
		eff = c.mode & ~umask & MODE_PERMS;
		if (!(eff & tg_set.dir_loose_mask))
			return 0;
		facts |= TG_F_IS_DIR;
		break;
	case TG_OP_MKNOD:
		/* mknod(2): a type of 0 makes a regular file */
		type = c.mode & S_IFMT ? c.mode & S_IFMT : S_IFREG;
		eff = c.mode & ~umask & MODE_PERMS;
		if (!(eff & tg_set.file_loose_mask))
			return 0;
		break;
	case TG_OP_BIND:
		/* unix_bind(): the socket file gets S_IRWXUGO less the umask */
		type = S_IFSOCK;
		eff = 0777 & ~umask;
		if (!(eff & tg_node_loose_mask(S_IFSOCK, tg_set.file_loose_mask)))
			return 0;
		if (bpf_probe_read_user(&family, sizeof(family), (void *)c.path) ||
		    family != AF_UNIX)
			return 0;
		c.path += sizeof(family); /* sun_path: empty for an abstract socket (no file) */
		break;
	default:
		return 0;
	}
	if (!task_tracked(bpf_get_current_pid_tgid() >> 32))
		return 0;
	stat_inc(TG_STAT_MKDIR_SEEN);

	s = read_call_path(&c, &n);
	if (!s)
		return 0;
	if (c.op == TG_OP_BIND) {
		/* sun_path need not end in a NUL: the kernel takes at most its 108 bytes */
		if (n > SUN_PATH) {
			s->path[SUN_PATH] = 0;
			n = SUN_PATH + 1;
		}
	} else if (path_truncated((const char *)c.path, n)) {
		facts |= TG_F_PATH_TRUNC;
	}
	tg_path_shape(s, n - 1, &shape);
	/* The new entry's dentry is out of reach at syscall exit; its directory is known here
	 * only for a bare name (dfd or cwd) or "/name". Anything else user space resolves. */
	if (shape.slashes == 0)
		req = base_dir(task, c.dfd);
	else if (shape.slashes == 1 && s->path[0] == '/')
		req = BPF_CORE_READ(task, fs, root.dentry);
	if (req) {
		rino = BPF_CORE_READ(req, d_inode);
		if (!inode_is_shared_dir(rino))
			return 0;
		facts |= TG_F_REQDIR_SHARED | TG_F_DIR_SHARED;
	} else {
		facts |= TG_F_REQDIR_UNKNOWN;
	}

	if (tg_kexc_excepted(acting_uid(task), TG_KEXC_ANY_RULE)) {
		stat_inc(TG_STAT_EXCEPTED);
		return 0;
	}
	/* A dry-run LSM decision on this mkdir, or the kill fallback. */
	tid = (__u32)bpf_get_current_pid_tgid();
	decision = c.op == TG_OP_MKDIR ? bpf_map_lookup_elem(&tg_mkdir_decision, &tid) : NULL;
	if (c.op != TG_OP_MKDIR) {
		/* reported, not enforced */
	} else if (decision) {
		rule = *decision;
		bpf_map_delete_elem(&tg_mkdir_decision, &tid);
	} else if (tg_cfg.enforce == TG_ENFORCE_KILL_FALLBACK && req) {
		rule = tg_enforced_rule(tg_decide_mkdir(1, eff, tg_set.dir_loose_mask));
		if (rule != TG_R_NONE) {
			bpf_send_signal(SIGKILL);
			stat_inc(TG_STAT_KILLED);
			killed = true;
		}
	}
	e = event_start();
	if (!e)
		return 0;
	__builtin_memset(e, 0, offsetof(struct tg_event, comm));
	e->kind = c.op == TG_OP_MKDIR ? TG_KIND_MKDIR : TG_KIND_NODE;
	e->entry = c.entry;
	e->syscall = c.sys;
	e->dfd = c.dfd;
	/* what the caller asked for (unix_bind() asks for 0777), without mknod's type */
	e->mode = c.op == TG_OP_BIND ? 0777 : c.op == TG_OP_MKNOD ? c.mode & MODE_PERMS : c.mode;
	e->file_mode = type | eff;
	e->facts = facts;
	e->rule = rule;
	if (rule != TG_R_NONE)
		e->action = killed ? TG_ACT_KILLED : TG_ACT_WOULD_DENY;
	if (rino) {
		e->dir_mode = BPF_CORE_READ(rino, i_mode);
		e->dir_uid = BPF_CORE_READ(rino, i_uid.val);
		e->dir_ino = BPF_CORE_READ(rino, i_ino);
	}
	tg_fill_task(e);
	e->file_uid = e->fsuid;
	e->name[0] = 0;
	n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), s->path);
	event_submit(e, n);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mkdir")
int tracepoint__syscalls__sys_exit_mkdir(struct trace_event_raw_sys_exit *ctx)
{
	return ctx->ret == 0 ? tg_mkname_exit(ctx->ret) : 0;
}

SEC("tracepoint/syscalls/sys_exit_mkdirat")
int tracepoint__syscalls__sys_exit_mkdirat(struct trace_event_raw_sys_exit *ctx)
{
	return ctx->ret == 0 ? tg_mkname_exit(ctx->ret) : 0;
}

SEC("tracepoint/syscalls/sys_exit_mknod")
int tracepoint__syscalls__sys_exit_mknod(struct trace_event_raw_sys_exit *ctx)
{
	return ctx->ret == 0 ? tg_mkname_exit(ctx->ret) : 0;
}

SEC("tracepoint/syscalls/sys_exit_mknodat")
int tracepoint__syscalls__sys_exit_mknodat(struct trace_event_raw_sys_exit *ctx)
{
	return ctx->ret == 0 ? tg_mkname_exit(ctx->ret) : 0;
}

SEC("tracepoint/syscalls/sys_exit_bind")
int tracepoint__syscalls__sys_exit_bind(struct trace_event_raw_sys_exit *ctx)
{
	return ctx->ret == 0 ? tg_mkname_exit(ctx->ret) : 0;
}

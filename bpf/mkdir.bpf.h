/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The exit of mkdir and mkdirat, shared by the native syscalls (mkdir.bpf.c) and the 32-bit ones
 * (ia32.bpf.c). Success and a loose effective mode are tested first, from the return value and
 * the arguments; most mkdirs on a host stop there.
 */
#ifndef TG_MKDIR_BPF_H
#define TG_MKDIR_BPF_H

#include "common.bpf.h"

/* A mkdir or mkdirat that returned ret, by a native (TG_ENTRY_SYSCALL) or 32-bit syscall. */
static __always_inline int handle_mkdir_exit(long ret, __u32 entry, __u32 sys, int dfd,
					     const char *path, __u32 mode)
{
	struct task_struct *task;
	struct tg_path_shape shape;
	struct tg_scratch *s;
	struct tg_event *e;
	struct dentry *req = NULL;
	struct inode *rino = NULL;
	__u32 zero = 0, umask, eff, facts = TG_F_CREATED | TG_F_IS_DIR, tid, rule = TG_R_NONE;
	__u32 *decision;
	bool killed = false;
	long n;

	if (ret != 0)
		return 0;
	task = bpf_get_current_task_btf();
	umask = BPF_CORE_READ(task, fs, umask);
	eff = mode & ~umask & MODE_PERMS;
	if (!(eff & tg_set.dir_loose_mask))
		return 0;
	if (!task_tracked(bpf_get_current_pid_tgid() >> 32))
		return 0;
	stat_inc(TG_STAT_MKDIR_SEEN);

	s = bpf_map_lookup_elem(&tg_scratch, &zero);
	if (!s)
		return 0;
	n = bpf_probe_read_user_str(s->path, sizeof(s->path), path);
	if (n <= 1)
		return 0;
	if (path_truncated(path, n))
		facts |= TG_F_PATH_TRUNC;
	path_shape(s->path, n - 1, &shape);
	/* The new entry's dentry is out of reach at syscall exit; its directory is known here
	 * only for a bare name (dfd or cwd) or "/name". Anything else user space resolves. */
	if (shape.slashes == 0)
		req = base_dir(task, dfd);
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

	if (kexc_match(task, (__u32)bpf_get_current_uid_gid()))
		return 0;
	/* A dry-run LSM decision on this mkdir, or the kill fallback. */
	tid = (__u32)bpf_get_current_pid_tgid();
	decision = bpf_map_lookup_elem(&tg_mkdir_decision, &tid);
	if (decision) {
		rule = *decision;
		bpf_map_delete_elem(&tg_mkdir_decision, &tid);
	} else if (tg_set.enforce == TG_ENFORCE_KILL_FALLBACK && req &&
		   enforce_rule(task, TG_R_LOOSE_TEMPDIR)) {
		rule = TG_R_LOOSE_TEMPDIR;
		bpf_send_signal(SIGKILL);
		stat_inc(TG_STAT_KILLED);
		killed = true;
	}
	e = event_start();
	if (!e)
		return 0;
	__builtin_memset(e, 0, offsetof(struct tg_event, comm));
	e->kind = TG_KIND_MKDIR;
	e->entry = entry;
	e->syscall = sys;
	e->dfd = dfd;
	e->mode = mode;
	e->file_mode = S_IFDIR | eff;
	e->facts = facts;
	e->rule = rule;
	if (rule != TG_R_NONE)
		e->action = killed ? TG_ACT_KILLED : TG_ACT_WOULD_DENY;
	if (rino) {
		e->dir_mode = BPF_CORE_READ(rino, i_mode);
		e->dir_uid = BPF_CORE_READ(rino, i_uid.val);
		e->dir_ino = BPF_CORE_READ(rino, i_ino);
	}
	fill_task(e, task);
	e->file_uid = e->fsuid;
	e->name[0] = 0;
	n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), s->path);
	event_submit(e, n);
	return 0;
}

#endif /* TG_MKDIR_BPF_H */

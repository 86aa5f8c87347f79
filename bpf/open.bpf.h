/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The end of an open with O_CREAT, shared by every way one enters the kernel: native syscalls
 * (open.bpf.c), 32-bit syscalls (ia32.bpf.c) and io_uring requests (uring.bpf.c). The decision
 * rests on the file the kernel actually opened.
 */
#ifndef TG_OPEN_BPF_H
#define TG_OPEN_BPF_H

#include "common.bpf.h"

/*
 * At the start of an open with O_CREAT: the path as it is now, just before the kernel copies
 * it. The exit compares it with what is there then, and a string another thread rewrote in
 * between is known for what it is (TG_F_PATH_CHANGED) rather than taken for a symlink. Not for
 * an O_EXCL open that cannot be a finding (mode within the mask, O_CLOEXEC where that is
 * reported): the secure pattern (mkstemp) pays nothing for it.
 */
static __always_inline void stash_path(struct tg_open_args *a, const char *path)
{
	struct tg_scratch *s;
	__u32 zero = 0;

	if (a->flags & O_EXCL && !(a->mode & tg_set.file_loose_mask) &&
	    !(tg_set.report_cloexec && !(a->flags & O_CLOEXEC)))
		return;
	s = bpf_map_lookup_elem(&tg_scratch, &zero);
	if (!s)
		return;
	a->path_n = bpf_probe_read_user_str(s->path, sizeof(s->path), path);
	a->path_sum = path_checksum(s->path, a->path_n);
	a->path_read = 1;
}

/*
 * Did the caller name a shared directory, and did the name resolve where it said? Sets
 * TG_F_NAME_MISMATCH, TG_F_PARENT_MISMATCH, TG_F_REQDIR_SHARED or TG_F_REQDIR_UNKNOWN.
 */
static __always_inline __u32 requested_dir_facts(struct task_struct *task, struct file *f,
						 struct dentry *d, struct dentry *pd,
						 bool pd_shared, const struct tg_open_args *a,
						 __u32 len, struct tg_scratch *s,
						 struct tg_path_shape *shape)
{
	struct dentry *req;
	__u32 facts = 0;

	path_shape(s->path, len, shape);
	if (dentry_name_hash(d, s->name) != shape->base_hash)
		facts |= TG_F_NAME_MISMATCH;

	if (shape->slashes == 0) {
		/* A bare name: the directory is dfd's (or cwd), a dentry we can compare. */
		req = base_dir(task, a->dfd);
	} else if (shape->slashes == 1 && s->path[0] == '/') {
		/* "/name": the task's root. */
		req = BPF_CORE_READ(task, fs, root.dentry);
	} else {
		/* "dir/name": compare the holding directory's name with the one requested. A
		 * mismatch, ".", ".." or an empty component leaves the decision to user space,
		 * which resolves the requested directory. */
		struct dentry *vis = visible_dir(pd, BPF_CORE_READ(f, f_path.mnt));

		if (shape->dir_len == 0 || shape->dir_is_dot ||
		    dentry_name_hash(vis, s->comp) != shape->dir_hash)
			return facts | TG_F_PARENT_MISMATCH | TG_F_REQDIR_UNKNOWN;
		req = pd;
	}
	if (!req)
		return facts | TG_F_REQDIR_UNKNOWN;
	if (req == pd) {
		/* The holding directory: the caller knows whether it is shared already. */
		if (pd_shared)
			facts |= TG_F_REQDIR_SHARED;
		return facts;
	}
	facts |= TG_F_PARENT_MISMATCH;
	if (inode_is_shared_dir(BPF_CORE_READ(req, d_inode)))
		facts |= TG_F_REQDIR_SHARED;
	return facts;
}

/*
 * --enforce-fallback=kill: the rule an exit record proves, from kernel facts alone, if the
 * policy denies it for this task. Only what the kernel decided counts: a directory user space
 * must resolve (TG_F_REQDIR_UNKNOWN) never leads to a kill.
 */
static __always_inline __u32 fallback_rule(struct task_struct *task, __u32 facts, bool excl,
					   bool loose, bool foreign,
					   const struct tg_path_shape *shape)
{
	bool created = facts & TG_F_CREATED, shared = facts & TG_F_DIR_SHARED;

	/* A rewritten path string proves no symlink: the opened file's facts decide. */
	if (!excl && !(facts & TG_F_PATH_CHANGED) &&
	    (facts & (TG_F_NAME_MISMATCH | TG_F_PARENT_MISMATCH)) && (facts & TG_F_REQDIR_SHARED) &&
	    enforce_rule(task, TG_R_SYMLINK_FOLLOW))
		return TG_R_SYMLINK_FOLLOW;
	if (!excl && !created && shared && foreign && enforce_rule(task, TG_R_FOREIGN_FILE_REUSE))
		return TG_R_FOREIGN_FILE_REUSE;
	if (!excl && created && shared && bpf_map_lookup_elem(&tg_probes, &shape->hash) &&
	    enforce_rule(task, TG_R_CHECK_THEN_CREATE))
		return TG_R_CHECK_THEN_CREATE;
	if (!excl && created && shared && enforce_rule(task, TG_R_NONEXCLUSIVE_CREATE))
		return TG_R_NONEXCLUSIVE_CREATE;
	if (created && shared && loose && enforce_rule(task, TG_R_LOOSE_MODE))
		return TG_R_LOOSE_MODE;
	return TG_R_NONE;
}

/*
 * What the path string itself is worth: TG_F_PATH_CHANGED when it is not the string the entry
 * program read (another thread rewrote it while the call ran: which one the kernel used is
 * unknown), TG_F_LINK_FOLLOWED when the BPF LSM saw this open follow a shared directory's
 * symlink. Asked last, once a record is sure to be sent: every branch before the ring-buffer
 * reserve multiplies the verifier's work on the exit programs.
 */
static __always_inline __u32 path_facts(const struct tg_open_args *a, const char *buf, long n)
{
	__u32 facts = a->followed_shared_link ? TG_F_LINK_FOLLOWED : 0;

	if (a->path_read && (n != a->path_n || path_checksum(buf, n) != a->path_sum))
		facts |= TG_F_PATH_CHANGED;
	return facts;
}

/*
 * The decision at the end of an open with O_CREAT that returned ret >= 0, whichever way it
 * entered the kernel (a->entry): f is the file it opened (NULL: look up fd ret), a its
 * arguments. For an io_uring request, u is its submission record: the name is there, in kernel
 * memory, and the event names the submitting thread; for syscalls u is NULL and a->path is the
 * name in user memory.
 */
static __always_inline int report_open(long ret, struct file *f, const struct tg_open_args *a,
				       const struct tg_uring_open *u)
{
	__u32 zero = 0, facts = 0, len, fmode, fsuid, file_uid, file_mode, dir_mode;
	struct task_struct *task;
	struct tg_path_shape shape = {};
	struct tg_scratch *s;
	struct tg_event *e;
	struct dentry *d, *pd;
	struct inode *ino, *pino;
	struct tg_probe *probe;
	bool excl, loose, inheritable, decided;
	__u32 rule = TG_R_NONE;
	long n;

	stat_inc(TG_STAT_CREATE_SEEN);
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == tg_cfg.self_tgid)
		stat_inc(TG_STAT_SELF_CREATE);
	task = bpf_get_current_task_btf();
	if (!f)
		f = task_fd_file(task, ret);
	if (!f)
		return 0;
	/* f, from a descriptor or from io_uring's request, is no BTF pointer to the verifier:
	 * what hangs off it is read with BPF_CORE_READ. Each field once; the owner, needed only
	 * by non-exclusive opens, after the O_EXCL test. */
	fmode = BPF_CORE_READ(f, f_mode);
	d = BPF_CORE_READ(f, f_path.dentry);
	pd = BPF_CORE_READ(d, d_parent);
	ino = BPF_CORE_READ(f, f_inode);
	pino = BPF_CORE_READ(pd, d_inode);
	file_mode = BPF_CORE_READ(ino, i_mode);
	dir_mode = BPF_CORE_READ(pino, i_mode);
	if (fmode & FMODE_CREATED)
		facts |= TG_F_CREATED;
	if (dir_mode_is_shared(pino, dir_mode))
		facts |= TG_F_DIR_SHARED;

	excl = a->flags & O_EXCL;
	loose = (facts & TG_F_CREATED) && (file_mode & tg_set.file_loose_mask);
	inheritable = (facts & TG_F_CREATED) && tg_set.report_cloexec && !(a->flags & O_CLOEXEC);
	/* O_EXCL guarantees a new entry in the holding directory (no symlink is followed): only
	 * its mode and O_CLOEXEC can still be wrong, and only in a shared directory. A dry-run
	 * LSM decision is always reported: it was counted already. */
	decided = a->decision_rule != TG_R_NONE;
	if (excl && (!(facts & TG_F_DIR_SHARED) || !(loose || inheritable)) && !decided)
		return 0;
	if (excl)
		facts |= TG_F_REQDIR_SHARED; /* the named directory is the holding one */
	/* BPF_CORE_READ on task, here and below: a direct load from task this deep costs the
	 * verifier, see "Direct loads" in common.bpf.h. */
	fsuid = BPF_CORE_READ(task, cred, fsuid.val);
	file_uid = BPF_CORE_READ(ino, i_uid.val);

	s = bpf_map_lookup_elem(&tg_scratch, &zero);
	if (!s)
		return 0;
	if (u)
		n = bpf_probe_read_kernel_str(s->path, sizeof(s->path), u->path);
	else
		n = bpf_probe_read_user_str(s->path, sizeof(s->path), (const char *)a->path);
	if (n <= 0) {
		facts |= TG_F_PATH_FAULT | (excl ? 0 : TG_F_REQDIR_UNKNOWN);
		s->path[0] = 0;
		len = 0;
	} else {
		len = n - 1;
		/* A kernel copy (io_uring) holds at most PATH_MAX - 1 bytes: whole. */
		if (!u && path_truncated((const char *)a->path, n))
			facts |= TG_F_PATH_TRUNC;
		if (!excl)
			facts |= requested_dir_facts(task, f, d, pd, facts & TG_F_DIR_SHARED, a,
						     len, s, &shape);
	}
	if (!u)
		facts |= path_facts(a, s->path, n);

	if (!excl) {
		bool redirected = facts & (TG_F_NAME_MISMATCH | TG_F_PARENT_MISMATCH);
		bool foreign = !(facts & TG_F_CREATED) && file_uid != fsuid;

		/* Re-opening a file you own, where you named it: not a creation, not a finding. */
		if (!(facts & TG_F_CREATED) && !redirected && !foreign && !loose && !decided)
			return 0;
		if (!(facts & (TG_F_DIR_SHARED | TG_F_REQDIR_SHARED | TG_F_REQDIR_UNKNOWN)) &&
		    !decided)
			return 0;
	}

	if (kexc_match(task, (__u32)bpf_get_current_uid_gid()))
		return 0;
	if (tg_set.enforce == TG_ENFORCE_KILL_FALLBACK) {
		rule = fallback_rule(task, facts, excl, loose, file_uid != fsuid, &shape);
		if (rule != TG_R_NONE) {
			/* No BPF LSM: the file exists already; stop the process from using it. */
			bpf_send_signal(SIGKILL);
			stat_inc(TG_STAT_KILLED);
		}
	}
	e = event_start();
	if (!e)
		return 0;
	__builtin_memset(e, 0, offsetof(struct tg_event, comm));
	e->kind = TG_KIND_OPEN;
	e->syscall = a->syscall;
	e->ret = ret;
	e->dfd = a->dfd;
	e->flags = a->flags;
	e->mode = a->mode;
	e->facts = facts;
	e->rule = TG_R_NONE;
	if (decided) {
		e->action = TG_ACT_WOULD_DENY;
		e->rule = a->decision_rule;
	} else if (rule != TG_R_NONE) {
		e->action = TG_ACT_KILLED;
		e->rule = rule;
	}
	e->file_mode = file_mode;
	e->file_uid = file_uid;
	e->file_nlink = BPF_CORE_READ(ino, __i_nlink);
	e->file_ino = BPF_CORE_READ(ino, i_ino);
	e->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	e->dir_mode = dir_mode;
	e->dir_uid = BPF_CORE_READ(pino, i_uid.val);
	e->dir_ino = BPF_CORE_READ(pino, i_ino);
	e->entry = a->entry;
	fill_task(e, task);
	if (u) {
		e->tid = u->tid;
		__builtin_memcpy(e->comm, u->comm, sizeof(e->comm));
	}
	e->args[TG_ARGS_LEN - 1] = 0;
	if (bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(d, d_name.name)) < 0)
		e->name[0] = 0;
	n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), s->path);

	/* shape.hash was computed by requested_dir_facts() for every non-exclusive create. */
	if (!excl && len) {
		probe = bpf_map_lookup_elem(&tg_probes, &shape.hash);
		if (probe) {
			e->facts |= TG_F_PROBED;
			e->probe_ts_ns = probe->ts_ns;
			e->probe_pid = probe->pid;
			e->probe_ppid = probe->ppid;
			e->probe_sid = probe->sid;
			e->probe_syscall = probe->syscall;
		}
	}
	event_submit(e, n);
	return 0;
}

#endif /* TG_OPEN_BPF_H */

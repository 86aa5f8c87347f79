// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Enforcement: BPF LSM hooks that refuse insecure creates before anything is written.
 *
 * Which hook decides what, and why there:
 * - inode_follow_link: a symlink in a shared directory followed while this task has a
 *   non-exclusive O_CREAT open pending (the args stashed at sys_enter) marks that open. This is
 *   the symlink-follow fact, exact and path-independent.
 * - inode_create: runs before the entry exists, with the mode after umask. Refusing here leaves
 *   no file: nonexclusive-create, check-then-create, loose-mode, and symlink-follow through a
 *   dangling link.
 * - file_open: sees the opened file before O_TRUNC is applied (handle_truncate runs after
 *   vfs_open), so refusing here leaves the target untouched: symlink-follow and
 *   foreign-file-reuse on existing files. Creations were decided in inode_create.
 * - inode_mkdir: before the directory exists, with the mode after umask: loose-tempdir.
 * Loaded only with --enforce or --dry-run, where the kernel runs BPF LSM programs.
 *
 * The open being made is found the way it entered the kernel: a native syscall's arguments were
 * stashed at sys_enter (--hooks fentry: at fentry/do_sys_openat2, fexit.bpf.c, which stashes
 * 32-bit ones too); a 32-bit syscall's are read from its registers here (no per-syscall
 * tracepoint fires for it) and stashed for the ia32 exit program; an io_uring request runs in
 * an io-wq worker, whose current request leads to the submission record uring.bpf.c made.
 */
#include "common.bpf.h"

/* A decision record for a refused (or would-be refused) operation. The syscall fails, so the
 * exit programs send nothing: this is the only record of it. */
static __always_inline void emit_decision(struct task_struct *task, __u32 kind,
					  const struct tg_open_args *a,
					  const struct tg_uring_open *u, struct inode *dir,
					  struct dentry *dentry, __u32 mode, __u32 rule,
					  __u32 action, __u32 facts, const struct tg_probe *probe)
{
	struct tg_event *e = event_start();
	const char *upath = NULL, *kpath = u ? u->path : NULL;
	struct inode *ino;
	void *req;
	long n;

	if (!e)
		return;
	__builtin_memset(e, 0, offsetof(struct tg_event, comm));
	e->kind = kind;
	if (a) {
		e->syscall = a->syscall;
		e->entry = a->entry;
		e->dfd = a->dfd;
		e->flags = a->flags;
		e->mode = a->mode;
		upath = (const char *)a->path;
	} else if ((req = uring_worker_req(task))) {
		/* IORING_OP_MKDIRAT: its io_mkdir holds the name until the mkdir is done. */
		struct io_mkdir *m = req + bpf_core_field_offset(struct io_kiocb, cmd);

		e->entry = TG_ENTRY_IO_URING;
		e->syscall = TG_SYS_MKDIRAT;
		e->dfd = BPF_CORE_READ(m, dfd);
		e->mode = BPF_CORE_READ(m, mode);
		kpath = BPF_CORE_READ(m, filename, name);
	} else if (in_ia32_syscall(task)) {
		/* ia32 mkdir(path, mode) or mkdirat(dfd, path, mode): syscall 39 or 296 */
		struct pt_regs *regs = current_regs();
		bool at = regs->orig_ax != IA32_NR_MKDIR;
		__u32 bx = regs->bx, cx = regs->cx;

		e->entry = TG_ENTRY_IA32;
		e->syscall = at ? TG_SYS_MKDIRAT : TG_SYS_MKDIR;
		e->dfd = at ? (int)bx : AT_FDCWD;
		upath = (const char *)(__u64)(at ? cx : bx);
		e->mode = at ? (__u32)regs->dx : cx;
	} else {
		/* mkdir(path, mode) or mkdirat(dfd, path, mode): x86_64 syscall 83 or 258 */
		struct pt_regs *regs = current_regs();
		bool at = regs->orig_ax != 83;

		e->syscall = at ? TG_SYS_MKDIRAT : TG_SYS_MKDIR;
		e->dfd = at ? (int)regs->di : AT_FDCWD;
		upath = (const char *)(at ? regs->si : regs->di);
		e->mode = at ? regs->dx : regs->si;
	}
	e->ret = -EACCES;
	e->facts = facts;
	e->action = action;
	e->rule = rule;
	if (probe) {
		e->probe_ts_ns = probe->ts_ns;
		e->probe_pid = probe->pid;
		e->probe_ppid = probe->ppid;
		e->probe_sid = probe->sid;
		e->probe_syscall = probe->syscall;
	}
	e->dir_mode = BPF_CORE_READ(dir, i_mode);
	e->dir_uid = BPF_CORE_READ(dir, i_uid.val);
	e->dir_ino = BPF_CORE_READ(dir, i_ino);
	e->dev = inode_dev(dir);
	ino = BPF_CORE_READ(dentry, d_inode);
	if (ino) {
		e->file_mode = BPF_CORE_READ(ino, i_mode);
		e->file_uid = BPF_CORE_READ(ino, i_uid.val);
		e->file_nlink = BPF_CORE_READ(ino, __i_nlink);
		e->file_ino = BPF_CORE_READ(ino, i_ino);
	} else {
		e->file_mode = mode; /* the mode the new entry would have had */
	}
	fill_task(e, task);
	if (u) {
		e->tid = u->tid;
		__builtin_memcpy(e->comm, u->comm, sizeof(e->comm));
	}
	e->args[TG_ARGS_LEN - 1] = 0;
	if (bpf_probe_read_kernel_str(e->name, sizeof(e->name),
				      BPF_CORE_READ(dentry, d_name.name)) < 0)
		e->name[0] = 0;
	if (kpath) {
		n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), kpath);
	} else {
		n = bpf_probe_read_user_str(e->path, sizeof(e->path), upath);
		if (n < 0)
			n = bpf_probe_read_kernel_str(e->path, sizeof(e->path),
						      BPF_CORE_READ(dentry, d_name.name));
	}
	event_submit(e, n); /* n < 0: an empty path */
}

/* Applies the policy's action for rule: returns the LSM verdict. */
static __always_inline int decide(struct task_struct *task, __u32 kind, struct tg_open_args *a,
				  const struct tg_uring_open *u, struct inode *dir,
				  struct dentry *dentry, __u32 mode, __u32 rule, __u32 facts,
				  const struct tg_probe *probe)
{
	__u32 action;

	if (tg_set.enforce == TG_ENFORCE_DRY_RUN) {
		stat_inc(TG_STAT_WOULD_DENY);
		if (a) {
			/* The open goes on: its exit record carries the would-deny. */
			a->decision_rule = rule;
			return 0;
		}
		emit_decision(task, kind, a, u, dir, dentry, mode, rule, TG_ACT_WOULD_DENY, facts,
			      probe);
		return 0;
	}
	action = TG_ACT_DENIED;
	stat_inc(TG_STAT_DENIED);
	if (tg_set.kill_rules & (1u << rule)) {
		bpf_send_signal(SIGKILL);
		action = TG_ACT_KILLED;
		stat_inc(TG_STAT_KILLED);
	}
	emit_decision(task, kind, a, u, dir, dentry, mode, rule, action, facts, probe);
	return -EACCES;
}

/*
 * The O_CREAT open this thread is making, if any: a native syscall's arguments stashed at entry;
 * a 32-bit syscall's, stashed now from its registers (the ia32 exit program takes them out);
 * or in an io-wq worker, the submission record of its request (*u set, NULL otherwise).
 */
static __always_inline struct tg_open_args *current_open(struct task_struct *task,
							 struct tg_uring_open **u)
{
	__u64 key;
	struct tg_open_args *a, ia32;
	struct tg_uring_open *uo;
	void *req;

	*u = NULL;
	a = open_args_pending(task);
	if (a)
		return a;
	/* The worker first: an io worker forked from a 32-bit io_uring_enter() keeps TS_COMPAT
	 * (dup_task_struct() copies thread_info, and it never returns to user space to clear
	 * it), with zeroed registers. */
	req = uring_worker_req(task);
	if (req) {
		key = (__u64)req;
		uo = bpf_map_lookup_elem(&tg_uring_open, &key);
		if (!uo)
			return NULL;
		*u = uo;
		return &uo->a;
	}
	if (!in_ia32_syscall(task) || !ia32_open_args(current_regs(), &ia32) ||
	    !task_tracked(bpf_get_current_pid_tgid() >> 32))
		return NULL;
	open_args_stash(task, &ia32);
	return open_args_pending(task);
}

/* The pending non-exclusive O_CREAT open of this thread, if any. */
static __always_inline struct tg_open_args *pending_open(struct task_struct *task,
							 struct tg_uring_open **u)
{
	struct tg_open_args *a = current_open(task, u);

	return a && !(a->flags & O_EXCL) ? a : NULL;
}

SEC("lsm/inode_follow_link")
int BPF_PROG(lsm__inode_follow_link, struct dentry *dentry, struct inode *inode, bool rcu, int ret)
{
	struct tg_uring_open *u;
	struct tg_open_args *a;

	if (ret || !enforcing())
		return ret;
	a = pending_open(bpf_get_current_task_btf(), &u);
	if (a && inode_is_shared_dir(BPF_CORE_READ(dentry, d_parent, d_inode)))
		a->followed_shared_link = 1;
	return 0;
}

SEC("lsm/inode_create")
int BPF_PROG(lsm__inode_create, struct inode *dir, struct dentry *dentry, umode_t mode, int ret)
{
	struct task_struct *task;
	struct tg_uring_open *u;
	struct tg_open_args *a;
	__u32 rule = TG_R_NONE, facts = TG_F_CREATED;
	struct tg_probe probe = {}, *pr;
	bool excl;

	if (ret || !enforcing())
		return ret;
	task = bpf_get_current_task_btf();
	a = current_open(task, &u);
	if (!a)
		return 0; /* not an open-family create we know of */
	excl = a->flags & O_EXCL;
	if (!excl && a->followed_shared_link) {
		/* a dangling symlink in a shared directory led here */
		rule = TG_R_SYMLINK_FOLLOW;
		facts |= TG_F_NAME_MISMATCH | TG_F_REQDIR_SHARED;
	} else if (inode_is_shared_dir(dir)) {
		facts |= TG_F_DIR_SHARED | TG_F_REQDIR_SHARED;
		if (!excl)
			rule = TG_R_NONEXCLUSIVE_CREATE;
		if (!excl && enforce_rule(task, TG_R_CHECK_THEN_CREATE)) {
			struct tg_scratch *s;
			struct tg_path_shape shape;
			__u32 zero = 0;
			long n;

			s = bpf_map_lookup_elem(&tg_scratch, &zero);
			if (!s)
				n = 0;
			else if (u)
				n = bpf_probe_read_kernel_str(s->path, sizeof(s->path), u->path);
			else
				n = bpf_probe_read_user_str(s->path, sizeof(s->path),
							    (void *)a->path);
			if (n > 1) {
				path_shape(s->path, n - 1, &shape);
				pr = bpf_map_lookup_elem(&tg_probes, &shape.hash);
				if (pr) {
					probe = *pr;
					rule = TG_R_CHECK_THEN_CREATE;
					facts |= TG_F_PROBED;
				}
			}
		}
		if ((rule == TG_R_NONE || !enforce_rule(task, rule)) &&
		    (mode & tg_set.file_loose_mask))
			rule = TG_R_LOOSE_MODE;
	}
	if (rule == TG_R_NONE || !enforce_rule(task, rule))
		return 0;
	return decide(task, TG_KIND_OPEN, a, u, dir, dentry, S_IFREG | mode, rule, facts,
		      (facts & TG_F_PROBED) ? &probe : NULL);
}

SEC("lsm/file_open")
int BPF_PROG(lsm__file_open, struct file *file, int ret)
{
	struct task_struct *task;
	struct tg_uring_open *u;
	struct tg_open_args *a;
	struct dentry *d;
	struct inode *dir, *ino;
	__u32 rule = TG_R_NONE, facts = 0;

	if (ret || !enforcing())
		return ret;
	task = bpf_get_current_task_btf();
	a = pending_open(task, &u);
	if (!a || (BPF_CORE_READ(file, f_mode) & FMODE_CREATED))
		return 0; /* creations were decided in inode_create */
	d = BPF_CORE_READ(file, f_path.dentry);
	dir = BPF_CORE_READ(d, d_parent, d_inode);
	ino = BPF_CORE_READ(file, f_inode);
	if (a->followed_shared_link) {
		rule = TG_R_SYMLINK_FOLLOW;
		facts = TG_F_NAME_MISMATCH | TG_F_REQDIR_SHARED;
	} else if (inode_is_shared_dir(dir) &&
		   BPF_CORE_READ(ino, i_uid.val) != BPF_CORE_READ(task, cred, fsuid.val)) {
		rule = TG_R_FOREIGN_FILE_REUSE;
		facts = TG_F_DIR_SHARED | TG_F_REQDIR_SHARED;
	}
	if (rule == TG_R_NONE || !enforce_rule(task, rule))
		return 0;
	return decide(task, TG_KIND_OPEN, a, u, dir, d, BPF_CORE_READ(ino, i_mode), rule, facts,
		      NULL);
}

SEC("lsm/inode_mkdir")
int BPF_PROG(lsm__inode_mkdir, struct inode *dir, struct dentry *dentry, umode_t mode, int ret)
{
	struct task_struct *task;
	__u32 tid, rule = TG_R_LOOSE_TEMPDIR;

	if (ret || !enforcing())
		return ret;
	if (!(mode & tg_set.dir_loose_mask) || !inode_is_shared_dir(dir))
		return 0;
	task = bpf_get_current_task_btf();
	if (!enforce_rule(task, rule))
		return 0;
	if (tg_set.enforce == TG_ENFORCE_DRY_RUN && !uring_worker_req(task)) {
		/* The mkdir goes on: its exit record carries the would-deny (an io_uring mkdir
		 * has no exit program: decide() reports it now). */
		tid = (__u32)bpf_get_current_pid_tgid();
		bpf_map_update_elem(&tg_mkdir_decision, &tid, &rule, BPF_ANY);
		stat_inc(TG_STAT_WOULD_DENY);
		return 0;
	}
	return decide(task, TG_KIND_MKDIR, NULL, NULL, dir, dentry, S_IFDIR | (mode & MODE_PERMS),
		      rule, TG_F_CREATED | TG_F_IS_DIR | TG_F_DIR_SHARED | TG_F_REQDIR_SHARED,
		      NULL);
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * open, openat, openat2, creat: files created (or re-opened with O_CREAT) in shared directories.
 *
 * The syscall tracepoint programs are a flag test each: only O_CREAT opens go on, into the
 * global subprograms below, which every way an open enters the kernel shares: tg_open_enter()
 * (sys_enter, fentry/do_sys_openat2), tg_open_exit() (sys_exit, the 32-bit sys_exit,
 * fexit/do_sys_openat2) and tg_report_open() (those, and io_uring's completion). The decision
 * rests on the file the kernel actually opened.
 */
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

/* The open the current task is starting: stashed (with its path's checksum) if it has O_CREAT
 * and the task is in scope. */
__noinline int tg_open_enter(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tg_open_args a;
	struct tg_call c;

	if (!decode_call(task, &c) || c.op != TG_OP_OPEN || !(c.flags & O_CREAT) ||
	    open_is_secure(c.flags, c.mode) || !task_tracked(bpf_get_current_pid_tgid() >> 32))
		return 0;
	open_args_from_call(&a, &c);
	stash_path(&a, (const char *)a.path);
	open_args_stash(task, &a);
	return 0;
}

/*
 * The end of the open the current task made, with result ret: the arguments stashed at its
 * start, else (a 32-bit open under --hooks tracepoint, a stash that failed, a task that came
 * into scope during the call) the ones its registers still hold. What was stashed is taken out
 * whatever the result, so nothing stale is left for the next open.
 */
__noinline int tg_open_exit(long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	bool compat = in_ia32_syscall(task);
	const volatile struct tg_sys_desc *d = syscall_desc(compat, syscall_nr(current_regs()));
	struct tg_open_args a, *ap;
	struct tg_call c;

	if (!d || d->op != TG_OP_OPEN)
		return 0;
	/* The stash of this very call, if its entry made one: no need to decode again. */
	ap = open_args_pending(task);
	if (ap && ap->syscall == d->sys &&
	    ap->entry == (compat ? TG_ENTRY_IA32 : TG_ENTRY_SYSCALL)) {
		a = *ap;
	} else {
		if (!decode_call(task, &c) || !(c.flags & O_CREAT)) {
			if (ap)
				open_args_take(ap);
			return 0;
		}
		if (open_is_secure(c.flags, c.mode)) {
			if (ap)
				open_args_take(ap);
			count_create(ret);
			return 0;
		}
		open_args_from_call(&a, &c);
	}
	if (ap)
		open_args_take(ap);
	if (ret < 0 || !task_tracked(bpf_get_current_pid_tgid() >> 32))
		return 0;
	return tg_report_open(ret, 0, &a, NULL);
}

/*
 * Did the caller name a shared directory, and did the name resolve where it said? The facts
 * the requested path (s->path, x->len bytes) gives: TG_F_NAME_MISMATCH, TG_F_PARENT_MISMATCH,
 * TG_F_REQDIR_SHARED or TG_F_REQDIR_UNKNOWN; sets x->hash. A global subprogram: its result is
 * one unknown value to its caller, not a fan of states.
 */
__noinline int tg_requested_dir_facts(struct tg_open_ctx *x, struct tg_open_args *a,
				      struct tg_scratch *s)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tg_path_shape shape = {};
	struct dentry *req, *pd, *d;
	__u32 facts = 0;

	if (!x || !a || !s)
		return 0;
	d = (struct dentry *)x->dentry;
	pd = (struct dentry *)x->parent;
	tg_path_shape(s, x->len, &shape);
	x->hash = shape.hash;
	x->has_hash = 1;
	if (dentry_name_hash(d, s->name) != shape.base_hash)
		facts |= TG_F_NAME_MISMATCH;

	if (shape.slashes == 0) {
		/* A bare name: the directory is dfd's (or cwd), a dentry we can compare. */
		req = base_dir(task, a->dfd);
	} else if (shape.slashes == 1 && s->path[0] == '/') {
		/* "/name": the task's root. */
		req = BPF_CORE_READ(task, fs, root.dentry);
	} else {
		/* "dir/name": compare the holding directory's name with the one requested. A
		 * mismatch, ".", ".." or an empty component leaves the decision to user space,
		 * which resolves the requested directory. */
		struct file *f = (struct file *)x->file;
		struct dentry *vis = visible_dir(pd, BPF_CORE_READ(f, f_path.mnt));

		if (shape.dir_len == 0 || shape.dir_is_dot ||
		    dentry_name_hash(vis, s->comp) != shape.dir_hash)
			return facts | TG_F_PARENT_MISMATCH | TG_F_REQDIR_UNKNOWN;
		req = pd;
	}
	if (!req)
		return facts | TG_F_REQDIR_UNKNOWN;
	if (req == pd) {
		/* The holding directory: shared if the holding directory is. */
		if (x->facts & TG_F_DIR_SHARED)
			facts |= TG_F_REQDIR_SHARED;
		return facts;
	}
	facts |= TG_F_PARENT_MISMATCH;
	if (inode_is_shared_dir(BPF_CORE_READ(req, d_inode)))
		facts |= TG_F_REQDIR_SHARED;
	return facts;
}

/*
 * --enforce-fallback=kill: the rule this exit proves from kernel facts alone (decide.h's
 * precedence, as user space reports it), if the policy denies it for this task; SIGKILL then.
 * A symlink only where a hook saw it, or where the string is trustworthy (not rewritten); a
 * directory user space must resolve never leads to a kill. Inline: the call chain down to the
 * exception lookup's callback stays within the verifier's 512 bytes of combined stack.
 */
static __always_inline __u32 kill_fallback(struct tg_open_ctx *x, struct tg_open_args *a,
					   struct tg_probe *p)
{
	__u32 facts, rule;

	if (!x || !a)
		return TG_R_NONE;
	facts = x->facts;
	struct tg_open_case oc = {
		.flags = a->flags,
		.file_mode = x->file_mode,
		.loose_mask = tg_set.file_loose_mask,
		.created = !!(facts & TG_F_CREATED),
		.dir_shared = !!(facts & TG_F_DIR_SHARED),
		.req_shared = !!(facts & TG_F_REQDIR_SHARED),
		.symlink = (facts & TG_F_LINK_FOLLOWED) ||
			   (!(facts & (TG_F_PATH_CHANGED | TG_F_LINKS_WATCHED)) &&
			    (facts & (TG_F_NAME_MISMATCH | TG_F_PARENT_MISMATCH))),
		.foreign = x->file_uid != x->fsuid,
		.hardlink = tg_hardlinked(x->file_mode, x->file_nlink),
		.probed = p && tg_probe_related(p),
	};
	rule = tg_enforced_rule(tg_decide_open(&oc));
	if (rule != TG_R_NONE) {
		/* No BPF LSM: the file exists already; stop the process from using it. */
		bpf_send_signal(SIGKILL);
		stat_inc(TG_STAT_KILLED);
	}
	return rule;
}

/* The record of an open tg_report_open() decided to send: built in this CPU's slot, sent. */
__noinline int tg_send_open(struct tg_open_ctx *x, struct tg_open_args *a, struct tg_uring_open *u,
			    struct tg_probe *probe, struct tg_scratch *s)
{
	struct dentry *d;
	struct inode *ino, *pino;
	struct tg_event *e;
	long n;

	if (!x || !a || !s)
		return 0;
	e = event_start();
	if (!e)
		return 0;
	d = (struct dentry *)x->dentry;
	ino = (struct inode *)x->inode;
	pino = (struct inode *)x->dir_inode;
	__builtin_memset(e, 0, offsetof(struct tg_event, comm));
	e->kind = TG_KIND_OPEN;
	e->syscall = a->syscall;
	e->ret = x->ret;
	e->dfd = a->dfd;
	e->flags = a->flags;
	e->mode = a->mode;
	e->facts = x->facts;
	e->rule = TG_R_NONE;
	if (a->decision_rule != TG_R_NONE) {
		e->action = TG_ACT_WOULD_DENY;
		e->rule = a->decision_rule;
	} else if (x->rule != TG_R_NONE) {
		e->action = TG_ACT_KILLED;
		e->rule = x->rule;
	}
	e->file_mode = x->file_mode;
	e->file_uid = x->file_uid;
	e->file_nlink = x->file_nlink;
	e->file_ino = BPF_CORE_READ(ino, i_ino);
	e->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	e->dir_mode = x->dir_mode;
	e->dir_uid = BPF_CORE_READ(pino, i_uid.val);
	e->dir_ino = BPF_CORE_READ(pino, i_ino);
	e->entry = a->entry;
	tg_fill_task(e);
	if (u) {
		e->tid = u->tid;
		__builtin_memcpy(e->comm, u->comm, sizeof(e->comm));
	}
	if (bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(d, d_name.name)) < 0)
		e->name[0] = 0;
	n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), s->path);
	if (probe) {
		e->facts |= TG_F_PROBED;
		e->probe_ts_ns = probe->ts_ns;
		e->probe_pid = probe->pid;
		e->probe_ppid = probe->ppid;
		e->probe_sid = probe->sid;
		e->probe_syscall = probe->syscall;
	}
	event_submit(e, n);
	return 0;
}

/*
 * The decision at the end of an open with O_CREAT that returned ret >= 0, whichever way it
 * entered the kernel (a->entry): file is the struct file it opened (0: look up fd ret), a its
 * arguments. For an io_uring request, u is its submission record: the name is there, in kernel
 * memory, and the event names the submitting thread; for syscalls u is NULL and a->path is the
 * name in user memory.
 */
__noinline int tg_report_open(long ret, __u64 file, struct tg_open_args *a, struct tg_uring_open *u)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tg_probe *probe = NULL;
	struct file *f = (struct file *)file;
	struct dentry *d, *pd;
	struct inode *ino, *pino;
	struct tg_open_ctx *xp;
	struct tg_scratch *s;
	bool excl, loose, inheritable, decided;
	__u32 zero = 0, fmode, file_mode, dir_mode, facts = 0;
	long n;

	if (!a)
		return 0;
	count_create(ret);
	if (!f)
		f = task_fd_file(task, ret);
	if (!f)
		return 0;
	/* f, from a descriptor or from io_uring's request, is no BTF pointer to the verifier:
	 * what hangs off it is read with BPF_CORE_READ. Enough, first, to let the secure pattern
	 * go: an O_EXCL create with a tight mode costs these reads and nothing more. */
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

	s = bpf_map_lookup_elem(&tg_scratch, &zero);
	if (!s)
		return 0;
	/* The context lives in the per-CPU scratch, not on the stack: the call chain down to
	 * tg_path_shape()'s callback must stay within 512 bytes of combined stack. */
	xp = &s->ctx;
	__builtin_memset(xp, 0, sizeof(*xp));
	xp->ret = ret;
	xp->rule = TG_R_NONE;
	xp->file = (__u64)f;
	xp->dentry = (__u64)d;
	xp->parent = (__u64)pd;
	xp->inode = (__u64)ino;
	xp->dir_inode = (__u64)pino;
	xp->file_mode = file_mode;
	xp->dir_mode = dir_mode;
	xp->facts = facts;
	xp->fsuid = acting_uid(task);
	xp->file_uid = BPF_CORE_READ(ino, i_uid.val);
	xp->file_nlink = BPF_CORE_READ(ino, __i_nlink);

	if (u)
		n = bpf_probe_read_kernel_str(s->path, sizeof(s->path), u->path);
	else
		n = bpf_probe_read_user_str(s->path, sizeof(s->path), (const char *)a->path);
	xp->path_n = n;
	if (n <= 0) {
		xp->facts |= TG_F_PATH_FAULT | (excl ? 0 : TG_F_REQDIR_UNKNOWN);
		s->path[0] = 0;
	} else {
		xp->len = n - 1;
		/* A kernel copy (io_uring) holds at most PATH_MAX - 1 bytes: whole. */
		if (!u && path_truncated((const char *)a->path, n))
			xp->facts |= TG_F_PATH_TRUNC;
		if (!excl)
			xp->facts |= tg_requested_dir_facts(xp, a, s);
	}
	/* The path string at exit, against the one the entry read: rewritten by another thread
	 * while the call ran, which one the kernel used is unknown. */
	if (!u && a->path_read && (n != a->path_n || path_checksum(s->path, n) != a->path_sum))
		xp->facts |= TG_F_PATH_CHANGED;
	/* A hook saw the walk follow a symlink that sits in a shared directory: that directory
	 * is the one the caller named, whatever the path string says. */
	if (tg_cfg.links_watched)
		xp->facts |= TG_F_LINKS_WATCHED;
	if (a->followed_shared_link & TG_LINK_FOREIGN)
		xp->facts |= TG_F_LINK_FOLLOWED;
	if (a->followed_shared_link)
		xp->facts |= TG_F_REQDIR_SHARED;

	if (!excl) {
		bool redirected = xp->facts &
				  (TG_F_NAME_MISMATCH | TG_F_PARENT_MISMATCH | TG_F_LINK_FOLLOWED);
		bool foreign =
			!(xp->facts & TG_F_CREATED) &&
			(xp->file_uid != xp->fsuid || tg_hardlinked(file_mode, xp->file_nlink));

		/* Re-opening a file you own, where you named it, and with no other name: not a
		 * creation, not a finding. */
		if (!(xp->facts & TG_F_CREATED) && !redirected && !foreign && !loose && !decided)
			return 0;
		if (!(xp->facts & (TG_F_DIR_SHARED | TG_F_REQDIR_SHARED | TG_F_REQDIR_UNKNOWN)) &&
		    !decided)
			return 0;
		if (xp->has_hash)
			probe = bpf_map_lookup_elem(&tg_probes, &xp->hash);
	}

	if (tg_kexc_excepted(xp->fsuid, TG_KEXC_ANY_RULE)) {
		stat_inc(TG_STAT_EXCEPTED);
		return 0;
	}
	if (tg_cfg.enforce == TG_ENFORCE_KILL_FALLBACK)
		xp->rule = kill_fallback(xp, a, probe);
	return tg_send_open(xp, a, u, probe, s);
}

/* Entry: O_CREAT opens that could be a finding, tested on the tracepoint's own copy of the
 * arguments. */
SEC("tracepoint/syscalls/sys_enter_open")
int tracepoint__syscalls__sys_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	__u64 flags = ctx->args[1];

	if (!(flags & O_CREAT) || open_is_secure(flags, ctx->args[2]))
		return 0;
	return tg_open_enter();
}

SEC("tracepoint/syscalls/sys_enter_openat")
int tracepoint__syscalls__sys_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	__u64 flags = ctx->args[2];

	if (!(flags & O_CREAT) || open_is_secure(flags, ctx->args[3]))
		return 0;
	return tg_open_enter();
}

/* openat2's flags are in user memory: rare enough to let tg_open_enter() read them always. */
SEC("tracepoint/syscalls/sys_enter_openat2")
int tracepoint__syscalls__sys_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	return tg_open_enter();
}

/* creat(2) is open(O_CREAT|O_WRONLY|O_TRUNC): never exclusive. */
SEC("tracepoint/syscalls/sys_enter_creat")
int tracepoint__syscalls__sys_enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	return tg_open_enter();
}

/* Exit: re-test O_CREAT, and the secure pattern, from the saved registers (direct loads:
 * current_regs() is a BTF pointer) before anything else; tg_open_exit() takes what the entry
 * stashed. */
SEC("tracepoint/syscalls/sys_exit_open")
int tracepoint__syscalls__sys_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = current_regs();
	__u64 flags = PT_REGS_PARM2_SYSCALL(regs);
	long ret = ctx->ret; /* read once: clang must not rebase ctx for a second read */

	if (!(flags & O_CREAT))
		return 0;
	if (open_is_secure(flags, PT_REGS_PARM3_SYSCALL(regs))) {
		count_create(ret);
		return 0;
	}
	return tg_open_exit(ret);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int tracepoint__syscalls__sys_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = current_regs();
	__u64 flags = PT_REGS_PARM3_SYSCALL(regs);
	long ret = ctx->ret; /* read once: clang must not rebase ctx for a second read */

	if (!(flags & O_CREAT))
		return 0;
	if (open_is_secure(flags, PT_REGS_PARM4_SYSCALL(regs))) {
		count_create(ret);
		return 0;
	}
	return tg_open_exit(ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int tracepoint__syscalls__sys_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return tg_open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int tracepoint__syscalls__sys_exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	return tg_open_exit(ctx->ret);
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Enforcement: BPF LSM hooks that refuse insecure creates before anything is written.
 *
 * Which hook decides what, and why there:
 * - inode_follow_link: a symlink in a shared directory followed while this task has a
 *   non-exclusive O_CREAT open pending marks that open (tg_follow_link). This is the
 *   symlink-follow fact, exact and path-independent.
 * - inode_create: runs before the entry exists, with the mode after umask. Refusing here leaves
 *   no file: nonexclusive-create, check-then-create, loose-mode, and symlink-follow through a
 *   dangling link.
 * - file_open: sees the opened file before O_TRUNC is applied (handle_truncate runs after
 *   vfs_open), so refusing here leaves the target untouched: symlink-follow and
 *   foreign-file-reuse on existing files. Creations were decided in inode_create.
 * - inode_mkdir: before the directory exists, with the mode after umask: loose-tempdir.
 * Which rule an operation proves is decide.h's, the precedence user space reports with; the
 * first of them the policy enforces for the task is the one refused. Loaded only with
 * --enforce or --dry-run, where the kernel runs BPF LSM programs.
 *
 * The open being made is found the way it entered the kernel (current_open() in
 * common.bpf.h): stashed at entry, read from a 32-bit syscall's registers, or the submission
 * record of an io_uring request.
 */
#include "common.bpf.h"

/* What a decision record says beyond the open's arguments (tg_emit_decision's fifth and
 * further arguments: a BPF function takes five). */
struct tg_decision {
	__u64 dir;    /* struct inode * of the directory */
	__u64 dentry; /* struct dentry * of the entry */
	__u32 kind, mode, rule, action, facts, probed;
	struct tg_probe probe; /* when probed */
};

/*
 * A decision record for a refused (or would-be refused) operation. The syscall fails, so the
 * exit programs send nothing: this is the only record of it. a is the open (NULL for a mkdir),
 * u its io_uring submission (NULL for a syscall).
 */
__noinline int tg_emit_decision(struct tg_decision *dc, struct tg_open_args *a,
				struct tg_uring_open *u)
{
	struct task_struct *task = bpf_get_current_task_btf();
	const char *upath = NULL, *kpath = u ? u->path : NULL;
	struct inode *dir, *ino;
	struct dentry *dentry;
	struct tg_event *e;
	struct tg_call c;
	void *req;
	long n;

	if (!dc)
		return 0;
	e = event_start();
	if (!e)
		return 0;
	dir = (struct inode *)dc->dir;
	dentry = (struct dentry *)dc->dentry;
	__builtin_memset(e, 0, offsetof(struct tg_event, comm));
	e->kind = dc->kind;
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
	} else if (decode_call(task, &c)) {
		/* mkdir(path, mode) or mkdirat(dfd, path, mode), native or 32-bit */
		e->entry = c.entry;
		e->syscall = c.sys;
		e->dfd = c.dfd;
		e->mode = c.mode;
		upath = (const char *)c.path;
	}
	e->ret = -EACCES;
	e->facts = dc->facts;
	e->action = dc->action;
	e->rule = dc->rule;
	if (dc->probed) {
		e->probe_ts_ns = dc->probe.ts_ns;
		e->probe_pid = dc->probe.pid;
		e->probe_ppid = dc->probe.ppid;
		e->probe_sid = dc->probe.sid;
		e->probe_syscall = dc->probe.syscall;
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
		e->file_mode = dc->mode; /* the mode the new entry would have had */
	}
	tg_fill_task(e);
	if (u) {
		e->tid = u->tid;
		__builtin_memcpy(e->comm, u->comm, sizeof(e->comm));
	}
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
	return 0;
}

/* Applies the policy's action for dc->rule: returns the LSM verdict. */
static __always_inline int decide(struct tg_decision *dc, struct tg_open_args *a,
				  struct tg_uring_open *u)
{
	if (tg_cfg.enforce == TG_ENFORCE_DRY_RUN) {
		stat_inc(TG_STAT_WOULD_DENY);
		if (a) {
			/* The open goes on: its exit record carries the would-deny. */
			a->decision_rule = dc->rule;
			return 0;
		}
		dc->action = TG_ACT_WOULD_DENY;
		tg_emit_decision(dc, a, u);
		return 0;
	}
	dc->action = TG_ACT_DENIED;
	stat_inc(TG_STAT_DENIED);
	if (tg_set.kill_rules & (1u << dc->rule)) {
		bpf_send_signal(SIGKILL);
		dc->action = TG_ACT_KILLED;
		stat_inc(TG_STAT_KILLED);
	}
	tg_emit_decision(dc, a, u);
	return -EACCES;
}

SEC("lsm/inode_follow_link")
int BPF_PROG(lsm__inode_follow_link, struct dentry *dentry, struct inode *inode, bool rcu, int ret)
{
	if (ret)
		return ret;
	tg_follow_link(ctx_arg_u64(ctx, 0));
	return 0;
}

/*
 * The ENOENT probe of the name a is creating, if a related one was made (decide.h: the same
 * process tree or session, within the window): a probe by anyone else proves nothing about
 * this create, and must not turn it into a refused check-then-create.
 */
static __always_inline bool related_probe(struct task_struct *task, struct tg_open_args *a,
					  struct tg_uring_open *u, struct tg_probe *out)
{
	struct tg_path_shape shape;
	struct tg_scratch *s;
	struct tg_probe *pr;
	__u32 zero = 0;
	long n;

	s = bpf_map_lookup_elem(&tg_scratch, &zero);
	if (!s)
		return false;
	if (u)
		n = bpf_probe_read_kernel_str(s->path, sizeof(s->path), u->path);
	else
		n = bpf_probe_read_user_str(s->path, sizeof(s->path), (void *)a->path);
	if (n <= 1)
		return false;
	tg_path_shape(s, n - 1, &shape);
	pr = bpf_map_lookup_elem(&tg_probes, &shape.hash);
	if (!pr || !tg_probe_related(pr))
		return false;
	*out = *pr;
	return true;
}

SEC("lsm/inode_create")
int BPF_PROG(lsm__inode_create, struct inode *dir, struct dentry *dentry, umode_t mode, int ret)
{
	struct task_struct *task;
	struct tg_uring_open *u;
	struct tg_open_args *a;
	struct tg_decision dc = {.dir = (__u64)dir, .dentry = (__u64)dentry, .kind = TG_KIND_OPEN};
	__u32 facts = TG_F_CREATED;

	if (ret)
		return ret;
	task = bpf_get_current_task_btf();
	a = current_open(task, &u);
	if (!a)
		return 0; /* not an open-family create we know of */
	struct tg_open_case c = {
		.flags = a->flags,
		.file_mode = mode,
		.loose_mask = tg_set.file_loose_mask,
		.created = 1,
		.symlink = !!(a->followed_shared_link & TG_LINK_FOREIGN),
		.req_shared = !!a->followed_shared_link,
	};
	/* a dangling symlink in a shared directory led here: someone else's is the attack */
	if (c.symlink)
		facts |= TG_F_LINK_FOLLOWED | TG_F_NAME_MISMATCH;
	if (c.req_shared)
		facts |= TG_F_REQDIR_SHARED;
	if (inode_is_shared_dir(dir)) {
		c.dir_shared = c.req_shared = 1;
		facts |= TG_F_DIR_SHARED | TG_F_REQDIR_SHARED;
		/* The probe lookup reads the path: only when a rule that needs it is enforced. */
		if (!(a->flags & O_EXCL) && !c.symlink &&
		    (tg_set.deny_rules & (TG_RULE_BIT(TG_R_CHECK_THEN_CREATE) |
					  TG_RULE_BIT(TG_R_NONEXCLUSIVE_CREATE))) &&
		    related_probe(task, a, u, &dc.probe)) {
			c.probed = 1;
			facts |= TG_F_PROBED;
		}
	}
	dc.rule = tg_enforced_rule(tg_decide_open(&c));
	if (dc.rule == TG_R_NONE)
		return 0;
	dc.mode = S_IFREG | mode;
	dc.facts = facts;
	dc.probed = c.probed;
	return decide(&dc, a, u);
}

SEC("lsm/file_open")
int BPF_PROG(lsm__file_open, struct file *file, int ret)
{
	struct task_struct *task;
	struct tg_uring_open *u;
	struct tg_open_args *a;
	struct dentry *d;
	struct inode *dir, *ino;
	struct tg_decision dc = {.kind = TG_KIND_OPEN};

	if (ret)
		return ret;
	task = bpf_get_current_task_btf();
	a = current_open(task, &u);
	if (!a || (a->flags & O_EXCL) || (BPF_CORE_READ(file, f_mode) & FMODE_CREATED))
		return 0; /* creations were decided in inode_create */
	d = BPF_CORE_READ(file, f_path.dentry);
	dir = BPF_CORE_READ(d, d_parent, d_inode);
	ino = BPF_CORE_READ(file, f_inode);
	struct tg_open_case c = {
		.flags = a->flags,
		.file_mode = BPF_CORE_READ(ino, i_mode),
		.loose_mask = tg_set.file_loose_mask,
		.symlink = !!(a->followed_shared_link & TG_LINK_FOREIGN),
		.req_shared = !!a->followed_shared_link,
		.dir_shared = inode_is_shared_dir(dir),
		.foreign = BPF_CORE_READ(ino, i_uid.val) != acting_uid(task),
		.hardlink =
			tg_hardlinked(BPF_CORE_READ(ino, i_mode), BPF_CORE_READ(ino, __i_nlink)),
	};
	if (c.symlink)
		dc.facts |= TG_F_LINK_FOLLOWED | TG_F_NAME_MISMATCH;
	if (c.req_shared)
		dc.facts |= TG_F_REQDIR_SHARED;
	if (c.dir_shared)
		dc.facts |= TG_F_DIR_SHARED | (a->followed_shared_link ? 0 : TG_F_REQDIR_SHARED);
	dc.rule = tg_enforced_rule(tg_decide_open(&c));
	if (dc.rule == TG_R_NONE)
		return 0;
	dc.dir = (__u64)dir;
	dc.dentry = (__u64)d;
	dc.mode = c.file_mode;
	return decide(&dc, a, u);
}

SEC("lsm/inode_mkdir")
int BPF_PROG(lsm__inode_mkdir, struct inode *dir, struct dentry *dentry, umode_t mode, int ret)
{
	struct task_struct *task;
	__u32 tid, rule;

	if (ret)
		return ret;
	if (!(mode & tg_set.dir_loose_mask) || !inode_is_shared_dir(dir))
		return 0;
	rule = tg_enforced_rule(tg_decide_mkdir(1, mode, tg_set.dir_loose_mask));
	if (rule == TG_R_NONE)
		return 0;
	task = bpf_get_current_task_btf();
	if (tg_cfg.enforce == TG_ENFORCE_DRY_RUN && !uring_worker_req(task)) {
		/* The mkdir goes on: its exit record carries the would-deny (an io_uring mkdir
		 * has no exit program: decide() reports it now). */
		tid = (__u32)bpf_get_current_pid_tgid();
		bpf_map_update_elem(&tg_mkdir_decision, &tid, &rule, BPF_ANY);
		stat_inc(TG_STAT_WOULD_DENY);
		return 0;
	}
	struct tg_decision dc = {
		.dir = (__u64)dir,
		.dentry = (__u64)dentry,
		.kind = TG_KIND_MKDIR,
		.mode = S_IFDIR | (mode & MODE_PERMS),
		.rule = rule,
		.facts = TG_F_CREATED | TG_F_IS_DIR | TG_F_DIR_SHARED | TG_F_REQDIR_SHARED,
	};
	return decide(&dc, NULL, NULL);
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Global subprograms shared by the hook files (prototypes and why in common.bpf.h): exceptions
 * and enforcement, the process fields of a record, path analysis, followed symlinks.
 */
#include "common.bpf.h"

struct tg_kexc_ctx {
	struct tg_kexc_key key;
	__u64 ino, cgid;
	__u32 dev, uid, combos, hit;
};

static long kexc_step(__u32 i, struct tg_kexc_ctx *x)
{
	__u32 c = i + 1, *idx;
	__u64 *hits;

	if (!(x->combos & (1u << (c & 7))))
		return 0;
	x->key.exe_ino = (c & TG_KEXC_EXE) ? x->ino : 0;
	x->key.exe_dev = (c & TG_KEXC_EXE) ? x->dev : 0;
	x->key.uid = (c & TG_KEXC_UID) ? x->uid : TG_KEXC_ANY_UID;
	x->key.cgroup_id = (c & TG_KEXC_CGROUP) ? x->cgid : 0;
	idx = bpf_map_lookup_elem(&tg_kexc, &x->key);
	if (!idx)
		return 0;
	hits = bpf_map_lookup_elem(&tg_kexc_hits, idx);
	if (hits)
		*hits += 1;
	x->hit = 1;
	return 1;
}

/*
 * Kernel-decided exceptions: try each combination of fields the policy uses, the others as
 * wildcards, for one rule value (TG_KEXC_ANY_RULE, or a rule being enforced). At most 7
 * lookups, and only for candidates.
 */
__noinline int tg_kexc_excepted(__u32 uid, __u32 rule)
{
	__u32 gen = tg_set.gen & 1;
	struct tg_kexc_ctx x = {.combos = tg_set.kexc_combos[gen], .uid = uid};
	struct task_struct *task;
	struct inode *exe_ino;

	if (!x.combos)
		return 0;
	task = bpf_get_current_task_btf();
	exe_ino = BPF_CORE_READ(task, mm, exe_file, f_inode);
	x.ino = exe_ino ? BPF_CORE_READ(exe_ino, i_ino) : 0;
	x.dev = exe_ino ? inode_dev(exe_ino) : 0;
	x.cgid = bpf_get_current_cgroup_id();
	x.key.rule = rule;
	x.key.gen = gen;
	bpf_loop(7, kexc_step, &x, 0);
	return x.hit;
}

/* Is rule enforced for the current task (policy, scope, exceptions for that rule)? */
static __always_inline bool enforce_rule(__u32 rule)
{
	struct task_struct *task;
	__u32 uid;

	if (rule >= TG_R_MAX || !(tg_set.deny_rules & (1u << rule)))
		return 0;
	if (tg_cfg.enforce_tracked &&
	    !bpf_map_lookup_elem(&tg_tracked, &(__u32){bpf_get_current_pid_tgid() >> 32}))
		return 0;
	task = bpf_get_current_task_btf();
	uid = acting_uid(task);
	return !tg_kexc_excepted(uid, rule) && !tg_kexc_excepted(uid, TG_KEXC_ANY_RULE);
}

__noinline int tg_enforced_rule(__u32 rules)
{
	rules &= tg_set.deny_rules;
	for (__u32 i = 0; i < TG_DECIDE_NRULES && rules; i++) {
		__u32 r = tg_decide_nth(i);

		if ((rules & TG_RULE_BIT(r)) && enforce_rule(r))
			return r;
	}
	return TG_R_NONE;
}

__noinline int tg_probe_related(struct tg_probe *p)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct tg_actor probe, me;

	if (!p)
		return 0;
	probe = (struct tg_actor){.ts_ns = p->ts_ns, .pid = p->pid, .ppid = p->ppid, .sid = p->sid};
	me = (struct tg_actor){
		.ts_ns = bpf_ktime_get_boot_ns(),
		.pid = bpf_get_current_pid_tgid() >> 32,
		.ppid = BPF_CORE_READ(task, real_parent, tgid),
		.sid = BPF_CORE_READ(task, signal, pids[PIDTYPE_SID], numbers[0].nr),
	};
	return tg_actors_related(&probe, &me, tg_set.probe_window_ns);
}

/*
 * The current task's fields: direct loads on BTF pointers (a plain load each, where
 * BPF_CORE_READ calls a helper per hop). Their price is paid at load time instead: on kernels
 * with btf_nested_type_is_trusted() (6.18 here) each load of a pointer field from the trusted
 * task costs the verifier searches of the kernel's BTF by name, once per program that calls
 * this subprogram, since it is global.
 */
/*
 * One step up from where the walk is (tg_exe_walk: per CPU, not the stack, which the call chain
 * down to here has little of left): to the parent directory, prepending "/name", or, at the
 * root of a mount, to where that mount is mounted.
 */
static long exe_step(__u32 i, void *unused)
{
	struct dentry *d, *parent;
	struct mount *m, *up;
	const unsigned char *name;
	struct tg_exe_walk *w;
	__u32 zero = 0, len, off;

	w = bpf_map_lookup_elem(&tg_exe_walk, &zero);
	if (!w)
		return 1;
	d = (struct dentry *)w->dentry;
	m = (struct mount *)w->mnt;
	if (w->dentry == w->root_dentry && w->mnt == w->root_mnt) { /* the process's root */
		w->done = 1;
		return 1;
	}
	if (d == BPF_CORE_READ(m, mnt.mnt_root)) {
		up = BPF_CORE_READ(m, mnt_parent);
		if (up == m) { /* the namespace's root mount */
			w->done = 1;
			return 1;
		}
		w->dentry = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
		w->mnt = (__u64)up;
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	len = BPF_CORE_READ(d, d_name.len);
	name = BPF_CORE_READ(d, d_name.name);
	off = w->off;
	/* A root that is no mount's (memfd, a detached tree), or no room for "/name" */
	if (parent == d || len == 0 || len + 2 > off) {
		w->done = 2;
		return 1;
	}
	off -= len;
	bpf_probe_read_kernel(&w->buf[off & (TG_EXE_LEN - 1)], len & (TG_EXE_LEN - 1), name);
	off--;
	w->buf[off & (TG_EXE_LEN - 1)] = '/';
	w->off = off;
	w->dentry = (__u64)parent;
	return 0;
}

/*
 * The path of (dentry, vfsmnt) as the process itself sees it, as d_path() would give it from
 * the process's root (a chroot's, a container's), built in this CPU's tg_exe_walk: that walk
 * (the path is w->buf from w->off, TG_EXE_LEN - w->off bytes with the NUL), or NULL when it is
 * longer than TG_EXE_LEN or deeper than TG_EXE_DEPTH, or not under that root. Inline in
 * tg_fill_task: a frame more in the open exits' chain is past the verifier's 512 bytes of
 * combined stack on 6.1.
 */
static __always_inline struct tg_exe_walk *path_walk(struct task_struct *task, __u64 dentry,
						     __u64 vfsmnt)
{
	const __u64 mnt_off = bpf_core_field_offset(struct mount, mnt);
	struct tg_exe_walk *w;
	__u32 zero = 0;

	w = bpf_map_lookup_elem(&tg_exe_walk, &zero);
	if (!w)
		return NULL;
	w->root_dentry = (__u64)BPF_CORE_READ(task, fs, root.dentry);
	w->root_mnt = (__u64)BPF_CORE_READ(task, fs, root.mnt) - mnt_off;
	w->dentry = dentry;
	w->mnt = vfsmnt - mnt_off;
	w->off = TG_EXE_LEN - 1;
	w->done = 0;
	w->buf[TG_EXE_LEN - 1] = 0;
	bpf_loop(TG_EXE_DEPTH, exe_step, NULL, 0);
	if (w->done != 1 || w->off == 0 || w->off >= TG_EXE_LEN - 1)
		return NULL;
	return w;
}

/* The walk of file f's path (path_walk). */
static __always_inline struct tg_exe_walk *file_walk(struct task_struct *task, struct file *f)
{
	return path_walk(task, (__u64)BPF_CORE_READ(f, f_path.dentry),
			 (__u64)BPF_CORE_READ(f, f_path.mnt));
}

/* The path walked (w->buf from w->off, TG_EXE_LEN - off bytes with the NUL) into dst, which
 * holds TG_EXE_LEN bytes; returns that length. No pointer to w is kept on the stack: 6.1
 * counts every frame of the chain against 512 bytes. */
static __always_inline __u32 walked_copy(char *dst, struct tg_exe_walk *w)
{
	__u32 off = w->off, len;

	barrier_var(off); /* the masks below stay: 6.1's verifier needs them */
	len = (TG_EXE_LEN - off) & (TG_EXE_LEN - 1); /* off is in [1, TG_EXE_LEN - 2] */
	bpf_probe_read_kernel(dst, len, &w->buf[off & (TG_EXE_LEN - 1)]);
	return len;
}

/* The executable's path into e->exe (file_walk): 0, or -1 with e->exe untouched. */
static __always_inline int exe_path(struct tg_event *e, struct task_struct *task, struct file *f)
{
	struct tg_exe_walk *w = file_walk(task, f);

	if (!w)
		return -1;
	walked_copy(e->exe, w);
	return 0;
}

/* A mapped file's path, its f_path (dentry, vfsmnt: the caller reads them, so that this frame
 * holds no temporaries: 6.1 counts it in the open exits' 512 bytes), into m->path
 * (path_walk), for the call-site records (stack.bpf.c). */
__noinline int tg_map_path(__u64 dentry, __u64 vfsmnt, struct tg_stk_map *m)
{
	struct tg_exe_walk *w;

	if (!m)
		return 0;
	m->path_len = 0;
	w = path_walk(bpf_get_current_task_btf(), dentry, vfsmnt);
	if (w)
		m->path_len = walked_copy(m->path, w);
	return 0;
}

/* The current directory's path into s->cwd (path_walk; cwd_len 0 when it cannot be walked, as
 * for the root itself), for the call-site records: a script a shell was given by a relative
 * name is found after the shell is gone. */
__noinline int tg_cwd_path(struct tg_stack *s)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tg_exe_walk *w;

	if (!s)
		return 0;
	s->cwd_len = 0;
	w = path_walk(task, (__u64)BPF_CORE_READ(task, fs, pwd.dentry),
		      (__u64)BPF_CORE_READ(task, fs, pwd.mnt));
	if (w)
		s->cwd_len = walked_copy(s->cwd, w);
	return 0;
}

__noinline int tg_fill_task(struct tg_event *e)
{
	struct task_struct *task = bpf_get_current_task_btf(), *parent;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	const struct cred *cred;
	struct mm_struct *mm;
	struct file *exe;
	unsigned long arg_start, arg_end, n;

	if (!e)
		return 0;
	parent = task->real_parent;
	cred = task->cred;
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->euid = cred->euid.val;
	e->fsuid = cred->fsuid.val;
	e->ppid = parent->tgid;
	/* numbers[] is a flexible array (a struct pid may have more levels than BTF says):
	 * read through the helper. */
	e->sid = BPF_CORE_READ(task->signal->pids[PIDTYPE_SID], numbers[0].nr);
	e->mntns = task->nsproxy->mnt_ns->ns.inum;
	e->start_ns = task->group_leader->start_boottime;
	e->auid = TG_AUID_UNSET;
	e->ses = TG_AUID_UNSET;
	if (bpf_core_field_exists(task->loginuid)) {
		e->auid = BPF_CORE_READ(task, loginuid.val);
		e->ses = BPF_CORE_READ(task, sessionid);
	}
	e->umask = task->fs->umask;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->pcomm, sizeof(e->pcomm), &parent->comm);
	if (bpf_probe_read_kernel_str(e->cgroup, sizeof(e->cgroup),
				      task->cgroups->dfl_cgrp->kn->name) < 0)
		e->cgroup[0] = 0;
	e->exe[0] = 0;
	e->args_len = 0;
	mm = task->mm;
	if (!mm)
		return 0;
	exe = mm->exe_file;
	if (exe) {
		e->exe_ino = BPF_CORE_READ(exe, f_inode, i_ino);
		e->exe_dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev);
		/* The path, or at least the name. */
		if (exe_path(e, task, exe)) {
			bpf_probe_read_kernel_str(e->exe, sizeof(e->exe),
						  exe->f_path.dentry->d_name.name);
			e->facts |= TG_F_EXE_TRUNC;
		}
	}
	/* The argument vector lives in this task's memory: readable at syscall exit. */
	arg_start = mm->arg_start;
	arg_end = mm->arg_end;
	n = arg_end - arg_start;
	if (n > TG_ARGS_LEN) {
		n = TG_ARGS_LEN;
		e->facts |= TG_F_ARGS_TRUNC;
	}
	if (n && bpf_probe_read_user(e->args, n & (TG_ARGS_LEN * 2 - 1), (void *)arg_start) == 0)
		e->args_len = n;
	e->args[TG_ARGS_LEN - 1] = 0;
	return 0;
}

struct tg_shape_ctx {
	const char *path;
	__u32 start, len;
	__u64 h, comp, prev;
	__u32 comp_len, prev_len, slashes;
	char c0, c1, p0, p1;
};

static long shape_step(__u32 i, struct tg_shape_ctx *x)
{
	__u32 idx = x->start + i;
	char c;

	if (idx >= x->len)
		return 1;
	c = x->path[idx & (TG_PATH_LEN - 1)];
	x->h = (x->h ^ (__u8)c) * FNV_PRIME;
	if (c == '/') {
		x->slashes++;
		x->prev = x->comp;
		x->prev_len = x->comp_len;
		x->p0 = x->c0;
		x->p1 = x->c1;
		x->comp = FNV_OFFSET;
		x->comp_len = 0;
		return 0;
	}
	if (x->comp_len == 0)
		x->c0 = c;
	else if (x->comp_len == 1)
		x->c1 = c;
	x->comp = (x->comp ^ (__u8)c) * FNV_PRIME;
	x->comp_len++;
	return 0;
}

/*
 * FNV-1a over the tail of a NUL-terminated path of length len. Same function for probes and
 * creates, so a probed name and a created name match when they were spelled the same way (as
 * mktemp(), tmpnam() and mktemp -u hand them back). bpf_loop (5.17) keeps the verifier's work
 * to one pass over the callback.
 */
__noinline int tg_path_shape(struct tg_scratch *s, __u32 len, struct tg_path_shape *out)
{
	struct tg_shape_ctx x = {
		.start = len > TG_TAIL_LEN ? len - TG_TAIL_LEN : 0,
		.len = len,
		.h = FNV_OFFSET ^ len,
		.comp = FNV_OFFSET,
		.prev = FNV_OFFSET,
	};

	if (!s || !out)
		return 0;
	x.path = s->path;
	bpf_loop(TG_TAIL_LEN, shape_step, &x, 0);
	out->hash = x.h;
	out->base_hash = x.comp;
	out->dir_hash = x.prev;
	out->dir_len = x.prev_len;
	out->slashes = x.slashes;
	out->dir_is_dot =
		(x.prev_len == 1 && x.p0 == '.') || (x.prev_len == 2 && x.p0 == '.' && x.p1 == '.');
	return 0;
}

/*
 * A symlink at dentry is being followed. If it sits in a shared directory and this thread has a
 * non-exclusive O_CREAT open pending, the open is marked: the symlink-follow fact, exact and
 * independent of the path string. Runs from the BPF LSM (lsm/inode_follow_link) or, with
 * --hooks fentry, from fentry on security_inode_follow_link; RCU and ref walks may both call
 * it for one link: the mark is idempotent.
 */
__noinline int tg_follow_link(__u64 dentry)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct dentry *d = (struct dentry *)dentry;
	struct tg_uring_open *u;
	struct tg_open_args *a;
	struct inode *dir;
	__u32 owner;

	a = current_open(task, &u);
	if (!a || (a->flags & O_EXCL))
		return 0;
	dir = BPF_CORE_READ(d, d_parent, d_inode);
	if (!inode_is_shared_dir(dir))
		return 0;
	owner = BPF_CORE_READ(d, d_inode, i_uid.val);
	if (owner == acting_uid(task) || owner == BPF_CORE_READ(dir, i_uid.val))
		a->followed_shared_link |= TG_LINK_OWN;
	else
		a->followed_shared_link |= TG_LINK_FOREIGN;
	return 0;
}

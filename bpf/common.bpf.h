/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers shared by the programs: task, file and directory readers, path analysis, emit. */
#ifndef TG_COMMON_BPF_H
#define TG_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tmpguard.h"
#include "maps.bpf.h"

/* uapi values (not in vmlinux.h: they are macros) */
#define O_ACCMODE  00000003
#define O_CREAT	   00000100
#define O_EXCL	   00000200
#define O_TRUNC	   00001000
#define O_CLOEXEC  02000000
#define AT_FDCWD   -100
#define ENOENT	   2
#define EACCES	   13
#define SIGKILL	   9
#define S_IFMT	   00170000
#define S_IFDIR	   0040000
#define S_IFREG	   0100000
#define S_ISVTX	   01000
#define S_IWOTH	   00002
#define MODE_PERMS 07777
/* FMODE_CREATED: set by the VFS when this open created the file; 0x100000 from 4.19
 * (73a09dd94377 "vfs: introduce FMODE_CREATED") to 6.18. */
#define FMODE_CREATED 0x100000

/*
 * x86 thread_info.status: TS_COMPAT is set while a 32-bit syscall runs (int 0x80, sysenter, or
 * syscall from compat mode: in_ia32_syscall()); it is cleared on the way back to user space,
 * after the sys_exit tracepoint. 0x0002 since 2.6.25 (arch/x86/include/asm/thread_info.h).
 */
#define TS_COMPAT 0x0002
/* ia32 syscall numbers, arch/x86/entry/syscalls/syscall_32.tbl: ABI, never renumbered. */
#define IA32_NR_OPEN	   5
#define IA32_NR_CREAT	   8
#define IA32_NR_ACCESS	   33
#define IA32_NR_MKDIR	   39
#define IA32_NR_STAT64	   195
#define IA32_NR_LSTAT64	   196
#define IA32_NR_OPENAT	   295
#define IA32_NR_MKDIRAT	   296
#define IA32_NR_FSTATAT64  300
#define IA32_NR_FACCESSAT  307
#define IA32_NR_STATX	   383
#define IA32_NR_OPENAT2	   437
#define IA32_NR_FACCESSAT2 439

/* task_struct.flags: an io_uring worker or SQPOLL thread (include/linux/sched.h, 5.12). */
#define PF_IO_WORKER 0x00000010

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

/* Path analysis looks at the last TG_TAIL_LEN bytes only: the last two components are all the
 * classification needs, and a 256-iteration loop keeps the verifier's work small. */
#define TG_TAIL_LEN 256

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&tg_stats, &idx);

	if (v)
		*v += 1;
}

static __always_inline bool enforcing(void)
{
	return tg_set.enforce == TG_ENFORCE_LSM || tg_set.enforce == TG_ENFORCE_DRY_RUN;
}

static __always_inline bool task_tracked(__u32 tgid)
{
	if (!tg_cfg.filter_tracked)
		return true;
	return bpf_map_lookup_elem(&tg_tracked, &tgid) != NULL;
}

/*
 * Direct loads. A pointer the verifier knows by its BTF type (bpf_get_current_task_btf(),
 * bpf_task_pt_regs(), a BTF program's arguments, and a struct pointer loaded from one of them)
 * is read with plain loads: the verifier turns each into an inline PROBE_MEM load (a fault reads
 * 0), where BPF_CORE_READ calls bpf_probe_read_kernel() once per hop. vmlinux.h's
 * preserve_access_index keeps the offsets CO-RE relocated either way. Accepted on 5.17 (BTF
 * pointer walks date from 5.5). Not through a pointer that is only a number to the verifier: one
 * read with bpf_probe_read_kernel() (an array element at a variable index, fdt->fd[fd]) or
 * loaded from a struct field whose type is not a struct pointer: those stay BPF_CORE_READ.
 *
 * The verifier's price: on kernels with btf_nested_type_is_trusted() (6.18 here), each load
 * of a pointer field from a trusted pointer such as current's task costs it up to four linear
 * searches of the kernel's BTF by name (~45% of load time in perf), every time it walks that
 * instruction. Done deep in report_open(), walked on thousands of paths, that doubled the load
 * (17 s of verifier time against 7, on a busy host). So direct loads from task only where few
 * paths reach (task_fd_file() at the top of report_open(), fill_task()); the deep, rarely run
 * ones (fsuid after the O_EXCL return, base_dir(), the root, kexc_lookup()) stay BPF_CORE_READ.
 * And not in the switches that fill a tg_open_args from the registers (ia32_open_args(),
 * fexit.bpf.c's open_args()): clang merges their loads into one instruction reached with a
 * pt_regs pointer on one path and a stack pointer on another, which the verifier refuses
 * ("same insn cannot be used with different pointers", seen on 6.1 under --hooks fentry).
 */

/* The O_CREAT open task has pending (stashed at its start and not yet taken out), else NULL.
 * Every stashed open has O_CREAT: clearing flags takes it out (open_args_take). */
static __always_inline struct tg_open_args *open_args_pending(struct task_struct *task)
{
	struct tg_open_args *a = bpf_task_storage_get(&tg_open_args, task, NULL, 0);

	return a && (a->flags & O_CREAT) ? a : NULL;
}

static __always_inline void open_args_take(struct tg_open_args *a)
{
	a->flags = 0;
}

/* Stash a (flags with O_CREAT) as task's pending open, replacing any. A failed get (no
 * memory, or task storage busy on this CPU) leaves none: that open is not seen, and counted. */
static __always_inline void open_args_stash(struct task_struct *task, const struct tg_open_args *a)
{
	struct tg_open_args *s =
		bpf_task_storage_get(&tg_open_args, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (s)
		*s = *a;
	else
		stat_inc(TG_STAT_STASH_FAILED);
}

/* Syscall arguments at exit: the registers the task entered the kernel with. x86_64 only:
 * orig argument order di, si, dx, r10. A BTF pointer: read its fields directly. */
static __always_inline struct pt_regs *current_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* Is this thread in a 32-bit syscall? task is bpf_get_current_task_btf()'s: a plain load. */
static __always_inline bool in_ia32_syscall(struct task_struct *task)
{
	return task->thread_info.status & TS_COMPAT;
}

/*
 * The arguments of the 32-bit open, creat, openat or openat2 this thread is making, from its
 * saved registers: the ia32 ABI passes them in bx, cx, dx, si, 32 bits wide (the entry code
 * zero-extends them, so dfd is sign-extended from 32 bits here). False for any other syscall,
 * and for opens without O_CREAT.
 */
static __always_inline bool ia32_open_args(struct pt_regs *regs, struct tg_open_args *a)
{
	__u32 bx = BPF_CORE_READ(regs, bx), cx = BPF_CORE_READ(regs, cx);
	__u32 dx = BPF_CORE_READ(regs, dx), si = BPF_CORE_READ(regs, si);
	struct open_how how = {};

	__builtin_memset(a, 0, sizeof(*a));
	a->decision_rule = TG_R_NONE;
	a->entry = TG_ENTRY_IA32;
	a->dfd = AT_FDCWD;
	switch (BPF_CORE_READ(regs, orig_ax)) {
	case IA32_NR_OPEN:
		a->syscall = TG_SYS_OPEN;
		a->path = bx;
		a->flags = cx;
		a->mode = dx;
		break;
	case IA32_NR_CREAT:
		a->syscall = TG_SYS_CREAT;
		a->path = bx;
		a->flags = O_CREAT | 1 /* O_WRONLY */ | O_TRUNC;
		a->mode = cx;
		break;
	case IA32_NR_OPENAT:
		a->syscall = TG_SYS_OPENAT;
		a->dfd = (int)bx;
		a->path = cx;
		a->flags = dx;
		a->mode = si;
		break;
	case IA32_NR_OPENAT2:
		/* struct open_how has the same layout for 32-bit callers (u64 fields only). */
		if (bpf_probe_read_user(&how, sizeof(how), (void *)(__u64)dx))
			return false;
		a->syscall = TG_SYS_OPENAT2;
		a->dfd = (int)bx;
		a->path = cx;
		a->flags = how.flags;
		a->mode = how.mode;
		break;
	default:
		return false;
	}
	return a->flags & O_CREAT;
}

/*
 * In an io-wq worker: the io_uring request it is running, else NULL. io_worker.cur_work is set
 * (under the worker's lock) before the work runs and cleared after; the worker is
 * task->worker_private (5.12, 46fe18b16c46 "io_uring: move to using create_io_thread()").
 * SQPOLL threads are PF_IO_WORKER too, with no io_worker: NULL.
 */
static __always_inline void *uring_worker_req(struct task_struct *task)
{
	struct io_worker *w;
	struct io_wq_work *work;

	if (!(task->flags & PF_IO_WORKER))
		return NULL;
	w = task->worker_private;
	if (!w)
		return NULL;
	work = BPF_CORE_READ(w, cur_work);
	if (!work)
		return NULL;
	return (void *)work - bpf_core_field_offset(struct io_kiocb, work);
}

/* The kernel's dev_t of a superblock, as user space converts st_dev to it. */
static __always_inline __u32 inode_dev(struct inode *ino)
{
	return BPF_CORE_READ(ino, i_sb, s_dev);
}

/* Sticky and world-writable, or named in the policy's shared_dirs (matched by inode): mode is
 * ino's i_mode, read by the caller. */
static __always_inline bool dir_mode_is_shared(struct inode *ino, __u16 mode)
{
	struct tg_dir_key key = {};

	if ((mode & S_IFMT) != S_IFDIR)
		return false;
	if ((mode & S_ISVTX) && (mode & S_IWOTH))
		return true;
	if (!tg_set.n_shared_dirs)
		return false;
	key.ino = BPF_CORE_READ(ino, i_ino);
	key.dev = inode_dev(ino);
	return bpf_map_lookup_elem(&tg_shared_dirs, &key) != NULL;
}

static __always_inline bool inode_is_shared_dir(struct inode *ino)
{
	return dir_mode_is_shared(ino, BPF_CORE_READ(ino, i_mode));
}

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
 * lookups, and only for candidates. bpf_loop: the verifier walks the step once, where an
 * unrolled loop multiplied the exit programs' states by its 7 branches.
 */
static __always_inline bool kexc_lookup(struct task_struct *task, __u32 uid, __u32 rule)
{
	struct tg_kexc_ctx x = {.combos = tg_set.kexc_combos, .uid = uid};
	struct inode *exe_ino;

	if (!x.combos)
		return false;
	exe_ino = BPF_CORE_READ(task, mm, exe_file, f_inode);
	x.ino = exe_ino ? BPF_CORE_READ(exe_ino, i_ino) : 0;
	x.dev = exe_ino ? inode_dev(exe_ino) : 0;
	x.cgid = bpf_get_current_cgroup_id();
	x.key.rule = rule;
	bpf_loop(7, kexc_step, &x, 0);
	return x.hit;
}

/* An exception on every rule: the record is not sent at all. */
static __always_inline bool kexc_match(struct task_struct *task, __u32 uid)
{
	if (!kexc_lookup(task, uid, TG_KEXC_ANY_RULE))
		return false;
	stat_inc(TG_STAT_EXCEPTED);
	return true;
}

/* Is enforcement of rule on for this task (scope, policy, exceptions for that rule)? */
static __always_inline bool enforce_rule(struct task_struct *task, __u32 rule)
{
	__u32 uid = (__u32)bpf_get_current_uid_gid();

	if (rule >= TG_R_MAX || !(tg_set.deny_rules & (1u << rule)))
		return false;
	if (tg_set.enforce_tracked &&
	    !bpf_map_lookup_elem(&tg_tracked, &(__u32){bpf_get_current_pid_tgid() >> 32}))
		return false;
	return !kexc_lookup(task, uid, rule) && !kexc_lookup(task, uid, TG_KEXC_ANY_RULE);
}

/*
 * The file of task's descriptor fd. task is a BTF pointer: files, fdt, fd and max_fds are
 * direct loads. fdt->fd is a pointer to pointers (a number to the verifier) indexed by a
 * variable: that element is one bpf_probe_read_kernel(), and the file it gives is no BTF
 * pointer either: its readers use BPF_CORE_READ.
 */
static __always_inline struct file *task_fd_file(struct task_struct *task, int fd)
{
	struct fdtable *fdt = task->files->fdt;
	struct file **fds = fdt->fd;
	unsigned int max = fdt->max_fds;
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= max)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* The directory a dirfd-relative name is looked up in: cwd for AT_FDCWD, else dfd's dentry. */
static __always_inline struct dentry *base_dir(struct task_struct *task, int dfd)
{
	struct file *f;

	if (dfd == AT_FDCWD)
		return BPF_CORE_READ(task, fs, pwd.dentry);
	f = task_fd_file(task, dfd);
	return f ? BPF_CORE_READ(f, f_path.dentry) : NULL;
}

/* The layout of the requested path's tail, found in one pass. */
struct tg_path_shape {
	__u64 hash;	 /* of the whole tail: the probe/create matching key */
	__u64 base_hash; /* of the last component */
	__u64 dir_hash;	 /* of the component before it */
	__s32 slashes;	 /* '/' in the tail */
	__u32 dir_len;
	bool dir_is_dot; /* "." or ".." */
};

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
 * to one pass over the callback: unrolled or bounded loops over 256 bytes nested in the exit
 * program's branches exceed the 1M-instruction budget.
 */
static __always_inline void path_shape(const char *path, __u32 len, struct tg_path_shape *s)
{
	struct tg_shape_ctx x = {
		.path = path,
		.start = len > TG_TAIL_LEN ? len - TG_TAIL_LEN : 0,
		.len = len,
		.h = FNV_OFFSET ^ len,
		.comp = FNV_OFFSET,
		.prev = FNV_OFFSET,
	};

	bpf_loop(TG_TAIL_LEN, shape_step, &x, 0);
	s->hash = x.h;
	s->base_hash = x.comp;
	s->dir_hash = x.prev;
	s->dir_len = x.prev_len;
	s->slashes = x.slashes;
	s->dir_is_dot =
		(x.prev_len == 1 && x.p0 == '.') || (x.prev_len == 2 && x.p0 == '.' && x.p1 == '.');
}

struct tg_hash_ctx {
	const char *buf;
	__u64 h;
};

static long hash_step(__u32 i, struct tg_hash_ctx *x)
{
	char c = x->buf[i & (TG_NAME_LEN - 1)];

	if (!c)
		return 1;
	x->h = (x->h ^ (__u8)c) * FNV_PRIME;
	return 0;
}

/* FNV-1a of a dentry's name, read into buf (TG_NAME_LEN). */
static __always_inline __u64 dentry_name_hash(struct dentry *d, char *buf)
{
	struct tg_hash_ctx x = {.buf = buf, .h = FNV_OFFSET};

	if (bpf_probe_read_kernel_str(buf, TG_NAME_LEN, BPF_CORE_READ(d, d_name.name)) <= 0)
		return 0;
	bpf_loop(TG_NAME_LEN - 1, hash_step, &x, 0);
	return x.h;
}

/* The 8 bytes of buf at off, those past the string's bytes masked off (bytes after the NUL
 * are whatever an earlier read left in the buffer). */
static __always_inline __u64 path_word(const char *buf, __u32 bytes, __u32 off)
{
	__u32 valid = bytes > off ? bytes - off : 0;
	__u64 v = 0;

	if (!valid)
		return 0;
	__builtin_memcpy(&v, buf + (off & (TG_PATH_LEN - 1)), 8);
	return valid >= 8 ? v : v & ((1ULL << (valid * 8)) - 1);
}

/*
 * A sample of the n - 1 bytes bpf_probe_read_user_str() put in buf (a TG_PATH_LEN buffer with
 * 8 bytes to spare after it): the length and the first and last 16 bytes, mixed with a seed
 * chosen per load. What the entry program keeps of the path, so that the exit program can
 * tell whether another thread rewrote it in between. No loop: a loop here, in every exit
 * program's branches, tripled the verifier's time on 6.18 (7 s to load tmpguard). A rewrite
 * that keeps the length and both ends (a middle directory of the same length) is not seen; a
 * name mismatch it causes is still checked for a symlink in user space (requested_link).
 */
static __always_inline __u64 path_checksum(const char *buf, long n)
{
	__u32 bytes = n > 0 && n <= TG_PATH_LEN ? (__u32)(n - 1) : 0;
	__u32 t0 = bytes > 16 ? bytes - 16 : 0, t1 = bytes > 8 ? bytes - 8 : 0;
	__u64 h = FNV_OFFSET ^ tg_cfg.path_seed ^ ((__u64)bytes << 32);

	h = (h ^ path_word(buf, bytes, 0)) * FNV_PRIME;
	h = (h ^ path_word(buf, bytes, 8)) * FNV_PRIME;
	h = (h ^ path_word(buf, bytes, t0)) * FNV_PRIME;
	h = (h ^ path_word(buf, bytes, t1)) * FNV_PRIME;
	return h ^ (h >> 32);
}

/*
 * bpf_probe_read_user_str() returned n into a TG_PATH_LEN buffer: was the path cut? The
 * kernel accepts at most PATH_MAX - 1 = TG_PATH_LEN - 1 bytes, so a full buffer is usually an
 * exact fit; it is a truncation only if the user string goes on past it (the buffer was
 * rewritten after the kernel read it).
 */
static __always_inline bool path_truncated(const char *user_path, long n)
{
	char c = 0;

	if (n != TG_PATH_LEN)
		return false;
	return bpf_probe_read_user(&c, 1, user_path + TG_PATH_LEN - 1) || c != 0;
}

/* Name of the directory dentry d as its parent sees it: across a mount boundary (a tmpfs /tmp
 * holds its files under its root dentry "/"), the name of the mount point. */
static __always_inline struct dentry *visible_dir(struct dentry *d, struct vfsmount *vm)
{
	struct mount *m;

	if (d != BPF_CORE_READ(vm, mnt_root))
		return d;
	m = (struct mount *)((void *)vm - bpf_core_field_offset(struct mount, mnt));
	return BPF_CORE_READ(m, mnt_mountpoint);
}

/* task is bpf_get_current_task_btf()'s: the struct hops below are direct loads. */
static __always_inline void fill_task(struct tg_event *e, struct task_struct *task)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct task_struct *parent = task->real_parent;
	const struct cred *cred = task->cred;
	struct mm_struct *mm;
	struct file *exe;
	unsigned long arg_start, arg_end, n;

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
	e->umask = task->fs->umask;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->pcomm, sizeof(e->pcomm), &parent->comm);
	if (bpf_probe_read_kernel_str(e->cgroup, sizeof(e->cgroup),
				      task->cgroups->dfl_cgrp->kn->name) < 0)
		e->cgroup[0] = 0;

	mm = task->mm;
	if (!mm)
		return;
	exe = mm->exe_file;
	if (exe && bpf_probe_read_kernel_str(e->exe, sizeof(e->exe),
					     exe->f_path.dentry->d_name.name) == sizeof(e->exe))
		e->facts |= TG_F_EXE_TRUNC;
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
}

/* The record to build: this CPU's tg_event_heap slot. NULL (never seen: the map is an array
 * of one) counts as a loss like a full ring buffer. */
static __always_inline struct tg_event *event_start(void)
{
	__u32 zero = 0;
	struct tg_event *e = bpf_map_lookup_elem(&tg_event_heap, &zero);

	if (!e) {
		stat_inc(TG_STAT_LOST);
		return NULL;
	}
	return e;
}

/*
 * Sends the record built in e: its header and the first path_n bytes of path, path_n being what
 * bpf_probe_read_{kernel,user}_str() returned when it wrote path (its NUL included). Any other
 * value (a failed read) sends an empty path. A failed output is a loss, counted.
 *
 * bpf_ringbuf_output() copies the record into the ring: the size need not be a constant, as
 * bpf_ringbuf_reserve()'s must (bpf_ringbuf_reserve_dynptr() would lift that, from 5.19, above
 * the 5.17 floor). The verifier checks the size against the map value: the bounds below give it
 * TG_EVENT_HDR_LEN + [1, TG_PATH_LEN], at most sizeof(struct tg_event).
 *
 * Waking the reader costs more than writing the record (an IPI per record, a VM exit on
 * virtualised hosts): wake it only once wakeup_bytes are unread, this record included (its
 * ring header too). The reader polls with a timeout and consumes whatever is there, so
 * a record waits at most one poll interval.
 */
static __always_inline void event_submit(struct tg_event *e, long path_n)
{
	__u64 flags = BPF_RB_FORCE_WAKEUP, size;

	if (path_n < 1 || path_n > TG_PATH_LEN) {
		path_n = 1;
		e->path[0] = 0;
	}
	e->path_len = path_n;
	size = TG_EVENT_HDR_LEN + (__u64)path_n;
	if (tg_cfg.wakeup_bytes &&
	    bpf_ringbuf_query(&tg_events, BPF_RB_AVAIL_DATA) + BPF_RINGBUF_HDR_SZ + size <
		    tg_cfg.wakeup_bytes)
		flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&tg_events, e, size, flags)) {
		stat_inc(TG_STAT_LOST);
		return;
	}
	stat_inc(TG_STAT_SENT);
}

#endif /* TG_COMMON_BPF_H */

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers shared by the programs: task, file and directory readers, path analysis, emit. */
#ifndef TG_COMMON_BPF_H
#define TG_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tmpguard.h"
#include "decide.h"
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

/*
 * An O_CREAT open that can be no finding, whatever happens: O_EXCL (a new entry where the name
 * says, never through a symlink), a mode within the policy's mask (umask and default ACLs only
 * ever take bits away), and O_CLOEXEC where inheritable-fd is reported. The secure pattern
 * (mkstemp) stops here, at entry and at exit, before any map or helper; without the BPF LSM
 * nothing needs remembering about it either.
 */
static __always_inline bool open_is_secure(__u64 flags, __u32 mode)
{
	return (flags & O_EXCL) && !(mode & tg_set.file_loose_mask) &&
	       !(tg_set.report_cloexec && !(flags & O_CLOEXEC)) &&
	       tg_cfg.enforce != TG_ENFORCE_LSM && tg_cfg.enforce != TG_ENFORCE_DRY_RUN;
}

/* The BPF LSM decides (--enforce or --dry-run): a load-time constant. */
static __always_inline bool enforcing(void)
{
	return tg_cfg.enforce == TG_ENFORCE_LSM || tg_cfg.enforce == TG_ENFORCE_DRY_RUN;
}

/* An O_CREAT open that returned ret, counted (and tmpguard's own, for its health canary). */
static __always_inline void count_create(long ret)
{
	if (ret < 0)
		return;
	stat_inc(TG_STAT_CREATE_SEEN);
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == tg_cfg.self_tgid)
		stat_inc(TG_STAT_SELF_CREATE);
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

/* The registers the task entered the kernel with: a BTF pointer. */
static __always_inline struct pt_regs *current_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* Is this thread in a 32-bit syscall? task is bpf_get_current_task_btf()'s: a plain load. */
static __always_inline bool in_ia32_syscall(struct task_struct *task)
{
	return task->thread_info.status & TS_COMPAT;
}

/* The number of the syscall being made: x86's orig_ax (libbpf has no accessor for it). regs is
 * current_regs(), a BTF pointer: a direct load, as for the arguments below. */
static __always_inline __u64 syscall_nr(struct pt_regs *regs)
{
	return regs->orig_ax;
}

/* What tg_syscalls says of syscall nr (native, or ia32 when compat), NULL if nothing. */
static __always_inline const volatile struct tg_sys_desc *syscall_desc(bool compat, __u64 nr)
{
	if (nr >= TG_NR_MAX || !tg_syscalls[compat & 1][nr].sys)
		return NULL;
	return &tg_syscalls[compat & 1][nr];
}

/*
 * Argument i (0-3) of the syscall the task is making. Native: libbpf's arch-neutral accessors
 * (the direct-load PT_REGS_PARM*_SYSCALL: regs is a BTF pointer, so no helper call). ia32 (int
 * 0x80, sysenter, compat syscall): bx, cx, dx, si, 32 bits wide, which libbpf has no accessor
 * for; the entry code zero-extends them, so an fd is sign-extended from 32 bits by its reader.
 */
static __always_inline __u64 syscall_arg(struct pt_regs *regs, bool compat, __u32 i)
{
	if (compat) {
		switch (i) {
		case 0:
			return (__u32)regs->bx;
		case 1:
			return (__u32)regs->cx;
		case 2:
			return (__u32)regs->dx;
		case 3:
			return (__u32)regs->si;
		}
		return 0;
	}
	switch (i) {
	case 0:
		return PT_REGS_PARM1_SYSCALL(regs);
	case 1:
		return PT_REGS_PARM2_SYSCALL(regs);
	case 2:
		return PT_REGS_PARM3_SYSCALL(regs);
	case 3:
		return PT_REGS_PARM4_SYSCALL(regs);
	}
	return 0;
}

/* A followed syscall, as the task is making it. */
struct tg_call {
	__u64 path; /* user pointer */
	__u64 flags;
	__s32 dfd;
	__u32 mode;
	__u32 sys;   /* enum tg_syscall */
	__u32 op;    /* enum tg_sys_op */
	__u32 entry; /* TG_ENTRY_SYSCALL or TG_ENTRY_IA32 */
	__u32 pad;
};

/*
 * The one decoder of syscall arguments: the syscall task is making, from its saved registers
 * and tg_syscalls. False if it is none that tmpguard follows (or openat2's open_how cannot be
 * read). An io-wq worker has zeroed registers: nothing.
 */
static __always_inline bool decode_call(struct task_struct *task, struct tg_call *c)
{
	struct pt_regs *regs = current_regs();
	bool compat = in_ia32_syscall(task);
	const volatile struct tg_sys_desc *d = syscall_desc(compat, syscall_nr(regs));
	struct open_how how = {};
	__u8 i;

	__builtin_memset(c, 0, sizeof(*c));
	if (!d)
		return false;
	c->sys = d->sys;
	c->op = d->op;
	c->entry = compat ? TG_ENTRY_IA32 : TG_ENTRY_SYSCALL;
	c->path = syscall_arg(regs, compat, d->path);
	i = d->dfd;
	c->dfd = i == TG_ARG_NONE ? AT_FDCWD : (int)syscall_arg(regs, compat, i);
	i = d->mode;
	c->mode = i == TG_ARG_NONE ? 0 : (__u32)syscall_arg(regs, compat, i);
	i = d->flags;
	if (i != TG_ARG_NONE)
		c->flags = (__u32)syscall_arg(regs, compat, i);
	else if (c->op == TG_OP_OPEN) /* creat(2): open(O_CREAT|O_WRONLY|O_TRUNC) */
		c->flags = O_CREAT | 1 /* O_WRONLY */ | O_TRUNC;
	i = d->how;
	if (i != TG_ARG_NONE) {
		/* The caller's open_how (the same layout for 32-bit callers: u64 fields only);
		 * the kernel's copy has O_LARGEFILE added (force_o_largefile()). */
		if (bpf_probe_read_user(&how, sizeof(how), (void *)syscall_arg(regs, compat, i)))
			return false;
		c->flags = how.flags;
		c->mode = how.mode;
	}
	return true;
}

/*
 * An ia32 socketcall, decoded (op TG_OP_SOCKETCALL): a bind when its call is SYS_BIND (2), its
 * arguments the caller's array of three 32-bit words (fd, sockaddr, addrlen). Makes c that
 * bind (the sockaddr's word read straight into the low half of c->path: x86 is little-endian,
 * and no buffer goes on the stack); false for any other call.
 */
static __always_inline bool socketcall_bind(struct tg_call *c)
{
	struct pt_regs *regs = current_regs();

	c->path = 0;
	if (syscall_arg(regs, true, 0) != 2 ||
	    bpf_probe_read_user(&c->path, sizeof(__u32),
				(void *)(syscall_arg(regs, true, 1) + sizeof(__u32))))
		return false;
	c->op = TG_OP_BIND;
	return true;
}

/* The path of a decoded call, read into this CPU's scratch buffer: the scratch, or NULL if it
 * could not be read or is empty; *n is what the read returned (the NUL included). */
static __always_inline struct tg_scratch *read_call_path(const struct tg_call *c, long *n)
{
	__u32 zero = 0;
	struct tg_scratch *s = bpf_map_lookup_elem(&tg_scratch, &zero);

	if (!s)
		return NULL;
	*n = bpf_probe_read_user_str(s->path, sizeof(s->path), (const char *)c->path);
	return *n > 1 ? s : NULL;
}

/* An O_CREAT open's arguments, as stashed, from a decoded call. */
static __always_inline void open_args_from_call(struct tg_open_args *a, const struct tg_call *c)
{
	__builtin_memset(a, 0, sizeof(*a));
	a->flags = c->flags;
	a->path = c->path;
	a->mode = c->mode;
	a->dfd = c->dfd;
	a->syscall = c->sys;
	a->entry = c->entry;
	a->decision_rule = TG_R_NONE;
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
	w = BPF_CORE_READ(task, worker_private);
	if (!w)
		return NULL;
	work = BPF_CORE_READ(w, cur_work);
	if (!work)
		return NULL;
	return (void *)work - bpf_core_field_offset(struct io_kiocb, work);
}

/*
 * The O_CREAT open this thread is making, if any: its arguments stashed at entry (sys_enter,
 * fentry); in an io-wq worker, the submission record of its request (*u set, else NULL); or a
 * 32-bit syscall's, which no entry program sees, stashed now from its registers (the exit takes
 * them out). The worker first: one forked from a 32-bit io_uring_enter() keeps TS_COMPAT
 * (dup_task_struct() copies thread_info, and it never returns to user space to clear it), with
 * zeroed registers.
 */
static __always_inline struct tg_open_args *current_open(struct task_struct *task,
							 struct tg_uring_open **u)
{
	struct tg_open_args *a, ia32;
	struct tg_call c;
	__u64 key;
	void *req;

	*u = NULL;
	a = open_args_pending(task);
	if (a)
		return a;
	req = uring_worker_req(task);
	if (req) {
		key = (__u64)req;
		*u = bpf_map_lookup_elem(&tg_uring_open, &key);
		return *u ? &(*u)->a : NULL;
	}
	if (!in_ia32_syscall(task) || !decode_call(task, &c) || c.op != TG_OP_OPEN ||
	    !(c.flags & O_CREAT) || !task_tracked(bpf_get_current_pid_tgid() >> 32))
		return NULL;
	open_args_from_call(&ia32, &c);
	open_args_stash(task, &ia32);
	return open_args_pending(task);
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
	__u32 gen = tg_set.gen & 1; /* read once: a reload may switch it meanwhile */
	struct tg_dir_key key = {.gen = gen};

	if ((mode & S_IFMT) != S_IFDIR)
		return false;
	if ((mode & S_ISVTX) && (mode & S_IWOTH))
		return true;
	if (!tg_set.n_shared_dirs[gen])
		return false;
	key.ino = BPF_CORE_READ(ino, i_ino);
	key.dev = inode_dev(ino);
	return bpf_map_lookup_elem(&tg_shared_dirs, &key) != NULL;
}

static __always_inline bool inode_is_shared_dir(struct inode *ino)
{
	return dir_mode_is_shared(ino, BPF_CORE_READ(ino, i_mode));
}

/* The acting credentials: those the VFS checks and creates with (fsuid), what an exception's
 * uid or user is matched against. task is bpf_get_current_task_btf()'s. */
static __always_inline __u32 acting_uid(struct task_struct *task)
{
	return BPF_CORE_READ(task, cred, fsuid.val);
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

/* The current thread's call-site record (stack.bpf.c): a global subprogram, verified once. */
int tg_send_stack(void);
/* pyframe.bpf.c: the state of the registered interpreter e's process runs (tg_interp), read
 * at a record that is sent: a CPython interpreter's current frames, sent before e to their own
 * ring; bash's current line, into e (a global subprogram). */
int tg_interp_send(struct tg_event *e);

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
 *
 * With call sites on, the thread's user stack (tg_send_stack) and a CPython interpreter's frames
 * (tg_interp_send) go first, and bash's line goes into e: only here, so only for records that
 * are sent.
 */
static __always_inline void event_submit(struct tg_event *e, long path_n)
{
	__u64 flags = BPF_RB_FORCE_WAKEUP, size;

	/* The call site: the user stack, sent just before the record it belongs to; a CPython
	 * interpreter's frames, in their own ring; bash's line, into e (pyframe.bpf.c). */
	if (tg_cfg.call_sites) {
		tg_send_stack();
		tg_interp_send(e);
	}

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

/*
 * Argument i of a BTF program (tp_btf, fentry, lsm: BPF_PROG's ctx) as a plain number, for a
 * global subprogram whose prototype says __u64: the 6.1 verifier refuses a BTF pointer there
 * ("R1 is not a scalar"), and a cast does not change what it knows. Read through the helper,
 * the slot is a scalar.
 */
static __always_inline __u64 ctx_arg_u64(unsigned long long *ctx, int i)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &ctx[i]);
	return v;
}

/*
 * Global subprograms. The verifier checks each once per program that calls it, from its
 * prototype, however many call sites and paths lead there: an __always_inline copy is checked
 * again on every path that reaches it, which is what made loading take seconds. Arguments are
 * scalars or pointers to fixed-size memory (the 5.17 floor passes no BTF pointer to one): kernel
 * pointers travel as __u64 and are read with BPF_CORE_READ; the current task is fetched inside.
 * Each is defined in one file (bpftool gen object links the calls): lib.bpf.c unless noted.
 */
/* Exceptions the kernel applies: does one match uid (acting) and rule for the current task?
 * Counts the hit. */
int tg_kexc_excepted(__u32 uid, __u32 rule);
/* Is the ENOENT probe p the check half of the current task's create (decide.h's relatedness
 * and the policy's window)? */
int tg_probe_related(struct tg_probe *p);
/* A mapped file's path (lib.bpf.c) and the call-site record of the current thread, sent
 * before the record it belongs to (stack.bpf.c). */
int tg_map_path(__u64 dentry, __u64 vfsmnt, struct tg_stk_map *m);
int tg_cwd_path(struct tg_stack *s);
/* The first of rules (TG_RULE_BIT()s) in decide.h's order that is enforced, or TG_R_NONE. */
int tg_enforced_rule(__u32 rules);
/* The process fields of a record: ids, credentials, names, arguments. */
int tg_fill_task(struct tg_event *e);
/* The layout of the tail of s->path (len bytes). */
int tg_path_shape(struct tg_scratch *s, __u32 len, struct tg_path_shape *out);
/* A symlink at dentry is being followed (lsm/inode_follow_link, fentry on
 * security_inode_follow_link): marks the pending O_CREAT open, if any. */
int tg_follow_link(__u64 dentry);
/* open.bpf.c: the start and the end of an open with O_CREAT, and the decision on it. */
int tg_open_enter(void);
int tg_open_exit(long ret);
int tg_report_open(long ret, __u64 file, struct tg_open_args *a, struct tg_uring_open *u);
/* mkdir.bpf.c, probe.bpf.c */
int tg_mkname_exit(long ret);
int tg_probe_exit(long ret);

#endif /* TG_COMMON_BPF_H */

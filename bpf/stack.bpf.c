// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Call sites: the user stack of a record that is sent (event_submit, and only there), as a
 * TG_KIND_STACK record just before it (tmpguard.h). What user space needs to unwind it after the
 * process is gone: the registers, the frame-pointer walk's return addresses, a copy of the top
 * of the stack (for DWARF unwinding of code without frame pointers), and the executable file
 * mappings that the instruction pointer and the words of that copy point into, with their
 * paths. At most TG_STK_LOOKUPS mapping lookups, and none for an address in a range already
 * looked up.
 *
 * A stack user space already resolved (tg_stk_sigs: the same thread image, registers and every
 * word its unwinding read) is not copied again: a reference to it goes instead, the size of an
 * event. A thread that creates in a loop costs one copy, not one per create.
 */
#include "common.bpf.h"

#define VM_EXEC	       0x00000004
#define TG_STK_LOOKUPS 16 /* bpf_find_vma calls per record */
#define TG_STK_NEG     16 /* ranges looked up that are not executable file mappings */
#define TG_USER_TOP    0x00007fffffffffffULL

/* The record and the walk's state in one per-CPU value: a callback reaches both through its
 * context pointer (a pointer stored in a map value would be a number to the verifier). */
struct tg_stk_ctx {
	struct tg_stack s;
	__u64 neg_start[TG_STK_NEG], neg_end[TG_STK_NEG];
	__u64 files[TG_STK_MAPS_MAX];
	__u32 n_neg, lookups;
	/* what the last bpf_find_vma found */
	__u64 start, end, pgoff, flags, file;
	/* the stack user space resolved that this one may repeat, and whether it does; the key
	 * it is looked up by (here, not on the stack: 6.1 allows 512 bytes for the whole chain) */
	struct tg_stk_sig sig;
	struct tg_stk_sig_key key;
	__u32 same;
};

/* The record being built, per CPU: 13 KiB, too large for the stack. Writer and reader:
 * tg_send_stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_stk_ctx);
} tg_stack_ctx SEC(".maps");

/* Stacks user space resolved (tg_stk_sig), by thread and registers. Written by user space only:
 * read-only to the programs. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TG_STK_SIGS);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, struct tg_stk_sig_key);
	__type(value, struct tg_stk_sigs);
} tg_stk_sigs SEC(".maps");

/* This CPU's tg_stack_ctx. bpf_loop() and bpf_find_vma() take a context on the stack only: the
 * callbacks look the map up instead. */
static __always_inline struct tg_stk_ctx *stk_ctx(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tg_stack_ctx, &zero);
}

static long vma_found(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	struct tg_stk_ctx *x = stk_ctx();

	if (!x)
		return 1;
	x->start = BPF_CORE_READ(vma, vm_start);
	x->end = BPF_CORE_READ(vma, vm_end);
	x->pgoff = BPF_CORE_READ(vma, vm_pgoff) << 12;
	x->flags = BPF_CORE_READ(vma, vm_flags);
	x->file = (__u64)BPF_CORE_READ(vma, vm_file);
	return 0;
}

/* Is addr in a mapping already recorded, or in a range known to be none? */
static __always_inline bool known(struct tg_stk_ctx *x, __u64 addr)
{
	struct tg_stack *s = &x->s;

	for (__u32 i = 0; i < TG_STK_MAPS_MAX; i++) {
		if (i >= s->n_maps)
			break;
		if (addr >= s->maps[i].start && addr < s->maps[i].end)
			return true;
	}
	for (__u32 i = 0; i < TG_STK_NEG; i++) {
		if (i >= x->n_neg)
			break;
		if (addr >= x->neg_start[i] && addr < x->neg_end[i])
			return true;
	}
	return false;
}

/* Records the executable file mapping addr is in, if any (a lookup, counted). */
static __always_inline void look_up(struct tg_stk_ctx *x, __u64 addr)
{
	struct tg_stack *s = &x->s;
	struct tg_stk_map *m;
	struct file *f;
	__u32 i;

	if (addr < 0x1000 || addr > TG_USER_TOP || known(x, addr))
		return;
	if (x->lookups >= TG_STK_LOOKUPS || s->n_maps >= TG_STK_MAPS_MAX) {
		s->flags |= TG_STK_F_MAPS_FULL;
		return;
	}
	x->lookups++;
	x->file = 0;
	x->start = x->end = 0;
	if (bpf_find_vma(bpf_get_current_task_btf(), addr, vma_found, NULL, 0) ||
	    x->end <= x->start)
		return;
	if (!x->file || !(x->flags & VM_EXEC)) {
		i = x->n_neg;
		if (i < TG_STK_NEG) {
			barrier_var(i);
			x->neg_start[i & (TG_STK_NEG - 1)] = x->start;
			x->neg_end[i & (TG_STK_NEG - 1)] = x->end;
			x->n_neg = i + 1;
		}
		return;
	}
	i = s->n_maps;
	if (i >= TG_STK_MAPS_MAX)
		return;
	barrier_var(i); /* the mask below stays: the verifier needs it */
	i &= TG_STK_MAPS_MAX - 1;
	m = &s->maps[i];
	m->start = x->start;
	m->end = x->end;
	m->pgoff = x->pgoff;
	f = (struct file *)x->file;
	m->ino = BPF_CORE_READ(f, f_inode, i_ino);
	m->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	m->path_len = 0;
	x->files[i] = x->file;
	s->n_maps = i + 1;
}

static long fp_step(__u32 i, void *unused)
{
	struct tg_stk_ctx *x = stk_ctx();

	if (!x)
		return 1;
	if (i >= x->s.n_fp || i >= TG_STK_FP_MAX)
		return 1;
	barrier_var(i); /* the mask below stays: the verifier needs it */
	look_up(x, x->s.fp[i & (TG_STK_FP_MAX - 1)]);
	return 0;
}

static long word_step(__u32 i, void *unused)
{
	struct tg_stk_ctx *x = stk_ctx();
	__u64 w;

	if (!x || i * 8 + 8 > x->s.stack_len)
		return 1;
	if (x->lookups >= TG_STK_LOOKUPS)
		return 1;
	__builtin_memcpy(&w, &x->s.stack[(i * 8) & (TG_STK_COPY - 8)], 8);
	look_up(x, w);
	return 0;
}

static long path_step(__u32 i, void *unused)
{
	struct tg_stk_ctx *x = stk_ctx();
	struct file *f;

	if (!x)
		return 1;
	if (i >= x->s.n_maps || i >= TG_STK_MAPS_MAX)
		return 1;
	barrier_var(i); /* the mask below stays: the verifier needs it */
	i &= TG_STK_MAPS_MAX - 1;
	f = (struct file *)x->files[i];
	tg_map_path((__u64)BPF_CORE_READ(f, f_path.dentry), (__u64)BPF_CORE_READ(f, f_path.mnt),
		    &x->s.maps[i]);
	return 0;
}

/* len bytes of the user stack from sp into s->stack: whether they could be read. len is known
 * to the compiler, not to 6.1's verifier (which loses it in the loop that computes it): an
 * opaque value, bounded again. */
static __always_inline bool copy_stack(struct tg_stack *s, __u64 len)
{
	barrier_var(len);
	len &= TG_STK_COPY * 2 - 1;
	if (len > TG_STK_COPY)
		len = TG_STK_COPY;
	if (!len || bpf_probe_read_user(s->stack, len, (void *)s->sp))
		return false;
	s->stack_len = len;
	return true;
}

/* The current directory (tg_cwd_path), from a callback as the mappings' paths are: called
 * directly, its frame on top of tg_send_stack's passes 6.1's 512 bytes of combined stack. */
static long cwd_step(__u32 i, void *unused)
{
	struct tg_stk_ctx *x = stk_ctx();

	if (x)
		tg_cwd_path(&x->s);
	return 1;
}

/* Word i of the signature against the stack read at sp (x->same cleared on a difference). */
static long sig_step(__u32 i, void *unused)
{
	struct tg_stk_ctx *x = stk_ctx();
	__u32 off;
	__u64 w;

	if (!x || i >= x->sig.n || i >= TG_STK_SIG_WORDS)
		return 1;
	barrier_var(i); /* the mask below stays: the verifier needs it */
	i &= TG_STK_SIG_WORDS - 1;
	off = x->sig.off[i];
	if ((off & 7) || off + 8 > x->sig.span) {
		x->same = 0;
		return 1;
	}
	__builtin_memcpy(&w, &x->s.stack[off & (TG_STK_COPY - 8)], 8);
	if (w != x->sig.val[i]) {
		x->same = 0;
		return 1;
	}
	return 0;
}

/* Whether the stack at sp is the one of signature g: the same thread image (and bp, unless
 * no frame's CFA depends on it), and the same words where its unwinding read them. */
static __always_inline bool way_matches(struct tg_stk_ctx *x, const struct tg_stk_sig *g)
{
	struct tg_stack *s = &x->s;
	__u64 span;

	if (!g->id || g->start_ns != s->start_ns || g->exec_id != s->exec_id ||
	    (g->bp != s->bp && !(g->flags & TG_STK_SIG_ANY_BP)))
		return false;
	if (bpf_probe_read_kernel(&x->sig, sizeof(x->sig), g) || !x->sig.n ||
	    x->sig.n > TG_STK_SIG_WORDS)
		return false;
	span = x->sig.span;
	barrier_var(span);
	span &= TG_STK_COPY * 2 - 1;
	if (!span || span > TG_STK_COPY || bpf_probe_read_user(s->stack, span, (void *)s->sp))
		return false;
	x->same = 1;
	bpf_loop(TG_STK_SIG_WORDS, sig_step, NULL, 0);
	return x->same;
}

/* Whether this stack is one user space resolved (tg_stk_sigs, under the thread, ip and sp):
 * its id into s->ref_id. */
static __always_inline bool stack_known(struct tg_stk_ctx *x)
{
	struct tg_stack *s = &x->s;
	struct tg_stk_sigs *g;

	x->key.ip = s->ip;
	x->key.sp = s->sp;
	x->key.tid = s->tid;
	x->key.pad = 0;
	g = bpf_map_lookup_elem(&tg_stk_sigs, &x->key);

	if (!g)
		return false;
#pragma unroll
	for (int i = 0; i < TG_STK_SIG_WAYS; i++)
		if (way_matches(x, &g->way[i])) {
			s->ref_id = x->sig.id;
			return true;
		}
	return false;
}

__noinline int tg_send_stack(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct tg_stk_ctx *x;
	struct tg_stack *s;
	struct pt_regs *regs;
	__u64 len; /* 64 bits: no 32-bit copy of it for 6.1's verifier to bound instead */
	long n;

	x = stk_ctx();
	if (!x) {
		stat_inc(TG_STAT_STACK_LOST);
		return 0;
	}
	s = &x->s;
	s->ts_ns = bpf_ktime_get_boot_ns();
	s->kind = TG_KIND_STACK;
	s->pid = pid_tgid >> 32;
	s->tid = (__u32)pid_tgid;
	s->start_ns = BPF_CORE_READ(task, start_time);
	s->exec_id = BPF_CORE_READ(task, self_exec_id);
	s->ref_id = 0;
	s->n_fp = 0;
	s->n_maps = 0;
	s->stack_len = 0;
	s->flags = 0;
	x->n_neg = 0;
	x->lookups = 0;
	s->cwd_len = 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	s->ip = BPF_CORE_READ(regs, ip);
	s->sp = BPF_CORE_READ(regs, sp);
	s->bp = BPF_CORE_READ(regs, bp);
	if (!s->ip || !s->sp || (task->flags & PF_IO_WORKER))
		s->flags |= TG_STK_F_NO_REGS;
	/* A stack user space resolved already goes as a reference, the size of an event. Else,
	 * call sites never cost a finding: once a quarter of the ring is unread (a burst the
	 * reader has not caught up with), the stack is not copied and the finding goes alone
	 * (counted; the finding's call_site is null). A stack record is ~13 KiB, an event ~1. */
	if (!s->flags && stack_known(x)) {
		s->flags |= TG_STK_F_REF;
		bpf_loop(1, cwd_step, NULL, 0);
		len = s->cwd_len;
		barrier_var(len);
		if (len > TG_EXE_LEN)
			len = 0;
		if (bpf_ringbuf_output(&tg_events, s, TG_STACK_CWD_OFF + len, BPF_RB_NO_WAKEUP))
			stat_inc(TG_STAT_STACK_LOST);
		else
			stat_inc(TG_STAT_STACK_REF);
		return 0;
	}
	if (bpf_ringbuf_query(&tg_events, BPF_RB_AVAIL_DATA) >
	    bpf_ringbuf_query(&tg_events, BPF_RB_RING_SIZE) / 4) {
		stat_inc(TG_STAT_STACK_LOST);
		return 0;
	}
	bpf_loop(1, cwd_step, NULL, 0);
	if (s->flags)
		goto send;
	n = bpf_get_task_stack(task, s->fp, sizeof(s->fp), BPF_F_USER_STACK);
	if (n > 0)
		s->n_fp = (__u32)n / 8;
	else
		s->flags |= TG_STK_F_FP_ERR;
	/* The copy ends where the stack's mapping does: look it up first (it also goes into the
	 * ranges that are not code). */
	look_up(x, s->ip);
	look_up(x, s->sp);
	len = TG_STK_COPY;
	for (__u32 i = 0; i < TG_STK_NEG; i++) {
		if (i >= x->n_neg)
			break;
		if (s->sp >= x->neg_start[i] && s->sp < x->neg_end[i] &&
		    x->neg_end[i] - s->sp < len)
			len = x->neg_end[i] - s->sp;
	}
	/* When the stack's mapping was not found (bpf_find_vma only try-locks the mm) and 8 KiB
	 * from sp run past its end, as in a process that just started: what is left of sp's
	 * page and the page above it, else of sp's page alone. */
	if (!copy_stack(s, len) && !copy_stack(s, 8192 - (s->sp & 4095)))
		copy_stack(s, 4096 - (s->sp & 4095));
	bpf_loop(TG_STK_FP_MAX, fp_step, NULL, 0);
	bpf_loop(TG_STK_COPY / 8, word_step, NULL, 0);
	bpf_loop(TG_STK_MAPS_MAX, path_step, NULL, 0);
send:
	len = s->stack_len;
	barrier_var(len);
	len &= TG_STK_COPY * 2 - 1;
	if (len > TG_STK_COPY)
		len = TG_STK_COPY;
	if (bpf_ringbuf_output(&tg_events, s, TG_STACK_HDR_LEN + len, BPF_RB_NO_WAKEUP))
		stat_inc(TG_STAT_STACK_LOST);
	return 0;
}

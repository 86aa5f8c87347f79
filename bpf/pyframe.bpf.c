// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CPython call sites: at a finding made by a registered interpreter (tg_py_interp), the
 * interpreter's current frames, read from its memory, sent as a tg_py_record (tmpguard.h) just
 * before the finding's record. Called from event_submit() only: an open that is not sent never
 * comes here.
 *
 * The walk (CPython 3.11 and 3.12, offsets from user space): _PyRuntime (its address in the
 * executable plus the load bias) -> interpreters.head -> threads.head -> next ... the thread
 * state whose native_thread_id is this thread's (open() releases the GIL, so the thread that
 * holds it says nothing) -> cframe -> current_frame -> previous ... For each frame: the code
 * object's file name, qualified name, first line, the prefix of its location table, and the
 * offset of the instruction being run; the line is decoded in user space.
 */
#include "common.bpf.h"

/* PyASCIIObject.state: kind (bits 2-4), ascii (bit 6), the same in 3.11 and 3.12. */
#define PY_STATE_KIND(s) (((s) >> 2) & 7)
#define PY_STATE_ASCII	 (1u << 6)

static __always_inline __u64 read_ptr(__u64 addr)
{
	__u64 v = 0;

	if (!addr || bpf_probe_read_user(&v, sizeof(v), (void *)addr))
		return 0;
	return v;
}

static __always_inline struct tg_py_walk *py_walk(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tg_py_walk, &zero);
}

/* One thread state (w->ts): this thread's? Else on to the next. */
static long thread_step(__u32 i, void *unused)
{
	struct tg_py_walk *w = py_walk();
	__u64 tid = 0;

	if (!w || !w->ts)
		return 1;
	if (bpf_probe_read_user(&tid, sizeof(tid), (void *)(w->ts + w->o.ts_native_tid)))
		return 1;
	if (tid == w->r.tid) {
		w->found = 1;
		return 1;
	}
	w->ts = read_ptr(w->ts + w->o.ts_next);
	return 0;
}

/*
 * The bytes of the compact PyUnicode at obj (every string of a code object is compact) into
 * dst, at most cap - 1 of them (cap a power of two: the mask is the verifier's bound). Returns
 * how many; *kind is the string's kind (1: ASCII or latin-1, 2, 4: UCS-2, UCS-4).
 */
static __always_inline __u32 read_str(struct tg_py_walk *w, __u64 obj, char *dst, __u32 cap,
				      __u8 *kind)
{
	__u32 state = 0;
	__s64 len = 0;
	__u64 data, n;

	*kind = 1;
	if (!obj || bpf_probe_read_user(&state, sizeof(state), (void *)(obj + w->o.str_state)) ||
	    bpf_probe_read_user(&len, sizeof(len), (void *)(obj + w->o.str_length)) || len <= 0)
		return 0;
	*kind = PY_STATE_KIND(state) & 7;
	data = obj + ((state & PY_STATE_ASCII) ? w->o.str_ascii_data : w->o.str_compact_data);
	n = (__u64)len * (*kind ? *kind : 1);
	if (n > cap - 1)
		n = cap - 1;
	if (bpf_probe_read_user(dst, n & (cap - 1), (void *)data))
		return 0;
	return n & (cap - 1);
}

/* One frame (w->ts) into frames[i], then on to the previous (calling) one. */
static long frame_step(__u32 i, void *unused)
{
	struct tg_py_walk *w = py_walk();
	struct tg_py_frame *f;
	__u64 fr, code, instr, lt;
	__s64 size = 0;
	__u8 kind_file = 1, kind_name = 1;
	__u32 n;

	if (!w || !w->ts)
		return 1;
	if (i >= TG_PY_FRAMES) {
		w->r.truncated = 1;
		return 1;
	}
	fr = w->ts;
	f = &w->r.frames[i & (TG_PY_FRAMES - 1)];
	code = read_ptr(fr + w->o.fr_code);
	f->code = code;
	f->owner = 0;
	bpf_probe_read_user(&f->owner, 1, (void *)(fr + w->o.fr_owner));
	instr = read_ptr(fr + w->o.fr_prev_instr);
	f->lasti = instr && code ? (__s32)(instr - (code + w->o.co_code)) : -2;
	f->firstlineno = 0;
	f->file_len = 0;
	f->name_len = 0;
	f->linetab_len = 0;
	f->linetab_full = 0;
	if (code) {
		bpf_probe_read_user(&f->firstlineno, sizeof(f->firstlineno),
				    (void *)(code + w->o.co_firstlineno));
		f->file_len = read_str(w, read_ptr(code + w->o.co_filename), f->file,
				       TG_PY_FILE_LEN, &kind_file);
		f->name_len = read_str(w, read_ptr(code + w->o.co_name), f->name, TG_PY_NAME_LEN,
				       &kind_name);
		lt = read_ptr(code + w->o.co_linetable);
		if (lt &&
		    !bpf_probe_read_user(&size, sizeof(size), (void *)(lt + w->o.bytes_size)) &&
		    size > 0) {
			f->linetab_full = size;
			n = size > TG_PY_LINETAB_LEN ? TG_PY_LINETAB_LEN : size;
			/* n in [1, TG_PY_LINETAB_LEN]: the mask keeps 512 at 512 for the verifier
			 * (2 * TG_PY_LINETAB_LEN - 1), and the field is that large. */
			if (!bpf_probe_read_user(f->linetable, n & (2 * TG_PY_LINETAB_LEN - 1),
						 (void *)(lt + w->o.bytes_data)))
				f->linetab_len = n;
		}
	}
	f->kinds = (kind_file & 7) | (kind_name & 7) << 4;
	w->r.n_frames = i + 1;
	w->ts = read_ptr(fr + w->o.fr_previous);
	return 0;
}

__noinline int tg_py_send(__u64 ts_ns, __u64 exe_ino, __u32 exe_dev)
{
	struct tg_py_key key = {.ino = exe_ino, .dev = exe_dev};
	struct task_struct *task;
	struct tg_py_offsets *o;
	struct tg_py_walk *w;
	__u64 pid_tgid, rt, interp, cframe, size;
	__u32 n;

	if (!exe_ino)
		return 0;
	o = bpf_map_lookup_elem(&tg_py_interp, &key);
	if (!o)
		return 0;
	w = py_walk();
	if (!w) {
		stat_inc(TG_STAT_PY_LOST);
		return 0;
	}
	w->o = *o;
	__builtin_memset(&w->r, 0, offsetof(struct tg_py_record, frames));
	pid_tgid = bpf_get_current_pid_tgid();
	w->r.ts_ns = ts_ns;
	w->r.exe_ino = exe_ino;
	w->r.exe_dev = exe_dev;
	w->r.pid = pid_tgid >> 32;
	w->r.tid = (__u32)pid_tgid;
	w->r.version = w->o.version;
	w->found = 0;
	task = bpf_get_current_task_btf();
	/* The load bias: start_code is the lowest executable segment's p_vaddr plus the bias
	 * (load_elf_binary()). */
	rt = w->o.runtime + BPF_CORE_READ(task, mm, start_code) - w->o.text_vaddr;
	interp = read_ptr(rt + w->o.rt_interp_head);
	w->ts = read_ptr(interp + w->o.is_threads_head);
	if (!w->ts) {
		w->r.status = TG_PY_FAULT;
	} else {
		bpf_loop(TG_PY_THREADS, thread_step, NULL, 0);
		if (!w->found) {
			w->r.status = TG_PY_NO_THREAD;
		} else {
			cframe = read_ptr(w->ts + w->o.ts_cframe);
			w->ts = read_ptr(cframe + w->o.cf_current);
			if (!w->ts)
				w->r.status = TG_PY_NO_FRAME;
			else
				bpf_loop(TG_PY_FRAMES + 1, frame_step, NULL, 0);
		}
	}
	n = w->r.n_frames;
	if (n > TG_PY_FRAMES)
		n = TG_PY_FRAMES;
	size = offsetof(struct tg_py_record, frames) + (__u64)n * sizeof(struct tg_py_frame);
	/* No wake-up: the reader drains this ring before it handles each tg_events record, and
	 * the event sent right after this one wakes it. */
	if (bpf_ringbuf_output(&tg_pyframes, &w->r, size, BPF_RB_NO_WAKEUP))
		stat_inc(TG_STAT_PY_LOST);
	return 0;
}

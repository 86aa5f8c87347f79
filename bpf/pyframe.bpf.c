// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Interpreter call sites: at a finding made by a registered interpreter (tg_interp), its state
 * read from its memory. Called from event_submit() only: an open that is not sent never comes
 * here.
 *
 * bash: its current line and where that line is (four ints: line_number, sourcelevel,
 * parse_and_execute_level, variable_context), into the record itself (shell_line,
 * shell_flags). For a program a bash script started (touch on line 3), the same four ints are
 * read at the program's execve, while the forked child is still a copy of bash (tg_exec_lines),
 * and go into the program's records with TG_SH_PARENT: the parent has moved on by the time
 * user space reads the record, or is gone.
 *
 * CPython: the interpreter's current frames, sent as a tg_py_record (tmpguard.h) just before
 * the finding's record.
 *
 * The walk (CPython 3.11 and 3.12, offsets from user space): _PyRuntime (its address in the
 * executable plus the load bias, or in libpython plus that library's, tg_py_offsets) ->
 * interpreters.head -> threads.head -> next ... the thread
 * state whose native_thread_id is this thread's (open() releases the GIL, so the thread that
 * holds it says nothing) -> cframe -> current_frame -> previous ... For each frame: the code
 * object's file name, qualified name, first line, the prefix of its location table, and the
 * offset of the instruction being run; the line is decoded in user space.
 */
#include "common.bpf.h"

/* PyASCIIObject.state: kind (bits 2-4), ascii (bit 6), the same in 3.11 and 3.12. */
#define PY_STATE_KIND(s) (((s) >> 2) & 7)
#define PY_STATE_ASCII	 (1u << 6)

/* The pointer at addr in user memory, 0 if unreadable; read through w->len (no stack). */
static __always_inline __u64 read_ptr(struct tg_py_walk *w, __u64 addr)
{
	w->len = 0;
	if (!addr || bpf_probe_read_user(&w->len, sizeof(w->len), (void *)addr))
		return 0;
	return w->len;
}

static __always_inline struct tg_py_walk *py_walk(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tg_py_walk, &zero);
}

/* glibc's struct link_map (link.h): l_addr, l_name, l_ld, l_next, the same on every 64-bit
 * glibc; r_debug's r_map is its second word. */
#define LM_ADDR	   0
#define LM_LD	   16
#define LM_NEXT	   24
#define RD_MAP	   8
#define TG_PY_LIBS 64 /* loaded objects looked at for libpython */

/* One loaded object (w->ts, a link_map): libpython? Then w->len is its load bias. */
static long lib_step(__u32 i, void *unused)
{
	struct tg_py_walk *w = py_walk();
	__u64 addr;

	if (!w || !w->ts)
		return 1;
	addr = read_ptr(w, w->ts + LM_ADDR);
	if (read_ptr(w, w->ts + LM_LD) - addr == w->o.lib_ld) {
		w->len = addr;
		w->found = 1;
		return 1;
	}
	w->ts = read_ptr(w, w->ts + LM_NEXT);
	return 0;
}

/* One thread state (w->ts): this thread's? Else on to the next. */
static long thread_step(__u32 i, void *unused)
{
	struct tg_py_walk *w = py_walk();

	if (!w || !w->ts)
		return 1;
	if (read_ptr(w, w->ts + w->o.ts_native_tid) == w->r.tid) {
		w->found = 1;
		return 1;
	}
	w->ts = read_ptr(w, w->ts + w->o.ts_next);
	return 0;
}

/*
 * The bytes of the compact PyUnicode at obj (every string of a code object is compact) into
 * dst, at most cap - 1 of them (cap a power of two: the mask is the verifier's bound). Returns
 * how many, and the string's kind (1: ASCII or latin-1, 2, 4: UCS-2, UCS-4) in bits 8-10.
 */
static __always_inline __u32 read_str(struct tg_py_walk *w, __u64 obj, char *dst, __u32 cap)
{
	__u64 kind, n;

	if (!obj ||
	    bpf_probe_read_user(&w->state, sizeof(w->state), (void *)(obj + w->o.str_state)))
		return 1 << 8;
	kind = PY_STATE_KIND(w->state);
	if (read_ptr(w, obj + w->o.str_length) == 0 || w->len <= 0)
		return 1 << 8;
	n = (__u64)w->len * (kind ? kind : 1);
	if (n > cap - 1)
		n = cap - 1;
	if (bpf_probe_read_user(
		    dst, n & (cap - 1),
		    (void *)(obj + ((w->state & PY_STATE_ASCII) ? w->o.str_ascii_data
								: w->o.str_compact_data))))
		n = 0;
	return (n & (cap - 1)) | (kind & 7) << 8;
}

/*
 * The frames are read in three passes, each a bpf_loop callback: the frame chain, then each
 * code object's names, then its location table. One pass doing all three kept so many values
 * live that clang spilled 80 bytes of them to the stack, past what 6.1's 512-byte limit on the
 * call chain leaves (tg_py_walk's comment).
 */

/* The frame at w->ts into frames[i] (its code object, owner, instruction, first line), then on
 * to the previous (calling) one. */
static long frame_step(__u32 i, void *unused)
{
	struct tg_py_walk *w = py_walk();
	struct tg_py_frame *f;
	__u64 code, instr;

	if (!w || !w->ts)
		return 1;
	if (i >= TG_PY_FRAMES) {
		w->r.truncated = 1;
		return 1;
	}
	/* clang knows i < TG_PY_FRAMES and would drop the mask the verifier needs */
	barrier_var(i);
	f = &w->r.frames[i & (TG_PY_FRAMES - 1)];
	code = read_ptr(w, w->ts + w->o.fr_code);
	f->code = code;
	f->owner = 0;
	bpf_probe_read_user(&f->owner, 1, (void *)(w->ts + w->o.fr_owner));
	instr = read_ptr(w, w->ts + w->o.fr_prev_instr);
	f->lasti = instr && code ? (__s32)(instr - (code + w->o.co_code)) : -2;
	f->firstlineno = 0;
	if (code)
		bpf_probe_read_user(&f->firstlineno, sizeof(f->firstlineno),
				    (void *)(code + w->o.co_firstlineno));
	w->r.n_frames = i + 1;
	w->ts = read_ptr(w, w->ts + w->o.fr_previous);
	return 0;
}

/* frames[i]'s file and qualified name. */
static long names_step(__u32 i, void *unused)
{
	struct tg_py_walk *w = py_walk();
	struct tg_py_frame *f;
	__u32 v;

	if (!w || i >= w->r.n_frames || i >= TG_PY_FRAMES)
		return 1;
	/* clang knows i < TG_PY_FRAMES and would drop the mask the verifier needs */
	barrier_var(i);
	f = &w->r.frames[i & (TG_PY_FRAMES - 1)];
	v = read_str(w, read_ptr(w, f->code + w->o.co_filename), f->file, TG_PY_FILE_LEN);
	f->file_len = v & (TG_PY_FILE_LEN - 1);
	f->kinds = (v >> 8) & 7;
	v = read_str(w, read_ptr(w, f->code + w->o.co_name), f->name, TG_PY_NAME_LEN);
	f->name_len = v & (TG_PY_NAME_LEN - 1);
	f->kinds |= ((v >> 8) & 7) << 4;
	return 0;
}

/* frames[i]'s location table, its first TG_PY_LINETAB_LEN bytes. */
static long linetab_step(__u32 i, void *unused)
{
	struct tg_py_walk *w = py_walk();
	struct tg_py_frame *f;
	__u64 lt;
	__u32 v;

	if (!w || i >= w->r.n_frames || i >= TG_PY_FRAMES)
		return 1;
	/* clang knows i < TG_PY_FRAMES and would drop the mask the verifier needs */
	barrier_var(i);
	f = &w->r.frames[i & (TG_PY_FRAMES - 1)];
	f->linetab_len = 0;
	f->linetab_full = 0;
	lt = read_ptr(w, f->code + w->o.co_linetable);
	/* w->len is the table's size once read */
	if (!lt || !read_ptr(w, lt + w->o.bytes_size) || w->len <= 0)
		return 0;
	f->linetab_full = w->len;
	v = w->len > TG_PY_LINETAB_LEN ? TG_PY_LINETAB_LEN : w->len;
	/* v in [1, TG_PY_LINETAB_LEN]: the mask keeps 512 at 512 for the verifier
	 * (2 * TG_PY_LINETAB_LEN - 1), and the field is that large. */
	if (!bpf_probe_read_user(f->linetable, v & (2 * TG_PY_LINETAB_LEN - 1),
				 (void *)(lt + w->o.bytes_data)))
		f->linetab_len = v;
	return 0;
}

/* The int at the address addr has in the file, in the current process (bias: the load bias);
 * -1 when unreadable. Read through w->len (no stack). */
static __always_inline __s32 read_int(struct tg_py_walk *w, __u64 bias, __u64 addr)
{
	w->len = 0;
	if (bpf_probe_read_user(&w->len, sizeof(__s32), (void *)(bias + addr)))
		return -1;
	return (__s32)w->len;
}

/* The current bash's line and where it is (TG_SH_*), into *line and *flags; nothing written
 * when it has no line. bias: its load bias. */
static __always_inline void bash_line(struct tg_py_walk *w, struct tg_bash_offsets *o, __u64 bias,
				      __u32 *line, __u32 *flags)
{
	__s32 n = read_int(w, bias, o->line_number);

	if (n <= 0)
		return;
	*line = n;
	*flags = TG_SH_LINE;
	if (read_int(w, bias, o->variable_context) > 0)
		*flags |= TG_SH_FUNCTION;
	if (read_int(w, bias, o->sourcelevel) > 0)
		*flags |= TG_SH_SOURCED;
	if (read_int(w, bias, o->parse_level) > 0)
		*flags |= TG_SH_STRING;
}

/*
 * At a record of a process that is no registered bash: the line its parent bash was at when
 * this process exec'd from the forked copy of it (tg_exec_line_save), if this image is that
 * exec's: the same process (tgid and start) and one exec further (begin_new_exec() adds one to
 * self_exec_id). A failed exec adds nothing; a second one (env touch) adds two.
 */
static __always_inline void exec_line(struct tg_py_walk *w, struct tg_event *e)
{
	struct task_struct *task;
	struct tg_exec_line *x;

	w->tgid = e->pid;
	x = bpf_map_lookup_elem(&tg_exec_lines, &w->tgid);
	if (!x || x->start_ns != e->start_ns)
		return;
	task = bpf_get_current_task_btf();
	if (task->self_exec_id != x->exec_id + 1)
		return;
	e->shell_line = x->line;
	e->shell_flags = x->flags | TG_SH_PARENT;
}

__noinline int tg_interp_send(struct tg_event *e)
{
	struct task_struct *task;
	struct tg_interp *ip;
	struct tg_py_walk *w;
	__u64 pid_tgid, rt, interp, cframe, size, start_code;
	__u32 n;

	if (!e || !e->exe_ino)
		return 0;
	w = py_walk();
	if (!w)
		return 0;
	/* the key in the map value, not on the stack (tg_py_walk's comment) */
	w->key.ino = e->exe_ino;
	w->key.dev = e->exe_dev;
	w->key.pad = 0;
	ip = bpf_map_lookup_elem(&tg_interp, &w->key);
	if (!ip || ip->lang != TG_INTERP_BASH)
		exec_line(w, e);
	if (!ip)
		return 0;
	task = bpf_get_current_task_btf();
	/* The load bias: start_code is the lowest executable segment's p_vaddr plus the bias
	 * (load_elf_binary()). */
	start_code = BPF_CORE_READ(task, mm, start_code);
	if (ip->lang == TG_INTERP_BASH) {
		bash_line(w, &ip->bash, start_code - ip->bash.text_vaddr, &e->shell_line,
			  &e->shell_flags);
		return 0;
	}
	if (ip->lang != TG_INTERP_CPYTHON)
		return 0;
	w->o = ip->py;
	__builtin_memset(&w->r, 0, offsetof(struct tg_py_record, frames));
	pid_tgid = bpf_get_current_pid_tgid();
	w->r.ts_ns = e->ts_ns;
	w->r.exe_ino = e->exe_ino;
	w->r.exe_dev = e->exe_dev;
	w->r.pid = pid_tgid >> 32;
	w->r.tid = (__u32)pid_tgid;
	w->r.version = w->o.version;
	w->found = 0;
	rt = w->o.runtime + start_code - w->o.text_vaddr;
	if (w->o.lib_ld) {
		/* &_r_debug from the executable's DT_DEBUG, then its r_map */
		w->ts = read_ptr(w, read_ptr(w, w->o.exe_debug + start_code - w->o.text_vaddr) +
					    RD_MAP);
		bpf_loop(TG_PY_LIBS, lib_step, NULL, 0);
		rt = w->found ? w->o.runtime + w->len : 0;
		w->found = 0;
	}
	interp = rt ? read_ptr(w, rt + w->o.rt_interp_head) : 0;
	w->ts = read_ptr(w, interp + w->o.is_threads_head);
	if (!rt) {
		w->r.status = TG_PY_NO_LIB;
	} else if (!w->ts) {
		w->r.status = TG_PY_FAULT;
	} else {
		bpf_loop(TG_PY_THREADS, thread_step, NULL, 0);
		if (!w->found) {
			w->r.status = TG_PY_NO_THREAD;
		} else {
			cframe = read_ptr(w, w->ts + w->o.ts_cframe);
			w->ts = read_ptr(w, cframe + w->o.cf_current);
			if (!w->ts)
				w->r.status = TG_PY_NO_FRAME;
			else
				bpf_loop(TG_PY_FRAMES + 1, frame_step, NULL, 0);
			bpf_loop(TG_PY_FRAMES, names_step, NULL, 0);
			bpf_loop(TG_PY_FRAMES, linetab_step, NULL, 0);
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

/*
 * At an execve's entry (both syscalls): when the current process is a registered bash that has
 * not exec'd since its fork (self_exec_id still its parent_exec_id: a copy of its parent's
 * image, so its line is the parent's script's, and the parent is its ppid), its line, kept by
 * tgid for the program it becomes. A bash that exec'd since (bash -c, bash script2) is reading
 * its own text: whatever it exec's gets no line here. No line: the entry goes, so that an
 * earlier, failed execve's cannot stand for this one.
 */
__noinline int tg_exec_line_save(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tg_exec_line *x;
	unsigned long n;
	struct tg_interp *ip;
	struct tg_py_walk *w;
	struct mm_struct *mm;
	struct inode *ino;
	__u32 tgid;

	if (task->self_exec_id != task->parent_exec_id)
		return 0;
	mm = task->mm;
	if (!mm || !mm->exe_file)
		return 0;
	w = py_walk();
	if (!w)
		return 0;
	ino = mm->exe_file->f_inode;
	w->key.ino = ino->i_ino;
	w->key.dev = ino->i_sb->s_dev;
	w->key.pad = 0;
	ip = bpf_map_lookup_elem(&tg_interp, &w->key);
	if (!ip || ip->lang != TG_INTERP_BASH)
		return 0;
	tgid = task->tgid;
	if (!task_tracked(tgid))
		return 0;
	x = &w->xl;
	x->line = x->flags = 0;
	bash_line(w, &ip->bash, mm->start_code - ip->bash.text_vaddr, &x->line, &x->flags);
	if (!(x->flags & TG_SH_LINE)) {
		bpf_map_delete_elem(&tg_exec_lines, &tgid);
		return 0;
	}
	x->exec_id = task->self_exec_id;
	x->start_ns = task->group_leader->start_boottime;
	x->exe_ino = w->key.ino;
	x->exe_dev = w->key.dev;
	/* the parent's vector: fork copied it, and the exec has not replaced it yet */
	n = mm->arg_end - mm->arg_start;
	x->args_trunc = n > TG_ARGS_LEN;
	if (n > TG_ARGS_LEN)
		n = TG_ARGS_LEN;
	x->args_len = 0;
	if (n && !bpf_probe_read_user(x->args, n & (TG_ARGS_LEN * 2 - 1), (void *)mm->arg_start))
		x->args_len = n;
	bpf_map_update_elem(&tg_exec_lines, &tgid, x, BPF_ANY);
	return 0;
}

/* Where the loader cannot take the syscall tracepoints (--hooks fentry, no syscall tracepoint):
 * the LSM check of the new credentials, in bprm_execve() before exec_binprm(), while current->mm
 * is still the old image's and self_exec_id not yet moved on. */
SEC("fentry/security_bprm_creds_for_exec")
int BPF_PROG(fentry__security_bprm_creds_for_exec, struct linux_binprm *bprm)
{
	return tg_exec_line_save();
}

SEC("tracepoint/syscalls/sys_enter_execve")
int tracepoint__syscalls__sys_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return tg_exec_line_save();
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int tracepoint__syscalls__sys_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return tg_exec_line_save();
}

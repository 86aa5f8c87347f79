// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * io_uring: IORING_OP_OPENAT and IORING_OP_OPENAT2 requests with O_CREAT. The open runs in an
 * io-wq worker (io_openat_force_async(): O_CREAT and O_TRUNC opens are always punted), with no
 * open(2) for the syscall tracepoints to see.
 *
 * Submission (the request prepared, its name copied into the kernel) stashes what the exit of
 * an open(2) reads from registers; completion finds the opened file and decides as open(2)'s
 * exit does (tg_report_open, open.bpf.c). Both hooks are tp_btf on io_uring's own tracepoints: they
 * run for io_uring requests only, never for a process that does not use io_uring. A request
 * submitted with IOSQE_CQE_SKIP_SUCCESS posts no completion when it succeeds, so nothing here sees
 * how it ended: it is counted (TG_STAT_URING_UNSEEN), and the BPF LSM programs still decide it.
 *
 * Cost for other requests: submission leaves after one plain load of the opcode, completion
 * after one load of tg_uring_pending (0 when no open is in flight). Measured with IORING_OP_NOP
 * batches on a 6.18 host: 0-10 ns per request over empty programs on the same two
 * tracepoints, within the noise; the two hooks themselves cost some 100 ns there.
 */
#include "common.bpf.h"

/* The SQE's IOSQE_* bits are the low bits of io_kiocb.flags: REQ_F_CQE_SKIP_BIT is
 * IOSQE_CQE_SKIP_SUCCESS_BIT (uapi, 5.17 04c76b41ca97 "io_uring: add option to skip CQE
 * posting"). */
#define REQ_F_CQE_SKIP (1u << 6)
/* uapi: io_open.file_slot asks for a free direct descriptor slot (5.19). */
#define IORING_FILE_INDEX_ALLOC (~0u)
/* io_fixed_file.file_ptr / io_rsrc_node.file_ptr keep flags in the low bits (FFS_NOWAIT,
 * FFS_ISREG, and FFS_SCM in 6.1): pointers are 8-byte aligned. */
#define FFS_MASK (~7ul)

/*
 * Direct descriptors (fixed files): before 6.13 the table is an array of io_fixed_file
 * (file_table.files), since then an array of io_rsrc_node pointers (file_table.data.nodes,
 * 6.13 3597f2786b68 "io_uring/rsrc: unify file and buffer resource tables"). Both are spelled
 * out so that this builds against either vmlinux.h.
 */
struct io_rsrc_node___nodes {
	unsigned long file_ptr;
} __attribute__((preserve_access_index));

struct io_rsrc_data___nodes {
	unsigned int nr;
	struct io_rsrc_node___nodes **nodes;
} __attribute__((preserve_access_index));

struct io_file_table___nodes {
	struct io_rsrc_data___nodes data;
} __attribute__((preserve_access_index));

struct io_ring_ctx___nodes {
	struct io_file_table___nodes file_table;
} __attribute__((preserve_access_index));

struct io_fixed_file___files {
	unsigned long file_ptr;
} __attribute__((preserve_access_index));

struct io_file_table___files {
	struct io_fixed_file___files *files;
} __attribute__((preserve_access_index));

struct io_ring_ctx___files {
	struct io_file_table___files file_table;
} __attribute__((preserve_access_index));

/* The request's io_open: the command area at the start of io_kiocb (io_kiocb_to_cmd()). */
static __always_inline struct io_open *req_open(void *req)
{
	return req + bpf_core_field_offset(struct io_kiocb, cmd);
}

/* The low 32 bits of io_kiocb.flags: an unsigned int in 6.1, io_req_flags_t (64 bits) by 6.12;
 * little endian. */
static __always_inline __u32 req_flags(void *req)
{
	__u32 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), req + bpf_core_field_offset(struct io_kiocb, flags));
	return v;
}

/* The file in direct descriptor slot idx of the request's ring. */
static __always_inline struct file *fixed_file(struct io_kiocb *req, __u32 idx)
{
	void *ctx = BPF_CORE_READ(req, ctx);
	unsigned long ptr = 0;

	if (bpf_core_field_exists(struct io_file_table___files, files)) {
		struct io_ring_ctx___files *old = ctx;
		struct io_fixed_file___files *files = BPF_CORE_READ(old, file_table.files);

		if (!files)
			return NULL;
		ptr = BPF_CORE_READ(files + idx, file_ptr);
	} else {
		struct io_ring_ctx___nodes *cur = ctx;
		struct io_rsrc_node___nodes *node,
			**nodes = BPF_CORE_READ(cur, file_table.data.nodes);

		if (!nodes || idx >= BPF_CORE_READ(cur, file_table.data.nr))
			return NULL;
		bpf_probe_read_kernel(&node, sizeof(node), nodes + idx);
		if (!node)
			return NULL;
		ptr = BPF_CORE_READ(node, file_ptr);
	}
	return (struct file *)(ptr & FFS_MASK);
}

static __always_inline int uring_submit(struct io_kiocb *req)
{
	struct task_struct *task;
	struct tg_uring_open *u;
	struct io_open *op;
	__u64 key = (__u64)req, pid_tgid, flags;
	__u32 zero = 0;
	__u8 opcode;

	opcode = req->opcode; /* a tp_btf argument: a plain load, no helper call */
	if (opcode != IORING_OP_OPENAT && opcode != IORING_OP_OPENAT2)
		return 0;
	op = req_open(req);
	flags = BPF_CORE_READ(op, how.flags);
	if (!(flags & O_CREAT))
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	if (!task_tracked(pid_tgid >> 32))
		return 0;
	if ((req_flags(req) & REQ_F_CQE_SKIP) && !enforcing()) {
		stat_inc(TG_STAT_URING_UNSEEN);
		return 0;
	}
	u = bpf_map_lookup_elem(&tg_uring_scratch, &zero);
	if (!u)
		return 0;
	__builtin_memset(&u->a, 0, sizeof(u->a));
	u->a.flags = flags;
	u->a.mode = BPF_CORE_READ(op, how.mode);
	u->a.dfd = BPF_CORE_READ(op, dfd);
	u->a.syscall = opcode == IORING_OP_OPENAT ? TG_SYS_OPENAT : TG_SYS_OPENAT2;
	u->a.decision_rule = TG_R_NONE;
	u->a.entry = TG_ENTRY_IO_URING;
	u->tid = (__u32)pid_tgid;
	u->pad = 0;
	/* Under SQPOLL the submitter is the ring's kernel thread (iou-sqp-N): name the process. */
	task = bpf_get_current_task_btf();
	if (task->flags & PF_IO_WORKER)
		BPF_CORE_READ_STR_INTO(&u->comm, task, group_leader, comm);
	else
		bpf_get_current_comm(u->comm, sizeof(u->comm));
	if (bpf_probe_read_kernel_str(u->path, sizeof(u->path), BPF_CORE_READ(op, filename, name)) <
	    0)
		u->path[0] = 0;
	/* A stale entry (a request whose success posted nothing) is replaced, not counted twice. */
	if (!bpf_map_update_elem(&tg_uring_open, &key, u, BPF_NOEXIST))
		__sync_fetch_and_add(&tg_uring_pending, 1);
	else if (bpf_map_update_elem(&tg_uring_open, &key, u, BPF_EXIST))
		stat_inc(TG_STAT_URING_UNSEEN); /* the map is full */
	return 0;
}

/* io_uring_submit_req (6.4+) and io_uring_submit_sqe (before, 2ad57931db64 "io_uring: rename
 * trace_io_uring_submit_sqe() tracepoint"): the loader keeps the one this kernel has. Both run
 * after the request was prepared (io_init_req()), before it is issued. */
SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(tp_btf__io_uring_submit_req, struct io_kiocb *req)
{
	return uring_submit(req);
}

SEC("tp_btf/io_uring_submit_sqe")
int BPF_PROG(tp_btf__io_uring_submit_sqe, struct io_kiocb *req)
{
	return uring_submit(req);
}

/*
 * Every completion of every ring passes here: with no open in flight, one load. The arguments
 * after req changed after 6.12 (6.1 and 6.12 pass user_data, res, cflags..., 6.18 a struct
 * io_uring_cqe *): the result is read from the request itself (req->cqe.res, set by
 * io_req_set_res()).
 */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(tp_btf__io_uring_complete, void *ring, void *reqp)
{
	struct io_kiocb *req = reqp;
	struct tg_uring_open *u;
	struct file *f = NULL;
	__u64 key = (__u64)reqp;
	__u32 slot;
	__u8 opcode;
	int res;

	if (!tg_uring_pending)
		return 0;
	opcode = BPF_CORE_READ(req, opcode);
	if (opcode != IORING_OP_OPENAT && opcode != IORING_OP_OPENAT2)
		return 0;
	u = bpf_map_lookup_elem(&tg_uring_open, &key);
	if (!u)
		return 0;
	res = BPF_CORE_READ(req, cqe.res);
	if (res >= 0) {
		slot = BPF_CORE_READ(req_open(req), file_slot);
		if (slot) {
			/* A direct descriptor: res is the slot allocated, or 0 for slot - 1. */
			f = fixed_file(req, slot == IORING_FILE_INDEX_ALLOC ? res : slot - 1);
			if (!f)
				stat_inc(TG_STAT_URING_UNSEEN);
		}
		if (!slot || f)
			tg_report_open(res, (__u64)f, &u->a, u);
	}
	if (!bpf_map_delete_elem(&tg_uring_open, &key))
		__sync_fetch_and_sub(&tg_uring_pending, 1);
	return 0;
}

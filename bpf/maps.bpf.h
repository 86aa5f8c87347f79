/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps and settings shared by every program. Each .bpf.c file includes this header; the
 * definitions are __weak so that `bpftool gen object` merges them into one map each.
 */
#ifndef TG_MAPS_BPF_H
#define TG_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tmpguard.h"

/* Load-time settings, written by the loader into .rodata before load. */
const volatile struct tg_config tg_cfg __weak = {};

/* The syscalls followed, [0] native and [1] ia32, by number (tmpguard.h); .rodata, filled by the
 * loader from the uapi headers. */
const volatile struct tg_sys_desc tg_syscalls[2][TG_NR_MAX] __weak = {};

/* Policy-driven settings in .data, rewritten by user space on reload (mmap-ed global data). */
struct tg_settings tg_set __weak = {
	.probe_window_ns = TG_PROBE_WINDOW_S * 1000000000ULL,
	.file_loose_mask = 0027,
	.dir_loose_mask = 0077,
};

/*
 * tg_open_args.followed_shared_link: the walk followed a symlink that sits in a shared
 * directory. Someone else's (neither the follower's nor the directory owner's: the line the
 * kernel's protected_symlinks draws) is a symlink-follow; the follower's own still makes the
 * create one of a name in that shared directory (nonexclusive-create), not an attack.
 */
#define TG_LINK_FOREIGN 1u
#define TG_LINK_OWN	2u

/* Arguments of an O_CREAT open, stashed at syscall entry. */
struct tg_open_args {
	__u64 flags;
	__u64 path; /* user pointer */
	__u32 mode;
	__s32 dfd;
	__u32 syscall;
	__u32 followed_shared_link; /* TG_LINK_*: a symlink in a shared directory was followed */
	__u32 decision_rule;	    /* LSM dry-run: the rule it would have denied, else TG_R_NONE */
	__u32 entry;		    /* enum tg_entry */
	__u32 path_read; /* 1: path_n and path_sum hold the path as it was at syscall entry */
	__s32 path_n;	 /* bpf_probe_read_user_str()'s result at entry */
	__u64 path_sum;	 /* path_checksum() of those bytes */
};

/*
 * Per thread (task storage); value: tg_open_args, an open pending while its flags have O_CREAT
 * (open_args_pending() in common.bpf.h). Writers: sys_enter_{open,openat,openat2,creat} and
 * fentry/do_sys_openat2 (O_CREAT only), the BPF LSM (32-bit opens); readers and takers (flags
 * cleared): the matching exit programs. Task storage (5.11; tracing programs from 5.12) rather
 * than a hash keyed by tid: a get is a look in the task's own storage, where the hash's update
 * and delete each took a bucket lock and a free-list trip, on every create. The slot is freed
 * with the task.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tg_open_args);
} tg_open_args SEC(".maps") __weak;

/*
 * An io_uring open with O_CREAT between submission and completion. The request's own copy of the
 * name (struct io_open's filename) is freed as soon as the open is done, before the completion
 * tracepoint runs: the name is copied here at submission.
 */
struct tg_uring_open {
	struct tg_open_args a; /* a.path unused: the name is in path below */
	__u32 tid;	       /* the submitting thread (the open itself runs in an io-wq worker) */
	__u32 pad;
	char comm[TG_COMM_LEN]; /* the submitting thread's comm (a worker's is "iou-wrk-N") */
	char path[TG_PATH_LEN];
};

/* key: struct io_kiocb address; value: tg_uring_open. Writer: tp_btf io_uring_submit_req (or
 * _sqe, before 6.4) for OPENAT/OPENAT2 with O_CREAT; readers: the io_uring BPF LSM paths (in the
 * io-wq worker); reader and deleter: tp_btf io_uring_complete. Submission overwrites a stale
 * entry at the same address. Allocated on use: 4 KiB values, most hosts never need one. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct tg_uring_open);
} tg_uring_open SEC(".maps") __weak;

/* Where a tg_uring_open is put together before it is stored (too large for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_uring_open);
} tg_uring_scratch SEC(".maps") __weak;

/* Entries in tg_uring_open (an upper bound): 0 lets io_uring_complete, which runs for every
 * completion of every ring, return after one load. */
__u64 tg_uring_pending __weak = 0;

/* One ENOENT probe of a path. */
struct tg_probe {
	__u64 ts_ns;
	__u32 pid;
	__u32 ppid;
	__u32 sid;
	__u32 syscall;
};

/* key: tg_path_hash() of the probed path; value: tg_probe. Writer: the stat/access exit
 * programs on ENOENT; reader: the open exit programs, for candidates only. LRU: old probes
 * fall out by themselves. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tg_probe);
} tg_probes SEC(".maps") __weak;

/* key: tgid; value: unused. Writer: the loader (tmpguard run, --pid) and the fork program (a
 * full map is counted: TG_STAT_TRACK_FULL); deleter: the exit program, once the whole thread
 * group is gone. Read by every program when tg_cfg.filter_tracked is set. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} tg_tracked SEC(".maps") __weak;

/* Candidate records for user space, variable-length (tmpguard.h). Size set by the loader
 * (--ringbuf-size); this default is user space's too. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} tg_events SEC(".maps") __weak;

/*
 * index 0: the record being built, per CPU. A tg_event (5 KiB with its path buffer) is too
 * large for the stack, and the ring buffer takes only the bytes used: the header and the path
 * (event_submit). Writers: every program that sends a record (event_start); reader:
 * event_submit. Like tg_scratch, one slot per CPU: a program that sends does not run nested in
 * another one that does on the same CPU (syscall exit tracepoints and LSM hooks of the syscall
 * being made, one after the other).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_event);
} tg_event_heap SEC(".maps") __weak;

/* index: enum tg_stat; value: per-CPU counter. Writers: all programs; reader: user space. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tg_stats SEC(".maps") __weak;

/* key: a policy's extra shared directory (shared_dirs); value: unused. Writer: user space on
 * (re)load, in the generation not in force; reader: inode_is_shared_dir(), of the generation in
 * force (tg_set.gen), when its n_shared_dirs is non-zero. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * TG_SHARED_DIRS_MAX); /* two generations */
	__type(key, struct tg_dir_key);
	__type(value, __u8);
} tg_shared_dirs SEC(".maps") __weak;

/* key: tg_kexc_key; value: the exception's index in the policy, plus TG_KEXC_MAX in generation 1
 * (its counter in tg_kexc_hits). Writer: user space on (re)load; reader: kexc_match() for
 * candidates, just before they would be sent. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * TG_KEXC_MAX); /* two generations */
	__type(key, struct tg_kexc_key);
	__type(value, __u32);
} tg_kexc SEC(".maps") __weak;

/* index: exception index; value: per-CPU count of events it dropped. Writer: kexc_match();
 * reader and zeroer: user space (summary, reload). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * TG_KEXC_MAX); /* two generations */
	__type(key, __u32);
	__type(value, __u64);
} tg_kexc_hits SEC(".maps") __weak;

/* key: tid; value: TG_R_* rule a dry-run LSM decision would have denied on mkdir. Writer:
 * lsm/inode_mkdir (dry-run only); reader and deleter: the mkdir exit programs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} tg_mkdir_decision SEC(".maps") __weak;

/* What tg_report_open() (open.bpf.c) learnt of one open, handed to the subprograms it calls.
 * Kernel pointers as __u64: read with BPF_CORE_READ. */
struct tg_open_ctx {
	__u64 file, dentry, parent, inode, dir_inode;
	__u64 hash; /* tg_path_shape()'s of the requested path: the probe key */
	long ret;
	long path_n; /* what reading the path into the scratch buffer returned */
	__u32 facts, file_mode, dir_mode, file_uid, fsuid, len, rule, has_hash, file_nlink;
};

/* Scratch space for one path and one name, per CPU: too large for the 512-byte stack; and the
 * open being decided. */
struct tg_scratch {
	char path[TG_PATH_LEN];
	char name[TG_NAME_LEN];
	char comp[TG_NAME_LEN];
	struct tg_open_ctx ctx;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_scratch);
} tg_scratch SEC(".maps") __weak;

/* The executable's path, built backwards from its last name (tg_exe_path in lib.bpf.c): twice
 * TG_EXE_LEN, so that a name of up to TG_EXE_LEN - 1 bytes at any offset below TG_EXE_LEN stays
 * inside. */
struct tg_exe_walk {
	char buf[2 * TG_EXE_LEN];
	__u64 dentry, mnt;	     /* where the walk is: a dentry, and its struct mount */
	__u64 root_dentry, root_mnt; /* where it ends: the process's root (chroot, container) */
	__u32 off;		     /* buf[off..TG_EXE_LEN) holds the path built so far */
	__u32 done; /* 1: reached the root of the mount namespace; 2: too long or deep */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_exe_walk);
} tg_exe_walk SEC(".maps") __weak;

/* key: tg_interp_key of an interpreter's executable (CPython, bash); value: its tg_interp (which
 * one, where things are in it). Writer: user space (host/pyinterp.c's scan, at start, for the
 * interpreters it finds); reader: tg_interp_send(), at findings only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TG_INTERP_MAX);
	__type(key, struct tg_interp_key);
	__type(value, struct tg_interp);
} tg_interp SEC(".maps") __weak;

/* key: tgid; value: tg_exec_line (tmpguard.h). Writer: tg_exec_line_save() at the execve of a
 * registered bash that has not exec'd since its fork (call sites only); readers:
 * tg_interp_send(), at a record of a process that is no registered bash, and user space, for
 * the parent's arguments when the parent is gone. LRU: a process that never sends a record
 * leaves its entry to fall out; nothing deletes it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct tg_exec_line);
} tg_exec_lines SEC(".maps") __weak;

/* CPython frame records (tg_py_record), each sent just before the tg_event it belongs to.
 * A ring of its own: tg_events' reader tells its records apart by size alone. User space
 * drains this ring before it handles each event (so a record is always there before its event
 * is). Size: about 130 records of 7.5 KiB. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} tg_pyframes SEC(".maps") __weak;

/* Where a tg_py_record is put together (7.5 KiB: too large for the stack), per CPU, with
 * whatever the walk reads through a pointer: on 6.1 the chain down to its loop callbacks (exit
 * program, tg_open_exit, tg_report_open, tg_send_open, tg_interp_send, frame_step) has no stack to
 * spare within the verifier's 512 bytes, and each frame counts 32 bytes at least. */
struct tg_py_walk {
	struct tg_py_record r;
	struct tg_py_offsets o;
	struct tg_interp_key key;
	__u64 ts;    /* the thread state being looked at, then the frame; first, with a
		      * libpython, the dynamic loader's link_map entry */
	__s64 len;   /* what is read on the way (a length, a size, a pointer) */
	__u32 state; /* a string's PyASCIIObject.state */
	__u32 found; /* the thread state with this tid was found */
	__u32 tgid;  /* tg_exec_lines' key */
	__u32 pad;
	struct tg_exec_line xl; /* tg_exec_line_save()'s value, built here (no stack) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_py_walk);
} tg_py_walk SEC(".maps") __weak;

#endif /* TG_MAPS_BPF_H */

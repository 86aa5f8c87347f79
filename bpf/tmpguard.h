/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one kernel/user ABI of tmpguard: the event record the BPF programs write to the ring
 * buffer, the fact bits they set, and the limits both sides agree on.
 *
 * Wire format: fixed-width fields only, 8-byte fields first, every field naturally aligned,
 * explicit padding. Records are variable-length (struct tg_event below says how). The loader
 * checks TG_ABI_VERSION (kept in .rodata of the BPF object); user/core/events.c checks the layout
 * at compile time and every record's size as it arrives.
 */
#ifndef TMPGUARD_H
#define TMPGUARD_H

#define TG_ABI_VERSION                                                                             \
	15 /* 6: variable-length records; 7: LINKS_WATCHED, TRACK_FULL; 8: start_ns, auid, ses;    \
	      9: TG_KIND_NODE (mknod, mknodat, bind); 10: exe as a path, exe_ino, exe_dev;         \
	      11: TG_KIND_STACK records (call sites), TG_STAT_STACK_LOST; tg_py_record on          \
	      tg_pyframes, TG_STAT_PY_LOST; 12: tg_stack.cwd; 13: shell_line, shell_flags;         \
	      tg_interp registry; 14: tg_stack reordered (cwd before fp), start_ns, exec_id,       \
	      ref_id, TG_STK_F_REF; tg_stk_sig, TG_STAT_STACK_REF; TG_SH_PARENT (a program's       \
	      parent bash line, read at its execve); 15: tg_py_offsets.lib_ld, exe_debug           \
	      (a CPython whose runtime is in a shared libpython), TG_PY_NO_LIB; tg_exec_line       \
	      shared, with the parent bash's exe and arguments */

#define TG_COMM_LEN	  16
#define TG_NAME_LEN	  256  /* NAME_MAX + NUL: the opened dentry's name */
#define TG_PATH_LEN	  4096 /* PATH_MAX: the path as requested */
#define TG_EXE_LEN	  256  /* the executable's path (mm->exe_file), or its basename */
#define TG_EXE_DEPTH	  40   /* directories and mounts walked up from the executable */
#define TG_ARGS_LEN	  256  /* start of the argument vector, NUL-separated */
#define TG_CGROUP_LEN	  128  /* leaf name of the task's cgroup v2 node */
#define TG_PROBE_WINDOW_S 10   /* default check-then-create window */

/* Which program produced the record. */
enum tg_kind {
	TG_KIND_OPEN = 1,  /* open, openat, openat2, creat */
	TG_KIND_MKDIR = 2, /* mkdir, mkdirat */
	TG_KIND_NODE = 3,  /* mknod, mknodat (FIFOs, devices, files), bind (AF_UNIX sockets) */
	TG_KIND_STACK = 4, /* not an event: the user stack of the event that follows (struct
			    * tg_stack) */
};

/*
 * How the operation entered the kernel. The per-syscall tracepoints see native x86_64 syscalls
 * only: 32-bit ones (int 0x80, sysenter, syscall from compat mode) and io_uring requests take
 * other hooks, and the record says which.
 */
enum tg_entry {
	TG_ENTRY_SYSCALL = 0, /* a native x86_64 syscall */
	TG_ENTRY_IA32,	      /* a 32-bit (ia32) syscall: syscall says which, by its name */
	TG_ENTRY_IO_URING, /* an io_uring request: IORING_OP_OPENAT is "openat", OPENAT2 "openat2"
			    */
	TG_ENTRY_MAX,
};

/* The syscall that was made (not the x86 syscall number). */
enum tg_syscall {
	TG_SYS_OPEN = 1,
	TG_SYS_OPENAT,
	TG_SYS_OPENAT2,
	TG_SYS_CREAT,
	TG_SYS_MKDIR,
	TG_SYS_MKDIRAT,
	TG_SYS_STAT,
	TG_SYS_LSTAT,
	TG_SYS_NEWFSTATAT,
	TG_SYS_STATX,
	TG_SYS_ACCESS,
	TG_SYS_FACCESSAT,
	TG_SYS_FACCESSAT2,
	TG_SYS_MKNOD,
	TG_SYS_MKNODAT,
	TG_SYS_BIND,
	TG_SYS_SOCKETCALL, /* ia32: socketcall(SYS_BIND, args), as glibc's i386 bind() makes it */
	TG_SYS_MAX,
};

/*
 * Facts: what the kernel saw. Rule names, severities and advice are user space's business.
 * "Directory" below means the directory that holds the opened (or created) entry.
 */
#define TG_F_CREATED	   (1u << 0) /* f_mode & FMODE_CREATED: this call created the file */
#define TG_F_DIR_SHARED	   (1u << 1) /* holding directory is sticky and world-writable */
#define TG_F_REQDIR_SHARED (1u << 2) /* the directory the caller named is shared */
#define TG_F_REQDIR_UNKNOWN                                                                        \
	(1u << 3)		       /* the kernel could not tie the named directory to an       \
					  inode; user space resolves it */
#define TG_F_NAME_MISMATCH   (1u << 4) /* opened name != last component requested */
#define TG_F_PARENT_MISMATCH (1u << 5) /* holding directory is not the one requested */
#define TG_F_PROBED	     (1u << 6) /* an ENOENT probe of this same path was recorded */
#define TG_F_PATH_TRUNC	     (1u << 7) /* the user string ran past TG_PATH_LEN */
#define TG_F_ARGS_TRUNC	     (1u << 8)
#define TG_F_EXE_TRUNC	     (1u << 9)
#define TG_F_PATH_FAULT	     (1u << 10) /* the path could not be read from user memory */
#define TG_F_IS_DIR	     (1u << 11) /* the entry is a directory (mkdir) */
/* The path string in user memory was not the same at syscall entry and exit: another thread
 * rewrote it while the call ran, so the name the kernel used is unknown and the string-based
 * facts above (mismatches, requested directory) prove nothing. The opened file's facts stand. */
#define TG_F_PATH_CHANGED (1u << 12)
/* The BPF LSM saw this very open follow a symlink that sits in a shared directory
 * (inode_follow_link): proof of a symlink-follow that does not rest on the path string. */
#define TG_F_LINK_FOLLOWED (1u << 13)
/* Every symlink this open followed was seen by a hook (fentry on security_inode_follow_link, or
 * the BPF LSM): TG_F_LINK_FOLLOWED's absence then means that no symlink in a shared directory
 * was followed, and the path string is not needed to tell. */
#define TG_F_LINKS_WATCHED (1u << 14)

/* Rule ids, in the order user space's enum tg_rule uses (checked there): the kernel names a
 * rule only when it enforces one. */
enum tg_rule_id {
	TG_R_NONEXCLUSIVE_CREATE = 0,
	TG_R_CHECK_THEN_CREATE,
	TG_R_LOOSE_MODE,
	TG_R_FOREIGN_FILE_REUSE,
	TG_R_SYMLINK_FOLLOW,
	TG_R_LOOSE_TEMPDIR,
	TG_R_INHERITABLE_FD,
	TG_R_MAX,
	TG_R_NONE = 0xff,
};

/* What an enforcement decision did (tg_event.action). */
enum tg_action_taken {
	TG_ACT_NONE = 0,   /* a finding, reported only */
	TG_ACT_DENIED,	   /* the BPF LSM refused the operation with EACCES */
	TG_ACT_KILLED,	   /* SIGKILL sent (LSM kill, or the exit-tracepoint fallback) */
	TG_ACT_WOULD_DENY, /* --dry-run: the LSM would have refused it */
	TG_ACT_MAX,
};

/* tg_settings.enforce */
enum tg_enforce_mode {
	TG_ENFORCE_OFF = 0,
	TG_ENFORCE_LSM,		  /* BPF LSM denies (and kills, for action kill) */
	TG_ENFORCE_DRY_RUN,	  /* BPF LSM decides, reports would-deny, refuses nothing */
	TG_ENFORCE_KILL_FALLBACK, /* no BPF LSM: SIGKILL from the exit tracepoint, after the fact */
};

/* Per-CPU counters (array map tg_stats), summed by user space. */
enum tg_stat {
	TG_STAT_CREATE_SEEN = 0, /* O_CREAT opens that returned a file */
	TG_STAT_PROBE_ENOENT,	 /* probes that failed with ENOENT and were recorded */
	TG_STAT_MKDIR_SEEN,	 /* successful mkdirs with a loose effective mode */
	TG_STAT_SENT,		 /* records committed to the ring buffer */
	TG_STAT_LOST,		 /* failed ring-buffer reserves: records lost */
	TG_STAT_EXCEPTED,	 /* candidates dropped by a kernel-decided exception */
	TG_STAT_DENIED,		 /* operations the LSM refused */
	TG_STAT_KILLED,		 /* processes sent SIGKILL */
	TG_STAT_WOULD_DENY,	 /* dry-run decisions */
	TG_STAT_URING_UNSEEN,	 /* io_uring creates whose completion cannot be followed */
	TG_STAT_SELF_CREATE,	 /* O_CREAT opens by tmpguard itself: its health canary */
	TG_STAT_STASH_FAILED,	 /* O_CREAT opens whose arguments could not be kept until exit */
	TG_STAT_TRACK_FULL,	 /* forks of tracked processes not tracked: tg_tracked was full */
	TG_STAT_STACK_LOST, /* call-site records (tg_stack) not sent: a full ring, no scratch */
	TG_STAT_PY_LOST,    /* CPython frame records (tg_py_record) not sent: ring full */
	TG_STAT_STACK_REF,  /* call-site records sent as a reference to a stack user space had
			     * resolved (tg_stk_sig): no copy, no mapping walk */
	TG_STAT_MAX,
};

/*
 * Load-time settings (.rodata: fixed once the programs are loaded). The verifier reads them as
 * constants: what a session's mode does not use (the kill fallback in an audit, the string
 * checks where a hook watches symlinks) is dead code it never walks.
 */
struct tg_config {
	__u32 filter_tracked;  /* only tasks in tg_tracked (tmpguard run, --pid) */
	__u32 wakeup_bytes;    /* wake the reader only once this much is unread (0: always) */
	__u32 self_tgid;       /* tmpguard's own pid: its canary creates are counted apart */
	__u32 path_seed;       /* random, per load: seeds the entry/exit path checksum */
	__u32 enforce;	       /* enum tg_enforce_mode */
	__u32 enforce_tracked; /* enforce only for tasks in tg_tracked (tmpguard run) */
	__u32 links_watched;   /* a hook sees every symlink followed (fentry, or the BPF LSM) */
	__u32 call_sites;      /* send each record's user stack first (struct tg_stack) */
};

/* Settings that follow the policy (.data: user space rewrites them on reload). */
struct tg_settings {
	__u64 probe_window_ns; /* check-then-create: how old a related probe may be */
	__u32 file_loose_mask; /* mode bits that make a created file "loose" (default 0027) */
	__u32 dir_loose_mask;  /* mode bits that make a created directory "loose" (0077) */
	__u32 report_cloexec;  /* send O_EXCL creates that lack O_CLOEXEC (inheritable-fd) */
	/* The policy's maps hold two generations (the gen of their keys): the one in force,
	 * and the one a reload fills before switching gen to it, so that a reload is all or
	 * nothing in the kernel too, with no moment of neither. Per generation: */
	__u32 gen;		/* 0 or 1: the generation in force */
	__u32 n_shared_dirs[2]; /* entries in tg_shared_dirs: skip the lookup when 0 */
	__u32 kexc_combos[2];	/* bit c set: tg_kexc has keys with field set c (TG_KEXC_*) */
	__u32 deny_rules;	/* bit r (enum tg_rule_id): action deny or kill */
	__u32 kill_rules;	/* bit r: action kill (a subset of deny_rules) */
};

/*
 * The syscalls tmpguard follows, by number, and where their arguments are: the BPF programs
 * that read a syscall's arguments from the saved registers (exit, fexit, BPF LSM, 32-bit
 * syscalls) look the number up here instead of carrying numbers of their own. The loader fills
 * tg_syscalls[0] (native) and [1] (ia32) from the uapi headers' __NR_ values.
 */
enum tg_sys_op {
	TG_OP_NONE = 0,
	TG_OP_OPEN,	  /* open, openat, openat2, creat */
	TG_OP_MKDIR,	  /* mkdir, mkdirat */
	TG_OP_PROBE,	  /* the stat and access families: ENOENT probes */
	TG_OP_MKNOD,	  /* mknod, mknodat */
	TG_OP_BIND,	  /* bind: path is the struct sockaddr (an AF_UNIX one names a file) */
	TG_OP_SOCKETCALL, /* ia32 socketcall: a bind when its call is SYS_BIND (decode_call) */
};

#define TG_ARG_NONE 0xff /* dfd: AT_FDCWD; flags: creat's O_CREAT|O_WRONLY|O_TRUNC */
#define TG_NR_MAX   512	 /* syscall numbers this table covers (x86_64 and ia32: below 470) */

struct tg_sys_desc {
	__u8 sys;   /* enum tg_syscall; 0: not one tmpguard follows */
	__u8 op;    /* enum tg_sys_op */
	__u8 dfd;   /* argument index (0-3) of the directory fd, or TG_ARG_NONE */
	__u8 path;  /* of the path */
	__u8 flags; /* of the open flags, or TG_ARG_NONE */
	__u8 mode;  /* of the mode, or TG_ARG_NONE */
	__u8 how;   /* of openat2's struct open_how (flags and mode), or TG_ARG_NONE */
	__u8 pad;
};

/* Kernel-decided exceptions: key fields present in a combination c (bits below); absent
 * fields hold the wildcard value. */
#define TG_KEXC_EXE	   1 /* exe_dev + exe_ino */
#define TG_KEXC_UID	   2
#define TG_KEXC_CGROUP	   4
#define TG_KEXC_ANY_UID	   ((__u32)-1)
#define TG_KEXC_ANY_RULE   ((__u32)-1)
#define TG_KEXC_MAX	   256	/* exceptions the kernel can hold */
#define TG_SHARED_DIRS_MAX 1024 /* a policy's shared_dirs the kernel can hold */

struct tg_kexc_key {
	__u64 exe_ino;	 /* 0: any */
	__u64 cgroup_id; /* 0: any */
	__u32 exe_dev;	 /* kernel dev_t encoding (MAJOR << 20 | MINOR); 0: any */
	__u32 uid;	 /* TG_KEXC_ANY_UID: any */
	__u32 rule; /* enum tg_rule_id; TG_KEXC_ANY_RULE: every rule (the only kind that drops audit
		       records: the others exempt from enforcement only) */
	__u32 gen;  /* the generation (tg_settings.gen) this key belongs to */
};

struct tg_dir_key {
	__u64 ino;
	__u32 dev; /* kernel dev_t encoding */
	__u32 gen; /* the generation (tg_settings.gen) this key belongs to */
};

/*
 * One record per candidate; all fields aligned, see the layout check in user/core/events.c.
 *
 * On the wire (ABI 6) a record is variable-length: the header (every field before path,
 * TG_EVENT_HDR_LEN bytes) followed by path_len bytes of path, the last of which is its NUL and
 * the only NUL among them. A record is exactly TG_EVENT_HDR_LEN + path_len bytes, 1 <= path_len
 * <= TG_PATH_LEN (an empty path is one NUL). The BPF side builds the whole struct in a per-CPU
 * map and sends that prefix (event_submit); user space decodes it into a whole struct.
 * Typical paths are 20-100 bytes: a record is about 1 KiB instead of 5.
 */
#define TG_AUID_UNSET 0xffffffffu /* (uid_t)-1: no login uid, or no audit session */

struct tg_event {
	__u64 ts_ns; /* bpf_ktime_get_boot_ns() at exit */
	__u64 cgroup_id;
	__u64 flags;	   /* open flags as requested (openat2: open_how.flags) */
	__u64 probe_ts_ns; /* when the matching ENOENT probe happened, 0 if none */
	__u64 dir_ino;	   /* inode of the holding directory */
	__u64 file_ino;	   /* inode of the opened file */
	__u64 dev;	   /* s_dev of the opened file */
	__u64 start_ns;	   /* the process's start (its group leader's start_boottime): with pid,
			    * which process this was, whatever reuses the pid after it (ABI 8) */
	__u64 exe_ino;	   /* the executable's inode and its s_dev (ABI 10) */
	__u32 kind;	   /* enum tg_kind */
	__u32 syscall;	   /* enum tg_syscall */
	__u32 facts;	   /* TG_F_* */
	__s32 ret;	   /* syscall return value */
	__s32 dfd;	   /* directory fd (AT_FDCWD for cwd) */
	__u32 mode;	   /* requested mode */
	__u32 umask;	   /* task->fs->umask */
	__u32 file_mode;   /* i_mode of the opened inode (type + permission bits) */
	__u32 file_uid;
	__u32 file_nlink;
	__u32 dir_mode;
	__u32 dir_uid;
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 ppid; /* real parent's tgid */
	__u32 sid;  /* session id (init pid namespace) */
	__u32 uid;
	__u32 euid;
	__u32 fsuid;
	__u32 mntns;	 /* mount namespace inode number */
	__u32 probe_pid; /* tgid that made the ENOENT probe */
	__u32 probe_ppid;
	__u32 probe_sid;
	__u32 probe_syscall; /* enum tg_syscall of the probe */
	__u32 args_len;	     /* bytes valid in args */
	__u32 action;	     /* enum tg_action_taken */
	__u32 rule;	     /* enum tg_rule_id the kernel enforced, TG_R_NONE if none */
	__u32 entry;	     /* enum tg_entry (ABI 4: was padding) */
	__u32 path_len;	     /* bytes of path sent, its NUL included (ABI 6) */
	__u32 auid;	     /* login uid (audit), TG_AUID_UNSET when none (ABI 8) */
	__u32 ses;	     /* audit session id, TG_AUID_UNSET when none (ABI 8) */
	__u32 exe_dev;
	__u32 shell_line;  /* bash's current line (its line_number) at the send, with
			    * TG_SH_LINE; 0 otherwise (ABI 13) */
	__u32 shell_flags; /* TG_SH_*: where that line is */
	char comm[TG_COMM_LEN];
	char pcomm[TG_COMM_LEN]; /* parent's comm */
	/* The executable's absolute path from the process's root, as the kernel's d_path would
	 * give it to the process; only its basename when TG_F_EXE_TRUNC (a path longer than
	 * TG_EXE_LEN or deeper than TG_EXE_DEPTH) */
	char exe[TG_EXE_LEN];
	char cgroup[TG_CGROUP_LEN];
	char args[TG_ARGS_LEN];
	char name[TG_NAME_LEN]; /* the opened dentry's name */
	char path[TG_PATH_LEN]; /* the path as requested: path_len bytes on the wire */
};

/*
 * tg_event.shell_flags (ABI 13): with call sites on, at a record sent by a bash that user space
 * registered (tg_interp), the kernel reads bash's globals from its memory; user space explains
 * (core/callsite_shell.c). line_number is what $LINENO shows: the line of the command being run
 * in the file (or text) that bash is reading.
 */
#define TG_SH_LINE (1u << 0) /* shell_line is line_number (read, and > 0) */
#define TG_SH_FUNCTION                                                                             \
	(1u << 1) /* variable_context > 0: in a shell function (its line is in                     \
		   * the file that defined it) */
#define TG_SH_SOURCED                                                                              \
	(1u << 2) /* sourcelevel > 0: in a file run with `.` or source (its                        \
		   * line is that file's) */
#define TG_SH_STRING                                                                               \
	(1u << 3) /* parse_and_execute_level > 0: in text bash parses from a                       \
		   * string: the -c text, eval, a command substitution, a sourced                  \
		   * file */
/*
 * TG_SH_PARENT (ABI 14): the record's process is no registered bash, and the line is the one of
 * the bash it was forked from, read at its execve while it was still a copy of that bash (the
 * other bits as that bash's). Only for the image exec'd directly from the forked bash: a second
 * exec, or a bash that had exec'd since its fork (its line is its own script's), gives none.
 */
#define TG_SH_PARENT (1u << 4)

/* The fixed part of a record: what precedes path. */
#define TG_EVENT_HDR_LEN __builtin_offsetof(struct tg_event, path)

/*
 * Call sites (ABI 11): with tg_config.call_sites, every record sent (a finding, never an open
 * that is not one) is preceded in the ring by a TG_KIND_STACK record of the same thread: what
 * user space needs to unwind and symbolize the user stack after the process is gone. Its kind
 * is at the same offset as tg_event's, which tells the two apart; the consumer keeps it by tid
 * until that thread's event arrives (a thread sends its two records back to back, from one
 * program run).
 *
 * On the wire: the header (every field before stack, TG_STACK_HDR_LEN bytes) and stack_len
 * bytes of the stack copy. A reference (TG_STK_F_REF, ABI 14) is the header up to cwd and
 * cwd_len bytes of it (TG_STACK_CWD_OFF + cwd_len, at most TG_STACK_REF_LEN): the stack is one
 * user space resolved before (tg_stk_sig), its call site the one kept under ref_id.
 */
#define TG_STK_FP_MAX	   32	     /* return addresses of the frame-pointer walk */
#define TG_STK_MAPS_MAX	   16	     /* executable file mappings the addresses fall in */
#define TG_STK_COPY	   8192	     /* bytes of the user stack copied from sp */
#define TG_STK_F_FP_ERR	   (1u << 0) /* the frame-pointer walk failed */
#define TG_STK_F_NO_REGS   (1u << 1) /* no user registers (a kernel thread, an io-wq worker) */
#define TG_STK_F_MAPS_FULL (1u << 2) /* more mappings than TG_STK_MAPS_MAX or lookups */
#define TG_STK_F_REF                                                                               \
	(1u << 3) /* a reference: ref_id names the stack, nothing follows                          \
		   * cwd (ABI 14) */

struct tg_stk_map {
	__u64 start, end, pgoff; /* vm_start, vm_end, vm_pgoff in bytes */
	__u64 ino;
	__u32 dev;	       /* kernel dev_t encoding */
	__u32 path_len;	       /* 0: the path could not be walked */
	char path[TG_EXE_LEN]; /* as tg_event.exe: from the process's root */
};

struct tg_stack {
	__u64 ts_ns;	  /* as the event's */
	__u64 ip, sp, bp; /* the user registers at the syscall */
	__u64 start_ns;	  /* the thread's start (task->start_time, ns since boot, CLOCK_MONOTONIC)
			   * (ABI 14) */
	__u64 exec_id;	  /* task->self_exec_id: which of the thread's images */
	__u64 ref_id;	  /* TG_STK_F_REF: the tg_stk_sig.id this stack matched */
	__u64 pad[2];
	__u32 kind; /* TG_KIND_STACK: at tg_event.kind's offset */
	__u32 tid;
	__u32 pid;
	__u32 n_fp; /* addresses in fp */
	__u32 n_maps;
	__u32 stack_len;      /* bytes of stack valid (and sent) */
	__u32 flags;	      /* TG_STK_F_* */
	__u32 cwd_len;	      /* 0: not walked (ABI 12) */
	char cwd[TG_EXE_LEN]; /* the current directory, as the maps' paths */
	__u64 fp[TG_STK_FP_MAX];
	struct tg_stk_map maps[TG_STK_MAPS_MAX];
	__u8 stack[TG_STK_COPY];
};

#define TG_STACK_REF_LEN __builtin_offsetof(struct tg_stack, fp)
#define TG_STACK_CWD_OFF __builtin_offsetof(struct tg_stack, cwd)

/*
 * A stack user space resolved (ABI 14), so that the kernel can send a reference instead of the
 * next copy of it: every word of the stack copy the unwinder read (an unwinding is a function of
 * the registers, those words and the mapped files), in tg_stk_sigs under the thread and the
 * registers. At a record sent by the same thread image (start_ns, exec_id) with the same ip, sp
 * and bp, whose stack holds the same words at the same offsets from sp, the unwinding would be
 * the same: the kernel sends a TG_STK_F_REF stack record naming id. Written by user space only
 * (the map is read-only to the programs), after each stack it resolved and could vouch for; the
 * call site stays in user space under id.
 */
#define TG_STK_SIG_WORDS 64 /* words an unwinding may read to be kept */
#define TG_STK_SIG_WAYS                                                                            \
	4		 /* stacks kept per thread and registers (two callers of one               \
			  * function whose frames are alike: the same ip and sp) */
#define TG_STK_SIGS 1024 /* entries in tg_stk_sigs (least recently used go first) */

struct tg_stk_sig_key {
	__u64 ip, sp;
	__u32 tid;
	__u32 pad;
};

struct tg_stk_sig {
	__u64 id; /* user space's number for the call site it resolved; 0: an empty way */
	__u64 start_ns, exec_id, bp;
	__u32 n;     /* words in off and val */
	__u32 span;  /* bytes from sp that hold them: the largest off + 8 */
	__u32 flags; /* TG_STK_SIG_ANY_BP */
	__u32 pad;
	__u16 off[TG_STK_SIG_WORDS]; /* from sp, in bytes */
	__u64 val[TG_STK_SIG_WORDS];
};

#define TG_STK_SIG_ANY_BP (1u << 0) /* no frame's CFA is rbp's: bp need not match */

/* tg_stk_sigs's value: up to TG_STK_SIG_WAYS stacks of one thread at one ip and sp. */
struct tg_stk_sigs {
	struct tg_stk_sig way[TG_STK_SIG_WAYS];
};

#define TG_STACK_HDR_LEN __builtin_offsetof(struct tg_stack, stack)

/*
 * Interpreters whose state the kernel reads at a finding (call sites): user space registers
 * each executable (tg_interp, keyed by tg_interp_key) with where things are in it, and the
 * kernel, at a record sent by a process running one, finds them in its memory: the address in
 * the file plus the load bias, mm->start_code - text_vaddr (load_elf_binary() puts start_code
 * at the lowest executable segment's p_vaddr plus the bias; 0 bias for a non-PIE executable).
 *
 * CPython (user/core/callsite_python.c): the kernel walks the interpreter's current frames and
 * sends a tg_py_record to tg_pyframes just before the tg_event it belongs to (same ts_ns, pid,
 * tid). Lines are decoded in user space from the copied location tables, so the record stands
 * after the process is gone.
 * bash (user/core/callsite_shell.c): four ints, into the tg_event itself (shell_line,
 * shell_flags); for a program a bash started, the same four read at its execve from the forked
 * bash (TG_SH_PARENT).
 */
#define TG_PY_FRAMES	  8   /* innermost frames kept */
#define TG_PY_THREADS	  64  /* thread states walked to find the current thread's */
#define TG_PY_FILE_LEN	  256 /* co_filename bytes (power of two: the verifier's mask) */
#define TG_PY_NAME_LEN	  128 /* co_qualname (co_name before 3.11) bytes */
#define TG_PY_LINETAB_LEN 512 /* co_linetable bytes: the line of an offset needs its prefix */
#define TG_INTERP_MAX	  64  /* interpreter executables registered */

/* An interpreter's executable: its inode and kernel dev_t (like tg_kexc_key). */
struct tg_interp_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

/* Where things are in one CPython interpreter binary: addresses from its ELF file, struct
 * offsets from the table of its version (callsite_python.c). All fields aligned.
 *
 * A CPython built with --enable-shared (pyenv's, the python Docker images') has its runtime in
 * libpythonX.Y.so, loaded anywhere: the kernel finds the library's load bias in the dynamic
 * loader's list of loaded objects, from the executable's DT_DEBUG entry (&_r_debug, which
 * ld.so sets) -> r_map -> l_next ..., the entry whose l_ld - l_addr is the library's PT_DYNAMIC
 * p_vaddr (lib_ld). */
struct tg_py_offsets {
	__u64 runtime;		/* _PyRuntime's address in its file (st_value): the executable's,
				 * or libpython's when lib_ld */
	__u64 text_vaddr;	/* lowest p_vaddr of an executable PT_LOAD (above) */
	__u64 lib_ld;		/* libpython's PT_DYNAMIC p_vaddr; 0: the runtime is in the
				 * executable */
	__u64 exe_debug;	/* with lib_ld: the address in the executable's file of its
				 * DT_DEBUG entry's value (&_r_debug at run time) */
	__u32 version;		/* PY_VERSION_HEX, as Py_Version says */
	__u16 rt_interp_head;	/* _PyRuntimeState.interpreters.head */
	__u16 is_threads_head;	/* PyInterpreterState.threads.head */
	__u16 ts_next;		/* PyThreadState.next */
	__u16 ts_native_tid;	/* PyThreadState.native_thread_id */
	__u16 ts_cframe;	/* PyThreadState.cframe */
	__u16 cf_current;	/* _PyCFrame.current_frame */
	__u16 fr_code;		/* _PyInterpreterFrame.f_code */
	__u16 fr_previous;	/* .previous */
	__u16 fr_prev_instr;	/* .prev_instr */
	__u16 fr_owner;		/* .owner (a char) */
	__u16 co_filename;	/* PyCodeObject.co_filename */
	__u16 co_name;		/* .co_qualname */
	__u16 co_linetable;	/* .co_linetable */
	__u16 co_firstlineno;	/* .co_firstlineno */
	__u16 co_code;		/* .co_code_adaptive: _PyCode_CODE() */
	__u16 str_length;	/* PyASCIIObject.length */
	__u16 str_state;	/* .state (interned:2, kind:3, compact:1, ascii:1) */
	__u16 str_ascii_data;	/* sizeof(PyASCIIObject): a compact ASCII string's bytes */
	__u16 str_compact_data; /* sizeof(PyCompactUnicodeObject): other compact strings' */
	__u16 bytes_size;	/* PyVarObject.ob_size of a PyBytesObject */
	__u16 bytes_data;	/* PyBytesObject.ob_sval */
	__u16 pad;
};

/* Where bash's globals are in one bash binary: the st_value of each in its dynamic symbols
 * (Debian's bash exports them), all ints. */
struct tg_bash_offsets {
	__u64 text_vaddr;	/* lowest p_vaddr of an executable PT_LOAD (above) */
	__u64 line_number;	/* the line being run: what $LINENO shows */
	__u64 sourcelevel;	/* files being sourced (`.`, source) */
	__u64 parse_level;	/* parse_and_execute_level: strings being parsed and run */
	__u64 variable_context; /* shell functions being run */
};

/* What a bash child's memory said at its execve (bpf/pyframe.bpf.c): the parent script's line,
 * for the program it becomes (tg_interp_send, TG_SH_PARENT). A forked child is still a copy of
 * bash's image until its exec succeeds: its line_number is the line of the command that
 * started the program, and its argument vector the parent's (the script, or -c and its text),
 * which user space takes from here when the parent has exited before its record is read
 * (tg_exec_lines, by tgid). */
struct tg_exec_line {
	__u64 exec_id;	/* task->self_exec_id at the execve's entry: the new image has this + 1 */
	__u64 start_ns; /* the process's start (tg_event.start_ns): a reused tgid is another */
	__u64 exe_ino;	/* the bash's executable, as tg_interp_key */
	__u32 exe_dev;
	__u32 line;	  /* as tg_event.shell_line */
	__u32 flags;	  /* TG_SH_* as tg_event.shell_flags, without TG_SH_PARENT */
	__u32 args_len;	  /* bytes of args */
	__u32 args_trunc; /* the vector was longer than TG_ARGS_LEN */
	__u32 pad;
	char args[TG_ARGS_LEN]; /* the start of the bash's argument vector, NUL-separated */
};

enum tg_interp_lang {
	TG_INTERP_CPYTHON = 1,
	TG_INTERP_BASH = 2,
};

/* tg_interp's value: which interpreter, and where things are in it. */
struct tg_interp {
	__u32 lang; /* enum tg_interp_lang */
	__u32 pad;
	union {
		struct tg_py_offsets py;
		struct tg_bash_offsets bash;
	};
};

/* tg_py_record.status */
enum tg_py_status {
	TG_PY_OK = 0,
	TG_PY_NO_THREAD, /* no thread state with this tid (or the walk was cut) */
	TG_PY_FAULT,	 /* a pointer on the way to the frames could not be read */
	TG_PY_NO_FRAME,	 /* the thread has no Python frame (running no Python code) */
	TG_PY_NO_LIB,	 /* the registered libpython is not among the loaded objects (another
			  * one was loaded, LD_LIBRARY_PATH) */
};

/* tg_py_frame.kinds: the PyUnicode kind (1 latin-1, 2 UCS-2, 4 UCS-4) of file (bits 0-2) and
 * of name (bits 4-6); ASCII is kind 1. */
struct tg_py_frame {
	__u64 code;	    /* the code object's address: its identity while the process lives */
	__s32 lasti;	    /* byte offset of the instruction in the code (prev_instr); -2 when
			     * unreadable */
	__s32 firstlineno;  /* co_firstlineno */
	__u32 file_len;	    /* bytes valid in file (no NUL) */
	__u32 name_len;	    /* in name */
	__u32 linetab_len;  /* in linetable */
	__u32 linetab_full; /* co_linetable's size: linetab_len < linetab_full when cut */
	__u8 owner;	    /* _PyInterpreterFrame.owner (3.12: 3 is a C-stack shim) */
	__u8 kinds;
	__u8 pad[6];
	char file[TG_PY_FILE_LEN];
	char name[TG_PY_NAME_LEN];
	__u8 linetable[TG_PY_LINETAB_LEN];
};

struct tg_py_record {
	__u64 ts_ns;   /* the tg_event's: which record these frames belong to */
	__u64 exe_ino; /* the interpreter (tg_interp_key) */
	__u32 exe_dev;
	__u32 pid;
	__u32 tid;
	__u32 version;	 /* PY_VERSION_HEX of the interpreter */
	__u32 status;	 /* enum tg_py_status */
	__u32 n_frames;	 /* valid in frames, innermost first */
	__u32 truncated; /* more frames followed */
	__u32 pad;
	struct tg_py_frame frames[TG_PY_FRAMES];
};

#endif /* TMPGUARD_H */

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the files of tmpguard doctor share: the report (struct doctor) and its lines, the helpers
 * every check writes its line and reads the host's small files and mounts with (doctor.c), and
 * the checks run_checks calls (doctor_bpf.c, doctor_host.c).
 */
#ifndef TG_DOCTOR_INT_H
#define TG_DOCTOR_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/bpf.h>
#include "loader.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct btf;

#define DOCTOR_MAX_CHECKS 64

enum doc_status {
	DOC_OK,
	DOC_WARN,
	DOC_MISSING,
	DOC_INFO,
};

struct doc_check {
	enum doc_status status;
	const char *name;
	char value[160];
	char verdict[400];
};

/* doctor -v: a program of tmpguard's as audit loads it here, and the verifier's work on it. */
struct doc_prog {
	char name[64];
	char sec[96];
	uint32_t verified_insns;
};

#define DOCTOR_MAX_PROGS 48

struct doctor {
	struct doc_prog progs[DOCTOR_MAX_PROGS];
	int n_progs;
	char progs_err[512]; /* why they did not load, if they did not */
	struct doc_check checks[DOCTOR_MAX_CHECKS];
	struct doc_check overflow; /* written to if checks[] is ever too small */
	int n;
	char blockers[600];  /* why tmpguard cannot audit, "; "-separated; empty if it can */
	struct btf *vmlinux; /* NULL when the kernel's BTF could not be loaded */
	bool caps_known;
	uint64_t cap_eff;
	bool bpf_ok;	/* may load BPF programs and open perf events (CAP_BPF + CAP_PERFMON) */
	bool sys_admin; /* may mount tracefs */
	const char *fentry_fn; /* where the fentry probe attached */
	int fentry_err;	       /* errno of the fentry load, 0 if it loaded, -1 if not tried */
	int fork_err; /* errno of the tp_btf/sched_process_fork load, 0 if it loaded, -1: not tried
		       */
	const char *iou_tp; /* io_uring's submission tracepoint: _submit_req, _submit_sqe (< 6.4) */
	int iou_id;	    /* its btf_trace_ typedef, < 0 if the kernel has none */
	int iou_err;	    /* errno of the tp_btf load on it, as fork_err */
	int iouc_err;	    /* the same for tp_btf/io_uring_complete */
	int ia32_id;	    /* __ia32_compat_sys_openat in BTF (< 0: no 32-bit syscalls) */
	enum tg_ia32 ia32;  /* tg_ia32_probe: can a 32-bit syscall be made here? */
	char ia32_why[256];
	int sys_exit_err;     /* errno of the tp_btf/sys_exit load (32-bit syscalls), as fork_err */
	bool hooks_fentry;    /* --hooks auto takes the fexit programs here */
	bool confidentiality; /* lockdown reads [confidentiality] */
};

/* doctor.c: a check's line, and why tmpguard cannot audit here */
struct doc_check *check_add(struct doctor *d, enum doc_status status, const char *name);
__attribute__((format(printf, 2, 3))) void check_value(struct doc_check *c, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void check_verdict(struct doc_check *c, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void block(struct doctor *d, const char *fmt, ...);
const char *errno_name(int err);
bool refused_for_privilege(const struct doctor *d, struct doc_check *c);
bool pretend_missing(const char *name);

/* doctor.c: the small readers the checks share */
int read_small(const char *path, char *buf, size_t len);
int read_sysctl(const char *path, long *val);

struct mount_hit {
	char mnt_point[PATH_MAX];
	char fstype[64];
	char mnt_opts[256];
};

int find_mount(const char *path, struct mount_hit *hit);
bool list_has(const char *list, const char *word);

/*
 * The checks, each adding its lines to d. run_checks calls read_caps first (the verdicts depend
 * on the privileges), probe_tracing before the lines that report what it tried (check_prog_type's
 * tracing line, check_fentry, check_io_uring, check_ia32), and check_hooks before check_ia32,
 * which reads hooks_fentry.
 */

/* doctor_bpf.c: what the kernel's BPF can do */
void check_kernel(struct doctor *d);
void check_btf(struct doctor *d);
void check_ringbuf(struct doctor *d);
void check_maps(struct doctor *d);
void check_helpers(struct doctor *d);
void probe_tracing(struct doctor *d);
void check_prog_type(struct doctor *d, const char *name, enum bpf_prog_type type);
void check_lsm(struct doctor *d);
void check_fentry(struct doctor *d);
void check_hooks(struct doctor *d);
void load_programs(struct doctor *d);

/* doctor_host.c: the host's settings */
void read_caps(struct doctor *d);
void check_tracefs(struct doctor *d);
void check_lockdown(struct doctor *d);
void check_io_uring(struct doctor *d);
void check_ia32(struct doctor *d);
void check_protected(struct doctor *d, const char *name, const char *path, const char *one,
		     const char *two);
void check_tmpdir(struct doctor *d, const char *dir);
void check_privileges(struct doctor *d);

#endif

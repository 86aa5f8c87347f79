/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Loading the BPF programs: privileges, tracefs, settings, attach, ring buffer, counters. */
#ifndef TG_LOADER_H
#define TG_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "tmpguard.h"

/* Which hooks audit (--hooks): fentry/fexit programs on kernel functions, or syscall
 * tracepoints; auto takes fentry where this kernel loads it. */
enum tg_hooks {
	TG_HOOKS_AUTO,
	TG_HOOKS_TRACEPOINT,
	TG_HOOKS_FENTRY,
};

struct tg_loader_opts {
	bool verbose;	     /* libbpf debug output */
	bool filter_tracked; /* only tracked process trees (run, --pid) */
	bool report_cloexec; /* initial settings (tg_bpf_set_settings changes them later) */
	uint32_t file_loose_mask;
	uint32_t dir_loose_mask;
	size_t ringbuf_bytes; /* power of two, >= page size */
	bool lsm;	      /* load the BPF LSM programs (enforcement, dry-run) */
	enum tg_hooks hooks;
	/* Fixed for the session, so load-time constants: what a mode does not use is never
	 * verified. enum tg_enforce_mode (LSM and dry-run need lsm); enforcement only for the
	 * tracked process tree (run). */
	uint32_t enforce;
	bool enforce_tracked;
	uint64_t probe_window_ns; /* initial setting (tg_bpf_set_settings changes it later) */
	bool call_sites;	  /* send each record's user stack (TG_KIND_STACK) before it */
};

struct tg_bpf;

/* The verifier's work each program may take (bpf_prog_info.verified_insns): a tenth of its
 * 1M-instruction limit. doctor -v prints it; the live tests enforce it. */
#define TG_VERIFIED_INSNS_BUDGET 100000

/* "auto", "tracepoint" or "fentry": enum tg_hooks, or -1. */
int tg_hooks_parse(const char *name);
const char *tg_hooks_name(enum tg_hooks h);
/*
 * Can this kernel run tmpguard's fentry/fexit programs? Their four attach points are in BTF and
 * a minimal fexit program on do_sys_openat2 loads. Returns 0, or -1 with the reason in err.
 */
int tg_fentry_loadable(char *err, size_t errlen);

/* Can processes on this machine make 32-bit syscalls (gcc -m32 programs, int $0x80)? */
enum tg_ia32 {
	TG_IA32_ON,	 /* a 32-bit syscall ran */
	TG_IA32_OFF,	 /* it faulted: IA32_EMULATION is off at boot, or not built in */
	TG_IA32_UNKNOWN, /* no answer (fork failed, or a seccomp filter on tmpguard): assume on */
};
/*
 * Asks the kernel by making one: a child calls getpid through int $0x80. Whether 32-bit
 * emulation is on is decided at boot by ia32_emulation= or, with no such parameter, by how the
 * kernel was built (IA32_EMULATION_DEFAULT_DISABLED), which nothing but a try shows. The answer
 * is taken once per process. why (may be NULL) says what was seen, for doctor and the
 * start-up line.
 */
enum tg_ia32 tg_ia32_probe(char *why, size_t whylen);
const char *tg_ia32_name(enum tg_ia32 v);
/* Checks root or CAP_BPF+CAP_PERFMON+CAP_SYS_ADMIN (tracefs, other processes' /proc), and BTF.
 * Returns 0, or -1 with the reason in err. */
int tg_check_requirements(char *err, size_t errlen);
/* Opens, configures, loads and attaches. Records go to cb(ctx, ...). On failure returns NULL
 * with the reason, and what to do about it, in err; *lsm_refused is set when the failure was
 * the kernel refusing the BPF LSM programs (the caller may fall back). */
struct tg_bpf *tg_bpf_start(const struct tg_loader_opts *opts, ring_buffer_sample_fn cb, void *ctx,
			    char *err, size_t errlen, bool *lsm_refused);
int tg_bpf_track(struct tg_bpf *b, pid_t pid);
/* Waits up to timeout_ms for records and hands them to cb; returns records consumed or
 * -errno (-EINTR on a signal). */
int tg_bpf_poll(struct tg_bpf *b, int timeout_ms);
/* Hands every record already in the ring buffer to cb. */
int tg_bpf_drain(struct tg_bpf *b);
/* Sums the per-CPU counters (enum tg_stat). */
int tg_bpf_stats(struct tg_bpf *b, uint64_t out[TG_STAT_MAX]);
/* Policy-driven settings: written to the programs' .data, effective at once. */
void tg_bpf_set_settings(struct tg_bpf *b, uint32_t file_loose_mask, uint32_t dir_loose_mask,
			 bool report_cloexec, uint64_t probe_window_ns);
/*
 * Replaces the kernel-decided exceptions (keys, n <= TG_KEXC_MAX; combos: TG_KEXC_* field sets
 * in use) and the extra shared directories, all or nothing: the new set is written as the
 * generation not in force, with its hit counters zeroed, and switched to in one store; on an
 * error the one in force is untouched. Key i counts its hits in slot i. 0 or -errno.
 */
int tg_bpf_set_policy(struct tg_bpf *b, const struct tg_kexc_key *keys, size_t n, uint32_t combos,
		      const struct tg_dir_key *dirs, size_t n_dirs);
/* How many events each exception of the policy in force had the kernel drop: out[idx[i]] is
 * key i's count (idx: the policy's index of each of the n_keys keys in force); out has n_out
 * entries, one per exception of the policy, the others 0. */
int tg_bpf_kexc_hits(struct tg_bpf *b, const uint32_t *idx, size_t n_keys, uint64_t *out,
		     size_t n_out);
/* The policy's enforced rules (bit sets of enum tg_rule_id), in the mode chosen at start. */
void tg_bpf_set_enforce(struct tg_bpf *b, uint32_t deny_rules, uint32_t kill_rules);
/* The hooks in use: TG_HOOKS_FENTRY or TG_HOOKS_TRACEPOINT. */
enum tg_hooks tg_bpf_hooks(const struct tg_bpf *b);
/* Why --hooks auto did not take fentry ("" if it did, or was not asked to). */
const char *tg_bpf_hooks_fallback(const struct tg_bpf *b);
/* What tg_ia32_probe() said when the programs were chosen, and why (for the start-up line and
 * the session record); tp_btf/sys_exit is attached only when not TG_IA32_OFF. */
enum tg_ia32 tg_bpf_ia32(const struct tg_bpf *b, const char **why);
/* Programs attached (for the start-up line). */
int tg_bpf_nr_attached(const struct tg_bpf *b);
/* Calls fn for each attached program, in load order: its name, its section (the hook, as in
 * "tracepoint/syscalls/sys_exit_openat") and its fd (for bpf_prog_get_info_by_fd). */
void tg_bpf_for_each_attached(struct tg_bpf *b,
			      void (*fn)(void *ctx, const char *name, const char *sec, int fd),
			      void *ctx);
/* Detaches the named program (its link is destroyed). For fault injection in the tests of
 * producer health: returns 0, or -ENOENT if no attached program has that name. */
int tg_bpf_detach(struct tg_bpf *b, const char *prog_name);
/* Interpreter call sites: registers an interpreter (CPython, bash) for the kernel to read its
 * state at a finding (tg_interp); opens tg_pyframes with cb for CPython's records
 * (tg_py_record); and reads what it holds, which is to be done before each tg_events record is
 * handled: a record's frames are sent before it. 0 or -errno; drain returns the records read. */
int tg_bpf_interp_add(struct tg_bpf *b, const struct tg_interp_key *key, const struct tg_interp *v);
/* What the kernel kept at the execve of process tgid from a bash child (tg_exec_lines): 0, or
 * -errno (-ENOENT: nothing kept). */
int tg_bpf_exec_line(struct tg_bpf *b, uint32_t tgid, struct tg_exec_line *out);
/* Call sites (callsite_reuse.h): a resolved stack's signature for the kernel to match
 * (tg_stk_sigs: into an empty way of key's, else over its oldest): 0 or -errno; and its
 * withdrawal, if it is still one of key's ways. */
int tg_bpf_stk_sig_set(struct tg_bpf *b, const struct tg_stk_sig_key *key,
		       const struct tg_stk_sig *sig);
void tg_bpf_stk_sig_withdraw(struct tg_bpf *b, const struct tg_stk_sig_key *key, uint64_t id);
int tg_bpf_py_ring(struct tg_bpf *b, ring_buffer_sample_fn cb, void *ctx);
int tg_bpf_py_drain(struct tg_bpf *b);
void tg_bpf_stop(struct tg_bpf *b);

#endif
